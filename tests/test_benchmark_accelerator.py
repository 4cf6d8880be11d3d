"""The accelerator benchmark (`benchmarks/accelerator.py`) at tiny sizes on the CPU.

TensorFlow: in this process (its backend is already imported), both pairs and the input pipeline, checking
the JSON and the Markdown it writes. JAX and PyTorch: through the real per-backend subprocess, only where
that framework is installed (skipped otherwise, by an import check).
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

from benchmarks import accelerator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TINY_FAST = ["--tiny", "--steps", "1", "--warmup", "0"]


def _check_backend(result, backend, models):
    assert result["backend"] == backend
    assert result["device"] == "cpu"
    assert result["precision"] == "mixed_bfloat16"
    for name in models:
        pair = result["models"][name]
        for side in ("zoo", "reference"):
            assert "error" not in pair[side], pair[side]
            assert pair[side]["throughput"] > 0 and pair[side]["steps"] == 1
            assert pair[side]["loss"] == pair[side]["loss"]  # finite, not NaN
        assert pair["same_params"], (pair["zoo"]["params"], pair["reference"]["params"])
        assert pair["ratio"] == pytest.approx(pair["zoo"]["throughput"] / pair["reference"]["throughput"], rel=1e-2)
        assert pair["unit"] == accelerator.UNITS[name]


def test_tiny_run_on_tensorflow_writes_both_pairs_and_the_input_pipeline(tmp_path, capsys):
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("measures in this process, whose Keras backend is not TensorFlow")
    code = accelerator.main([*TINY_FAST, "--backends", "tensorflow", "--in-process", "--eager",
                             "--out", str(tmp_path)])
    assert code == 0
    report = json.loads((tmp_path / "accelerator.json").read_text())
    _check_backend(report["backends"]["tensorflow"], "tensorflow", ("resnet50", "gpt"))
    assert report["backends"]["tensorflow"]["models"]["resnet50"]["examples_per_step"] == 4
    assert report["devices"] == ["cpu"]
    assert report["input_pipeline"]["images_per_s"] > 0
    assert keras.config.dtype_policy().name == "float32"  # the run put the policy back
    table = (tmp_path / "accelerator.md").read_text()
    assert "| tensorflow | cpu | resnet50 | images/s |" in table and "| tensorflow | cpu | gpt | tokens/s |" in table
    printed = capsys.readouterr().out
    assert "ratio" in printed and "input pipeline:" in printed


# PyTorch's `torch.compile` of a Keras step takes minutes on a CPU: its path is tested uncompiled. Slow tier:
# the fast suite measures on TensorFlow in-process (above) and runs zoo models on JAX (test_backends.py); this
# is the path the GPU run takes, one backend per subprocess.
@pytest.mark.slow
@pytest.mark.parametrize("entry", ["jax", "torch:eager"])
def test_tiny_run_in_a_backend_subprocess(entry, tmp_path):
    backend, compiled = accelerator.split_entry(entry)
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    command = [sys.executable, "-m", "benchmarks.accelerator", *TINY_FAST, "--backends", entry, "--models", "gpt",
               "--no-pipeline", "--out", str(tmp_path / "out.json")]
    subprocess.run(command, check=True, timeout=300)
    report = json.loads((tmp_path / "out.json").read_text())
    _check_backend(report["backends"][entry], backend, ("gpt",))
    assert report["backends"][entry]["compiled"] is compiled


def test_failures_are_recorded_and_tabled_not_raised():
    report = {"precision": "mixed_bfloat16", "compiled": True, "sizes": {}, "models": ["resnet50", "gpt"],
              "backends": {"torch": {"backend": "torch", "device": "NVIDIA H100", "error": "ran out of time",
                                     "models": {"resnet50": {"zoo": {"throughput": 10.0},
                                                             "reference": {"throughput": 8.0}, "ratio": 1.25}}}},
              "input_pipeline": {"skipped": "no TensorFlow"}}
    rows = accelerator.summary_rows(report)
    assert [(r["model"], r["ratio"]) for r in rows] == [("resnet50", 1.25), ("gpt", None)]
    assert rows[1]["note"] == "ran out of time"
    table = accelerator.markdown(report)
    assert "| torch | NVIDIA H100 | resnet50 | images/s | 10.0 | 8.0 | 1.25 |" in table
    assert "Input pipeline: no TensorFlow" in table


@pytest.mark.parametrize("argv, message", [
    (["--backends", "theano"], "unknown entry 'theano'"),
    (["--backends", "jax:fast"], "unknown entry 'jax:fast'"),
    (["--timeout", "mxnet=5"], "unknown backend 'mxnet'"),
    (["--models", "vgg16"], "unknown model 'vgg16'"),
])
def test_unknown_choices_are_one_line_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        accelerator.parse_args(argv)
    assert message in capsys.readouterr().err


def test_sizes_reject_non_positive_steps():
    with pytest.raises(ValueError, match="--steps"):
        accelerator.resolve_sizes(accelerator.parse_args(["--tiny", "--steps", "0"]))


@pytest.mark.slow
def test_the_zoo_and_reference_resnet50_compile_to_the_same_training_computation():
    """The ResNet pair measures the same work: under mixed_bfloat16 on JAX, one training gradient of the zoo's
    ResNet-50 and of keras.applications' lowers to the same StableHLO operations (convolutions, reductions,
    ...) but for a few dtype conversions around the zoo's float32 head. (The H200 run's 0.95 is thus not
    extra work in the zoo's graph.)"""
    code = textwrap.dedent("""
        import json, keras, zoo
        from benchmarks.accelerator import lowered_op_counts
        keras.config.set_dtype_policy("mixed_bfloat16")
        shape = (64, 64, 3)
        counts = [lowered_op_counts(m) for m in (zoo.build("resnet50", input_shape=shape, classes=10),
                                                 keras.applications.ResNet50(weights=None, input_shape=shape,
                                                                             classes=10))]
        print(json.dumps(counts))
    """)
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "KERAS_BACKEND": "jax"}, cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    zoo_ops, reference_ops = json.loads(done.stdout.strip().splitlines()[-1])
    assert zoo_ops["stablehlo.convolution"] > 100  # 53 convolutions forward, their gradients backward
    differing = {op for op in set(zoo_ops) | set(reference_ops) if zoo_ops.get(op) != reference_ops.get(op)}
    assert differing <= {"stablehlo.convert"}, {op: (zoo_ops.get(op), reference_ops.get(op)) for op in differing}
    assert abs(zoo_ops["stablehlo.convert"] - reference_ops["stablehlo.convert"]) <= 10
