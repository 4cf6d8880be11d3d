"""Transformer layers of the language models (BERT, GPT-2), written with `keras.ops` only.

- `TokenEmbedding`: the token embedding, which is also the output projection of a language model when
  called with `reverse=True` (weight tying, as BERT's MLM head and GPT-2 do). It computes in float32 under
  any dtype policy: its reverse call is the model's output head.
- `PositionEmbedding`: learned absolute positions (BERT, GPT-2), sliced from `start_index` for cached
  decoding.
- `CachedAttention`: `zoo.attention.Float32SoftmaxAttention` (Keras' `MultiHeadAttention`, the model
  dimension split across heads, same weights, softmax always in float32) called as KerasHub's attention
  is, with an optional key/value cache for autoregressive decoding.
- `EncoderBlock`: BERT's post-norm block (Vaswani et al. 2017, Devlin et al. 2019):
  x = LN(x + MHA(x)); x = LN(x + FFN(x)).
- `DecoderBlock`: GPT-2's pre-norm causal block (Radford et al. 2019): x = x + MHA(LN(x)); x = x + FFN(LN(x)).
- `MaskedLMTransform` and `LogitBias`: BERT's MLM head around the tied projection.

Layer and sublayer names follow KerasHub's BERT and GPT-2 backbones (`token_embedding`,
`transformer_layer_0/self_attention/query`, ...), so a KerasHub backbone's weights map onto these by path
(`zoo.models.language.weights`).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.attention import Float32SoftmaxAttention
from zoo.nn import serializable


def gelu(x):
    """GELU in its tanh approximation, the activation of BERT's and GPT-2's original code."""
    return keras.activations.gelu(x, approximate=True)


@serializable
class TokenEmbedding(keras.layers.Embedding):
    """Token ids -> vectors; with `reverse=True`, vectors -> logits over the vocabulary (the tied output head).

    Always float32: the lookup costs nothing, and its reverse call is the output head, which mixed precision
    must keep in float32.
    """

    def __init__(self, input_dim, output_dim, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(input_dim, output_dim, **kwargs)

    def call(self, inputs, reverse=False):
        if reverse:
            return ops.matmul(ops.cast(inputs, "float32"), ops.transpose(ops.cast(self.embeddings, "float32")))
        return super().call(inputs)

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            return keras.KerasTensor((*inputs.shape[:-1], self.input_dim), dtype="float32")
        return super().compute_output_spec(inputs)

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return config


@serializable
class PositionEmbedding(keras.layers.Layer):
    """Learned absolute position vectors for up to `sequence_length` positions, broadcast over the batch."""

    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = int(sequence_length)
        self.initializer = keras.initializers.get(initializer)

    def build(self, inputs_shape):
        self.embeddings = self.add_weight(name="embeddings", shape=(self.sequence_length, inputs_shape[-1]),
                                          initializer=self.initializer)
        self.built = True

    def call(self, inputs, start_index=0):
        shape = ops.shape(inputs)
        length, width = shape[-2], shape[-1]
        positions = ops.slice(ops.convert_to_tensor(self.embeddings), (start_index, 0), (length, width))
        return ops.broadcast_to(ops.cast(positions, self.compute_dtype), shape)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer)}


@serializable
class CachedAttention(Float32SoftmaxAttention):
    """Multi-head self-attention with a float32 softmax and an optional key/value cache.

    The weights are Keras' `MultiHeadAttention`'s (query, key and value projections of shape
    (model_dim, heads, model_dim / heads), and the output projection back); the attention and the cache are
    `zoo.attention.Float32SoftmaxAttention`'s: scores in float32 whatever the dtype policy (a bfloat16 softmax
    over long rows loses the small probabilities). This class gives it KerasHub's call signature.

    Call arguments:
        query, value: (batch, T, model_dim) and (batch, S, model_dim) (self-attention: the same tensor).
        attention_mask: boolean (batch, T, S), True where a query may attend to a key.
        cache: (batch, 2, max_length, heads, head_dim) keys and values of earlier steps, or None.
        cache_update_index: where this call's keys and values are written into the cache.

    Returns:
        The attended values (batch, T, model_dim); with a cache, also the updated cache.
    """

    def build(self, query_shape, value_shape):
        # Keras builds a layer from its call's arguments: `call` has no `key`, so `build` takes no `key_shape`.
        super().build(query_shape, value_shape)

    def call(self, query, value, attention_mask=None, cache=None, cache_update_index=None, training=None):
        if cache is None:
            return self.attend(query, *self.project_key_value(value), attention_mask, training)
        return self.attend_cached(query, cache, cache_update_index, attention_mask, value=value, training=training)

    def compute_output_spec(self, query, value, attention_mask=None, cache=None, cache_update_index=None,
                            training=None):
        output = keras.KerasTensor(query.shape, dtype=self.compute_dtype)
        return output if cache is None else (output, keras.KerasTensor(cache.shape, dtype=cache.dtype))


class _Block(keras.layers.Layer):
    """What both blocks share: attention, two layer norms and the position-wise feed-forward network."""

    def __init__(self, num_heads, intermediate_dim, dropout=0.0, layer_norm_epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.dropout = float(dropout)
        self.layer_norm_epsilon = float(layer_norm_epsilon)

    def build(self, inputs_shape):
        hidden = inputs_shape[-1]
        common = {"dtype": self.dtype_policy}
        self.attention = CachedAttention(self.num_heads, hidden // self.num_heads, dropout=self.dropout,
                                         name="self_attention", **common)
        self.attention.build(inputs_shape, inputs_shape)
        self.attention_norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon,
                                                              name="self_attention_layer_norm", **common)
        self.attention_norm.build(inputs_shape)
        self.attention_dropout = keras.layers.Dropout(self.dropout, **common)
        self.intermediate = keras.layers.Dense(self.intermediate_dim, name="feedforward_intermediate_dense",
                                               **common)
        self.intermediate.build(inputs_shape)
        self.output_dense = keras.layers.Dense(hidden, name="feedforward_output_dense", **common)
        self.output_dense.build((*inputs_shape[:-1], self.intermediate_dim))
        self.feedforward_norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon,
                                                                name="feedforward_layer_norm", **common)
        self.feedforward_norm.build(inputs_shape)
        self.feedforward_dropout = keras.layers.Dropout(self.dropout, **common)
        self.built = True

    def feedforward(self, x, training=None):
        return self.feedforward_dropout(self.output_dense(gelu(self.intermediate(x))), training=training)

    def compute_output_shape(self, inputs_shape, *args, **kwargs):
        return inputs_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout, "layer_norm_epsilon": self.layer_norm_epsilon}


@serializable
class EncoderBlock(_Block):
    """BERT's Transformer encoder block, post-norm as in the paper: each sublayer's output is added to its
    input and the sum normalised. Every token attends to every non-padding token.

    Call arguments:
        x: (batch, length, hidden).
        padding_mask: (batch, length), True (or 1) for real tokens.
    """

    def call(self, x, padding_mask=None, training=None):
        mask = None
        if padding_mask is not None:
            mask = ops.expand_dims(ops.cast(padding_mask, "bool"), 1)  # (batch, 1, keys): same for every query
        attended = self.attention_dropout(self.attention(x, x, attention_mask=mask, training=training),
                                          training=training)
        x = self.attention_norm(x + attended)
        return self.feedforward_norm(x + self.feedforward(x, training=training))


def causal_mask(query_length, key_length, start_index=0):
    """(query_length, key_length) booleans: query i (at position start_index + i) sees keys 0..start_index + i."""
    queries = ops.expand_dims(ops.arange(query_length) + start_index, 1)
    keys = ops.expand_dims(ops.arange(key_length), 0)
    return ops.greater_equal(queries, keys)


@serializable
class DecoderBlock(_Block):
    """GPT-2's decoder block (a Transformer decoder without cross-attention), pre-norm: each sublayer sees
    the normalised stream and adds its output back. A causal mask hides every later position.

    Call arguments:
        x: (batch, length, hidden).
        cache: (batch, 2, max_length, heads, head_dim) for cached decoding, else None.
        cache_update_index: the position of `x`'s first token in the sequence (with a cache).

    Returns:
        (batch, length, hidden); with a cache, also the updated cache.
    """

    def call(self, x, cache=None, cache_update_index=0, training=None):
        length = ops.shape(x)[1]
        if cache is None:
            mask = causal_mask(length, length)
        else:
            mask = causal_mask(length, ops.shape(cache)[2], cache_update_index)
        mask = ops.broadcast_to(mask, (ops.shape(x)[0], *ops.shape(mask)))
        attended = self.attention(self.attention_norm(x), self.attention_norm(x), attention_mask=mask, cache=cache,
                                  cache_update_index=cache_update_index if cache is not None else None,
                                  training=training)
        if cache is not None:
            attended, cache = attended
        x = x + self.attention_dropout(attended, training=training)
        x = x + self.feedforward(self.feedforward_norm(x), training=training)
        return x if cache is None else (x, cache)

    def compute_output_spec(self, x, cache=None, cache_update_index=0, training=None):
        output = keras.KerasTensor(x.shape, dtype=self.compute_dtype)
        return output if cache is None else (output, keras.KerasTensor(cache.shape, dtype=cache.dtype))


@serializable
class MaskedLMTransform(keras.layers.Layer):
    """BERT's MLM head before the tied projection: Dense(hidden) + GELU + LayerNorm."""

    def __init__(self, layer_norm_epsilon=1e-12, **kwargs):
        super().__init__(**kwargs)
        self.layer_norm_epsilon = float(layer_norm_epsilon)

    def build(self, inputs_shape):
        self.dense = keras.layers.Dense(inputs_shape[-1], name="dense", dtype=self.dtype_policy)
        self.dense.build(inputs_shape)
        self.norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, name="layer_norm",
                                                    dtype=self.dtype_policy)
        self.norm.build(inputs_shape)
        self.built = True

    def call(self, x):
        return self.norm(gelu(self.dense(x)))

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        return {**super().get_config(), "layer_norm_epsilon": self.layer_norm_epsilon}


@serializable
class LogitBias(keras.layers.Layer):
    """A learned bias per vocabulary entry, added to the tied projection's logits (float32: the head)."""

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)

    def build(self, inputs_shape):
        self.bias = self.add_weight(name="bias", shape=(inputs_shape[-1],), initializer="zeros")
        self.built = True

    def call(self, logits):
        return ops.cast(logits, "float32") + self.bias

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return config
