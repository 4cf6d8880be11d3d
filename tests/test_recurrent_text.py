"""Catalog sections E (recurrent classifiers: `simple_rnn`, `lstm`, `gru`, `bidirectional_rnn`) and H (text
representation: `embedding_classifier`, `bow_classifier`), beyond the standard model test.

Right padding and the mask (what cuDNN's LSTM/GRU kernels need), the text preprocessing fitted on the
training split and the serving models that take raw strings, bag-of-words modes and n-grams, one-line
errors, pinned sizes. One learning check runs by default (an LSTM on `synthetic_sentiment`); the others are
slow.
"""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.data import Split, Splits, load_dataset
from zoo.models.text.preprocessing import adapt_bag_of_words, adapt_tokens, bag_of_words_serving, token_serving

TOKEN_MODELS = ("simple_rnn", "lstm", "gru", "bidirectional_rnn", "embedding_classifier")
RECURRENT = ("simple_rnn", "lstm", "gru", "bidirectional_rnn")
STYLES = ("sequential", "functional", "subclass")
SENTENCES = ["a good film", "not a good film", "a bad film", "truly great acting", "boring and bad", "great",
             "good good good"]


def _labels(texts):
    return np.array([int(("good" in t or "great" in t) and "not" not in t) for t in texts], "int32")


def _text_splits(train, test):
    as_split = lambda texts: Split(np.array(texts, dtype=object), _labels(texts))  # noqa: E731
    return Splits("handmade", "text", as_split(train), as_split(test), as_split(test), classes=2)


def _small(name, **extra):
    spec = zoo.get_spec(name)
    return {**spec.defaults, **spec.small, **extra}


def _build(name, style="functional", **extra):
    return zoo.build(name, style=style, **{**zoo.get_spec(name).small, **extra})


def _one_line_value_error(call, fragment):
    with pytest.raises(ValueError) as caught:
        call()
    assert fragment in str(caught.value) and "\n" not in str(caught.value), str(caught.value)


# ---------------------------------------------------------------------------------------------- sizes
@pytest.mark.parametrize("name,hparams,count", [
    ("simple_rnn", {}, 322_146),
    ("simple_rnn", {"stacked": 2}, 324_226),  # + one 32-unit SimpleRNN on 32 inputs: 2,080
    ("lstm", {}, 2_609_538),
    ("gru", {}, 2_597_378),
    ("bidirectional_rnn", {}, 2_659_074),
    ("bidirectional_rnn", {"cell": "gru"}, 2_634_754),
    ("embedding_classifier", {}, 1_280_130),
    ("bow_classifier", {}, 320_050),
])
def test_default_sizes(name, hparams, count):
    assert zoo.build(name, **hparams).count_params() == count


def test_stacked_simple_rnn_layers_return_sequences_except_the_last():
    for style in STYLES:
        model = _build("simple_rnn", style, stacked=3)
        layers = model.encoder if style == "subclass" else [model.get_layer(f"simple_rnn_{i}") for i in (1, 2, 3)]
        assert [layer.name for layer in layers] == ["simple_rnn_1", "simple_rnn_2", "simple_rnn_3"]
        assert [layer.return_sequences for layer in layers] == [True, True, False]
    assert [layer.name for layer in _build("simple_rnn").layers] == ["tokens", "embedding", "simple_rnn", "dropout",
                                                                     "predictions"]


# ---------------------------------------------------------------------------------- padding and masks
def _recurrent_cores(model):
    for layer in model.layers if not hasattr(model, "encoder") else model.encoder:
        if hasattr(layer, "forward_layer"):
            yield from (layer.forward_layer, layer.backward_layer)
        elif hasattr(layer, "cell"):
            yield layer


@pytest.mark.parametrize("name,hparams", [("lstm", {}), ("gru", {}), ("bidirectional_rnn", {"cell": "lstm"}),
                                          ("bidirectional_rnn", {"cell": "gru"})])
def test_lstm_and_gru_layers_keep_what_the_cudnn_kernels_need(name, hparams):
    for style in ("functional", "subclass"):
        model = _build(name, style, **hparams)
        embedding = model.embedding if style == "subclass" else model.get_layer("embedding")
        assert embedding.mask_zero
        cores = list(_recurrent_cores(model))
        assert cores
        for layer in cores:
            cell = layer.cell
            assert cell.activation.__name__ == "tanh" and cell.recurrent_activation.__name__ == "sigmoid"
            assert cell.recurrent_dropout == 0 and cell.use_bias and not layer.unroll
            assert layer.use_cudnn == "auto"
            if type(layer).__name__ == "GRU":
                assert cell.reset_after


