"""`zoo tune`: the spec's search space, KerasTuner trials through the pipeline's train step scored on the
validation split, the Vertex AI trial entry point (cloudml-hypertune's metric file), the Vertex AI tuning job
built offline with anonymous credentials, and one-line errors for bad input."""

import dataclasses
import glob
import json
import os
import shlex

import numpy as np
import pytest

from zoo.cli import _parser, main
from zoo.registry import get_spec
from zoo.spec import Choice, Range, check_search_space

pytestmark = pytest.mark.xdist_group("tuning")

IMAGE = "us-central1-docker.pkg.dev/proj/zoo/zoo-components:abc123"
VERTEX = ["--project", "my-proj", "--region", "us-central1", "--pipeline-root", "gs://bucket/root"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------------------------ the space
def test_spaces_come_from_the_spec_with_defaults_and_zoo_show_prints_them(capsys):
    code, out, _ = run(capsys, "show", "lenet5")
    space = json.loads(out)["search_space"]
    assert code == 0 and space["activation"] == {"choice": ["tanh", "relu"]}
    assert space["learning_rate"] == {"range": [1e-4, 3e-2], "scale": "log", "integer": False}
    assert space["batch_size"] == {"choice": [16, 32, 64]}  # the default: the recipe's 32 halved, kept, doubled
    # A model that declares nothing searches the learning rate a decade either side of its recipe's.
    perceptron = get_spec("perceptron")
    assert perceptron.search_space == {} and perceptron.tuning_space == {
        "learning_rate": Range(0.01, 1.0, scale="log"), "batch_size": Choice((8, 16, 32))}
    assert get_spec("mlp").tuning_space["hidden_units"] == Range(2, 32, scale="log", integer=True)


@pytest.mark.parametrize("space,expected", [
    ({"hiden_units": Choice((4, 8))}, "unknown hyperparameter 'hiden_units'. Allowed: learning_rate, batch_size, "
                                      "input_dim, hidden_units, activation."),
    ({"activation": ("tanh", "relu")}, "must be a zoo.spec.Range or Choice"),
    ({"batch_size": Range(8, 64)}, "the batch size's search space must be whole numbers"),
    ({"learning_rate": Choice((-1.0, 0.1))}, "the learning rate's search space must be positive"),
])
def test_a_bad_search_space_is_a_one_line_value_error(space, expected):
    spec = get_spec("mlp")
    with pytest.raises(ValueError, match="^mlp: ") as err:
        check_search_space(spec, space)
    assert expected in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError, match="mlp: "):  # a spec that declares it does not load
        dataclasses.replace(spec, search_space=space)


@pytest.mark.parametrize("make,expected", [
    (lambda: Choice(("relu",)), "two or more distinct values"),
    (lambda: Choice(("relu", 1)), "of one type"),
    (lambda: Choice(((32, 64), (16, 32))), "(str, int, float or bool)"),
    (lambda: Range(1e-2, 1e-4, scale="log"), "low < high"),
    (lambda: Range(0.0, 1.0, scale="log"), "low > 0 on a log scale"),
    (lambda: Range(1, 2, scale="cubic"), "scale must be one of"),
    (lambda: Range(1.5, 8, integer=True), "whole bounds"),
])
def test_bad_range_or_choice(make, expected):
    with pytest.raises(ValueError) as err:
        make()
    assert expected in str(err.value)


# -------------------------------------------------------------------------------------------- local search
def test_zoo_tune_lenet5_local_reports_trials_and_a_best_configuration_scored_on_validation(capsys, tmp_path):
    code, out, err = run(capsys, "tune", "lenet5", "--local", "--max-trials", "2", "--epochs", "1",
                         "--algorithm", "random", "--root", str(tmp_path))
    assert code == 0, err
    lines = out.splitlines()
    trials = [line for line in lines if line.startswith("trial ")]
    assert len(trials) == 2 and all("[COMPLETED]" in t and "accuracy=" in t and "learning_rate=" in t for t in trials)
    assert any(line.startswith("best: trial ") for line in lines)
    command = next(line.strip() for line in lines if line.strip().startswith("zoo run lenet5 --local"))
    # The printed command is one `zoo run` accepts, and it carries the best trial's values.
    (folder,) = glob.glob(str(tmp_path / "tuning" / "lenet5" / "*"))
    result = json.load(open(os.path.join(folder, "result.json")))
    best = result["best"]
    parsed = _parser().parse_args(shlex.split(command)[1:])
    assert parsed.learning_rate == pytest.approx(best["values"]["learning_rate"], rel=1e-5)
    assert parsed.batch_size == best["values"]["batch_size"]
    assert dict(parsed.hparam) == {"activation": best["values"]["activation"]}
    assert os.path.exists(os.path.join(folder, "keras_tuner", "oracle.json"))
    # The trial's score is the gate metric on the VALIDATION split, recomputed here by hand from its model.
    import zoo
    from zoo.pipeline.steps import load_prepared

    model = zoo.load_model(os.path.join(folder, "trials", best["trial_id"], "model.keras"))
    x, y = load_prepared(os.path.join(folder, "data"), "val")
    accuracy = float(np.mean(np.argmax(model.predict(x, verbose=0), axis=-1) == y))
    assert best["value"] == pytest.approx(accuracy, abs=1e-6)


