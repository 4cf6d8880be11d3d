"""Text to model inputs, fitted on the training split, and the serving models that take raw strings.

The text classifiers of catalog sections E and H train on numbers and deploy on strings. A model's adapter
(the spec's `adapter`, run by the pipeline's preprocess step) fits a `keras.layers.TextVectorization` on the
training texts only and stores what it fitted in `splits.info` (JSON-ready), which travels with the dataset
artifact. A small dataset held in memory (`synthetic_sentiment`) is then turned into arrays whole; a streamed
one (`imdb_reviews`, TFDS references) is fitted on its training texts read in batches through `tf.data`
(`TextVectorization.adapt` over the stream: memory bounded by a batch) and stays text: the adapter's
`streamed_text` names the map that the reader (`zoo.data.stream.read`) applies to each review after the
shuffle (`token_map`, `bag_of_words_map`). The serving wrapper (the spec's `serving`) rebuilds the same
vectorisation from `info` and puts it in front of the trained model, so the exported SavedModel takes a
string tensor of shape (batch,). The arrays, the streamed map and the server build the vectoriser with one
function from the same `info`, so training and serving read text identically. Text is lower-cased, stripped
of punctuation and split on whitespace.

Two encodings:

- **Token ids** (`adapt_tokens`, `token_serving`) for the models that start with an `Embedding`
  (`embedding_classifier`, `simple_rnn`, `lstm`, `gru`, `bidirectional_rnn`): the `vocab_size - 2` most
  frequent training words get ids from 2, unknown words 1, and 0 pads every text **on the right** to
  `sequence_length` ids (longer texts keep their first `sequence_length` words). Right padding is what
  `TextVectorization(output_sequence_length=...)` produces and what the cuDNN LSTM/GRU kernels need: they
  read a row's length from its mask and accept only masks that are True then False. (`keras.utils.
  pad_sequences` pads on the *left* by default; it is not used.) A text with no word at all (an empty
  review) would be all padding, and a fully masked row is refused by the cuDNN kernels (Keras 3 asserts
  instead of falling back) and makes a masked average divide 0 by 0, so `NonEmptyTokens` reads it as one
  unknown word.
- **Bags of words** (`adapt_bag_of_words`, `bag_of_words_serving`) for `bow_classifier`: one slot per
  vocabulary entry (slot 0 for unknown words), with `ngrams=n` the vocabulary holding the 1- to n-grams,
  valued by `mode`: "multi_hot" (1 if present), "count" (occurrences) or "tf_idf" (occurrences times the
  entry's inverse document frequency on the training split, log(1 + N / (1 + df)), as Keras computes it).
  Arrays of a small dataset are stored compactly (uint8 for multi-hot, uint16 for counts, float32 for
  tf-idf); streamed reviews become float32 vectors one at a time in the reader (on IMDB, 22,500 training
  reviews of 20,000 slots, arrays would take 450 MB, 900 MB or 1.8 GB).

This module is Keras and NumPy, and TensorFlow only in the reader's per-example maps (which run inside
`tf.data` under every backend; TextVectorization's outputs are dense there, never ragged).
"""

from __future__ import annotations

from typing import Any, Mapping

import keras
import numpy as np

from zoo.models.text.bow_classifier import check_mode, check_ngrams
from zoo.models.text.tokens import NonEmptyTokens
from zoo.nn import check_positive_int, uses_tensorflow

# Storage of each bag-of-words mode: exact for multi-hot and counts (up to 65,535 occurrences of one entry in
# one text), a quarter or half of float32's memory. Keras casts them to the first layer's float dtype.
_STORAGE = {"multi_hot": "uint8", "count": "uint16", "tf_idf": "float32"}
_CHUNK = 1024


def check_text(spec, splits) -> None:
    """A one-line ValueError unless `splits` holds texts."""
    if splits.kind != "text":
        raise ValueError(f"{spec.name} trains on text (datasets of kind 'text'). "
                         f"Received: {splits.name} of kind {splits.kind!r}")


def held_texts(spec, splits) -> dict[str, np.ndarray] | None:
    """Each split's texts as an object array of Python strings (a fixed-width unicode array would pad every
    text to the longest one), or None when the splits stream (they stay where they are); a one-line
    ValueError unless `splits` holds texts."""
    check_text(spec, splits)
    if splits.streamed:
        return None
    return {name: np.asarray([str(t) for t in split.x], dtype=object) for name, split in splits.items()}


