"""The pipeline's steps as plain functions, without KFP."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from zoo.pipeline import arrays, steps

# Its module-scoped fixtures are expensive: `make test` keeps the module on one worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("steps")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """LeNet-5 trained briefly on digits, as the pipeline's first three steps leave it."""
    root = tmp_path_factory.mktemp("lenet5")
    data, model = str(root / "data"), str(root / "model")
    steps.preprocess("lenet5", "digits", data)
    metadata = steps.train("lenet5", data, model, epochs=2, backup_dir=str(root / "backup"))
    evaluation = steps.evaluate("lenet5", data, model, out_path=str(root / "evaluation.json"))
    return root, metadata, evaluation


def test_preprocess_writes_model_shaped_deterministic_splits(tmp_path):
    meta = steps.preprocess("lenet5", "digits", str(tmp_path / "a"))
    again = steps.preprocess("lenet5", "digits", str(tmp_path / "b"))
    assert meta["test_fingerprint"] == again["test_fingerprint"]
    assert meta["sizes"] == {"train": 1257, "val": 270, "test": 270}
    x, y = arrays.load_split(str(tmp_path / "a" / "train.npz"))
    assert x.shape == (1257, 32, 32, 1) and x.dtype == np.float32 and y.dtype == np.int32
    onehot = steps.preprocess("dnn_categorical", "digits", str(tmp_path / "c"))
    x, y = arrays.load_split(str(tmp_path / "c" / "test.npz"))
    assert x.shape == (270, 784) and y.shape == (270, 10) and onehot["classes"] == 10


def test_preprocess_rejects_unknown_datasets_and_hyperparameters(tmp_path):
    with pytest.raises(ValueError, match="Unknown dataset for lenet5: 'iris'"):
        steps.preprocess("lenet5", "iris", str(tmp_path))
    with pytest.raises(ValueError, match="Unknown hyperparameter"):
        steps.preprocess("lenet5", "digits", str(tmp_path), hparams='{"filters": 3}')
    with pytest.raises(ValueError, match="hparams must be a JSON object"):
        steps.preprocess("lenet5", "digits", str(tmp_path), hparams="[1]")


def test_train_writes_keras_file_savedmodel_and_metadata(trained):
    root, metadata, _ = trained
    model_dir = root / "model"
    assert (model_dir / "model.keras").exists() and (model_dir / "saved_model" / "saved_model.pb").exists()
    saved = json.loads((model_dir / "metadata.json").read_text())
    assert saved["model"] == "lenet5" and saved["style"] == "functional" and saved["dataset"] == "digits"
    assert saved["seed"] == 0 and saved["hparams"]["classes"] == 10 and saved["strategy"] == "default"
    assert metadata["epochs_run"] == 2
    assert not (root / "backup").exists()  # BackupAndRestore cleans up after a completed fit


def test_evaluate_scores_per_example_and_builds_a_confusion_matrix(trained):
    _, _, evaluation = trained
    assert evaluation["metric"] == "accuracy" and evaluation["direction"] == "max"
    assert evaluation["value"] == pytest.approx(np.mean(evaluation["scores"]))
    assert evaluation["value"] > 0.5
    matrix = np.array(evaluation["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 270
    assert np.trace(matrix) / 270 == pytest.approx(evaluation["value"])


def test_a_nan_loss_fails_training_with_a_one_line_reason(tmp_path):
    data = str(tmp_path / "data")
    steps.preprocess("dnn_categorical", "digits", data)
    x, y = arrays.load_split(os.path.join(data, "train.npz"))
    x[:5] = np.nan
    arrays.save_split(os.path.join(data, "train.npz"), x, y)
    with pytest.raises(steps.TrainingError, match=r"Training diverged: the (loss|weights) became NaN") as err:
        steps.train("dnn_categorical", data, str(tmp_path / "model"), epochs=2)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "model" / "model.keras").exists()


def test_deploy_versions_the_model_and_the_gate_then_compares_with_it(trained, tmp_path):
    root, _, evaluation = trained
    registry, baselines = str(tmp_path / "registry"), str(tmp_path / "baselines")
    assert steps.gate(evaluation, baselines).deploy
    first = steps.deploy_local(str(root / "model"), evaluation, registry, baselines)
    assert first["version"] == "1" and first["baseline_recorded"]
    assert sorted(os.listdir(first["path"])) == ["evaluation.json", "metadata.json", "model.keras", "saved_model"]
    again = steps.gate(evaluation, baselines)
    assert not again.deploy and again.baseline == evaluation["value"]
    worse = {**evaluation, "value": evaluation["value"] - 0.1}
    second = steps.deploy_local(str(root / "model"), worse, registry, baselines)
    assert second["version"] == "2" and not second["baseline_recorded"] and "keeps serving" in second["note"]


def test_the_saved_model_loads_in_a_new_process_after_import_zoo(trained):
    root, _, _ = trained
    code = (
        "import zoo, keras, numpy as np\n"
        f"m = keras.saving.load_model({str(root / 'model' / 'model.keras')!r}, safe_mode=True)\n"
        "print(m.predict(np.zeros((2, 32, 32, 1), 'float32'), verbose=0).shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("(2, 10)")


def test_a_process_whose_first_import_is_a_shared_zoo_module_still_builds_and_loads_every_model(tmp_path):
    import zoo

    # zoo.models.generative.common imports Keras before anything else; Keras' import then registers the zoo,
    # whose GAN modules import from this half-initialised module. That must neither fail nor lose a class.
    path = str(tmp_path / "acgan.keras")
    zoo.build("acgan", style="subclass", **dict(zoo.get_spec("acgan").small)).save(path)
    code = (
        "import zoo.models.generative.common\n"
        "import zoo\n"
        f"m = zoo.load_model({path!r})\n"
        "print(type(m).__name__, type(zoo.build('sgan', **dict(zoo.get_spec('sgan').small))).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("ACGAN SGAN")


def test_non_finite_quantities_other_than_the_loss_stop_training():
    import keras

    from zoo.nn import StopOnNonFinite

    class Diverging(keras.Model):
        """Reports a GAN-like `d_loss` that becomes NaN at the third batch, and no `loss`."""

        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)
            self.steps_seen = keras.Variable(0.0, trainable=False)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            self.steps_seen.assign_add(1.0)
            nan_after_two = keras.ops.where(self.steps_seen > 2.0, float("nan"), 1.0)
            return {"d_loss": nan_after_two}

    model = Diverging()
    model.compile(optimizer="sgd")
    history = model.fit(np.zeros((40, 2), "float32"), batch_size=4, epochs=3, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN(), StopOnNonFinite()])
    assert float(model.steps_seen.numpy()) == 3.0 and len(history.history["d_loss"]) == 1
    assert np.isnan(history.history["d_loss"][0])


def test_subclassed_models_load_in_a_new_process_after_import_zoo(tmp_path):
    import zoo

    path = str(tmp_path / "perceptron.keras")
    zoo.build("perceptron", style="subclass").save(path)
    code = (
        "import zoo, keras, numpy as np\n"
        f"m = keras.saving.load_model({path!r}, safe_mode=True)\n"
        "print(type(m).__name__, m.predict(np.zeros((3, 2), 'float32'), verbose=0).shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("Perceptron (3, 1)")