def test_keras_tuner_finds_a_better_learning_rate_than_a_bad_starting_one(tmp_path):
    from zoo.tuning import tune_local

    bad, good = 1e-7, 1e-2
    result = tune_local("lenet5", str(tmp_path), max_trials=2, epochs=1, algorithm="bayesian",
                        space={"learning_rate": Choice((bad, good))})
    by_rate = {t.values["learning_rate"]: t for t in result.trials}
    assert set(by_rate) == {bad, good} and all(t.status == "COMPLETED" for t in result.trials)
    assert result.best.values == {"learning_rate": good} and result.best.value > by_rate[bad].value + 0.3
    assert result.metric == "accuracy" and result.direction == "max"
    assert result.command == "zoo run lenet5 --local --learning-rate 0.01"


def test_a_diverging_trial_fails_and_the_search_goes_on(tmp_path):
    from zoo.tuning import tune_local

    result = tune_local("linear_regression", str(tmp_path), max_trials=2, epochs=1, algorithm="grid",
                        space={"learning_rate": Choice((1e6, 1e-2))})
    status = {t.values["learning_rate"]: (t.status, t.message) for t in result.trials}
    assert status[1e6][0] == "FAILED" and status[1e6][1].startswith("Training diverged")
    assert status[1e-2] == ("COMPLETED", None) and result.best.values == {"learning_rate": 1e-2}
    assert result.direction == "min" and result.metric == "mse"


def test_a_seeded_search_repeats_itself(tmp_path):
    from zoo.tuning import tune_local

    runs = [tune_local("linear_regression", str(tmp_path), max_trials=2, epochs=1, algorithm="random", seed=3)
            for _ in range(2)]
    first, second = ([(t.values, t.value) for t in r.trials] for r in runs)
    assert first == second and first[0][0] != first[1][0] and runs[0].folder != runs[1].folder


# ----------------------------------------------------------------------------------- Vertex AI trial and job
def test_trial_entry_point_trains_scores_validation_and_reports_with_hypertune(tmp_path, monkeypatch):
    from zoo.tuning import main as tuning_main
    from zoo.tuning import trial_main

    metric_file = tmp_path / "hypertune" / "output.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(metric_file))
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "7")
    # As Vertex AI passes a trial's values: `--name=value`, numbers of a discrete spec as doubles.
    found = trial_main(["--model", "lenet5", "--dataset", "digits", "--epochs", "1", "--work-dir", str(tmp_path / "w"),
                        "--learning_rate=0.01", "--batch_size=32.0", "--activation=relu"])
    assert found["values"] == {"learning_rate": 0.01, "batch_size": 32, "activation": "relu"}
    (line,) = metric_file.read_text().splitlines()
    reported = json.loads(line)
    assert reported["trial"] == "7" and float(reported["accuracy"]) == pytest.approx(found["value"])
    assert found["split"] == "val" and found["value"] > 0.5
    trained = json.load(open(tmp_path / "w" / "model" / "metadata.json"))
    assert (trained["learning_rate"], trained["batch_size"], trained["hparams"]["activation"]) == (0.01, 32, "relu")
    assert tuning_main(["trial", "--model", "lenet5", "--hparams", '{"clases": 3}']) == 2
    assert tuning_main(["nope"]) == 2