def training_batches(spec, splits):
    """The training texts of streamed `splits` as a `tf.data.Dataset` of string batches of `_CHUNK` texts,
    read in place (TFDS): what `TextVectorization.adapt` and the document frequencies are fitted on."""
    from zoo.data.corpus import sentences_dataset

    check_text(spec, splits)
    return sentences_dataset(splits.train, data_dir=splits.info.get("tfds_data_dir")).batch(_CHUNK)


def fit_vectorizer(layer: keras.layers.TextVectorization, spec, splits, texts=None) -> None:
    """`layer.adapt` on the training texts: streamed in batches, or the `texts["train"]` array held whole."""
    if splits.streamed:
        layer.adapt(training_batches(spec, splits))
    else:
        layer.adapt(texts["train"], batch_size=_CHUNK)


@uses_tensorflow("data code: the reader's tf.data map runs TextVectorization's string ops on one text")
def per_example(layer: keras.layers.Layer, dtype: str, finish=None):
    """A map for the reader: one text (a scalar string) -> `layer`'s output row for it, as `dtype`.

    `finish` (TensorFlow ops on the (1, width) output) stands in for a Keras layer that would run the
    backend's ops, which a tf.data map cannot take under JAX.
    """
    import tensorflow as tf

    def to_input(text):
        x = tf.cast(layer(tf.reshape(text, (1,))), dtype)
        return (finish(x) if finish else x)[0]

    return to_input


def _apply(layers, texts: np.ndarray, dtype: str, width: int) -> np.ndarray:
    """`layers` applied to `texts` in chunks (TextVectorization materialises its whole input), as `dtype`."""
    chunks = []
    for start in range(0, len(texts), _CHUNK):
        x = texts[start:start + _CHUNK]
        for layer in layers:
            x = layer(x)
        x = keras.ops.convert_to_numpy(x)
        if dtype == "uint16":
            x = np.minimum(x, np.iinfo("uint16").max)
        chunks.append(x.astype(dtype))
    return np.concatenate(chunks) if chunks else np.zeros((0, width), dtype=dtype)


def _check_info(info: Mapping[str, Any], keys: tuple[str, ...], what: str) -> None:
    missing = [k for k in keys if k not in info]
    if missing:
        raise ValueError(f"The {what} serving model needs what its adapter fitted ({', '.join(missing)}); "
                         f"the dataset's info has only {sorted(info)}. Prepare the data with this model.")


def _input_width(model: keras.Model, hparam: str) -> int | None:
    """The width of `model`'s input: from its input tensor, or a subclassed zoo model's hyperparameters."""
    inputs = getattr(model, "inputs", None)
    if inputs:
        return inputs[0].shape[-1]
    return getattr(model, "hparams", {}).get(hparam)


def _serving_model(model: keras.Model, layers) -> keras.Model:
    text = keras.Input(shape=(), dtype="string", name="text")
    x = text
    for layer in layers:
        x = layer(x)
    return keras.Model(text, model(x), name=f"{model.name}_serving")


# -------------------------------------------------------------------------------------------- token ids
def token_vectorizer(vocab_size: int, sequence_length: int, vocabulary=None) -> keras.layers.TextVectorization:
    """Words -> `sequence_length` ids, right-padded with 0 (1 is unknown), from at most `vocab_size` ids."""
    return keras.layers.TextVectorization(max_tokens=vocab_size, output_mode="int",
                                          output_sequence_length=sequence_length, vocabulary=vocabulary,
                                          name="text_vectorization")


def token_layers(info: Mapping[str, Any]) -> list[keras.layers.Layer]:
    """The fitted text-to-ids layers that `info` describes: what the adapter applies and the server prepends."""
    vectorizer = token_vectorizer(int(info["vocab_size"]), int(info["sequence_length"]),
                                  vocabulary=list(info["vocabulary"]))
    return [vectorizer, NonEmptyTokens(name="non_empty_tokens")]


