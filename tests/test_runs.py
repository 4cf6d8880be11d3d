"""`zoo runs MODEL`: a model's past local runs read back from the pipeline root, newest first, without
TensorFlow, Keras, kfp or the Cloud SDK.

The folders here are laid out as kfp.local leaves them (`pipelines.local.run_local`): one folder per run,
one per task inside, the artifacts under their output names, `error.txt` beside a failed task's outputs.
The slow test checks the same against real kfp.local runs.
"""

import json
import os
import subprocess
import sys

import pytest

from zoo.cli import main
from zoo.pipeline.runs import list_runs, run_folders

HPARAMS = {"activation": "relu", "classes": 10}


def _write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(content if isinstance(content, str) else json.dumps(content))


def make_run(root, model, started, *, value=0.9, deploy=True, version="1", failed_task=None, stop_after=None,
             nested=True, dataset="digits", learning_rate=0.01):
    """A run folder as kfp.local leaves it; `started` is "YYYY-MM-DD-HH-MM-SS"."""
    name = f"zoo-{model.replace('_', '-')}-{started}-123456"
    outer = os.path.join(root, "pipeline_root", started.replace("-", "")[:8] + "-" + started.replace("-", "")[8:]
                         + "-abcd1234") if nested else os.path.join(root, "pipeline_root")
    run = os.path.join(outer, name)
    _write(os.path.join(run, "preprocess", "data", "meta.json"), {"model": model, "dataset": dataset})
    if failed_task == "train":
        _write(os.path.join(run, "train", "error.txt"),
               "TrainingError: Training diverged: the loss became NaN or infinite in epoch 1 (learning_rate=1e+30)\n")
        return run
    logs = os.path.join(run, "train", "model", "logs")
    os.makedirs(os.path.join(logs, "train"))
    _write(os.path.join(run, "train", "model", "metadata.json"), {
        "model": model, "dataset": dataset, "style": "functional", "backend": "tensorflow", "hparams": HPARAMS,
        "epochs": 2, "batch_size": 32, "learning_rate": learning_rate, "tensorboard": logs})
    if stop_after == "train":
        return run
    _write(os.path.join(run, "evaluate", "evaluation"), {
        "metric": "accuracy", "direction": "max", "value": value, "metrics": {"accuracy": value, "loss": 0.25},
        "pictures": {}, "model": model, "dataset": dataset})
    if failed_task == "gate":
        _write(os.path.join(run, "gate", "error.txt"), "BaselineError: Corrupt baseline at /x/digits.json\n")
        return run
    reason = ("No model is deployed yet; the candidate's accuracy clears the floor." if deploy
              else "The candidate's accuracy does not beat the deployed model's by min_delta.")
    _write(os.path.join(run, "gate", "executor_output.json"), {"parameterValues": {"Output": deploy}})
    _write(os.path.join(run, "gate", "report"), f"# Latest-metric gate\n\n| | |\n\n{reason}\n")
    if deploy:
        _write(os.path.join(run, "deploy-local", "deployment"),
               {"model": model, "version": version, "path": os.path.join(root, "registry", model, version)})
    return run


@pytest.fixture
def root(tmp_path):
    make_run(tmp_path, "lenet5", "2026-11-20-10-00-00", value=0.9, deploy=True, version="1", learning_rate=0.01)
    make_run(tmp_path, "lenet5", "2026-11-21-10-00-00", value=0.85, deploy=False, learning_rate=0.1)
    make_run(tmp_path, "lenet5", "2026-11-22-10-00-00", failed_task="train")
    make_run(tmp_path, "lenet5", "2026-11-23-10-00-00", failed_task="gate")
    make_run(tmp_path, "lenet5", "2026-11-19-10-00-00", value=0.8, version="1", nested=False)  # older layout
    make_run(tmp_path, "lstm_forecaster", "2026-11-24-10-00-00")  # zoo-lstm-forecaster-... is not an lstm run
    make_run(tmp_path, "lstm", "2026-11-18-10-00-00", stop_after="train")
    return str(tmp_path)


def test_runs_are_listed_newest_first_with_how_they_trained_and_what_the_gate_decided(root):
    runs = list_runs(root, "lenet5")
    assert [r.started for r in runs] == ["2026-11-23 10:00:00", "2026-11-22 10:00:00", "2026-11-21 10:00:00",
                                         "2026-11-20 10:00:00", "2026-11-19 10:00:00"]
    gate_failed, train_failed, kept, deployed, older = runs
    assert deployed.succeeded and deployed.deploy and deployed.deployment["version"] == "1"
    assert (deployed.metric, deployed.value, deployed.metrics["loss"]) == ("accuracy", 0.9, 0.25)
    assert (deployed.dataset, deployed.style, deployed.backend, deployed.hparams, deployed.epochs,
            deployed.batch_size, deployed.learning_rate) == ("digits", "functional", "tensorflow", HPARAMS, 2, 32,
                                                              0.01)
    assert deployed.tensorboard == os.path.join(deployed.run_dir, "train", "model", "logs")
    assert kept.succeeded and kept.deploy is False and kept.deployment is None
    assert kept.reason.startswith("The candidate's accuracy does not beat") and kept.learning_rate == 0.1
    assert not train_failed.succeeded and train_failed.error.startswith("train: TrainingError: Training diverged")
    assert train_failed.dataset == "digits" and train_failed.hparams is None
    assert gate_failed.error == "gate: BaselineError: Corrupt baseline at /x/digits.json"
    assert gate_failed.learning_rate == 0.01  # it trained before the gate failed
    assert older.succeeded and older.value == 0.8