def test_vertex_tuning_job_built_offline(capsys):
    code, out, err = run(capsys, "tune", "lenet5", *VERTEX, "--image", IMAGE, "--max-trials", "8",
                         "--parallel-trials", "2", "--epochs", "3", "--dry-run")
    assert code == 0, err
    job = json.loads(out)
    (pool,) = job["trialJobSpec"]["workerPoolSpecs"]
    assert pool["machineSpec"] == {"machineType": "g2-standard-8", "acceleratorType": "NVIDIA_L4",
                                   "acceleratorCount": 1}
    container = pool["containerSpec"]
    assert container["imageUri"] == IMAGE and container["command"] == ["python3", "-m", "zoo.tuning", "trial"]
    assert container["args"] == ["--model", "lenet5", "--dataset", "mnist", "--style", "functional", "--hparams", "{}",
                                 "--seed", "0", "--epochs", "3"]
    assert job["trialJobSpec"]["baseOutputDirectory"]["outputUriPrefix"].startswith("gs://bucket/root/tuning/lenet5/")
    study = job["studySpec"]
    assert study["metrics"] == [{"metricId": "accuracy", "goal": "MAXIMIZE"}]
    params = {p["parameterId"]: p for p in study["parameters"]}
    assert params["learning_rate"] == {"parameterId": "learning_rate", "scaleType": "UNIT_LOG_SCALE",
                                       "doubleValueSpec": {"minValue": 1e-4, "maxValue": 3e-2}}
    assert params["batch_size"]["discreteValueSpec"] == {"values": [16.0, 32.0, 64.0]}
    assert params["activation"]["categoricalValueSpec"] == {"values": ["tanh", "relu"]}
    assert (job["maxTrialCount"], job["parallelTrialCount"]) == (8, 2) and "algorithm" not in study  # Vertex's default


