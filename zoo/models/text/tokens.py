"""Token classifiers: int32 token ids -> `Embedding(mask_zero=True)` -> an encoder that reads the padding
mask -> dropout -> classifier, in the three styles.

`embedding_classifier` (encoder: masked global average pooling) and the recurrent classifiers of
`zoo.models.recurrent` (encoder: SimpleRNN, LSTM or GRU layers) are built here.

Input: int32 ids (batch, sequence_length), right-padded with 0, each row holding at least one token (what
`zoo.models.text.preprocessing.adapt_tokens` produces from text). The embedding's mask (id != 0) tells the
encoder which steps are padding: the recurrent layers skip them (the state after a text's last word is its
summary, whatever padding follows) and the average counts only real words. The sequential and functional
styles pass the mask along the graph as Keras does; the subclass passes it explicitly to each encoder
layer.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import keras

from zoo.models.cnn.common import check_rate
from zoo.nn import Styles, check_positive_int, dense_head, serializable

INPUT_NAME = "tokens"
PADDING_ID = 0
UNKNOWN_ID = 1


@serializable
class NonEmptyTokens(keras.layers.Layer):
    """Right-padded int32 token ids in which every row holds at least one token.

    A row that is all padding (the ids of an empty text) becomes one unknown word followed by padding; every
    other row passes unchanged. Right padding makes the test cheap: a row is empty exactly when its first id
    is padding.

    Args:
        unknown_id: the id that replaces the first padding id of an empty row.

    Example:
        >>> NonEmptyTokens()(np.array([[5, 3, 0], [0, 0, 0]]))  # [[5, 3, 0], [1, 0, 0]]
    """

    def __init__(self, unknown_id: int = UNKNOWN_ID, **kwargs):
        super().__init__(**kwargs)
        self.unknown_id = check_positive_int("unknown_id", unknown_id)

    def call(self, ids):
        ops = keras.ops
        ids = ops.cast(ids, "int32")
        first = ids[:, :1]
        first = ops.where(ops.equal(first, PADDING_ID), ops.full_like(first, self.unknown_id), first)
        return ops.concatenate([first, ids[:, 1:]], axis=1)

    def compute_output_spec(self, ids):
        return keras.KerasTensor(ids.shape, dtype="int32")

    def get_config(self):
        return {**super().get_config(), "unknown_id": self.unknown_id}


@dataclasses.dataclass
class TokenLayers:
    """The layers of a token classifier, in order: the embedding, the encoder (called with the padding
    mask; the last one returns one vector per text) and the head (dropout, classifier)."""

    embedding: keras.layers.Embedding
    encoder: list[keras.layers.Layer]
    head: list[keras.layers.Layer]

    def all(self) -> list[keras.layers.Layer]:
        return [self.embedding, *self.encoder, *self.head]


def check_token_args(*, vocab_size, sequence_length, embedding_dim, dropout, classes) -> None:
    """One-line ValueErrors for the arguments every token classifier takes."""
    check_positive_int("vocab_size", vocab_size)
    if vocab_size < 3:
        raise ValueError(f"`vocab_size` must be at least 3 (padding, unknown and one word). "
                         f"Received: vocab_size={vocab_size!r}")
    check_positive_int("sequence_length", sequence_length)
    check_positive_int("embedding_dim", embedding_dim)
    check_rate("dropout", dropout)
    check_positive_int("classes", classes)


def token_embedding(vocab_size: int, embedding_dim: int) -> keras.layers.Embedding:
    """Embeddings of `vocab_size` ids whose mask marks id 0 as padding."""
    return keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")


def classifier_head(dropout: float, classes: int, classifier_activation: str | None) -> list[keras.layers.Layer]:
    """Dropout, then the float32 classifier."""
    return [keras.layers.Dropout(dropout, name="dropout"), dense_head(classes, classifier_activation)]


def token_input(sequence_length: int) -> keras.KerasTensor:
    return keras.Input(shape=(sequence_length,), dtype="int32", name=INPUT_NAME)


class TokenClassifier(keras.Model):
    """Base of the subclassed token classifiers; a subclass sets `default_name` and `make_layers`.

    `make_layers(**hparams)` returns the same `TokenLayers` the sequential and functional builders stack, so
    the three styles hold the same weights in the same order. Every constructor argument is returned by
    `get_config`, so the model saves and reloads as itself.
    """

    default_name = "token_classifier"

    def __init__(self, name: str | None = None, **hparams: Any):
        super().__init__(name=name or self.default_name)
        self.hparams = dict(hparams)
        layers = self.make_layers(**hparams)
        self.embedding = layers.embedding
        self.encoder = layers.encoder
        self.head = layers.head
        self.build((None, hparams["sequence_length"]))

    @staticmethod
    def make_layers(**hparams) -> TokenLayers:
        raise NotImplementedError

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in (self.embedding, *self.encoder, *self.head):
            if not layer.built:
                layer.build(shape)
            shape = tuple(layer.compute_output_shape(shape))
        self.built = True

    def call(self, tokens, training=None):
        x = self.embedding(tokens)
        # Stacked recurrent layers that return sequences keep the time steps, so each reads the same mask.
        mask = self.embedding.compute_mask(tokens)
        for layer in self.encoder:
            x = layer(x, mask=mask, training=training)
        for layer in self.head:
            x = layer(x, training=training)
        return x

    def get_config(self):
        return {"name": self.name, **self.hparams}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def token_styles(make_layers: Callable[..., TokenLayers], subclass: type[TokenClassifier], name: str) -> Styles:
    """The three builders of a token classifier from its layer factory and its `TokenClassifier` subclass."""

    def sequential(**hp):
        return keras.Sequential([token_input(hp["sequence_length"]), *make_layers(**hp).all()], name=name)

    def functional(**hp):
        inputs = x = token_input(hp["sequence_length"])
        for layer in make_layers(**hp).all():
            x = layer(x)
        return keras.Model(inputs, x, name=name)

    return Styles(sequential=sequential, functional=functional, subclass=lambda **hp: subclass(**hp))
