"""Training throughput on an accelerator: zoo models against their references, per Keras backend, in one run.

Two pairs, each timed in the same process on the same device, on every backend asked for:

- the zoo's `resnet50` against `keras.applications.ResNet50(weights=None)`: images per second, 224 px,
  1,000 classes, SGD with momentum;
- the zoo's `gpt` (GPT-2 small: `zoo.models.language.gpt.GPT2_SMALL`) against KerasHub's `GPT2Backbone`
  built from the same configuration (no preset download) with its tied embedding as the LM head: tokens
  per second, AdamW, next-token cross-entropy on 1,024-token sequences.

Both models of a pair are built under the same dtype policy (`mixed_bfloat16` by default), compiled the same
way (`jit_compile=True`: XLA on JAX and TensorFlow, `torch.compile` on PyTorch) and trained on the same
synthetic batch, held on the device before timing so the data is never the bottleneck. The first step
(tracing, compilation) and `--warmup` more are excluded; then `--steps` timed steps run in `--rounds`
interleaved blocks (zoo, reference, zoo, ...) so that machine noise hits both alike. Ratios are
zoo / reference throughput (1.00 is parity, above 1 the zoo is faster).

One difference is the zoo's by design and shows in the GPT ratio: its output head (the tied embedding,
`TokenEmbedding(reverse=True)`) computes the logits in float32 under any policy, where KerasHub's
`ReversibleEmbedding` computes them in the policy's compute dtype (bfloat16).

Each backend runs in its own subprocess (KERAS_BACKEND is fixed when Keras is imported); a backend that
fails or runs out of time (`--timeout`, `--budget`) is recorded with its error and the run goes on, keeping
the measurements it finished. A `--backends` entry `torch:eager` runs that backend uncompiled (PyTorch's
`torch.compile` of a Keras training step is slow to compile and breaks graphs; the eager figure is the one
to compare when it does not finish). The input pipeline's throughput (the zoo's streaming reader,
`zoo.data.stream.read`, over JPEG-encoded TFRecord shards this benchmark writes) is measured when TensorFlow
is importable, and marked skipped otherwise.

    python -m benchmarks.accelerator --tiny                      # a CPU: 32 px, batch 4, a tiny GPT, 2 steps
    python -m benchmarks.accelerator --tiny --eager --backends tensorflow --in-process   # what the test runs
    python -m benchmarks.accelerator --backends jax,torch:eager,torch --budget 370 --out results/   # a GPU

`--out` names a folder (or a `.json` file): the JSON of every figure and a Markdown table beside it. Where a
backend's framework is missing nothing is imported from it: the GPU machines have JAX and PyTorch but no
TensorFlow, and building the zoo's models under `KERAS_BACKEND=jax` or `torch` imports none.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

BACKENDS = ("tensorflow", "jax", "torch")
MODELS = ("resnet50", "gpt")
REFERENCES = {"resnet50": "keras.applications.ResNet50", "gpt": "keras_hub.models.GPT2Backbone + tied LM head"}
UNITS = {"resnet50": "images/s", "gpt": "tokens/s"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GPT_TINY = {"vocabulary_size": 512, "num_layers": 2, "num_heads": 2, "hidden_dim": 64, "intermediate_dim": 128,
            "max_sequence_length": 32}


@dataclasses.dataclass(frozen=True)
class Sizes:
    """What one run measures: image side and batch, GPT configuration, sequence length and batch, steps."""

    size: int = 224
    batch: int = 256
    classes: int = 1000
    gpt: str = "small"
    sequence_length: int = 1024
    lm_batch: int = 16
    steps: int = 20
    warmup: int = 2
    rounds: int = 2
    pipeline_images: int = 2048


TINY = Sizes(size=32, batch=4, classes=10, gpt="tiny", sequence_length=16, lm_batch=2, steps=2, warmup=1, rounds=1,
             pipeline_images=32)


def gpt_config(name: str) -> dict:
    """The architecture of the GPT measured: "small" is GPT-2 small (124M parameters), "tiny" a CPU toy."""
    if name == "small":
        from zoo.models.language.gpt import GPT2_SMALL

        return dict(GPT2_SMALL)
    if name == "tiny":
        return dict(GPT_TINY)
    raise ValueError(f"`--gpt` must be 'small' or 'tiny'. Received: {name!r}")


def available_backends() -> list[str]:
    """The Keras backends whose framework this interpreter can import."""
    return [b for b in BACKENDS if importlib.util.find_spec(b) is not None]


# ------------------------------------------------------------------------------------------- in a backend
def device_name() -> str:
    """The accelerator the current Keras backend trains on (its product name), or "cpu"."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return device.device_kind if device.platform != "cpu" else "cpu"
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "cpu"
    return tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)