@pytest.mark.parametrize("name", TOKEN_MODELS)
@pytest.mark.parametrize("style", STYLES)
def test_the_mask_reaches_the_encoder_so_padding_changes_nothing(name, style):
    # With the mask, padding steps are skipped: a text padded to 32 ids scores exactly as the same text fed
    # (nearly) unpadded to a model of length 5 with the same weights, whatever the padding id's embedding
    # holds: without the mask, 27 steps of large random vectors would move every output.
    model = _build(name, style)
    short = _build(name, style, sequence_length=5)
    rng = np.random.default_rng(0)
    embedding = model.embedding if style == "subclass" else model.get_layer("embedding")
    table = np.asarray(embedding.embeddings)
    table[0] = rng.normal(0, 10, size=table.shape[1])
    embedding.embeddings.assign(table)
    short.set_weights(model.get_weights())
    words = rng.integers(2, 1000, size=(3, 5)).astype("int32")
    lengths = [5, 3, 1]
    padded = np.zeros((3, 32), "int32")
    for row, length in enumerate(lengths):
        padded[row, :length] = words[row, :length]
    for row, length in enumerate(lengths):
        alone = np.asarray(short(np.pad(words[row:row + 1, :length], ((0, 0), (0, 5 - length)))))
        np.testing.assert_allclose(np.asarray(model(padded[row:row + 1])), alone, rtol=1e-5, atol=1e-6)


def test_token_preprocessing_pads_on_the_right_and_never_leaves_a_row_empty():
    spec = zoo.get_spec("lstm")
    long_text = " ".join(["good"] * 7 + ["film"])
    splits = adapt_tokens(spec, _small("lstm", sequence_length=6),
                          _text_splits(SENTENCES, ["", "a good unseenword", long_text, "!!!"]))
    vocabulary = splits.info["vocabulary"]
    assert vocabulary[:2] == ["", "[UNK]"] and "unseenword" not in vocabulary
    ids = lambda *words: [vocabulary.index(w) for w in words]  # noqa: E731
    assert splits.test.x.dtype == np.int32 and splits.test.x.shape == (4, 6)
    np.testing.assert_array_equal(splits.test.x, [
        [1, 0, 0, 0, 0, 0],  # an empty text is one unknown word, never all padding
        ids("a", "good") + [1, 0, 0, 0],
        ids("good") * 6,  # long texts keep their first words
        [1, 0, 0, 0, 0, 0],
    ])


def test_synthetic_sentiment_becomes_right_padded_ids():
    spec = zoo.get_spec("lstm")
    splits = adapt_tokens(spec, _small("lstm"), load_dataset("synthetic_sentiment", n=400))
    for _, split in splits.items():
        mask = split.x != 0
        lengths = mask.sum(axis=1)
        assert lengths.min() >= 1
        # True then False in every row: exactly what cuDNN's sequence lengths describe.
        np.testing.assert_array_equal(mask, np.arange(mask.shape[1]) < lengths[:, None])


# ------------------------------------------------------------------------------------- serving raw strings
@pytest.mark.parametrize("style", STYLES)
def test_the_token_serving_model_takes_raw_strings_and_agrees_with_the_model(style):
    spec = zoo.get_spec("lstm")
    texts = ["a good film", "not a good film", "", "an unseenword", "great great great great"]
    splits = adapt_tokens(spec, _small("lstm"), _text_splits(SENTENCES, texts))
    model = _build("lstm", style)
    serving = token_serving(model, splits.info)
    assert serving.inputs[0].dtype == "string"
    np.testing.assert_allclose(serving.predict(np.array(texts, dtype=object), verbose=0),
                               model.predict(splits.test.x, verbose=0), rtol=1e-5, atol=1e-6)


def test_exported_token_and_bag_of_words_serving_models_take_strings(tmp_path):
    import tensorflow as tf

    texts = np.array(["a good film", "", "not bad"], dtype=object)
    for name, adapter, serving_of in (("bidirectional_rnn", adapt_tokens, token_serving),
                                      ("bow_classifier", adapt_bag_of_words, bag_of_words_serving)):
        hparams = _small(name, mode="tf_idf") if name == "bow_classifier" else _small(name)
        splits = adapter(zoo.get_spec(name), hparams, _text_splits(SENTENCES, list(texts)))
        model = _build(name, "subclass", **({"mode": "tf_idf"} if name == "bow_classifier" else {}))
        serving_of(model, splits.info).export(str(tmp_path / name), verbose=False)
        exported = tf.saved_model.load(str(tmp_path / name))
        np.testing.assert_allclose(np.asarray(exported.serve(tf.constant(texts.astype(str)))),
                                   model.predict(splits.test.x, verbose=0), rtol=1e-5, atol=1e-6)


