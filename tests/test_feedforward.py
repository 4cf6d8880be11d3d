"""Catalog section B, deep feed-forward networks: `dnn_binary` (its text adapter and raw-text serving model)
and `dnn_regression`. Learning checks are marked slow."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from recipes import fit_by_recipe
from zoo.data import Split, Splits, adapt, load_dataset
from zoo.models.feedforward.dnn_binary import adapt_text, text_serving

SENTENCES = ["a good film", "not a good film", "a bad film", "truly great acting", "boring and bad", "great"]


def _text_splits(train, test, name="handmade"):
    labels = lambda texts: np.array([int("good" in t or "great" in t) for t in texts], "int32")  # noqa: E731
    return Splits(name, "text", Split(np.array(train, dtype=object), labels(train)),
                  Split(np.array(test, dtype=object), labels(test)), Split(np.array(test, dtype=object), labels(test)),
                  classes=2)


def _adapted(num_words=64, dataset="synthetic_sentiment", **options):
    spec = zoo.get_spec("dnn_binary")
    return adapt(spec, {**spec.defaults, "num_words": num_words}, load_dataset(dataset, **options))


def _one_line_value_error(call, fragment):
    with pytest.raises(ValueError) as caught:
        call()
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


# ------------------------------------------------------------------------------------------ the text adapter


def test_the_adapter_fits_the_vocabulary_on_the_training_split_only():
    spec = zoo.get_spec("dnn_binary")
    splits = adapt_text(spec, {"num_words": 32}, _text_splits(SENTENCES, ["an unseenword film"]))
    vocabulary = splits.info["vocabulary"]
    assert vocabulary[0] == "[UNK]" and "unseenword" not in vocabulary and "good" in vocabulary
    assert splits.info["num_words"] == 32
    assert splits.train.x.shape == (len(SENTENCES), 32) and splits.train.x.dtype == np.uint8
    # "an unseenword film": two out-of-vocabulary words share slot 0; "film" has its own slot.
    row = splits.test.x[0]
    assert row[0] == 1 and row[vocabulary.index("film")] == 1 and row.sum() == 2
    assert splits.train.y.shape == (len(SENTENCES), 1) and splits.train.y.dtype == np.float32


def test_the_adapter_is_deterministic_and_its_info_is_json_ready():
    import json

    first, second = _adapted(), _adapted()
    assert first.info["vocabulary"] == second.info["vocabulary"]
    np.testing.assert_array_equal(first.test.x, second.test.x)
    assert json.loads(json.dumps(first.info)) == first.info


def test_the_adapter_rejects_data_that_is_not_text():
    _one_line_value_error(lambda: _adapted(dataset="synthetic_two_source"),
                          "dnn_binary trains on text (datasets of kind 'text'). Received: synthetic_two_source")


@pytest.mark.parametrize("style", zoo.STYLES)
def test_every_style_trains_on_the_adapters_uint8_vectors(style):
    import keras

    splits = _adapted(num_words=128)
    model = zoo.build("dnn_binary", style=style, num_words=128)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="binary_crossentropy")
    history = model.fit(splits.train.x[:64], splits.train.y[:64], batch_size=32, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    np.testing.assert_allclose(model.predict(splits.test.x[:8], verbose=0),
                               model.predict(splits.test.x[:8].astype("float32"), verbose=0), rtol=1e-6)


# ----------------------------------------------------------------------------------- the raw-text serving model


@pytest.mark.parametrize("style", zoo.STYLES)
def test_the_serving_model_scores_raw_text_exactly_as_the_model_scores_vectors(style):
    splits = _adapted(num_words=128)
    model = zoo.build("dnn_binary", style=style, num_words=128)
    serving = text_serving(model, splits.info)
    texts = load_dataset("synthetic_sentiment").test.x[:16]
    np.testing.assert_allclose(serving.predict(np.asarray(texts, dtype=object), verbose=0),
                               model.predict(splits.test.x[:16], verbose=0), rtol=1e-6, atol=1e-7)


def test_the_exported_serving_model_reloads_and_takes_raw_strings(tmp_path):
    import tensorflow as tf

    splits = _adapted(num_words=128)
    model = zoo.build("dnn_binary", style="subclass", num_words=128)
    serving = text_serving(model, splits.info)
    serving.export(str(tmp_path / "saved_model"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    texts = ["the plot was not good", "i really loved this film", "words nobody has seen"]
    served = np.asarray(reloaded.serve(tf.constant(texts)))
    assert served.shape == (3, 1) and served.dtype == np.float32
    np.testing.assert_allclose(served, serving.predict(np.array(texts, dtype=object), verbose=0), rtol=1e-6)
    signature = reloaded.signatures["serving_default"].structured_input_signature[1]
    (spec,) = signature.values()
    assert spec.dtype == tf.string and spec.shape.as_list() == [None]


def test_the_serving_wrapper_checks_its_info():
    model = zoo.build("dnn_binary", num_words=64)
    _one_line_value_error(lambda: text_serving(model, {}), "needs the vocabulary fitted by its adapter")
    info = _adapted(num_words=128).info
    _one_line_value_error(lambda: text_serving(model, info), "The vocabulary has 128 slots but the model takes 64")


def test_imdb_reviews_flows_through_the_adapter_and_the_serving_model(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=16):
        splits = _adapted(num_words=50, dataset="imdb_reviews", data_dir=str(tmp_path))
    # IMDB streams: the adapter fits the vocabulary on the streamed training texts; the reader vectorises.
    assert splits.streamed and splits.info["num_words"] == 50 and 2 < len(splits.info["vocabulary"]) <= 50
    model = zoo.build("dnn_binary", num_words=50)
    served = text_serving(model, splits.info).predict(np.array(["A fine movie."], dtype=object), verbose=0)
    assert served.shape == (1, 1) and 0 <= served[0, 0] <= 1


# ------------------------------------------------------------------------------------------------ dnn_regression


@pytest.mark.parametrize("style", zoo.STYLES)
def test_dnn_regression_is_two_relu_layers_of_64_and_a_linear_output(style):
    model = zoo.build("dnn_regression", style=style, input_dim=13)
    dense = [layer for layer in model.layers if hasattr(layer, "units")]
    assert [(layer.units, layer.activation.__name__) for layer in dense] == [(64, "relu"), (64, "relu"), (1, "linear")]
    assert model.count_params() == 13 * 64 + 64 + 64 * 64 + 64 + 64 + 1


def test_the_default_dnn_regression_fits_the_offline_diabetes_features():
    spec = zoo.get_spec("dnn_regression")
    splits = adapt(spec, spec.defaults, load_dataset("diabetes"))
    assert splits.train.x.shape[1] == spec.defaults["input_dim"]
    assert spec.recipe.metrics == ("mae",) and spec.gate.metric == "mae"
    _one_line_value_error(lambda: zoo.build("dnn_regression", units=0), "Received: units=0")


def test_every_feedforward_spec_is_complete():
    from zoo.data import list_datasets

    for name in ["dnn_binary", "dnn_categorical", "dnn_regression"]:
        spec = zoo.get_spec(name)
        assert spec.family == "feedforward" and spec.summary and spec.reference
        assert spec.gate.direction == ("max" if spec.gate.metric == "accuracy" else "min")
        assert set(spec.datasets) <= set(list_datasets())


# ------------------------------------------------------------------------------------ learning (slow, seeded)


@pytest.mark.slow
def test_dnn_binary_beats_the_majority_class_on_synthetic_sentiment_and_serves_it():
    spec = zoo.get_spec("dnn_binary")
    splits = adapt(spec, spec.defaults, load_dataset("synthetic_sentiment"))
    model = fit_by_recipe("dnn_binary", splits)
    predicted = model.predict(splits.test.x, verbose=0)[:, 0] > 0.5
    accuracy = float(np.mean(predicted == (splits.test.y[:, 0] > 0.5)))
    majority = max(splits.test.y.mean(), 1 - splits.test.y.mean())
    assert accuracy > majority + 0.3 and accuracy >= spec.gate.floor
    served = text_serving(model, splits.info).predict(
        np.array(["i really loved this film", "the plot was not good"], dtype=object), verbose=0)[:, 0]
    assert served[0] > 0.5 > served[1]


@pytest.mark.slow
def test_dnn_regression_beats_the_mean_on_diabetes_and_clears_its_gate_floor():
    spec = zoo.get_spec("dnn_regression")
    splits = adapt(spec, spec.defaults, load_dataset("diabetes"))
    model = fit_by_recipe("dnn_regression", splits)
    mae = float(np.mean(np.abs(model.predict(splits.test.x, verbose=0) - splits.test.y)))
    baseline = float(np.mean(np.abs(splits.train.y.mean() - splits.test.y)))
    assert mae < 0.85 * baseline and mae <= spec.gate.floor
