"""Catalog section A, foundations: linear models, the linear SVM, AR(p), the two-input model, and the
perceptron story (learning checks are marked slow)."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from recipes import fit_by_recipe as train_by_recipe
from zoo.data import adapt, list_datasets, load_dataset

LINEAR = ["linear_regression", "logistic_regression", "softmax_regression"]


def fit_by_recipe(name, dataset=None, *, style="functional", hparams=None, seed=0, **options):
    """Train `name` on `dataset` as its spec's recipe says; returns the model and the adapted splits."""
    spec = zoo.get_spec(name)
    config = {**spec.defaults, **(hparams or {})}
    splits = adapt(spec, config, load_dataset(dataset or spec.offline_datasets[0], seed=seed, **options))
    return train_by_recipe(name, splits, style=style, seed=seed, **(hparams or {})), splits


def accuracy(spec, model, split) -> float:
    """Classification accuracy; the linear SVM's score is classified by its sign, probabilities at 0.5."""
    scores = np.asarray(model.predict(split.x, verbose=0))
    truth = np.asarray(split.y)
    if scores.shape[-1] > 1:
        return float(np.mean(scores.argmax(-1) == truth.argmax(-1)))
    threshold = 0.0 if spec.recipe.loss == "hinge" else 0.5
    return float(np.mean((scores[:, 0] > threshold) == (truth.reshape(-1) > 0.5)))


def majority_accuracy(splits) -> float:
    labels = lambda y: y.argmax(-1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)  # noqa: E731
    majority = np.bincount(labels(splits.train.y).astype(int)).argmax()
    return float(np.mean(labels(splits.test.y) == majority))


def _one_line_value_error(call, fragment):
    with pytest.raises(ValueError) as caught:
        call()
    message = str(caught.value)
    assert fragment in message and "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------- linear models


@pytest.mark.parametrize("regularizer,expected", [("l1", lambda w: 0.5 * np.abs(w).sum()),
                                                  ("l2", lambda w: 0.5 * np.square(w).sum())])
@pytest.mark.parametrize("style", zoo.STYLES)
def test_the_regularizer_penalises_the_weights_in_every_style(style, regularizer, expected):
    model = zoo.build("linear_regression", style=style, input_dim=3, regularizer=regularizer, strength=0.5)
    kernel = np.array([[1.0], [-2.0], [3.0]], dtype="float32")
    model.set_weights([kernel, np.zeros(1, "float32")])
    model(np.zeros((1, 3), "float32"))
    assert float(sum(np.asarray(loss) for loss in model.losses)) == pytest.approx(expected(kernel), rel=1e-5)


def test_no_regularizer_means_no_penalty():
    assert zoo.build("linear_regression", regularizer="none", strength=5.0).losses == []
    assert zoo.build("linear_regression", regularizer="l2", strength=0.0).losses == []


def test_unknown_regularizer_or_negative_strength_is_a_one_line_error():
    _one_line_value_error(lambda: zoo.build("linear_regression", regularizer="elastic"),
                          "`regularizer` must be one of 'none', 'l1', 'l2'. Received: regularizer='elastic'")
    _one_line_value_error(lambda: zoo.build("logistic_regression", regularizer="l2", strength=-1),
                          "Received: strength=-1")
    _one_line_value_error(lambda: zoo.build("softmax_regression", classes=0), "Received: classes=0")
    _one_line_value_error(lambda: zoo.build("linear_regression", input_dim="3"), "Received: input_dim='3'")


@pytest.mark.parametrize("name,expected", [
    ("linear_regression", lambda z: z),
    ("logistic_regression", lambda z: 1 / (1 + np.exp(-z))),
    ("linear_svm", lambda z: z),
])
def test_single_unit_models_compute_their_function_of_wx_plus_b(name, expected):
    model = zoo.build(name, input_dim=2)
    model.set_weights([np.array([[2.0], [-1.0]], "float32"), np.array([0.5], "float32")])
    x = np.array([[1.0, 1.0], [-3.0, 2.0], [4.0, 0.0]], "float32")
    np.testing.assert_allclose(np.asarray(model(x)), expected(x @ [[2.0], [-1.0]] + 0.5), rtol=1e-5)


