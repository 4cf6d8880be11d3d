"""A 1D convolutional sentence classifier (Kim 2014, "Convolutional Neural Networks for Sentence
Classification").

Token ids -> embeddings -> filters of several widths (3, 4 and 5 tokens: n-gram detectors) sliding along
the sentence, each followed by max-over-time pooling -> concatenation -> dropout -> classifier. As the
seed notes put it (000 "CNN", 1D CNN), the kernel spans the whole embedding and moves along the tokens
only.

Configuration and size: Kim's CNN-rand (embeddings learned from scratch; 100 filters per width, dropout
0.5), with 128-dimensional embeddings instead of word2vec's 300 and without the max-norm constraint on the
classifier's weights. With the defaults (vocabulary 20,000, 200 tokens, 2 classes): 2,714,502 parameters
(embeddings 2,560,000, convolutions 153,900, classifier 602); a test pins it.

Input: int32 token ids in [0, vocab_size), shape (batch, sequence_length), 0 being padding. Turning text
into ids (a vocabulary fitted on the training split) is the data adapter's job, not the model's: `adapt_tokens`
fits it (on streamed IMDB reviews, over the training texts read in batches) and turns a small dataset into
arrays whole; the reader turns streamed reviews into ids one at a time (`token_map`); the server prepends the
same vectoriser (`info_vectorizer`, which all three build from the fitted `info`).
"""

from __future__ import annotations

import keras

from zoo.models.cnn.common import (
    CNNModel, apply_chain, build_chain, check_rate, inherit_trainable,
)
from zoo.nn import Styles, check_positive_int, dense_head, serializable

INPUT_NAME = "tokens"


@serializable
class MultiWidthConv1D(keras.layers.Layer):
    """Kim's convolution layer: one Conv1D per kernel width, each max-pooled over time, concatenated.

    Args:
        filters: filters per width.
        kernel_sizes: the widths, in tokens.
        activation: activation of the convolutions.

    Its output is (batch, filters * len(kernel_sizes)); the sequence must be at least as long as the
    widest kernel.

    Example:
        >>> layer = MultiWidthConv1D(100, (3, 4, 5), name="convolutions")
        >>> y = layer(keras.ops.ones((2, 50, 128)))  # (2, 300)
    """

    def __init__(self, filters: int = 100, kernel_sizes=(3, 4, 5), activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        if not isinstance(kernel_sizes, (list, tuple)) or not kernel_sizes:
            raise ValueError(f"`kernel_sizes` must list at least one width. Received: kernel_sizes={kernel_sizes!r}")
        for k in kernel_sizes:
            check_positive_int("kernel_sizes", k)
        if len(set(kernel_sizes)) != len(kernel_sizes):
            raise ValueError(f"`kernel_sizes` must not repeat a width. Received: kernel_sizes={kernel_sizes!r}")
        self.kernel_sizes = tuple(kernel_sizes)
        self.activation = activation
        kw = {"dtype": self.dtype_policy}
        self.branches = [
            [keras.layers.Conv1D(filters, k, activation=activation, name=f"{self.name}_conv{k}", **kw),
             keras.layers.GlobalMaxPooling1D(name=f"{self.name}_pool{k}", **kw)]
            for k in self.kernel_sizes
        ]
        self.concat = keras.layers.Concatenate(name=f"{self.name}_concat", **kw)
        inherit_trainable(self)

    def build(self, input_shape):
        length = input_shape[1]
        if length is not None and length < max(self.kernel_sizes):
            raise ValueError(
                f"{self.name}: the sequence must be at least {max(self.kernel_sizes)} tokens, the widest kernel. "
                f"Received: input_shape={tuple(input_shape)!r}"
            )
        self.concat.build([build_chain(branch, input_shape) for branch in self.branches])
        self.built = True

    def call(self, inputs, training=None):
        pooled = [apply_chain(branch, inputs, training) for branch in self.branches]
        return self.concat(pooled) if len(pooled) > 1 else pooled[0]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.filters * len(self.kernel_sizes))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_sizes": self.kernel_sizes,
                "activation": self.activation}


def text_cnn_layers(
    *, vocab_size=20000, sequence_length=200, embedding_dim=128, kernel_sizes=(3, 4, 5), filters=100,
    dropout=0.5, classes=2, classifier_activation="softmax", **_,
) -> list[keras.layers.Layer]:
    """The layers: `embedding`, `convolutions` (a `MultiWidthConv1D`), `dropout`, `predictions`.

    Args:
        vocab_size: number of token ids (0 is padding).
        sequence_length: tokens per example; at least the widest kernel.
        embedding_dim: size of the learned embeddings.
        kernel_sizes: convolution widths, in tokens.
        filters: filters per width.
        dropout: dropout rate before the classifier.
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).

    Returns:
        The list of layers that the three styles stack.
    """
    check_positive_int("vocab_size", vocab_size)
    check_positive_int("sequence_length", sequence_length)
    check_positive_int("embedding_dim", embedding_dim)
    check_positive_int("classes", classes)
    check_rate("dropout", dropout)
    convolutions = MultiWidthConv1D(filters, kernel_sizes, name="convolutions")
    if sequence_length < max(convolutions.kernel_sizes):
        raise ValueError(f"`sequence_length` must be at least the widest kernel, {max(convolutions.kernel_sizes)} "
                         f"tokens. Received: sequence_length={sequence_length!r}")
    return [
        keras.layers.Embedding(vocab_size, embedding_dim, name="embedding"),
        convolutions,
        keras.layers.Dropout(dropout, name="dropout"),
        dense_head(classes, classifier_activation),
    ]