def test_vertex_job_minimises_a_min_gate_metric_and_maps_integer_ranges_and_fixed_values():
    from google.cloud import aiplatform

    from pipelines.tuning import build_tuning_job

    minimised = next(s for s in map(get_spec, ["linear_regression", "mlp"]) if s.gate.direction == "min")
    job = build_tuning_job(minimised.name, project="my-proj", region="us-central1", pipeline_root="gs://b/r",
                           offline=True, algorithm="random", accelerator="cpu")
    assert isinstance(job, aiplatform.HyperparameterTuningJob)
    proto = job.to_dict()
    assert proto["studySpec"]["metrics"] == [{"metricId": minimised.gate.metric, "goal": "MINIMIZE"}]
    assert proto["studySpec"]["algorithm"] == "RANDOM_SEARCH"
    assert proto["trialJobSpec"]["workerPoolSpecs"][0]["machineSpec"] == {"machineType": "n1-standard-8"}
    mlp = build_tuning_job("mlp", project="my-proj", region="us-central1", pipeline_root="gs://b/r", offline=True,
                           hparams={"activation": "relu"}).to_dict()
    params = {p["parameterId"]: p for p in mlp["studySpec"]["parameters"]}
    assert "activation" not in params  # fixed values leave the space and travel in --hparams
    assert params["hidden_units"]["integerValueSpec"] == {"minValue": "2", "maxValue": "32"}
    assert params["hidden_units"]["scaleType"] == "UNIT_LOG_SCALE"
    assert '{"activation": "relu"}' in mlp["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["args"]


def test_tpu_trials_train_on_the_presets_jax_backend_unless_the_model_needs_tensorflow():
    from pipelines.tuning import build_tuning_job

    def env(name):
        job = build_tuning_job(name, project="my-proj", region="us-central1", pipeline_root="gs://b/r", offline=True,
                               accelerator="tpu").to_dict()
        return {e["name"]: e["value"] for e in job["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["env"]}

    assert env("lenet5") == {"ZOO_TPU": "local", "KERAS_BACKEND": "jax"}
    assert env("dcgan") == {"ZOO_TPU": "local"}  # tensorflow_only: TensorFlow, as the pipeline's train step


def test_vertex_report_picks_the_best_trial_and_prints_the_submit_command():
    from google.cloud.aiplatform.compat.types import study

    from pipelines.tuning import build_tuning_job, report

    target = dict(project="my-proj", region="us-central1", pipeline_root="gs://b/r")
    job = build_tuning_job("lenet5", **target, offline=True)

    def trial(i, rate, batch, activation, accuracy):
        return study.Trial(id=str(i), parameters=[
            study.Trial.Parameter(parameter_id="learning_rate", value=rate),
            study.Trial.Parameter(parameter_id="batch_size", value=float(batch)),
            study.Trial.Parameter(parameter_id="activation", value=activation)],
            final_measurement=study.Measurement(metrics=[study.Measurement.Metric(metric_id="accuracy",
                                                                                   value=accuracy)]))

    job._gca_resource.trials.extend([trial(1, 1e-4, 16, "tanh", 0.81), trial(2, 3e-3, 64, "relu", 0.95),
                                     study.Trial(id="3")])  # trial 3 failed: no measurement
    job._gca_resource.name = "projects/1/locations/us-central1/hyperparameterTuningJobs/7"
    best, command = report(job, "lenet5", **target)
    assert best.startswith("best: accuracy=0.9500") and "batch_size=64 activation=relu" in best
    assert command.strip().endswith("zoo submit lenet5 --project my-proj --region us-central1 --pipeline-root gs://b/r "
                                    "--learning-rate 0.003 --batch-size 64 --hparam activation=relu")
    # The printed line is one that `zoo submit` takes: its job carries the best values as pipeline parameters.
    import shlex

    from pipelines.submit import build_job
    from zoo.cli import _parser

    args = _parser().parse_args(shlex.split(command[command.index("zoo submit"):])[1:])
    submitted = build_job(args.name, project=args.project, region=args.region, pipeline_root=args.pipeline_root,
                          batch_size=args.batch_size, learning_rate=args.learning_rate, hparams=dict(args.hparam),
                          offline=True)
    values = submitted.to_dict()["runtimeConfig"]["parameterValues"]
    assert (values["learning_rate"], values["batch_size"], json.loads(values["hparams"])) == (
        0.003, 64, {"activation": "relu"})


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("argv,expected", [
    (["tune", "lenet", "--local"], "Unknown model 'lenet'. Did you mean 'lenet5'"),
    (["tune", "lenet5", "--local", "--max-trials", "0"], "--max-trials must be at least 1, got 0"),
    (["tune", "lenet5", "--local", "--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["tune", "lenet5", "--local", "--hparam", "clases=3"], "Unknown hyperparameter for lenet5: 'clases'."),
    (["tune", "lenet5", "--local", "--dataset", "mnsit"], "Unknown dataset for lenet5: 'mnsit'."),
    (["tune", "lenet5", "--local", "--algorithm", "hyperband"], "invalid choice: 'hyperband'"),
    (["tune", "lenet5"], "one of the arguments --local --project is required"),
    (["tune", "lenet5", "--local", "--region", "us-central1"], "are for Vertex AI (--project)"),
    (["tune", "lenet5", "--project", "my-proj", "--region", "us-central1"], "give --region and --pipeline-root"),
    (["tune", "lenet5", *VERTEX, "--max-trials", "2", "--parallel-trials", "3", "--dry-run"],
     "--parallel-trials (3) cannot exceed --max-trials (2)"),
    (["tune", "lenet5", *VERTEX, "--algorithm", "grid", "--dry-run"], "grid search takes only integer ranges"),
    (["tune", "lenet5", *VERTEX[:-1], "bucket/root", "--dry-run"], "--pipeline-root must be a gs://bucket/path"),
    (["tune", "lenet5", *VERTEX, "--accelerator", "quantum", "--dry-run"], "Unknown accelerator preset 'quantum'"),
])
def test_bad_input_is_one_line_and_exit_status_2(capsys, argv, expected):
    code, out, err = run(capsys, *argv)
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1, err


def test_an_unknown_hyperparameter_in_a_given_space_stops_before_any_training(tmp_path):
    from zoo.tuning import tune_local

    with pytest.raises(ValueError, match="unknown hyperparameter 'learnig_rate'"):
        tune_local("lenet5", str(tmp_path), space={"learnig_rate": Choice((1e-3, 1e-2))})
    with pytest.raises(ValueError, match="mlp: input_dim=3 changes the model's inputs"):
        tune_local("mlp", str(tmp_path), space={"input_dim": Choice((2, 3))})
    with pytest.raises(ValueError, match="nothing left to search"):
        tune_local("mlp", str(tmp_path), space={"activation": Choice(("tanh", "relu"))}, hparams={"activation": "relu"})
    assert not os.path.exists(tmp_path / "tuning")
