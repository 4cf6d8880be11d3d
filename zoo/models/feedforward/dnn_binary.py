"""The seed notes' IMDB classifier: multi-hot word vectors -> Dense16 -> Dense16 -> Dense1 sigmoid.

Seed 003 "1) Binary Classification": reviews differ in length, so each becomes a vector of `num_words`
(10,000) slots with a 1 for every word of the vocabulary it contains. The network trains on those vectors;
the adapter fits the vocabulary on the training split (a `keras.layers.TextVectorization` in multi-hot
mode; on streamed IMDB reviews, over the training texts read in batches) and the serving wrapper puts the
same vectorisation in front of the trained model, so the deployed model takes raw text. A small dataset is
vectorised whole into arrays; streamed reviews are vectorised one at a time by the reader (`text_map`).
Arrays, reader and server build the vectoriser with `info_vectorizer` from the fitted `info`.
"""

from __future__ import annotations

from typing import Any, Mapping

import keras
import numpy as np

from zoo.data.adapt import encode_targets
from zoo.nn import ChainModel, chain_styles, check_positive_int, dense_head, serializable, uses_tensorflow


def _input_shape(hparams):
    return (hparams["num_words"],)


def dnn_binary_layers(*, num_words: int = 10000, units: int = 16, **_) -> list[keras.layers.Layer]:
    """Two ReLU layers of `units`, then one sigmoid unit."""
    check_positive_int("num_words", num_words)
    check_positive_int("units", units)
    return [
        keras.layers.Dense(units, activation="relu", name="hidden_1"),
        keras.layers.Dense(units, activation="relu", name="hidden_2"),
        dense_head(1, "sigmoid"),
    ]


@serializable
class DNNBinary(ChainModel):
    """`dnn_binary` as a `keras.Model` subclass (seed 003 "1) Binary Classification", IMDB).

    Args:
        num_words: size of the multi-hot input, the vocabulary kept (including the out-of-vocabulary slot).
        units: width of each hidden layer.

    Returns:
        A built model mapping multi-hot vectors (batch, num_words) to the probability of "positive", (batch, 1).

    Example:
        >>> model = DNNBinary(num_words=10000)
        >>> model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    """

    default_name = "dnn_binary"

    def __init__(self, num_words: int = 10000, units: int = 16, name: str | None = None):
        super().__init__(name=name, num_words=num_words, units=units)

    make_layers = staticmethod(dnn_binary_layers)
    input_shape_of = staticmethod(_input_shape)


DNN_BINARY = chain_styles(dnn_binary_layers, DNNBinary, "dnn_binary")


# ------------------------------------------------------------------------------------ text to multi-hot

_BATCH = 1024


def multi_hot_vectorizer(num_words: int, vocabulary=None) -> keras.layers.TextVectorization:
    """The text vectorisation of `dnn_binary`: lower case, no punctuation, whitespace words, multi-hot.

    The output always has `num_words` slots (slot 0 counts out-of-vocabulary words), however small the
    vocabulary, so the network's input size does not depend on the data.
    """
    return keras.layers.TextVectorization(max_tokens=num_words, output_mode="multi_hot", pad_to_max_tokens=True,
                                          vocabulary=vocabulary, name="text_vectorization")


def info_vectorizer(info: Mapping[str, Any]) -> keras.layers.TextVectorization:
    """The fitted multi-hot vectoriser that `info` (as `adapt_text` left it) describes."""
    return multi_hot_vectorizer(int(info["num_words"]), vocabulary=list(info["vocabulary"]))


@uses_tensorflow("data code: the adapter vectorises texts with TextVectorization's string ops")
def _vectorize(vectorizer, texts) -> np.ndarray:
    import tensorflow as tf

    # 0/1 values are exact in uint8: a quarter of float32's memory for IMDB's 50,000 x 10,000 vectors.
    # Keras casts them to the first Dense layer's float dtype.
    chunks = [np.asarray(vectorizer(tf.constant(texts[i:i + _BATCH])), dtype="uint8")
              for i in range(0, len(texts), _BATCH)]
    return np.concatenate(chunks) if chunks else np.zeros((0, vectorizer.vocabulary_size()), dtype="uint8")


def adapt_text(spec, hparams: Mapping[str, Any], splits):
    """Fit the multi-hot vocabulary on the training texts and turn every split's texts into vectors.

    Args:
        spec: the model's spec (its `target` encodes the labels).
        hparams: the model's hyperparameters; `num_words` is the vocabulary size.
        splits: `Splits` of kind "text" (x: strings).

    Returns:
        The splits with x as uint8 multi-hot arrays (N, num_words), y as float32 (N, 1), and in `info`
        the fitted vocabulary ("vocabulary", a list of strings, out-of-vocabulary token first) and
        "num_words", which `text_serving` needs. Streamed splits are fitted on the streamed training
        texts and stay as they are (the reader applies `text_map`); only `info` changes.

    Raises:
        ValueError: if the data is not text.
    """
    from zoo.models.text.preprocessing import fit_vectorizer, held_texts

    texts = held_texts(spec, splits)
    num_words = hparams["num_words"]
    check_positive_int("num_words", num_words)
    fitted = multi_hot_vectorizer(num_words)
    fit_vectorizer(fitted, spec, splits, texts)
    splits.info = {**splits.info, "num_words": num_words,
                   "vocabulary": [str(token) for token in fitted.get_vocabulary()]}
    if splits.streamed:
        return splits
    vectorizer = info_vectorizer(splits.info)
    for name, split in splits.items():
        split.x = _vectorize(vectorizer, texts[name])
        split.y = encode_targets(spec.target, split.y, splits.classes)
    return splits


def text_map(info: Mapping[str, Any]):
    """The reader's map of a streamed review to its float32 multi-hot vector (num_words,): `adapt_text`'s
    array values, from `info_vectorizer(info)`."""
    from zoo.models.text.preprocessing import per_example

    return per_example(info_vectorizer(info), "float32")


adapt_text.streamed_text = "zoo.models.feedforward.dnn_binary:text_map"


def text_serving(model: keras.Model, info: Mapping[str, Any]) -> keras.Model:
    """The deployed model: raw strings in, the probability of "positive" out.

    Prepends a `TextVectorization` built from the vocabulary `adapt_text` stored in `info` to the trained
    model. The result exports with `model.export(dir)`; its serving signature takes a string tensor of shape
    (None,).

    Args:
        model: the trained `dnn_binary` model (any style).
        info: the dataset's `info` as `adapt_text` left it.

    Returns:
        A `keras.Model` from strings (batch,) to probabilities (batch, 1).

    Raises:
        ValueError: if `info` holds no vocabulary or its size does not match the model's input.
    """
    if "vocabulary" not in info or "num_words" not in info:
        raise ValueError("dnn_binary's serving model needs the vocabulary fitted by its adapter; "
                         f"info has only {sorted(info)}.")
    num_words = int(info["num_words"])
    expected = model.inputs[0].shape[-1] if getattr(model, "inputs", None) else model.hparams["num_words"]
    if expected != num_words:
        raise ValueError(f"The vocabulary has {num_words} slots but the model takes {expected}; "
                         "serve the model with the dataset it was trained on.")
    text = keras.Input(shape=(), dtype="string", name="text")
    vectors = info_vectorizer(info)(text)
    return keras.Model(text, model(vectors), name=f"{model.name}_serving")