def test_serving_refuses_info_from_another_preparation():
    model = _build("lstm")
    _one_line_value_error(lambda: token_serving(model, {"num_words": 10}), "vocabulary")
    splits = adapt_tokens(zoo.get_spec("lstm"), _small("lstm", sequence_length=8), _text_splits(SENTENCES, ["a"]))
    _one_line_value_error(lambda: token_serving(model, splits.info), "prepared as 8 ids per text")
    bow = _build("bow_classifier")
    splits = adapt_bag_of_words(zoo.get_spec("bow_classifier"), _small("bow_classifier", max_tokens=64),
                                _text_splits(SENTENCES, ["a"]))
    _one_line_value_error(lambda: bag_of_words_serving(bow, splits.info), "prepared as 64 slots")
    _one_line_value_error(lambda: adapt_tokens(zoo.get_spec("lstm"), _small("lstm"), load_dataset("digits")),
                          "trains on text")


# ----------------------------------------------------------------------------------------- bags of words
def _bow(mode, ngrams, test, max_tokens=64):
    spec = zoo.get_spec("bow_classifier")
    return adapt_bag_of_words(spec, _small("bow_classifier", max_tokens=max_tokens, mode=mode, ngrams=ngrams),
                              _text_splits(SENTENCES, test))


def test_bag_of_words_modes_count_what_they_say():
    test = ["good good film", "an unseenword film"]
    multi_hot, count = _bow("multi_hot", None, test), _bow("count", None, test)
    vocabulary = multi_hot.info["vocabulary"]
    assert vocabulary[0] == "[UNK]" and "unseenword" not in vocabulary
    good, film = vocabulary.index("good"), vocabulary.index("film")
    assert multi_hot.test.x.dtype == np.uint8 and count.test.x.dtype == np.uint16
    assert multi_hot.test.x.shape == count.test.x.shape == (2, 64)  # always max_tokens slots
    assert (multi_hot.test.x[0, good], multi_hot.test.x[0, film], multi_hot.test.x[0].sum()) == (1, 1, 2)
    assert (count.test.x[0, good], count.test.x[0, film], count.test.x[0].sum()) == (2, 1, 3)
    # "an unseenword film": two unknown words share slot 0
    assert (multi_hot.test.x[1, 0], count.test.x[1, 0]) == (1, 2)
    assert multi_hot.info["mode"] == "multi_hot" and "idf_weights" not in multi_hot.info


def test_tf_idf_weights_are_fitted_on_the_training_split_as_keras_fits_them():
    import keras

    test = ["good good film", "an unseenword film", "not a good film", ""]
    tf_idf = _bow("tf_idf", 2, test)
    assert tf_idf.test.x.dtype == np.float32
    reference = keras.layers.TextVectorization(max_tokens=64, output_mode="tf_idf", ngrams=2, pad_to_max_tokens=True)
    reference.adapt(np.array(SENTENCES, dtype=object))
    assert tf_idf.info["vocabulary"] == [str(t) for t in reference.get_vocabulary()]
    np.testing.assert_allclose(tf_idf.test.x, np.asarray(reference(np.array(test, dtype=object))), rtol=1e-6)
    idf = tf_idf.info["idf_weights"]
    assert len(idf) == len(tf_idf.info["vocabulary"]) and idf[0] == pytest.approx(np.mean(idf[1:]))


def test_ngrams_add_the_n_grams_to_the_vocabulary():
    words, bigrams = _bow("multi_hot", None, ["not a good"]), _bow("multi_hot", 2, ["not a good"], max_tokens=128)
    assert "not a" not in words.info["vocabulary"] and "not a" in bigrams.info["vocabulary"]
    assert not any(" " in entry for entry in words.info["vocabulary"])
    assert words.test.x[0].sum() == 3
    row, vocabulary = bigrams.test.x[0], bigrams.info["vocabulary"]
    assert row.sum() == 5 and row[vocabulary.index("not a")] == row[vocabulary.index("a good")] == 1
    trigrams = _bow("multi_hot", 3, [], max_tokens=256)
    assert "not a good" in trigrams.info["vocabulary"]


