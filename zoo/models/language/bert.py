"""BERT (Devlin, Chang, Lee & Toutanova 2019): a Transformer encoder pretrained by masked language modelling.

Architecture, as the paper and its code: token + learned position + token-type (segment) embeddings, summed
and layer-normalised; `num_layers` post-norm encoder blocks (multi-head self-attention over the non-padding
tokens, GELU feed-forward); a pooler (Dense + tanh on the first, [CLS], token). The masked-LM head is BERT's:
Dense + GELU + LayerNorm, then the projection onto the vocabulary TIED to the token embedding (its transpose),
plus a bias per token. Padding is token id 0 ([PAD]); the padding mask is derived from the ids.

- `BertBackbone`: ids -> {"sequence_output", "pooled_output"} (what a classifier fine-tunes).
- `BertMaskedLM` (functional style) and `BertMaskedLMSubclass` (subclass style): the backbone plus the MLM
  head, ids -> logits (batch, length, vocabulary_size), float32. The pooler is part of the model (and of
  the canonical parameter count) but MLM alone does not train it (the paper trained it by next-sentence
  prediction, which this pretraining drops, as RoBERTa does): it is frozen in the MLM models.

Configurations: `BERT_BASE` (12 layers, 768 hidden, 12 heads, 3072 intermediate, 30,522 tokens, 512
positions: 109,482,240 backbone parameters with the pooler, as KerasHub's `BertBackbone`), `BERT_MINI`
(the zoo's default, 4 layers of 256).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.models.language.common import KerasHubLoading, check_hparams, config_of, functional_from_config
from zoo.models.language.layers import (EncoderBlock, LogitBias, MaskedLMTransform, PositionEmbedding,
                                        TokenEmbedding)
from zoo.nn import Styles, serializable

PAD_ID = 0
LAYER_NORM_EPSILON = 1e-12
BERT_BASE = {"vocabulary_size": 30522, "num_layers": 12, "num_heads": 12, "hidden_dim": 768,
             "intermediate_dim": 3072, "max_sequence_length": 512}
BERT_MINI = {"vocabulary_size": 8192, "num_layers": 4, "num_heads": 4, "hidden_dim": 256, "intermediate_dim": 1024,
             "max_sequence_length": 128}
BACKBONE_ARGS = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                 "max_sequence_length", "num_segments", "dropout")
MODEL_ARGS = (*BACKBONE_ARGS, "sequence_length")


@serializable
class PaddingMask(keras.layers.Layer):
    """Token ids -> True where the token is not padding."""

    def __init__(self, pad_id=PAD_ID, **kwargs):
        super().__init__(**kwargs)
        self.pad_id = int(pad_id)

    def call(self, token_ids):
        return ops.not_equal(token_ids, self.pad_id)

    def compute_output_spec(self, token_ids):
        return keras.KerasTensor(token_ids.shape, dtype="bool")

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}


@serializable
class FirstToken(keras.layers.Layer):
    """(batch, length, hidden) -> (batch, hidden): the [CLS] token's vector, which the pooler reads."""

    def call(self, x):
        return x[:, 0, :]

    def compute_output_shape(self, shape):
        return (shape[0], shape[-1])


def _backbone_layers(vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim, max_sequence_length,
                     num_segments, dropout):
    """The backbone's layers, in the order they run (and so the order of the weights in every style)."""
    blocks = [EncoderBlock(num_heads, intermediate_dim, dropout=dropout, layer_norm_epsilon=LAYER_NORM_EPSILON,
                           name=f"transformer_layer_{i}") for i in range(num_layers)]
    return {
        "padding_mask": PaddingMask(name="padding_mask"),
        "token_embedding": TokenEmbedding(vocabulary_size, hidden_dim, name="token_embedding"),
        "position_embedding": PositionEmbedding(max_sequence_length, name="position_embedding"),
        "segment_embedding": keras.layers.Embedding(num_segments, hidden_dim, name="segment_embedding"),
        "embeddings_add": keras.layers.Add(name="embeddings_add"),
        "embeddings_layer_norm": keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON,
                                                                 name="embeddings_layer_norm"),
        "embeddings_dropout": keras.layers.Dropout(dropout, name="embeddings_dropout"),
        "blocks": blocks,
        "first_token": FirstToken(name="first_token"),
        "pooled_dense": keras.layers.Dense(hidden_dim, activation="tanh", name="pooled_dense"),
    }


def _encode(layers, token_ids, segment_ids, training=None, pool=True):
    """The backbone's forward pass: (sequence output, pooled output, or None without `pool`)."""
    padding = layers["padding_mask"](token_ids)
    tokens = layers["token_embedding"](token_ids)
    x = layers["embeddings_add"]([tokens, layers["position_embedding"](tokens),
                                  layers["segment_embedding"](segment_ids)])
    x = layers["embeddings_dropout"](layers["embeddings_layer_norm"](x), training=training)
    for block in layers["blocks"]:
        x = block(x, padding_mask=padding, training=training)
    return x, (layers["pooled_dense"](layers["first_token"](x)) if pool else None)


def _head_layers():
    return {"mlm_transform": MaskedLMTransform(LAYER_NORM_EPSILON, name="mlm_transform"),
            "mlm_bias": LogitBias(name="mlm_bias")}


def _mlm_logits(head, token_embedding, sequence_output):
    return head["mlm_bias"](token_embedding(head["mlm_transform"](sequence_output), reverse=True))


def _inputs(sequence_length):
    return {"token_ids": keras.Input((sequence_length,), dtype="int32", name="token_ids"),
            "segment_ids": keras.Input((sequence_length,), dtype="int32", name="segment_ids")}


