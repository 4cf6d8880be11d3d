"""Encoder-decoder LSTM (Sutskever, Vinyals & Le 2014, "Sequence to Sequence Learning with Neural Networks";
Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder").

The encoder LSTM reads the source and keeps only its final states (h, c); the decoder LSTM starts from
them and reads the target shifted right by one ([BOS] + target[:-1], teacher forcing), and a softmax layer
turns each of its steps into next-token probabilities. Everything the decoder knows of the source passes
through those two state vectors: the bottleneck that attention (Bahdanau et al. 2015) later removes.

Input: a dict of int32 token ids, right-padded with 0: "source" (batch, source_length) and
"decoder_input" (batch, target_length). Both embeddings use `mask_zero`, so the encoder's final states are
those of the last real token and padded steps change nothing; right padding keeps the masks cuDNN-friendly.
Output: float32 probabilities (batch, target_length, vocab_size), which carry the decoder's mask, so a
Keras loss averages over real target tokens only.

Training is teacher-forced; generating a sequence (evaluation, serving) feeds the model its own
predictions back: `zoo.models.sequence.decoding.GreedyDecoding`.

Configuration and size: with the defaults (vocabulary 20, 32-dimensional embeddings, 128 units):
168,724 parameters (embeddings 640 each, encoder 82,432, decoder 82,432, softmax 2,580); a test pins it.
"""

from __future__ import annotations

import keras

# Importing the decoder here also registers it with Keras wherever the model is (zoo.register_all).
from zoo.models.sequence.decoding import DECODER_INPUT, SOURCE
from zoo.nn import Styles, check_positive_int, dense_head, serializable

NAME = "seq2seq"


def seq2seq_layers(*, vocab_size=20, embedding_dim=32, units=128, source_length=10, target_length=11,
                   **_) -> dict[str, keras.layers.Layer]:
    """The five layers, by name, in the order of the model's weights in both styles.

    Args:
        vocab_size: number of token ids of the source and of the target (each has its own embeddings; 0 pads).
        embedding_dim: size of the learned embeddings (one table for the source, one for the target).
        units: size of the encoder's and decoder's LSTM states.
        source_length, target_length: tokens per source and per target (the model's input lengths).

    Returns:
        {"source_embedding", "target_embedding", "encoder", "decoder", "predictions"}: the functional
        model orders its layers by depth in the graph (both embeddings first), so the subclass does too.
    """
    for name, value in (("vocab_size", vocab_size), ("embedding_dim", embedding_dim), ("units", units),
                        ("source_length", source_length), ("target_length", target_length)):
        check_positive_int(name, value)
    return {
        "source_embedding": keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                                   name="source_embedding"),
        "target_embedding": keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                                   name="target_embedding"),
        "encoder": keras.layers.LSTM(units, return_state=True, name="encoder"),
        "decoder": keras.layers.LSTM(units, return_sequences=True, name="decoder"),
        "predictions": dense_head(vocab_size, "softmax"),
    }


def _inputs(source_length: int, target_length: int) -> dict[str, keras.KerasTensor]:
    return {SOURCE: keras.Input((source_length,), dtype="int32", name=SOURCE),
            DECODER_INPUT: keras.Input((target_length,), dtype="int32", name=DECODER_INPUT)}


def _functional(**hparams) -> keras.Model:
    layers = seq2seq_layers(**hparams)
    inputs = _inputs(hparams["source_length"], hparams["target_length"])
    _, state_h, state_c = layers["encoder"](layers["source_embedding"](inputs[SOURCE]))
    steps = layers["decoder"](layers["target_embedding"](inputs[DECODER_INPUT]), initial_state=[state_h, state_c])
    return keras.Model(inputs, layers["predictions"](steps), name=NAME)


@serializable
class Seq2Seq(keras.Model):
    """The encoder-decoder LSTM as a `keras.Model` subclass; arguments as `seq2seq_layers`.

    Example:
        >>> model = Seq2Seq(vocab_size=20, source_length=10, target_length=11)
        >>> probabilities = model({"source": source_ids, "decoder_input": shifted_target_ids})
    """

    def __init__(self, vocab_size=20, embedding_dim=32, units=128, source_length=10, target_length=11, name=None):
        super().__init__(name=name or NAME)
        self.hparams = {"vocab_size": vocab_size, "embedding_dim": embedding_dim, "units": units,
                        "source_length": source_length, "target_length": target_length}
        layers = seq2seq_layers(**self.hparams)
        self.source_embedding = layers["source_embedding"]
        self.target_embedding = layers["target_embedding"]
        self.encoder = layers["encoder"]
        self.decoder = layers["decoder"]
        self.predictions = layers["predictions"]
        self.build({SOURCE: (None, source_length), DECODER_INPUT: (None, target_length)})

    def build(self, input_shape):
        source, target = tuple(input_shape[SOURCE]), tuple(input_shape[DECODER_INPUT])
        embedding_dim, units = self.hparams["embedding_dim"], self.hparams["units"]
        for layer, shape in ((self.source_embedding, source), (self.target_embedding, target),
                             (self.encoder, (*source, embedding_dim)), (self.decoder, (*target, embedding_dim)),
                             (self.predictions, (*target, units))):
            if not layer.built:
                layer.build(shape)
        self.built = True

    def call(self, inputs, training=None):
        # The embeddings attach their padding masks to their outputs; each LSTM picks its input's mask up.
        _, state_h, state_c = self.encoder(self.source_embedding(inputs[SOURCE]), training=training)
        steps = self.decoder(self.target_embedding(inputs[DECODER_INPUT]), initial_state=[state_h, state_c],
                             training=training)
        return self.predictions(steps)

    def get_config(self):
        return {"name": self.name, **self.hparams}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


SEQ2SEQ = Styles(sequential=None, functional=_functional, subclass=lambda **hp: Seq2Seq(**hp))