@pytest.mark.parametrize("mode", ["count", "multi_hot", "tf_idf"])
def test_the_bag_of_words_serving_model_agrees_with_the_model(mode):
    texts = ["a good film", "not a good film good", "", "an unseenword"]
    splits = _bow(mode, 2, texts)
    model = _build("bow_classifier", "functional", max_tokens=64, mode=mode)
    serving = bag_of_words_serving(model, splits.info)
    np.testing.assert_allclose(serving.predict(np.array(texts, dtype=object), verbose=0),
                               model.predict(splits.test.x, verbose=0), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("name,hparams,fragment", [
    ("bidirectional_rnn", {"cell": "rnn"}, "`cell` must be one of 'lstm', 'gru'. Received: cell='rnn'"),
    ("bow_classifier", {"mode": "tfidf"}, "`mode` must be one of 'count', 'multi_hot', 'tf_idf'. Received"),
    ("bow_classifier", {"ngrams": 0}, "`ngrams` must be None or a positive integer"),
    ("bow_classifier", {"ngrams": True}, "Received: ngrams=True"),
    ("bow_classifier", {"ngrams": (1, 2)}, "Received: ngrams=(1, 2)"),
    ("bow_classifier", {"max_tokens": 0}, "`max_tokens` must be a positive integer"),
    ("simple_rnn", {"stacked": 0}, "`stacked` must be a positive integer. Received: stacked=0"),
    ("lstm", {"units": 2.5}, "`units` must be a positive integer"),
    ("gru", {"dropout": 1.0}, "`dropout` must be a number in [0, 1)"),
    ("embedding_classifier", {"vocab_size": 2}, "`vocab_size` must be at least 3"),
    ("embedding_classifier", {"sequence_length": 0}, "`sequence_length` must be a positive integer"),
    ("lstm", {"stacked": 2}, "Unknown hyperparameter for lstm: 'stacked'"),
])
def test_bad_options_are_one_line_value_errors(name, hparams, fragment):
    for style in ("functional", "subclass"):
        _one_line_value_error(lambda: zoo.build(name, style=style, **hparams), fragment)


def test_the_adapters_check_their_options_too():
    _one_line_value_error(lambda: _bow("tfidf", None, []), "`mode` must be one of")
    _one_line_value_error(lambda: _bow("count", -1, []), "`ngrams` must be None or a positive integer")


# ------------------------------------------------------------------------------------------ learning checks
def _learns_synthetic_sentiment(name, epochs=None, n=2000, **hparams):
    from recipes import fit_by_recipe
    from zoo.data import adapt

    spec = zoo.get_spec(name)
    config = _small(name, **hparams)
    splits = adapt(spec, config, load_dataset("synthetic_sentiment", n=n))
    model = fit_by_recipe(name, splits, epochs=epochs, **{**spec.small, **hparams})
    accuracy = model.evaluate(splits.test.x, splits.test.y, verbose=0)[1]
    majority = max(np.mean(splits.test.y), 1 - np.mean(splits.test.y))
    return accuracy, majority


def test_an_lstm_learns_what_not_and_but_do_on_synthetic_sentiment():
    # The polarity words alone give about 0.8; above 0.9 the LSTM has learnt negation and "A but B".
    accuracy, majority = _learns_synthetic_sentiment("lstm", epochs=6)
    assert accuracy > 0.9 and majority < 0.55, (accuracy, majority)


@pytest.mark.slow
@pytest.mark.parametrize("name,hparams", [("simple_rnn", {}), ("simple_rnn", {"stacked": 2}), ("gru", {}),
                                          ("bidirectional_rnn", {"cell": "gru"}), ("embedding_classifier", {}),
                                          ("bow_classifier", {"mode": "count"}), ("bow_classifier", {"mode": "tf_idf"}),
                                          ("bow_classifier", {"mode": "multi_hot", "ngrams": None})])
def test_every_text_classifier_beats_the_majority_class(name, hparams):
    accuracy, majority = _learns_synthetic_sentiment(name, **hparams)
    assert accuracy > majority + 0.15, (accuracy, majority)


@pytest.mark.slow
def test_bidirectional_beats_unidirectional_when_the_deciding_word_comes_first():
    # The class is the first id, followed by 60 random ids: a forward LSTM must carry it across 60 steps,
    # while the backward direction of a bidirectional one reads it last.
    import keras

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 1600).astype("int32")
    x = rng.integers(4, 50, size=(1600, 61)).astype("int32")
    x[:, 0] = 2 + y
    results = {}
    for name in ("lstm", "bidirectional_rnn"):
        keras.utils.set_random_seed(0)
        model = zoo.build(name, vocab_size=50, sequence_length=61, embedding_dim=8, units=8, dropout=0.0)
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x[:1200], y[:1200], batch_size=32, epochs=3, verbose=0)
        results[name] = model.evaluate(x[1200:], y[1200:], verbose=0)[1]
    assert results["bidirectional_rnn"] > 0.95 and results["bidirectional_rnn"] > results["lstm"] + 0.2, results