@serializable
class BertBackbone(KerasHubLoading, keras.Model):
    """BERT's encoder: {"token_ids", "segment_ids"} (batch, length) -> {"sequence_output" (batch, length,
    hidden), "pooled_output" (batch, hidden)}.

    Args:
        vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim: the Transformer's sizes.
        max_sequence_length: learned positions. num_segments: token types. dropout: everywhere BERT has it.
        sequence_length: the input length (None: any up to max_sequence_length).

    Example:
        >>> from zoo.models.language.bert import BERT_BASE, BertBackbone
        >>> BertBackbone(**BERT_BASE).count_params()
        109482240
    """

    family = "bert"

    def __init__(self, vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
                 max_sequence_length=512, num_segments=2, dropout=0.1, sequence_length=None, name="bert_backbone",
                 **kwargs):
        args = dict(vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=num_heads,
                    hidden_dim=hidden_dim, intermediate_dim=intermediate_dim,
                    max_sequence_length=max_sequence_length, num_segments=num_segments, dropout=dropout)
        check_hparams(name, {**args, "sequence_length": sequence_length or max_sequence_length})
        layers = _backbone_layers(**args)
        inputs = _inputs(sequence_length)
        sequence, pooled = _encode(layers, inputs["token_ids"], inputs["segment_ids"])
        super().__init__(inputs=inputs, outputs={"sequence_output": sequence, "pooled_output": pooled}, name=name,
                         **kwargs)
        for key, value in args.items():
            setattr(self, key, value)
        self.sequence_length = sequence_length

    def get_config(self):
        return config_of(self, (*BACKBONE_ARGS, "sequence_length"))

    @classmethod
    def from_config(cls, config):
        return functional_from_config(cls, config)


@serializable
class BertMaskedLM(KerasHubLoading, keras.Model):
    """BERT for masked language modelling, functional style: a `BertBackbone` and the tied MLM head.

    Inputs {"token_ids", "segment_ids"} of shape (batch, sequence_length); output logits (batch,
    sequence_length, vocabulary_size) in float32 (the loss reads only the masked positions).
    """

    family = "bert"

    def __init__(self, vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim, max_sequence_length,
                 num_segments, dropout, sequence_length, name="bert", **kwargs):
        args = dict(vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=num_heads,
                    hidden_dim=hidden_dim, intermediate_dim=intermediate_dim,
                    max_sequence_length=max_sequence_length, num_segments=num_segments, dropout=dropout)
        check_hparams(name, {**args, "sequence_length": sequence_length})
        backbone = BertBackbone(**args, sequence_length=sequence_length, name="backbone")
        backbone.get_layer("pooled_dense").trainable = False
        head = _head_layers()
        inputs = _inputs(sequence_length)
        sequence = backbone(inputs)["sequence_output"]
        logits = _mlm_logits(head, backbone.get_layer("token_embedding"), sequence)
        super().__init__(inputs=inputs, outputs=logits, name=name, **kwargs)
        for key, value in args.items():
            setattr(self, key, value)
        self.sequence_length = sequence_length

    @property
    def backbone(self):
        return self.get_layer("backbone")

    def get_config(self):
        return config_of(self, MODEL_ARGS)

    @classmethod
    def from_config(cls, config):
        return functional_from_config(cls, config)


@serializable
class BertMaskedLMSubclass(KerasHubLoading, keras.Model):
    """BERT for masked language modelling, subclass style: the same layers (in the same order) as
    `BertMaskedLM`, run by `call`."""

    family = "bert"

    def __init__(self, vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim, max_sequence_length,
                 num_segments, dropout, sequence_length, name="bert", **kwargs):
        super().__init__(name=name, **kwargs)
        args = dict(vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=num_heads,
                    hidden_dim=hidden_dim, intermediate_dim=intermediate_dim,
                    max_sequence_length=max_sequence_length, num_segments=num_segments, dropout=dropout)
        check_hparams(name, {**args, "sequence_length": sequence_length})
        for key, value in args.items():
            setattr(self, key, value)
        self.sequence_length = sequence_length
        self.encoder_layers = _backbone_layers(**args)
        self.encoder_layers["pooled_dense"].trainable = False
        self.head = _head_layers()
        self.build({"token_ids": (None, sequence_length), "segment_ids": (None, sequence_length)})

    def build(self, input_shape):
        # One pass on symbolic ids creates every weight in running order, the pooler's included.
        ids = {k: keras.KerasTensor((None, self.sequence_length), dtype="int32") for k in ("token_ids", "segment_ids")}
        sequence, _ = _encode(self.encoder_layers, ids["token_ids"], ids["segment_ids"], pool=True)
        _mlm_logits(self.head, self.encoder_layers["token_embedding"], sequence)
        self.built = True

    def call(self, inputs, training=None):
        # The pooler's output feeds no loss here, so it is not computed.
        sequence, _ = _encode(self.encoder_layers, inputs["token_ids"], inputs["segment_ids"], training=training,
                              pool=False)
        return _mlm_logits(self.head, self.encoder_layers["token_embedding"], sequence)

    def get_config(self):
        return config_of(self, MODEL_ARGS)


def _functional(**hp):
    return BertMaskedLM(**{k: hp[k] for k in MODEL_ARGS})


def _subclass(**hp):
    return BertMaskedLMSubclass(**{k: hp[k] for k in MODEL_ARGS})


STYLES = Styles(sequential=None, functional=_functional, subclass=_subclass)