def test_softmax_regression_outputs_a_distribution_over_classes():
    model = zoo.build("softmax_regression", input_dim=4, classes=3)
    probabilities = np.asarray(model(np.random.default_rng(0).normal(size=(5, 4)).astype("float32")))
    assert probabilities.shape == (5, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_linear_svm_trains_with_hinge_loss_plus_its_margin_penalty():
    spec = zoo.get_spec("linear_svm")
    assert spec.recipe.loss == "hinge" and spec.target == "binary"
    model = zoo.build("linear_svm", input_dim=2, l2=0.1)
    model.set_weights([np.array([[3.0], [4.0]], "float32"), np.zeros(1, "float32")])
    model.compile(optimizer="sgd", loss=spec.recipe.loss)
    x = np.array([[1.0, 0.0], [0.0, -1.0]], "float32")  # margins 3 and -4
    y = np.array([[0.0], [1.0]], "float32")  # both on the wrong side: hinge 1 + 3 and 1 + 4
    loss = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx((4 + 5) / 2 + 0.1 * 25, rel=1e-5)


# ------------------------------------------------------------------------------------------------ AR(p)


@pytest.mark.parametrize("style", zoo.STYLES)
def test_an_untrained_ar_model_is_the_naive_forecast(style):
    model = zoo.build("autoregressive", style=style, lags=5)
    windows = np.random.default_rng(0).normal(10, 3, size=(6, 5)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(windows))[:, 0], windows[:, -1], rtol=1e-6)


def test_the_ar_adapter_keeps_the_most_recent_lags():
    spec = zoo.get_spec("autoregressive")
    raw = load_dataset("synthetic_series", window=20)
    adapted = adapt(spec, {"lags": 6}, load_dataset("synthetic_series", window=20))
    assert adapted.train.x.shape == (len(raw.train), 6) and adapted.train.x.dtype == np.float32
    np.testing.assert_array_equal(adapted.test.x, raw.test.x[:, -6:])
    assert adapted.test.y.shape == (len(raw.test), 1)
    assert adapted.info["lags"] == 6


def test_the_ar_adapter_rejects_short_windows_and_other_data():
    spec = zoo.get_spec("autoregressive")
    _one_line_value_error(lambda: adapt(spec, {"lags": 30}, load_dataset("synthetic_series", window=20)),
                          "lags=30 needs windows of at least 30 values; synthetic_series has windows of 20")
    _one_line_value_error(lambda: adapt(spec, {"lags": 2}, load_dataset("synthetic_linear")),
                          "Received: synthetic_linear of kind 'tabular'")
    _one_line_value_error(lambda: zoo.build("autoregressive", lags=0), "Received: lags=0")


# ------------------------------------------------------------------------------------------------ two inputs


def test_multi_input_cannot_be_sequential_and_says_why():
    message = _one_line_value_error(lambda: zoo.build("multi_input", style="sequential"), "cannot be built")
    assert "exactly one input" in message


@pytest.mark.parametrize("style", ["functional", "subclass"])
def test_multi_input_reads_both_named_inputs(style):
    model = zoo.build("multi_input", style=style)
    rng = np.random.default_rng(0)
    x = {"source_a": rng.normal(size=(8, 4)).astype("float32"), "source_b": rng.normal(size=(8, 6)).astype("float32")}
    base = np.asarray(model(x))
    for key in x:
        changed = dict(x, **{key: x[key] + 1.0})
        assert not np.allclose(np.asarray(model(changed)), base), key
    if style == "functional":
        assert sorted(t.name for t in model.inputs) == ["source_a", "source_b"]


def test_multi_input_takes_the_two_source_data_as_it_comes():
    spec = zoo.get_spec("multi_input")
    splits = adapt(spec, spec.defaults, load_dataset("synthetic_two_source"))
    assert set(splits.train.x) == {"source_a", "source_b"}
    assert splits.train.y.shape == (len(splits.train), 1) and splits.train.y.dtype == np.float32
    assert zoo.build("multi_input").predict(splits.test.x, verbose=0).shape == (len(splits.test), 1)