def adapt_tokens(spec, hparams: Mapping[str, Any], splits):
    """Fit the vocabulary on the training texts and turn every split's texts into int32 token ids.

    Args:
        spec: the model's spec (its `target` encodes the labels).
        hparams: the model's hyperparameters: `vocab_size` (ids, padding and unknown included) and
            `sequence_length` (ids per text).
        splits: `Splits` of kind "text".

    Returns:
        The splits with x int32 (N, sequence_length), right-padded with 0 and never all padding, and in
        `info` "vocab_size", "sequence_length" and "vocabulary" (padding "" and unknown "[UNK]" first),
        which `token_serving` needs. Streamed splits are fitted on the streamed training texts and stay as
        they are (the reader applies `token_map`); only `info` changes.

    Raises:
        ValueError: if the data is not text or a size is not a positive integer.
    """
    from zoo.data.adapt import encode_targets

    vocab_size = check_positive_int("vocab_size", hparams["vocab_size"])
    sequence_length = check_positive_int("sequence_length", hparams["sequence_length"])
    texts = held_texts(spec, splits)
    fitted = token_vectorizer(vocab_size, sequence_length)
    fit_vectorizer(fitted, spec, splits, texts)
    info = {"vocab_size": vocab_size, "sequence_length": sequence_length,
            "vocabulary": [str(token) for token in fitted.get_vocabulary()]}
    splits.info = {**splits.info, **info}
    if splits.streamed:
        return splits
    layers = token_layers(info)
    for name, split in splits.items():
        split.x = _apply(layers, texts[name], "int32", sequence_length)
        split.y = encode_targets(spec.target, split.y, splits.classes)
    return splits


@uses_tensorflow("data code: runs in the reader's tf.data map")
def token_map(info: Mapping[str, Any]):
    """The reader's map of a streamed text to its int32 ids (sequence_length,), as `adapt_tokens` makes arrays.

    The vectoriser is `token_layers(info)`'s; `NonEmptyTokens` (Keras ops) is done again in TensorFlow: an
    empty text's first id, padding, becomes unknown.
    """
    import tensorflow as tf

    from zoo.models.text.tokens import PADDING_ID, UNKNOWN_ID

    vectorizer = token_layers(info)[0]

    def non_empty(ids):
        first = ids[:, :1]
        return tf.concat([tf.where(first == PADDING_ID, tf.fill(tf.shape(first), UNKNOWN_ID), first), ids[:, 1:]],
                         axis=1)

    return per_example(vectorizer, "int32", finish=non_empty)


adapt_tokens.streamed_text = "zoo.models.text.preprocessing:token_map"


def token_serving(model: keras.Model, info: Mapping[str, Any]) -> keras.Model:
    """The deployed token model: raw strings (batch,) in, the model's output out.

    Args:
        model: the trained model (any style), taking int32 ids (batch, sequence_length).
        info: the dataset's `info` as `adapt_tokens` left it.

    Returns:
        A `keras.Model` from a string tensor (batch,) to the model's output; it exports with `model.export`.

    Raises:
        ValueError: if `info` holds no fitted vocabulary or its sequence length is not the model's.
    """
    _check_info(info, ("vocab_size", "sequence_length", "vocabulary"), "token")
    width = _input_width(model, "sequence_length")
    if width is not None and width != int(info["sequence_length"]):
        raise ValueError(f"The data was prepared as {info['sequence_length']} ids per text but {model.name} takes "
                         f"{width}; serve the model with the dataset it was trained on.")
    return _serving_model(model, token_layers(info))


# -------------------------------------------------------------------------------------- bags of words
def bag_of_words_vectorizer(max_tokens: int, mode: str, ngrams: int | None, vocabulary=None,
                            idf_weights=None) -> keras.layers.TextVectorization:
    """Words (and with `ngrams` their n-grams) -> a vector of `max_tokens` slots valued by `mode`.

    The output always has `max_tokens` slots (slot 0 for unknown entries), however small the vocabulary,
    so the classifier's input size does not depend on the data.
    """
    return keras.layers.TextVectorization(max_tokens=max_tokens, output_mode=check_mode(mode),
                                          ngrams=check_ngrams(ngrams), pad_to_max_tokens=True,
                                          vocabulary=vocabulary, idf_weights=idf_weights,
                                          name="text_vectorization")


def bag_of_words_layers(info: Mapping[str, Any]) -> list[keras.layers.Layer]:
    """The fitted text-to-vector layer that `info` describes (a list, like `token_layers`)."""
    idf = info.get("idf_weights") if info["mode"] == "tf_idf" else None
    return [bag_of_words_vectorizer(int(info["max_tokens"]), info["mode"], info["ngrams"],
                                    vocabulary=list(info["vocabulary"]), idf_weights=idf)]


def _document_frequencies(fitted, batches) -> tuple[np.ndarray, int]:
    """In how many texts of `batches` (arrays or a dataset of string batches) each slot of the multi-hot
    vectoriser `fitted` occurs, and how many texts there were."""
    counts, texts = 0.0, 0
    for batch in batches:
        vectors = keras.ops.convert_to_numpy(fitted(batch))
        counts += vectors.sum(axis=0)
        texts += len(vectors)
    return counts, texts