@serializable
class TextCNN(CNNModel):
    """The sentence CNN as a `keras.Model` subclass; arguments as `text_cnn_layers`.

    Example:
        >>> model = TextCNN(vocab_size=5000, sequence_length=64, classes=2)
        >>> probabilities = model(np.zeros((1, 64), "int32"))
    """

    default_name = "text_cnn"
    tuple_hparams = ("kernel_sizes",)

    def __init__(self, vocab_size=20000, sequence_length=200, embedding_dim=128, kernel_sizes=(3, 4, 5),
                 filters=100, dropout=0.5, classes=2, classifier_activation="softmax", name=None):
        super().__init__(name=name, vocab_size=vocab_size, sequence_length=sequence_length,
                         embedding_dim=embedding_dim, kernel_sizes=kernel_sizes, filters=filters, dropout=dropout,
                         classes=classes, classifier_activation=classifier_activation)

    make_layers = staticmethod(text_cnn_layers)

    @staticmethod
    def input_shape_of(hparams):
        return (hparams["sequence_length"],)


def _token_input(hparams) -> keras.KerasTensor:
    return keras.Input(shape=(hparams["sequence_length"],), dtype="int32", name=INPUT_NAME)


def _sequential(**hparams):
    layers = text_cnn_layers(**hparams)
    return keras.Sequential([_token_input(hparams), *layers], name="text_cnn")


def _functional(**hparams):
    layers = text_cnn_layers(**hparams)
    inputs = x = _token_input(hparams)
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x, name="text_cnn")


TEXT_CNN = Styles(sequential=_sequential, functional=_functional, subclass=lambda **hp: TextCNN(**hp))


# ------------------------------------------------------------------------------------- text to token ids
def token_vectorizer(vocab_size: int, sequence_length: int, vocabulary=None) -> keras.layers.TextVectorization:
    """Lower case, no punctuation, whitespace words -> `sequence_length` int ids (0 pads, 1 is unknown)."""
    return keras.layers.TextVectorization(max_tokens=vocab_size, output_mode="int",
                                          output_sequence_length=sequence_length, vocabulary=vocabulary,
                                          name="text_vectorization")


def info_vectorizer(info) -> keras.layers.TextVectorization:
    """The fitted vectoriser that `info` (as `adapt_tokens` left it) describes."""
    # The adapter's vocabulary already holds the padding and unknown tokens first.
    return token_vectorizer(int(info["vocab_size"]), int(info["sequence_length"]),
                            vocabulary=list(info["vocabulary"])[2:])


def adapt_tokens(spec, hparams, splits):
    """Fit the vocabulary on the training texts and turn every split's texts into int32 token ids.

    The fitted vocabulary goes to `splits.info["vocabulary"]` (with the sizes), which `token_serving` puts in
    front of the trained model so the deployed model takes raw strings. Streamed splits are fitted on the
    streamed training texts and stay as they are (the reader applies `token_map`); only `info` changes.
    """
    import numpy as np

    from zoo.data.adapt import encode_targets
    from zoo.models.text.preprocessing import fit_vectorizer, held_texts

    texts = held_texts(spec, splits)
    fitted = token_vectorizer(hparams["vocab_size"], hparams["sequence_length"])
    fit_vectorizer(fitted, spec, splits, texts)
    splits.info = {**splits.info, "vocab_size": hparams["vocab_size"],
                   "sequence_length": hparams["sequence_length"],
                   "vocabulary": [str(token) for token in fitted.get_vocabulary()]}
    if splits.streamed:
        return splits
    vectorizer = info_vectorizer(splits.info)
    for name, split in splits.items():
        split.x = np.asarray(vectorizer(texts[name]), dtype="int32")
        split.y = encode_targets(spec.target, split.y, splits.classes)
    return splits


def token_map(info):
    """The reader's map of a streamed text to its int32 ids (sequence_length,), from `info_vectorizer(info)`."""
    from zoo.models.text.preprocessing import per_example

    return per_example(info_vectorizer(info), "int32")


adapt_tokens.streamed_text = "zoo.models.cnn.text_cnn:token_map"


def token_serving(model: keras.Model, info) -> keras.Model:
    """The deployed text CNN: raw strings (batch,) in, class probabilities out."""
    if "vocabulary" not in info:
        raise ValueError(f"text_cnn's serving model needs the vocabulary fitted by its adapter; info has "
                         f"only {sorted(info)}.")
    text = keras.Input(shape=(), dtype="string", name="text")
    return keras.Model(text, model(info_vectorizer(info)(text)), name=f"{model.name}_serving")
