"""The task contract: recipes, per-output losses, phases, evaluation through the task, gate metrics of any kind."""

import json
import os

import numpy as np
import pytest

import zoo
from zoo.pipeline import steps
from zoo.pipeline.gate import decide
from zoo.spec import Recipe
from zoo.tasks import Phase, get_task, list_tasks, output_count
from zoo.tasks.base import Evaluation

# Its module-scoped fixtures are expensive: `make test` keeps the module on one worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("tasks")


def test_every_task_kind_is_registered_and_unknown_ones_fail_with_close_matches():
    assert {"binary_classification", "multiclass_classification", "regression"} <= set(list_tasks())
    with pytest.raises(ValueError, match="Unknown task 'clasification'.*multiclass_classification|binary"):
        get_task("clasification")


def test_an_empty_loss_is_refused_when_the_spec_is_written_and_none_means_the_model_owns_it():
    with pytest.raises(ValueError, match="Recipe.loss is empty.*None"):
        Recipe(loss="")
    assert Recipe(loss=None).loss is None
    with pytest.raises(ValueError, match="class_name"):
        Recipe(loss="mse", optimizer={"config": {"beta_1": 0.5}})


def test_optimizer_config_and_learning_rate_reach_the_optimizer():
    from zoo.tasks import make_optimizer

    optimizer = make_optimizer(Recipe(loss="mse", optimizer={"class_name": "adam", "config": {"beta_1": 0.5}}), 2e-4)
    assert type(optimizer).__name__ == "Adam"
    assert optimizer.beta_1 == 0.5 and float(optimizer.learning_rate) == pytest.approx(2e-4)


def test_an_evaluation_with_scores_must_say_which_paired_test_fits_them():
    with pytest.raises(ValueError, match="paired test"):
        Evaluation(metrics={"x": 1.0}, scores=np.zeros(3))
    with pytest.raises(ValueError, match="Unknown paired test"):
        Evaluation(metrics={"x": 1.0}, scores=np.zeros(3), paired_test="wilcoxon")


def test_a_metric_without_per_example_scores_gates_on_point_estimates_and_refuses_significance():
    from zoo.pipeline.baseline import Baseline

    deployed = Baseline(model="m", dataset="d", metric="mean_iou", direction="max", value=0.5, version="1",
                        location="x", test_fingerprint="f", scores=None)
    plain = decide(metric="mean_iou", direction="max", candidate=0.6, baseline=deployed)
    assert plain.deploy
    strict = decide(metric="mean_iou", direction="max", candidate=0.6, baseline=deployed,
                    require_significance=True, test_fingerprint="f", paired_test=None)
    assert not strict.deploy and "no per-example scores" in strict.reason


def test_a_loss_gate_metric_points_down():
    from zoo.pipeline.baseline import Baseline

    deployed = Baseline(model="m", dataset="d", metric="loss", direction="min", value=0.5, version="1",
                        location="x", test_fingerprint="f", scores=[0.5] * 4)
    better = decide(metric="loss", direction="min", candidate=0.3, baseline=deployed, require_significance=True,
                    candidate_scores=[0.3, 0.31, 0.29, 0.3], test_fingerprint="f", paired_test="paired_t")
    assert better.deploy and better.test == "paired t-test"
    worse = decide(metric="loss", direction="min", candidate=0.7, baseline=deployed)
    assert not worse.deploy


@pytest.fixture(scope="module")
def digits_for_lenet5(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("digits"))
    steps.preprocess("lenet5", "digits", folder)
    return folder


def test_evaluation_streams_the_test_split_and_its_loss_equals_keras_evaluate(digits_for_lenet5, tmp_path):
    model_dir = str(tmp_path / "model")
    steps.train("lenet5", digits_for_lenet5, model_dir, epochs=1)
    evaluation = steps.evaluate("lenet5", digits_for_lenet5, model_dir)
    assert evaluation["paired_test"] == "mcnemar" and evaluation["task"] == "multiclass_classification"
    assert len(evaluation["scores"]) == evaluation["examples"]
    assert np.mean(evaluation["scores"]) == pytest.approx(evaluation["metrics"]["accuracy"])
    model = zoo.load_model(os.path.join(model_dir, "model.keras"))
    x, y = steps.load_prepared(digits_for_lenet5, "test")
    keras_loss = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)["loss"]
    assert evaluation["metrics"]["loss"] == pytest.approx(keras_loss, rel=1e-4)
    assert np.asarray(evaluation["confusion_matrix"]).sum() == evaluation["examples"]


def test_googlenet_trains_its_auxiliary_heads_with_the_papers_weights_and_serves_the_main_output(tmp_path):
    import keras

    spec = zoo.get_spec("googlenet")
    hparams = {**spec.defaults, "input_shape": (65, 65, 1), "classes": 10, "aux_heads": True}
    model = zoo.build("googlenet", input_shape=(65, 65, 1), classes=10, aux_heads=True)
    task = get_task(spec.task)
    outputs = output_count(model, spec, hparams)
    assert outputs == 3
    x, y = task.random_batch(spec, hparams, model, 4, np.random.default_rng(0))
    task.compile(model, spec, hparams, learning_rate=1e-3, outputs=outputs)
    history = model.fit(x, y, epochs=1, verbose=0).history
    aux_losses = [k for k in history if k.startswith("aux_") and k.endswith("_loss")]
    assert len(aux_losses) == 2, sorted(history)
    weighted = history["loss"][0]
    # The total is the main loss plus 0.3 of each auxiliary loss (up to the regularisation-free model's float error).
    main = history[[k for k in history if k.endswith("_loss") and not k.startswith("aux_") and k != "loss"][0]][0]
    assert weighted == pytest.approx(main + 0.3 * sum(history[k][0] for k in aux_losses), rel=1e-3)
    served = task.serving_model(model, spec, hparams, {})
    prediction = served(keras.ops.convert_to_tensor(x))
    assert tuple(prediction.shape) == (4, 10)
    # The example map gives each head the same labels.
    mapped = task.example_map(spec, hparams, {}, outputs)(x[0], y[0][0])
    assert len(mapped[1]) == 3


def test_transfer_learning_trains_two_phases_in_the_train_step(tmp_path):
    from zoo.models.cnn.transfer import training_phases

    phases = training_phases({"trainable_from": "conv5_block1"}, 5)
    assert [(p.name, p.epochs, p.learning_rate_scale) for p in phases] == [
        ("feature_extraction", 2, 1.0), ("fine_tuning", 3, 0.1)]
    assert [p.name for p in training_phases({"trainable_from": None}, 5)] == ["feature_extraction"]

    spec = zoo.get_spec("transfer_learning")
    data, model_dir = str(tmp_path / "data"), str(tmp_path / "model")
    small = {**spec.small, "trainable_from": -3}
    steps.preprocess("transfer_learning", "digits", data, hparams=small)
    metadata = steps.train("transfer_learning", data, model_dir, hparams=small, epochs=2)
    assert [p["name"] for p in metadata["phases"]] == ["feature_extraction", "fine_tuning"]
    assert metadata["phases"][1]["learning_rate"] == pytest.approx(metadata["learning_rate"] / 10)
    assert metadata["epochs_run"] == 2
    with open(os.path.join(model_dir, "metadata.json")) as f:
        assert len(json.load(f)["history"]["loss"]) == 2


def test_phase_prepare_runs_before_its_stage_compiles():
    calls = []
    phase = Phase("fine_tuning", 1, 0.1, prepare=calls.append)
    phase.prepare("model")
    assert calls == ["model"]