def test_a_model_whose_name_starts_another_s_lists_only_its_own_runs(root):
    (only,) = list_runs(root, "lstm")
    assert only.started == "2026-11-18 10:00:00"
    assert not only.succeeded and only.error == "stopped before the gate (still running, or killed)"
    (forecaster,) = list_runs(root, "lstm_forecaster")
    assert forecaster.model == "lstm_forecaster" and forecaster.succeeded
    # A file cut short (a run killed while writing) makes that run unreadable, not the listing.
    _write(os.path.join(forecaster.run_dir, "evaluate", "evaluation"), '{"metric": "accur')
    (cut,) = list_runs(root, "lstm_forecaster")
    assert not cut.succeeded and cut.error.startswith("unreadable run folder (JSONDecodeError: ")
    assert run_folders(str(root) + "/nowhere", "lstm") == []


def test_zoo_runs_prints_each_run_with_its_metrics_decision_and_folder(root, capsys):
    assert main(["runs", "lenet5", "--root", root]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"lenet5: 5 run(s) under {root}/pipeline_root, newest first\n")
    blocks = out.split("\n\n")[1:]
    assert [b.splitlines()[0][:19] for b in blocks] == ["2026-11-23 10:00:00", "2026-11-22 10:00:00",
                                                       "2026-11-21 10:00:00", "2026-11-20 10:00:00",
                                                       "2026-11-19 10:00:00"]
    assert "FAILED   gate: BaselineError: Corrupt baseline" in blocks[0]
    assert "FAILED   train: TrainingError: Training diverged" in blocks[1]
    assert "accuracy 0.8500 (↑)   loss=0.25" in blocks[2]
    assert "gate: KEEP DEPLOYED MODEL: The candidate's accuracy does not beat" in blocks[2]
    assert "digits · functional · tensorflow · epochs 2 · batch_size 32 · learning_rate 0.01" in blocks[3]
    assert 'hparams: activation="relu"\n' in blocks[3]  # only what differs from the spec's defaults
    assert "gate: DEPLOYED version 1: No model is deployed yet" in blocks[3]


def test_zoo_runs_json_has_one_object_per_run(root, capsys):
    assert main(["runs", "lenet5", "--root", root, "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["deploy"] for r in runs] == [None, None, False, True, True]
    deployed = runs[3]
    assert deployed["deployed_version"] == "1" and deployed["metric"] == "accuracy" and deployed["value"] == 0.9
    assert deployed["hparams"] == HPARAMS and deployed["reason"].startswith("No model is deployed yet")
    assert runs[1]["succeeded"] is False and runs[1]["error"].startswith("train: TrainingError")


def test_no_runs_is_a_clear_message_and_an_unknown_model_one_line_exit_2(tmp_path, capsys):
    assert main(["runs", "mlp", "--root", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out == (f"No runs of mlp under {tmp_path}/pipeline_root "
                   f"(`zoo run mlp --local --root {tmp_path}` makes one).\n")
    assert main(["runs", "mlp", "--root", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["runs", "lenett", "--root", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("zoo: Unknown model 'lenett'. Did you mean 'lenet5'")
    assert len(err.strip().splitlines()) == 1


def test_zoo_runs_imports_no_tensorflow_keras_kfp_or_cloud_sdk(root):
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"  # google and google.cloud: namespace packages a .pth file imports
        "from zoo.cli import main\n"
        f"assert main(['runs', 'lenet5', '--root', {root!r}]) == 0\n"
        f"assert main(['runs', 'lenet5', '--root', {root!r}, '--json']) == 0\n"
        "heavy = sorted(m for m in set(sys.modules) - before\n"
        "               if m.split('.')[0] in ('tensorflow', 'keras', 'kfp', 'jax', 'google', 'numpy'))\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


@pytest.mark.slow
def test_real_kfp_local_runs_are_listed_with_their_decisions(tmp_path, capsys):
    """Against real kfp.local runs: a first run deploys, an identical second one keeps it, and one whose
    baseline is corrupt fails at the gate."""
    from pipelines.local import run_local

    first = run_local("perceptron", str(tmp_path), epochs=1)
    second = run_local("perceptron", str(tmp_path), epochs=1)
    _write(str(tmp_path / "baselines" / "perceptron" / f"{first.dataset}.json"), "{ corrupt")
    failed = run_local("perceptron", str(tmp_path), epochs=1)
    assert first.deploy and second.deploy is False and not failed.succeeded
    capsys.readouterr()  # kfp.local's own messages
    assert main(["runs", "perceptron", "--root", str(tmp_path), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["run_dir"] for r in runs] == [failed.run_dir, second.run_dir, first.run_dir]
    assert [r["deploy"] for r in runs] == [None, False, True] and runs[2]["deployed_version"] == "1"
    assert runs[0]["error"] == failed.error and runs[1]["reason"] == second.reason
    assert runs[0]["error"].startswith("gate: BaselineError") and runs[0]["learning_rate"] == 0.1
    assert runs[1]["value"] == second.value and runs[1]["learning_rate"] == 0.1
    assert os.path.isdir(os.path.join(runs[2]["tensorboard"], "validation"))