def test_every_foundations_spec_is_complete():
    for name in ["perceptron", "mlp", *LINEAR, "linear_svm", "autoregressive", "multi_input"]:
        spec = zoo.get_spec(name)
        assert spec.family == "foundations" and spec.summary and spec.reference
        assert spec.gate.metric in ("accuracy", "mse", "mae", "rmse")
        assert spec.gate.direction == ("max" if spec.gate.metric == "accuracy" else "min")
        assert set(spec.datasets) <= set(list_datasets())


# ----------------------------------------------------------------------------------- learning (slow, seeded)


@pytest.mark.slow
@pytest.mark.parametrize("gate", ["and", "or", "nand"])
def test_the_perceptron_learns_the_linearly_separable_gates(gate):
    spec = zoo.get_spec("perceptron")
    model, splits = fit_by_recipe("perceptron", "synthetic_logic_gates", gate=gate)
    assert accuracy(spec, model, splits.test) == 1.0


@pytest.mark.slow
def test_the_perceptron_cannot_learn_xor_and_the_mlp_can():
    perceptron, splits = fit_by_recipe("perceptron", "synthetic_logic_gates", gate="xor")
    # No line separates XOR's classes: at most three of the four corners are right.
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], "float32")
    assert np.sum((perceptron.predict(corners, verbose=0)[:, 0] > 0.5) == [0, 1, 1, 0]) <= 3
    assert accuracy(zoo.get_spec("perceptron"), perceptron, splits.test) < 1.0
    mlp, splits = fit_by_recipe("mlp", "synthetic_xor")
    assert accuracy(zoo.get_spec("mlp"), mlp, splits.test) == 1.0
    assert np.array_equal(mlp.predict(corners, verbose=0)[:, 0] > 0.5, [False, True, True, False])


@pytest.mark.slow
def test_linear_regression_recovers_the_notes_line_y_equals_11x_plus_1():
    import keras
    import tensorflow as tf

    spec = zoo.get_spec("linear_regression")
    splits = adapt(spec, spec.defaults, load_dataset("synthetic_linear", variant="notes"))
    keras.utils.set_random_seed(0)
    model = zoo.build("linear_regression")
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss=spec.recipe.loss)
    # Full-batch gradient descent on the training points, as the notes' loop does, in one `fit` epoch.
    steps = tf.data.Dataset.from_tensors((splits.train.x, splits.train.y)).repeat(600)
    model.fit(steps, epochs=1, verbose=0, shuffle=False)
    kernel, bias = model.get_weights()
    assert kernel[0, 0] == pytest.approx(11.0, abs=0.01) and bias[0] == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(model.predict(splits.test.x, verbose=0), splits.test.y, atol=0.1)


@pytest.mark.slow
def test_linear_regression_recovers_the_line_from_the_noisy_sample_with_its_recipe():
    model, splits = fit_by_recipe("linear_regression")
    kernel, bias = model.get_weights()
    assert kernel[0, 0] == pytest.approx(11.0, abs=0.3) and bias[0] == pytest.approx(1.0, abs=0.6)
    mse = float(np.mean((model.predict(splits.test.x, verbose=0) - splits.test.y) ** 2))
    assert mse < 6.0  # the noise variance is 4


@pytest.mark.slow
@pytest.mark.parametrize("name", ["logistic_regression", "softmax_regression", "linear_svm", "multi_input"])
def test_classifiers_beat_the_majority_class_and_clear_their_gate_floor(name):
    spec = zoo.get_spec(name)
    model, splits = fit_by_recipe(name)
    score = accuracy(spec, model, splits.test)
    assert score > majority_accuracy(splits) + 0.2
    assert score >= spec.gate.floor


@pytest.mark.slow
def test_ar_beats_the_naive_forecast_and_clears_its_gate_floor():
    spec = zoo.get_spec("autoregressive")
    model, splits = fit_by_recipe("autoregressive")
    predictions = model.predict(splits.test.x, verbose=0)
    mae = float(np.mean(np.abs(predictions - splits.test.y)))
    naive = float(np.mean(np.abs(splits.test.x[:, -1:] - splits.test.y)))
    assert mae < 0.7 * naive
    assert mae <= spec.gate.floor

