"""Zoo models on Keras' JAX backend (issue 16, item 1): each builds, trains a step through its task, saves and
reloads with the same predictions, with the parameter count it has on TensorFlow.

The models run in a subprocess started with KERAS_BACKEND=jax (`tests/backend_run.py`; Keras fixes its
backend at import). The fast suite runs one light model of most task kinds; `make test-slow` runs every
registered model except those whose spec declares `tensorflow_only` (read from the spec, not a list).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import zoo

pytest.importorskip("jax")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Light models covering most task kinds (classification, regression, forecasting, rating, autoencoding, the
# VAE, density, segmentation, detection, sequence-to-sequence, word embeddings, language modelling).
FAST = ("lenet5", "dnn_regression", "lstm_forecaster", "matrix_factorization", "autoencoder", "vae", "nade",
        "fcn", "yolo", "seq2seq", "word2vec_skipgram", "gpt")
AGNOSTIC = tuple(name for name in zoo.list_models() if not zoo.get_spec(name).tensorflow_only)


def run_on_jax(names) -> dict[str, dict]:
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "backend_run.py"), *names], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=3000)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {line["name"]: line for line in lines}


def tensorflow_params(name) -> int:
    spec = zoo.get_spec(name)
    style = "functional" if "functional" in spec.supported_styles else spec.supported_styles[0]
    return zoo.build(name, style=style, **dict(spec.small)).count_params()


def _check(names):
    results = run_on_jax(names)
    failures = [f"{name}: {results.get(name, {}).get('error', 'no result')}" for name in names
                if not results.get(name, {}).get("ok")]
    assert not failures, "\n".join(failures)
    assert all(results[name]["backend"] == "jax" for name in names)
    counts = {name: (results[name]["params"], tensorflow_params(name)) for name in names}
    assert all(jax == tf for jax, tf in counts.values()), counts


def test_light_models_of_most_task_kinds_train_save_and_reload_on_jax():
    assert set(FAST) <= set(AGNOSTIC)
    _check(FAST)


@pytest.mark.slow
def test_every_backend_agnostic_model_trains_saves_and_reloads_on_jax():
    assert len(AGNOSTIC) >= 50
    _check(AGNOSTIC)


# The pipeline's own train step on JAX, one model per task kind that can train there (the tasks' data maps,
# callbacks and phases, and the TensorFlow export of the result), in a JAX subprocess on data prepared by
# TensorFlow's preprocess, as the pipeline's steps run.
_LIGHT_FIRST = (*FAST, "perceptron", *AGNOSTIC)  # a light model of each kind where FAST has one
TRAIN_STEP_KINDS = tuple(sorted({zoo.get_spec(name).task: name for name in reversed(_LIGHT_FIRST)}.values()))
TRAIN_STEP_CODE = """
import json, os, sys
import zoo
from zoo.pipeline import steps
name, data, out = sys.argv[1:4]
metadata = steps.train(name, data, out, epochs=1, hparams=json.dumps(dict(zoo.get_spec(name).small)))
print(json.dumps({k: metadata[k] for k in ("backend", "backend_check")}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAIN_STEP_KINDS)
def test_the_train_step_trains_each_task_kind_on_jax_and_exports_what_it_trained(name, tmp_path):
    from zoo.pipeline import steps

    spec = zoo.get_spec(name)
    data = str(tmp_path / "data")
    steps.preprocess(name, spec.offline_datasets[0], data, hparams=json.dumps(dict(spec.small)))
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, "-c", TRAIN_STEP_CODE, name, data, str(tmp_path / "model")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax"
    loaded, served = result["backend_check"]["loaded"], result["backend_check"]["served"]
    # A model that samples in predict (diffusion's denoising step draws noise) cannot be compared call by call.
    assert (loaded["compared"] and loaded["max_abs_diff"] < 1e-3) or "samples" in loaded["why"], loaded
    assert served["compared"] or "takes other inputs" in served["why"] or "differ from" in served["why"], served
    assert os.path.exists(tmp_path / "model" / "saved_model" / "saved_model.pb")