def adapt_bag_of_words(spec, hparams: Mapping[str, Any], splits):
    """Fit the vocabulary (and for tf-idf the idf weights) on the training texts; vectorise every split.

    Args:
        spec: the model's spec (its `target` encodes the labels).
        hparams: the model's hyperparameters: `max_tokens` (slots), `mode` and `ngrams`.
        splits: `Splits` of kind "text".

    Returns:
        The splits with x (N, max_tokens) bags of words (uint8, uint16 or float32, see the module notes),
        and in `info` "max_tokens", "mode", "ngrams", "vocabulary" (unknown "[UNK]" first) and, for tf-idf,
        "idf_weights" (one per vocabulary entry; the unknown entry's is the mean of the others, as Keras'
        own `adapt` sets it), which `bag_of_words_serving` needs. Streamed splits are fitted on the streamed
        training texts (two passes: the vocabulary, then for tf-idf the document frequencies) and stay as
        they are (the reader applies `bag_of_words_map`); only `info` changes.

    Raises:
        ValueError: if the data is not text or an option is invalid.
    """
    from zoo.data.adapt import encode_targets

    max_tokens = check_positive_int("max_tokens", hparams["max_tokens"])
    mode, ngrams = check_mode(hparams["mode"]), check_ngrams(hparams["ngrams"])
    texts = held_texts(spec, splits)
    # The vocabulary (most frequent entries first) does not depend on the mode; multi-hot vectors of the
    # training texts are what the document frequencies are summed from.
    fitted = bag_of_words_vectorizer(max_tokens, "multi_hot", ngrams)
    fit_vectorizer(fitted, spec, splits, texts)
    vocabulary = [str(token) for token in fitted.get_vocabulary()]
    info = {"max_tokens": max_tokens, "mode": mode, "ngrams": ngrams, "vocabulary": vocabulary}
    if mode == "tf_idf":
        batches = training_batches(spec, splits) if splits.streamed else (
            texts["train"][start:start + _CHUNK] for start in range(0, len(texts["train"]), _CHUNK))
        frequencies, count = _document_frequencies(fitted, batches)
        idf = np.log1p(count / (1.0 + frequencies[1:len(vocabulary)]))
        info["idf_weights"] = [float(idf.mean()) if len(idf) else 0.0, *map(float, idf)]
    splits.info = {**splits.info, **info}
    if splits.streamed:
        return splits
    layers = bag_of_words_layers(info)
    for name, split in splits.items():
        split.x = _apply(layers, texts[name], _STORAGE[mode], max_tokens)
        split.y = encode_targets(spec.target, split.y, splits.classes)
    return splits


@uses_tensorflow("data code: runs in the reader's tf.data map")
def bag_of_words_map(info: Mapping[str, Any]):
    """The reader's map of a streamed text to its float32 bag of words (max_tokens,): the values of
    `adapt_bag_of_words`' arrays (counts capped as uint16 caps them), from `bag_of_words_layers(info)`."""
    import tensorflow as tf

    (vectorizer,) = bag_of_words_layers(info)

    def cap(counts):
        return tf.minimum(counts, float(np.iinfo("uint16").max))

    return per_example(vectorizer, "float32", finish=cap if info["mode"] == "count" else None)


adapt_bag_of_words.streamed_text = "zoo.models.text.preprocessing:bag_of_words_map"


def bag_of_words_serving(model: keras.Model, info: Mapping[str, Any]) -> keras.Model:
    """The deployed bag-of-words model: raw strings (batch,) in, the model's output out.

    Args:
        model: the trained model (any style), taking vectors (batch, max_tokens).
        info: the dataset's `info` as `adapt_bag_of_words` left it.

    Returns:
        A `keras.Model` from a string tensor (batch,) to the model's output; it exports with `model.export`.

    Raises:
        ValueError: if `info` holds no fitted vocabulary or its size is not the model's input size.
    """
    _check_info(info, ("max_tokens", "mode", "ngrams", "vocabulary"), "bag-of-words")
    if info["mode"] == "tf_idf":
        _check_info(info, ("idf_weights",), "tf-idf")
    width = _input_width(model, "max_tokens")
    if width is not None and width != int(info["max_tokens"]):
        raise ValueError(f"The data was prepared as {info['max_tokens']} slots per text but {model.name} takes "
                         f"{width}; serve the model with the dataset it was trained on.")
    return _serving_model(model, bag_of_words_layers(info))
