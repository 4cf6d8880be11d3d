"""One real kfp.local pipeline run per task kind (classification has its own in test_pipeline_local.py).

Each run is the very pipeline Vertex AI runs, on offline data with the spec's small configuration. Kinds
whose learning is checked in-process elsewhere in the fast suite (`PLUMBING_ONLY`: the VAE's bound, the DCGAN's
Fréchet distance, the FCN's mean IoU, seq2seq's free-decoded reversals, the forecaster against the naive
forecast, word2vec's analogies, BERT's masked tokens, GPT's counting, catalog G's other kinds, catalog D's
detection, captioning and style transfer) run one epoch with any value passing the gate: the run checks the
plumbing, gate metric and direction. The others train their default epochs, so a deploy there means the model
learnt enough to clear its gate floor: the learning check of its task kind. The runs are split over four files
(this one: vision and the VAE and GANs; test_pipeline_tasks_sequences.py: sequences, series and text;
test_pipeline_tasks_generative.py: catalog G's other kinds; test_pipeline_tasks_vision_apps.py: catalog D's
detection, captioning and style transfer); the identical reruns are in the slow tier.
"""

import glob
import json
import os

import pytest

import zoo
from pipelines.local import run_local

# One model per task kind that is not classification.
REPRESENTATIVES = ("dnn_regression", "vae", "dcgan", "fcn")
SEQUENCE_REPRESENTATIVES = ("seq2seq", "lstm_forecaster", "word2vec_skipgram", "bert", "gpt")
GENERATIVE_REPRESENTATIVES = ("autoencoder", "sgan", "pix2pix", "nade", "diffusion")
VISION_APP_REPRESENTATIVES = ("yolo", "image_captioning", "style_transfer")
# Runs whose train step uses Keras' JAX backend (`zoo run --backend jax`): the deployed SavedModel must
# answer as the JAX-trained model does. (Every other run trains on TensorFlow.)
JAX_RUNS = ("dnn_regression",)
# Plumbing runs that also shorten work outside training: style transfer's evaluation and every served request
# optimise an image for `steps` steps (200 by default).
PLUMBING_HPARAMS = {"style_transfer": ("--hparam", "steps=20")}
# Learning checked in-process in the fast suite (test_generative, test_vision, test_sequence, test_forecaster,
# test_word2vec, test_language, test_autoencoders, test_gans, test_pix2pix, test_nade, test_diffusion,
# test_yolo, test_captioning, test_style_transfer).
PLUMBING_ONLY = ("vae", "dcgan", "fcn", "seq2seq", "lstm_forecaster", "word2vec_skipgram", "bert", "gpt",
                 *GENERATIVE_REPRESENTATIVES, *VISION_APP_REPRESENTATIVES)


def _kind(name):
    from zoo.tasks import get_task

    return type(get_task(zoo.get_spec(name).task)).__name__


def test_every_task_kind_has_a_local_pipeline_run():
    # Task names that share a task object (binary and multiclass classification; regression, forecasting
    # and rating prediction) are one kind; lenet5's run in test_pipeline_local.py covers classification.
    covered = {_kind(name) for name in (*REPRESENTATIVES, *SEQUENCE_REPRESENTATIVES, *GENERATIVE_REPRESENTATIVES,
                                        *VISION_APP_REPRESENTATIVES, "lenet5")}
    assert {_kind(name) for name in zoo.list_models()} <= covered


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("task-runs"))


@pytest.mark.parametrize("name", REPRESENTATIVES)
def test_a_local_run_deploys_with_the_tasks_gate_metric_and_direction(name, root, capsys):
    out = deploys_with_its_gate(name, root, capsys)
    if name in ("vae", "dcgan"):  # the generators' sample progression is on the run's pictures
        assert "_progression.png" in out and "_progression.gif" in out, out
    if name in JAX_RUNS:
        serves_what_jax_trained(name, os.path.join(root, name))


def deploys_with_its_gate(name, root, capsys):
    from zoo.cli import main

    spec = zoo.get_spec(name)
    folder = os.path.join(root, name)
    argv = ["run", name, "--local", "--root", folder] + (["--backend", "jax"] if name in JAX_RUNS else [])
    if name in PLUMBING_ONLY:
        argv += ["--epochs", "1", f"--floor={'-inf' if spec.gate.direction == 'max' else 'inf'}",
                 *PLUMBING_HPARAMS.get(name, ())]
    assert main(argv) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    arrow = "↑" if spec.gate.direction == "max" else "↓"
    assert f"test {spec.gate.metric} ({arrow}):" in out, out
    assert "gate: DEPLOY" in out and "deployed: version 1" in out, out
    with open(os.path.join(folder, "baselines", name, spec.offline_datasets[0].replace("/", "__") + ".json")) as f:
        baseline = json.load(f)
    assert baseline["metric"] == spec.gate.metric and baseline["direction"] == spec.gate.direction
    return out


def serves_what_jax_trained(name, folder):
    """The deployed version was trained on JAX and serves, through the prediction server's own Predictor, what
    the model.keras file predicts when JAX loads it again in a fresh process (independent of the train
    step's own check, which it also recorded)."""
    import subprocess
    import sys

    import numpy as np

    from zoo.pipeline import steps
    from zoo.pipeline.serving import Predictor

    version = os.path.join(folder, "registry", name, "1")
    with open(os.path.join(version, "metadata.json")) as f:
        metadata = json.load(f)
    assert metadata["backend"] == "jax" and metadata["backend_check"]["served"]["compared"], metadata
    (data,) = glob.glob(os.path.join(folder, "pipeline_root", "*", "*", "preprocess", "data"))
    x = steps.load_prepared(data, "test")[0][:32].astype("float32")
    np.save(os.path.join(folder, "x.npy"), x)
    code = ("import numpy as np, zoo, keras; assert keras.backend.backend() == 'jax'; "
            f"m = zoo.load_model({os.path.join(version, 'model.keras')!r}); "
            f"np.save({os.path.join(folder, 'y.npy')!r}, m.predict(np.load({os.path.join(folder, 'x.npy')!r}), verbose=0))")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "KERAS_BACKEND": "jax"},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    served = Predictor(os.path.join(version, "saved_model")).predict({"instances": x.tolist()})["predictions"]
    np.testing.assert_allclose(np.asarray(served, dtype="float32").reshape(len(x), -1),
                               np.load(os.path.join(folder, "y.npy")).reshape(len(x), -1), rtol=1e-4, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("name", REPRESENTATIVES)
def test_an_identical_rerun_keeps_the_deployed_model(name, tmp_path):
    rerun_keeps_the_deployed_model(name, tmp_path)


def rerun_keeps_the_deployed_model(name, tmp_path):
    first = run_local(name, str(tmp_path))
    assert first.succeeded and first.deploy, first.error or first.reason
    second = run_local(name, str(tmp_path))
    assert second.succeeded, second.error
    assert second.value == first.value, "the same seed must give the same metric"
    assert not second.deploy and second.deployment is None and "does not beat" in second.reason
