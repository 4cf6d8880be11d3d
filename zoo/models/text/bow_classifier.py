"""A bag-of-words classifier: a text as a vector of word (and n-gram) slots, then a small dense network.

Seed 003 "(1) Bag of Words", "(2) n-gram", "(3) TF-IDF": a text becomes one slot per vocabulary entry,
valued by `mode` (`keras.layers.TextVectorization`'s output modes): "multi_hot" (is the entry present),
"count" (how often) or "tf_idf" (how often, times the entry's inverse document frequency, which discounts
words that every text has). With `ngrams=n` the vocabulary holds the 1- to n-grams, so "not good" is an entry
of its own and a bag of bigrams sees a negation that a bag of words cannot. The network is the one Chollet
trains on such vectors ("Deep Learning with Python", 2nd ed., section 11.3.2): Dense(16, relu), dropout 0.5,
classifier.

The vectorisation is fitted on the training split and is not part of this model: the model takes the
vectors (batch, max_tokens), which `zoo.models.text.preprocessing.adapt_bag_of_words` computes once in the
pipeline's preprocess step (the network then trains on plain arrays, on any backend and accelerator), and
`bag_of_words_serving` puts the fitted `TextVectorization` in front of the trained model so the deployed
model takes raw strings. `mode` and `ngrams` are hyperparameters of the model all the same: they say what its
input means, and the adapter and the serving wrapper read them.

Size: with the defaults (20,000 slots, 16 hidden units, 2 classes) 320,050 parameters (hidden layer
320,016, classifier 34); a test pins it.
"""

from __future__ import annotations

from typing import Any

import keras

from zoo.models.cnn.common import check_rate
from zoo.nn import ChainModel, chain_styles, check_positive_int, dense_head, serializable

INPUT_NAME = "bag_of_words"
BAG_OF_WORDS_MODES = ("count", "multi_hot", "tf_idf")


def check_mode(mode: Any) -> str:
    """`mode` if it is a TextVectorization bag-of-words mode; else a one-line ValueError."""
    if mode not in BAG_OF_WORDS_MODES:
        raise ValueError(f"`mode` must be one of {', '.join(repr(m) for m in BAG_OF_WORDS_MODES)}. "
                         f"Received: mode={mode!r}")
    return mode


def check_ngrams(ngrams: Any) -> int | None:
    """`ngrams` if it is None (words only) or a positive integer n (1- to n-grams); else a one-line ValueError."""
    if ngrams is not None and (isinstance(ngrams, bool) or not isinstance(ngrams, int) or ngrams < 1):
        raise ValueError(f"`ngrams` must be None or a positive integer (n: count the 1- to n-grams). "
                         f"Received: ngrams={ngrams!r}")
    return ngrams


def _input_shape(hparams):
    return (hparams["max_tokens"],)


def bow_classifier_layers(*, max_tokens=20000, mode="multi_hot", ngrams=2, units=16, dropout=0.5, classes=2,
                          classifier_activation="softmax") -> list[keras.layers.Layer]:
    """The layers: `hidden` (ReLU), `dropout`, `predictions`.

    Args:
        max_tokens: slots of the bag-of-words vector (the vocabulary size, unknown entries included).
        mode: "multi_hot", "count" or "tf_idf": what a slot holds.
        ngrams: None for words only, or n to count the 1- to n-grams.
        units: width of the hidden layer.
        dropout: dropout rate before the classifier.
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).

    Returns:
        The list of layers that the three styles stack.
    """
    check_positive_int("max_tokens", max_tokens)
    check_mode(mode)
    check_ngrams(ngrams)
    check_positive_int("units", units)
    check_rate("dropout", dropout)
    check_positive_int("classes", classes)
    return [
        keras.layers.Dense(units, activation="relu", name="hidden"),
        keras.layers.Dropout(dropout, name="dropout"),
        dense_head(classes, classifier_activation),
    ]


@serializable
class BagOfWordsClassifier(ChainModel):
    """The bag-of-words classifier as a `keras.Model` subclass; arguments as `bow_classifier_layers`.

    Example:
        >>> model = BagOfWordsClassifier(max_tokens=2000, mode="tf_idf", ngrams=2)
        >>> probabilities = model(np.zeros((1, 2000), "float32"))  # (1, 2)
    """

    default_name = "bow_classifier"

    def __init__(self, max_tokens=20000, mode="multi_hot", ngrams=2, units=16, dropout=0.5, classes=2,
                 classifier_activation="softmax", name=None):
        super().__init__(name=name, max_tokens=max_tokens, mode=mode, ngrams=ngrams, units=units, dropout=dropout,
                         classes=classes, classifier_activation=classifier_activation)

    make_layers = staticmethod(bow_classifier_layers)
    input_shape_of = staticmethod(_input_shape)


BOW_CLASSIFIER = chain_styles(bow_classifier_layers, BagOfWordsClassifier, "bow_classifier", input_name=INPUT_NAME)