def on_device(array):
    """`array` as the backend's tensor on its default device (the accelerator), copied once, before timing."""
    import keras

    tensor = keras.ops.convert_to_tensor(array)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tensor = tf.identity(tensor)  # placed on the default device (a GPU when there is one), not the host
    return tensor


def resnet_pair(sizes: Sizes):
    """(zoo ResNet-50, keras.applications.ResNet50), a synthetic batch on the device, and examples per step."""
    import keras

    import zoo

    shape = (sizes.size, sizes.size, 3)
    rng = np.random.default_rng(0)
    x = on_device(rng.random((sizes.batch, *shape), dtype="float32"))
    y = on_device(rng.integers(0, sizes.classes, size=(sizes.batch,)).astype("int32"))
    builders = {"zoo": lambda: zoo.build("resnet50", input_shape=shape, classes=sizes.classes),
                "reference": lambda: keras.applications.ResNet50(weights=None, input_shape=shape,
                                                                 classes=sizes.classes)}
    return builders, (x, y), sizes.batch


def lowered_op_counts(model, batch: int = 2) -> dict[str, int]:
    """The StableHLO operations of one gradient of `model` (JAX backend), by name: what XLA compiles for a
    training step. Two models with the same counts run the same computation, whatever their Keras code."""
    import collections
    import re

    import jax
    import jax.numpy as jnp

    x = jnp.ones((batch, *model.input_shape[1:]), "float32")
    trainable = [v.value for v in model.trainable_variables]
    others = [v.value for v in model.non_trainable_variables]

    def total(trainable, others, x):
        y, _ = model.stateless_call(trainable, others, x, training=True)
        return jnp.sum(y.astype("float32"))

    text = jax.jit(jax.grad(total)).lower(trainable, others, x).as_text()
    return dict(collections.Counter(re.findall(r"= \"?(stablehlo\.[a-z_]+)", text)))


def _gpt_reference(config: dict, sequence_length: int, dropout: float):
    """KerasHub's GPT-2 backbone from `config` (random weights), its tied token embedding as the LM head."""
    import keras
    import keras_hub

    backbone = keras_hub.models.GPT2Backbone(dropout=dropout, **config)
    token_ids = keras.Input((sequence_length,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((sequence_length,), dtype="int32", name="padding_mask")
    hidden = backbone({"token_ids": token_ids, "padding_mask": padding_mask})
    logits = backbone.token_embedding(hidden, reverse=True)
    return keras.Model({"token_ids": token_ids, "padding_mask": padding_mask}, logits, name="keras_hub_gpt2")


def gpt_pair(sizes: Sizes, dropout: float = 0.1):
    """(zoo GPT, KerasHub GPT2Backbone + head), synthetic token batches on the device, and tokens per step."""
    import zoo

    config = gpt_config(sizes.gpt)
    length = sizes.sequence_length
    rng = np.random.default_rng(0)
    ids = rng.integers(0, config["vocabulary_size"], size=(sizes.lm_batch, length + 1)).astype("int32")
    x, y = on_device(ids[:, :-1]), on_device(ids[:, 1:])
    mask = on_device(np.ones((sizes.lm_batch, length), dtype="int32"))
    builders = {"zoo": lambda: zoo.build("gpt", sequence_length=length, dropout=dropout, **config),
                "reference": lambda: _gpt_reference(config, length, dropout)}
    data = {"zoo": (x, y), "reference": ({"token_ids": x, "padding_mask": mask}, y)}
    return builders, data, sizes.lm_batch * length


def _compile(model, name: str, jit: bool) -> None:
    import keras

    if name == "gpt":
        optimizer = keras.optimizers.AdamW(1e-4, weight_decay=0.01)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        optimizer = keras.optimizers.SGD(1e-3, momentum=0.9)
        loss = keras.losses.SparseCategoricalCrossentropy()
    # Eager (`jit=False`) only for quick CPU checks: tracing a ResNet-50 graph takes a CPU tens of seconds.
    model.compile(optimizer=optimizer, loss=loss, jit_compile=jit, run_eagerly=not jit)


def _step(model, data):
    loss = model.train_on_batch(*data)  # returns host values: waits for the step to finish on the device
    return float(np.asarray(loss).reshape(-1)[0])


def measure_pair(name: str, sizes: Sizes, jit: bool, record) -> dict:
    """Build, compile and warm up both models of pair `name`, then time them in interleaved blocks.

    `record(partial_result)` is called after each stage, so a crash or a timeout keeps what was measured.
    """
    builders, data, per_step = resnet_pair(sizes) if name == "resnet50" else gpt_pair(sizes)
    if not isinstance(data, dict):
        data = {"zoo": data, "reference": data}
    result = {"unit": UNITS[name], "reference_name": REFERENCES[name], "examples_per_step": per_step}
    models = {}
    for side, build in builders.items():
        try:
            started = time.perf_counter()
            model = build()
            _compile(model, name, jit)
            built = time.perf_counter() - started
            started = time.perf_counter()
            _step(model, data[side])
            first = time.perf_counter() - started
            for _ in range(sizes.warmup):
                _step(model, data[side])
            models[side] = model
            result[side] = {"params": int(model.count_params()), "build_s": round(built, 2),
                            "first_step_s": round(first, 2), "step_s": []}
        except Exception as err:  # noqa: BLE001 -- recorded; the other side and the other pair still run
            result[side] = {"error": f"{type(err).__name__}: {err}"[:2000]}
        done = result[side]
        print(f"{name} {side}: " + (done["error"] if "error" in done else f"{done['params']:,} parameters, built in "
                                    f"{done['build_s']} s, first step {done['first_step_s']} s"), flush=True)
        record(result)
    blocks = [sizes.steps // sizes.rounds + (i < sizes.steps % sizes.rounds) for i in range(sizes.rounds)]
    for count in filter(None, blocks):
        for side, model in models.items():
            try:
                for _ in range(count):
                    started = time.perf_counter()
                    loss = _step(model, data[side])
                    result[side]["step_s"].append(time.perf_counter() - started)
                result[side]["loss"] = loss
            except Exception as err:  # noqa: BLE001
                result[side]["error"] = f"{type(err).__name__}: {err}"[:2000]
        models = {k: m for k, m in models.items() if "error" not in result[k]}
    for side in models:
        times = result[side].pop("step_s")
        result[side].update(steps=len(times), step_ms_median=round(1e3 * statistics.median(times), 3),
                            throughput=round(per_step * len(times) / sum(times), 2))
    if all("throughput" in result.get(side, {}) for side in ("zoo", "reference")):
        result["ratio"] = round(result["zoo"]["throughput"] / result["reference"]["throughput"], 3)
        result["same_params"] = result["zoo"]["params"] == result["reference"]["params"]
    print(f"{name}: zoo {result.get('zoo', {}).get('throughput')} reference "
          f"{result.get('reference', {}).get('throughput')} {UNITS[name]}, ratio {result.get('ratio')}", flush=True)
    record(result)
    return result


def run_backend(sizes: Sizes, models, jit: bool, precision: str, out_path: str | None = None) -> dict:
    """Measure every pair in `models` on the Keras backend of this process; write the result to `out_path`
    after each stage (a crashed or stopped run keeps what it measured)."""
    import keras

    backend = keras.backend.backend()
    result = {"backend": backend, "keras": keras.__version__, "device": device_name(),
              backend: getattr(sys.modules.get(backend), "__version__", None),
              "precision": precision, "compiled": jit, "sizes": dataclasses.asdict(sizes), "models": {}}

    def save():
        if out_path:
            with open(out_path + ".tmp", "w", encoding="utf-8") as f:
                json.dump(result, f, indent=2)
            os.replace(out_path + ".tmp", out_path)

    import zoo  # noqa: F401 -- imported (its models registered with Keras) before any build is timed

    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(precision)
    try:
        for name in models:
            def record(partial, name=name):
                result["models"][name] = partial
                save()

            try:
                measure_pair(name, sizes, jit, record)
            except Exception as err:  # noqa: BLE001 -- e.g. the batch does not fit the device's memory
                result["models"][name] = {**result["models"].get(name, {}), "error": f"{type(err).__name__}: {err}"}
            keras.backend.clear_session()
            gc.collect()
            save()
    finally:
        keras.config.set_dtype_policy(previous)
    return result


# ----------------------------------------------------------------------------------------- input pipeline
def measure_pipeline(sizes: Sizes) -> dict:
    """Images per second that `zoo.data.stream.read` delivers from JPEG TFRecord shards (no model attached).

    Writes `sizes.pipeline_images` generated photos (`synthetic_imagenet`, about `sizes.size` px) to shards
    in a temporary folder, then reads the split as training does (shuffled, decoded, resized to the model's
    input, batched) twice: the first pass warms up, the second is timed.
    """
    from zoo.data import load_dataset
    from zoo.data.stream import read, write_shards

    train = load_dataset("synthetic_imagenet", n=max(10, sizes.pipeline_images * 5 // 4 + 1), classes=10,
                         size=max(16, sizes.size)).train
    with tempfile.TemporaryDirectory(prefix="zoo-bench-input-") as folder:
        started = time.perf_counter()
        described = write_shards(folder, "train", train, examples_per_shard=max(1, train.count // 8))
        written = time.perf_counter() - started
        meta = {"format": "tfrecord", "splits": {"train": described}, "sizes": {"train": described["examples"]},
                "classes": 10, "prepare": {"image_shape": [sizes.size, sizes.size, 3], "target": "sparse"}}
        with open(os.path.join(folder, "meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f)
        rates = []
        for _ in range(2):
            started = time.perf_counter()
            seen = sum(int(y.shape[0]) for _, y in read(folder, "train", batch_size=sizes.batch, shuffle=True))
            rates.append(seen / (time.perf_counter() - started))
    return {"reader": "zoo.data.stream.read", "images": described["examples"], "shards": described["shards"],
            "image_px": sizes.size, "batch": sizes.batch, "write_s": round(written, 2),
            "images_per_s": round(rates[-1], 1), "cpus": os.cpu_count()}


# ----------------------------------------------------------------------------------------- the driver
def split_entry(entry: str) -> tuple[str, bool]:
    """A `--backends` entry: "jax" -> ("jax", compiled), "torch:eager" -> ("torch", eager)."""
    backend, _, mode = entry.partition(":")
    if backend not in BACKENDS or mode not in ("", "eager"):
        raise ValueError(f"--backends: unknown entry {entry!r}; allowed: {', '.join(BACKENDS)}, each optionally "
                         "with ':eager'")
    return backend, mode != "eager"


def _child_command(args, backend: str, out_path: str, jit: bool = True) -> list[str]:
    command = [sys.executable, "-m", "benchmarks.accelerator", "--child", backend, "--child-out", out_path,
               "--models", ",".join(args.models), "--precision", args.precision]
    command += ["--tiny"] if args.tiny else []
    command += [] if args.jit and jit else ["--eager"]
    for option in ("steps", "batch", "size", "lm_batch", "sequence_length", "gpt", "warmup", "rounds"):
        value = getattr(args, option)
        if value is not None:
            command += [f"--{option.replace('_', '-')}", str(value)]
    return command


def _child_env(backend: str) -> dict:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": ROOT + (os.pathsep + path if path else "")}


def _run_child(command: list[str], backend: str, timeout: float | None) -> int | None:
    """Run `command` under `backend` with its output streaming through; its exit status, or None when it ran
    out of time (then it is stopped with everything it started, e.g. PyTorch's compile workers)."""
    child = subprocess.Popen(command, env=_child_env(backend), cwd=ROOT, start_new_session=True)
    try:
        return child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        return None
    except BaseException:  # Ctrl-C: stop the child too
        os.killpg(child.pid, signal.SIGKILL)
        raise


def _in_subprocess(args, entry: str, deadline: float | None) -> dict:
    """Run one backend's measurements in a fresh interpreter; its output streams through, its figures
    come back in a JSON file (kept in part if it crashed or timed out)."""
    backend, jit = split_entry(entry)
    left = None if deadline is None else deadline - time.monotonic()
    if left is not None and left < 10:
        print(f"--- {entry}: not run, --budget spent", flush=True)
        return {"backend": backend, "compiled": jit, "error": "not run: --budget spent"}
    timeouts = [t for t in (_timeout(args, backend), left) if t is not None]
    timeout = min(timeouts) if timeouts else None
    with tempfile.TemporaryDirectory(prefix="zoo-bench-accel-") as folder:
        out_path = os.path.join(folder, f"{backend}.json")
        print(f"--- {entry}" + (f" (at most {timeout:.0f} s)" if timeout else ""), flush=True)
        started = time.perf_counter()
        error = None
        status = _run_child(_child_command(args, backend, out_path, jit), backend, timeout)
        if status is None:
            error = f"the {backend} process ran out of time ({timeout:.0f} s)"
        elif status:
            error = f"the {backend} process exited with status {status}"
        result = {"backend": backend}
        if os.path.exists(out_path):
            with open(out_path, encoding="utf-8") as f:
                result = json.load(f)
        result["wall_s"] = round(time.perf_counter() - started, 1)
        if error:
            result["error"] = error
        return result


def parse_timeouts(text: str) -> dict:
    """"300" -> {None: 300.0} (every process); "jax=240,torch=150" -> per backend ("pipeline" for the input)."""
    timeouts = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, value = item.rpartition("=")
        if key and key not in (*BACKENDS, "pipeline"):
            raise ValueError(f"--timeout: unknown backend {key!r} in {text!r}")
        try:
            timeouts[key or None] = float(value)
        except ValueError:
            raise ValueError(f"--timeout: {value!r} is not a number of seconds (in {text!r})") from None
    return timeouts


def _timeout(args, name: str) -> float | None:
    return args.timeouts.get(name, args.timeouts.get(None))


def resolve_sizes(args) -> Sizes:
    sizes = TINY if args.tiny else Sizes()
    changes = {k: getattr(args, k) for k in ("steps", "batch", "size", "lm_batch", "sequence_length", "gpt",
                                             "warmup", "rounds") if getattr(args, k) is not None}
    sizes = dataclasses.replace(sizes, **changes)
    if sizes.steps < 1 or sizes.rounds < 1 or sizes.batch < 1 or sizes.lm_batch < 1 or sizes.warmup < 0:
        raise ValueError(f"--steps, --rounds, --batch and --lm-batch must be positive, --warmup >= 0. "
                         f"Received: {dataclasses.asdict(sizes)}")
    return dataclasses.replace(sizes, rounds=min(sizes.rounds, sizes.steps))


def _pipeline(args, sizes: Sizes) -> dict:
    if importlib.util.find_spec("tensorflow") is None:
        return {"skipped": "no TensorFlow"}
    if args.in_process:
        return measure_pipeline(sizes)
    print("--- input pipeline", flush=True)
    with tempfile.TemporaryDirectory(prefix="zoo-bench-input-") as folder:
        out_path = os.path.join(folder, "pipeline.json")
        command = [*_child_command(args, "pipeline", out_path), "--no-pipeline"]
        status = _run_child(command, "tensorflow", _timeout(args, "pipeline"))
        if status is None:
            return {"error": f"the input pipeline ran out of time ({_timeout(args, 'pipeline'):g} s)"}
        if status or not os.path.exists(out_path):
            return {"error": f"the input pipeline's process exited with status {status}"}
        with open(out_path, encoding="utf-8") as f:
            return json.load(f)


def summary_rows(report: dict) -> list[dict]:
    """One row per backend and model: throughputs, ratio, device (for printing and the Markdown table)."""
    rows = []
    for backend, result in report["backends"].items():
        for name in report["models"]:
            pair = result.get("models", {}).get(name, {})
            row = {"backend": backend, "device": result.get("device", "?"), "model": name,
                   "unit": UNITS[name], "zoo": pair.get("zoo", {}).get("throughput"),
                   "reference": pair.get("reference", {}).get("throughput"), "ratio": pair.get("ratio")}
            errors = [pair.get(s, {}).get("error") for s in ("zoo", "reference")] + [pair.get("error"),
                                                                                    result.get("error")]
            row["note"] = next((e for e in errors if e), "")
            rows.append(row)
    return rows


def _figure(value, digits=1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def markdown(report: dict) -> str:
    mode = "compiled steps (jit) unless marked :eager" if report["compiled"] else "eager steps"
    lines = [f"Training throughput, zoo against reference ({report['precision']}, {mode}; "
             f"sizes: {json.dumps(report['sizes'])})", "",
             "| backend | device | model | unit | zoo | reference | zoo / reference | note |",
             "|---|---|---|---|---:|---:|---:|---|"]
    for r in summary_rows(report):
        note = r["note"].replace("|", "/").replace("\n", " ")[:120]
        lines.append(f"| {r['backend']} | {r['device']} | {r['model']} | {r['unit']} | {_figure(r['zoo'])} | "
                     f"{_figure(r['reference'])} | {_figure(r['ratio'], 2)} | {note} |")
    pipe = report["input_pipeline"]
    if "images_per_s" in pipe:
        lines += ["", f"Input pipeline (`zoo.data.stream.read`, JPEG TFRecord shards -> {pipe['image_px']} px, "
                      f"{pipe['cpus']} CPUs): {pipe['images_per_s']:,.1f} images/s"]
    else:
        lines += ["", f"Input pipeline: {pipe.get('skipped') or pipe.get('error')}"]
    return "\n".join(lines) + "\n"


def _write(report: dict, out: str) -> tuple[str, str]:
    if out.endswith(".json"):
        json_path = out
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    else:
        os.makedirs(out, exist_ok=True)
        json_path = os.path.join(out, "accelerator.json")
    md_path = json_path[:-len(".json")] + ".md"
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(markdown(report))
    return json_path, md_path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", help=f"comma-separated, of {', '.join(BACKENDS)} (default: those importable); "
                                           "'torch:eager' runs that backend's steps uncompiled")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--tiny", action="store_true", help="CPU sizes: 32 px, batch 4, a tiny GPT, 2 steps")
    parser.add_argument("--steps", type=int, help="timed training steps per model (default 20; tiny 2)")
    parser.add_argument("--batch", type=int, help="ResNet-50 images per step (default 256; tiny 4)")
    parser.add_argument("--size", type=int, help="image side in pixels (default 224; tiny 32)")
    parser.add_argument("--lm-batch", type=int, help="GPT sequences per step (default 16; tiny 2)")
    parser.add_argument("--sequence-length", type=int, help="GPT tokens per sequence (default 1024; tiny 16)")
    parser.add_argument("--gpt", choices=("small", "tiny"), help="GPT configuration (default small; tiny: tiny)")
    parser.add_argument("--warmup", type=int, help="untimed steps after the first (default 2; tiny 1)")
    parser.add_argument("--rounds", type=int, help="interleaved timing blocks per model (default 2; tiny 1)")
    parser.add_argument("--precision", default="mixed_bfloat16", help="Keras dtype policy (default mixed_bfloat16)")
    parser.add_argument("--eager", dest="jit", action="store_false",
                        help="run the steps eagerly instead of compiled (quick CPU checks only)")
    parser.add_argument("--no-pipeline", dest="pipeline", action="store_false", help="skip the input pipeline")
    parser.add_argument("--timeout", default="",
                        help="seconds each backend's process may run: one number for all, or per backend "
                             "(jax=240,torch=150,pipeline=60); default: no limit")
    parser.add_argument("--budget", type=float,
                        help="seconds for all backends together: a backend starting late gets what is left")
    parser.add_argument("--in-process", action="store_true",
                        help="measure in this process (one backend: the one Keras was imported with)")
    parser.add_argument("--out", help="a folder (or a .json path) for the JSON and the Markdown table")
    parser.add_argument("--child", choices=(*BACKENDS, "pipeline"), help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    for model in args.models:
        if model not in MODELS:
            parser.error(f"--models: unknown model {model!r}; allowed: {', '.join(MODELS)}")
    args.backends = [b for b in args.backends.split(",") if b] if args.backends else available_backends()
    try:
        args.timeouts = parse_timeouts(args.timeout)
    except ValueError as err:
        parser.error(str(err))
    for entry in args.backends:
        try:
            split_entry(entry)
        except ValueError as err:
            parser.error(str(err))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    sizes = resolve_sizes(args)
    if args.child == "pipeline":
        with open(args.child_out, "w", encoding="utf-8") as f:
            json.dump(measure_pipeline(sizes), f)
        return 0
    if args.child:
        run_backend(sizes, args.models, args.jit, args.precision, args.child_out)
        return 0
    report = {"precision": args.precision, "compiled": args.jit, "sizes": dataclasses.asdict(sizes),
              "models": args.models, "backends": {}}
    if args.in_process:
        import keras

        backend = keras.backend.backend()
        if args.backends != [backend]:
            raise ValueError(f"--in-process measures the backend Keras was imported with ({backend}). "
                             f"Received: --backends {','.join(args.backends)}")
        report["backends"][backend] = run_backend(sizes, args.models, args.jit, args.precision)
    else:
        deadline = time.monotonic() + args.budget if args.budget else None
        for entry in args.backends:
            report["backends"][entry] = _in_subprocess(args, entry, deadline)
            if args.out:  # so far, in case this process is stopped before the end
                _write({**report, "input_pipeline": {"skipped": "not reached"}}, args.out)
    report["input_pipeline"] = _pipeline(args, sizes) if args.pipeline else {"skipped": "--no-pipeline"}
    report["devices"] = sorted({r["device"] for r in report["backends"].values() if r.get("device")})
    print(f"devices: {', '.join(report['devices']) or 'none reached'}; "
          "ratios are zoo / reference throughput (1.00: parity)")
    for r in summary_rows(report):
        print(f"{r['backend']:<11} {r['model']:<9} zoo {_figure(r['zoo']):>12} {r['unit']:<9} reference "
              f"{_figure(r['reference']):>12}  ratio {_figure(r['ratio'], 2):>5}  {r['device']}"
              + (f"  [{r['note'][:200]}]" if r["note"] else ""), flush=True)
    pipe = report["input_pipeline"]
    print("input pipeline:", f"{pipe['images_per_s']:,.1f} images/s" if "images_per_s" in pipe
          else pipe.get("skipped") or pipe.get("error"))
    if args.out:
        print("wrote", *_write(report, args.out))
    measured = [r for r in summary_rows(report) if r["ratio"] is not None]
    return 0 if measured else 1


if __name__ == "__main__":
    sys.exit(main())
