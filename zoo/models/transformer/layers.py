"""The Transformer's building blocks (Vaswani et al. 2017, "Attention Is All You Need"), backend-agnostic.

- `MultiHeadAttention`: Keras' own layer (h heads, each projecting d_model to d_k = d_model / h, so the
  model dimension is split across the heads) as `zoo.attention.Float32SoftmaxAttention` computes it: the
  softmax always runs in float32 (under `mixed_bfloat16` the scores are cast up first, so a large negative
  mask stays exact and the weights sum to 1), and it can decode one step at a time from a key/value cache
  (`attend_cached`) or from keys and values projected once (`project_key_value`, `attend`). It uses only the
  `attention_mask` it is given: every mask in this module is explicit, built by `padding_mask` and
  `causal_mask`, so a reader sees what each position may attend to.
- `sinusoidal_position_encoding` and `TokenAndSinePositionEmbedding`: PE(pos, 2i) = sin(pos / 10000^(2i/d)),
  PE(pos, 2i+1) = cos(pos / 10000^(2i/d)), added to the token embeddings scaled by sqrt(d_model) (section 3.4),
  then dropout (section 5.4). No weights: any length works.
- `TransformerEncoderBlock` and `TransformerDecoderBlock`: post-norm as in the paper, x = LayerNorm(x +
  Dropout(Sublayer(x))), with the position-wise feed-forward network FFN(x) = max(0, x W1 + b1) W2 + b2.

The blocks have a plain API for other zoo Transformers (`bert`, `gpt`, `vit` can reuse them):
`TransformerEncoderBlock(d_model, num_heads, ff_dim, dropout)(x, padding_mask=padding)` and
`TransformerDecoderBlock(...)(x, memory, self_attention_mask=..., memory_mask=...)`, plus `step` for
incremental decoding. A pre-norm variant is not here (the paper and this model are post-norm).
"""

from __future__ import annotations

import math

import keras
from keras import ops

from zoo.attention import Float32SoftmaxAttention
from zoo.models.cnn.common import check_rate
from zoo.nn import check_positive_int, serializable

PAD_ID = 0


# ------------------------------------------------------------------------------------------------ masks
def padding_mask(ids):
    """bool (batch, length): True at real tokens, False at padding (id 0)."""
    return ops.not_equal(ids, PAD_ID)


def key_mask(mask):
    """A (batch, keys) padding mask as an attention mask (batch, 1, keys): every query sees the real keys."""
    return ops.expand_dims(ops.cast(mask, "bool"), axis=1)


def causal_mask(length: int):
    """bool (1, length, length): query position i may attend to key positions j <= i only."""
    positions = ops.arange(length)
    return ops.expand_dims(positions[:, None] >= positions[None, :], axis=0)


def check_heads(d_model, num_heads, head_dim=None) -> int:
    """The size of each head: `head_dim` if given, else d_model / num_heads (which must divide evenly)."""
    check_positive_int("d_model", d_model)
    check_positive_int("num_heads", num_heads)
    if head_dim is not None:
        return check_positive_int("head_dim", head_dim)
    if d_model % num_heads:
        raise ValueError(f"`d_model` must be divisible by `num_heads` (each head gets d_model / num_heads "
                         f"dimensions). Received: d_model={d_model}, num_heads={num_heads}")
    return d_model // num_heads


# -------------------------------------------------------------------------------------------- attention
@serializable
class MultiHeadAttention(Float32SoftmaxAttention):
    """Scaled dot-product attention over `num_heads` heads, softmax in float32, with a key/value cache.

    Attention(Q, K, V) = softmax(Q Kᵀ / sqrt(d_k)) V per head; the heads' outputs are concatenated and
    projected back to d_model (Keras' `MultiHeadAttention` does the projections: query, key, value, output).
    The arithmetic and the cache methods (`project_key_value`, `attend`, `attend_cached`) are
    `zoo.attention.Float32SoftmaxAttention`'s; this class keeps the name that saved transformers refer to.

    Call arguments (as Keras' layer): query (batch, T, d_model), value (batch, S, d_model), `attention_mask`
    bool (batch or 1, T, S), True where a query may attend to a key. Keras masks on the inputs are ignored.

    Example:
        >>> attention = MultiHeadAttention(num_heads=8, key_dim=16)
        >>> out = attention(x, x, attention_mask=causal_mask(length) & key_mask(padding_mask(ids)))
    """


def attention(d_model: int, num_heads: int, head_dim: int | None, name: str) -> MultiHeadAttention:
    """h heads of d_k = d_model / h each (or `head_dim`), projected back to d_model."""
    return MultiHeadAttention(num_heads=num_heads, key_dim=check_heads(d_model, num_heads, head_dim),
                              output_shape=d_model, name=name)


# ------------------------------------------------------------------------------------------- embeddings
def sinusoidal_position_encoding(positions, d_model: int, dtype="float32"):
    """(len(positions), d_model): sin at even dimensions 2i, cos at odd 2i+1, wavelengths 2π .. 10000·2π.

    `positions` is a 1D tensor of token positions (an `arange`, or the single position a decoding step is at).
    """
    positions = ops.cast(positions, "float32")
    dims = ops.arange(d_model)
    inverse_wavelengths = ops.power(10000.0, -ops.cast(2 * (dims // 2), "float32") / float(d_model))
    angles = positions[:, None] * inverse_wavelengths[None, :]
    encoding = ops.where(dims % 2 == 0, ops.sin(angles), ops.cos(angles))
    return ops.cast(encoding, dtype)


@serializable
class TokenAndSinePositionEmbedding(keras.layers.Layer):
    """Token ids (batch, length) -> Embedding(ids) * sqrt(d_model) + PE(positions), then dropout.

    Args:
        vocab_size: ids (0 pads).
        d_model: model dimension.
        dropout: rate on the sum (the paper's P_drop = 0.1).
        mask_zero: attach a Keras padding mask (id != 0) to the output, for models built as layer chains
            (the classifier); the encoder-decoder passes its masks explicitly and leaves it False.

    Call arguments:
        ids: int (batch, length). `start_index`: position of the first id (a decoding step's position).
    """

    def __init__(self, vocab_size: int, d_model: int, dropout: float = 0.0, mask_zero: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.d_model = check_positive_int("d_model", d_model)
        self.dropout = check_rate("dropout", dropout)
        self.mask_zero = bool(mask_zero)
        self.token_embedding = keras.layers.Embedding(vocab_size, d_model, name="token_embedding")
        self.dropout_layer = keras.layers.Dropout(self.dropout, name="dropout")
        self.supports_masking = self.mask_zero

    def build(self, ids_shape):
        self.token_embedding.build(ids_shape)
        self.built = True

    def call(self, ids, start_index=0, training=None):
        x = self.token_embedding(ops.cast(ids, "int32"))
        x = x * ops.cast(math.sqrt(self.d_model), x.dtype)
        positions = ops.arange(ops.shape(ids)[1]) + start_index
        x = x + sinusoidal_position_encoding(positions, self.d_model, x.dtype)[None]
        return self.dropout_layer(x, training=training)

    def compute_mask(self, ids, mask=None):
        return padding_mask(ids) if self.mask_zero else None

    def compute_output_shape(self, ids_shape):
        return (*ids_shape, self.d_model)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "d_model": self.d_model,
                "dropout": self.dropout, "mask_zero": self.mask_zero}


# ----------------------------------------------------------------------------------------------- blocks
class _PostNormBlock(keras.layers.Layer):
    """What both blocks share: the feed-forward sublayer and x = LayerNorm(x + Dropout(sublayer(x)))."""

    def __init__(self, d_model: int, num_heads: int, ff_dim: int, dropout: float = 0.0, head_dim: int | None = None,
                 layer_norm_epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.d_model = check_positive_int("d_model", d_model)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.head_dim = head_dim
        self.key_dim = check_heads(d_model, num_heads, head_dim)
        self.ff_dim = check_positive_int("ff_dim", ff_dim)
        self.dropout = check_rate("dropout", dropout)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.supports_masking = True

    def _feed_forward(self):
        return (keras.layers.Dense(self.ff_dim, activation="relu", name="ff_inner"),
                keras.layers.Dense(self.d_model, name="ff_outer"))

    def _norm(self, name):
        return keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, name=name)

    def _residual(self, x, sublayer_output, norm, training):
        return norm(x + self.dropout_layer(sublayer_output, training=training))

    def _build_feed_forward(self, shape):
        self.ff_inner.build(shape)
        self.ff_outer.build((*shape[:-1], self.ff_dim))

    def compute_output_shape(self, x_shape, *args, **kwargs):
        return tuple(x_shape)

    def compute_mask(self, x, mask=None):
        return mask

    def get_config(self):
        return {**super().get_config(), "d_model": self.d_model, "num_heads": self.num_heads,
                "ff_dim": self.ff_dim, "dropout": self.dropout, "head_dim": self.head_dim,
                "layer_norm_epsilon": self.layer_norm_epsilon}


@serializable
class TransformerEncoderBlock(_PostNormBlock):
    """One encoder layer: self-attention over the real tokens, then the feed-forward network, each post-norm.

    Args:
        d_model, num_heads, ff_dim: model dimension, heads (d_model / num_heads dimensions each, or
            `head_dim`), feed-forward inner size (the paper's d_ff).
        dropout: residual dropout rate.

    Call arguments:
        x: (batch, length, d_model). `padding_mask`: optional bool (batch, length), False at padding: no
        position attends to padding. In a layer chain, Keras fills `mask` from an embedding with `mask_zero`
        instead, and the block passes it on.

    Example:
        >>> block = TransformerEncoderBlock(d_model=128, num_heads=8, ff_dim=512, dropout=0.1)
        >>> y = block(x, padding_mask=padding_mask(ids))
    """

    def __init__(self, d_model, num_heads, ff_dim, dropout=0.0, head_dim=None, **kwargs):
        super().__init__(d_model, num_heads, ff_dim, dropout, head_dim, **kwargs)
        self.self_attention = attention(d_model, num_heads, head_dim, "self_attention")
        self.self_attention_norm = self._norm("self_attention_norm")
        self.ff_inner, self.ff_outer = self._feed_forward()
        self.ff_norm = self._norm("ff_norm")
        self.dropout_layer = keras.layers.Dropout(self.dropout, name="dropout")

    def build(self, x_shape):
        self.self_attention.build(x_shape, x_shape)
        self.self_attention_norm.build(x_shape)
        self._build_feed_forward(x_shape)
        self.ff_norm.build(x_shape)
        self.built = True

    def call(self, x, padding_mask=None, mask=None, training=None):
        # `padding_mask` is passed explicitly (the encoder-decoder); `mask` is the Keras mask of a layer chain.
        mask = padding_mask if padding_mask is not None else mask
        attention_mask = None if mask is None else key_mask(mask)
        x = self._residual(x, self.self_attention(x, x, attention_mask=attention_mask, training=training),
                           self.self_attention_norm, training)
        return self._residual(x, self.ff_outer(self.ff_inner(x)), self.ff_norm, training)


@serializable
class TransformerDecoderBlock(_PostNormBlock):
    """One decoder layer: masked self-attention (causal and padding), attention over the encoder's output
    (its padding masked), then the feed-forward network, each post-norm.

    Call arguments:
        x: (batch, T, d_model), the embedded target so far (teacher forcing: [BOS] + target[:-1]).
        memory: (batch, S, d_model), the encoder's output.
        self_attention_mask: bool (batch or 1, T, T): `causal_mask(T) & key_mask(padding_mask(target))`.
        memory_mask: bool (batch, S), False at source padding.

    `step` is the same layer for one new position, reading and extending a key/value cache; its output
    equals the full pass's at that position (a test checks it).
    """

    def __init__(self, d_model, num_heads, ff_dim, dropout=0.0, head_dim=None, **kwargs):
        super().__init__(d_model, num_heads, ff_dim, dropout, head_dim, **kwargs)
        self.self_attention = attention(d_model, num_heads, head_dim, "self_attention")
        self.self_attention_norm = self._norm("self_attention_norm")
        self.cross_attention = attention(d_model, num_heads, head_dim, "cross_attention")
        self.cross_attention_norm = self._norm("cross_attention_norm")
        self.ff_inner, self.ff_outer = self._feed_forward()
        self.ff_norm = self._norm("ff_norm")
        self.dropout_layer = keras.layers.Dropout(self.dropout, name="dropout")

    def build(self, x_shape, memory_shape=None, self_attention_mask_shape=None, memory_mask_shape=None):
        memory_shape = memory_shape or x_shape
        self.self_attention.build(x_shape, x_shape)
        self.self_attention_norm.build(x_shape)
        self.cross_attention.build(x_shape, memory_shape)
        self.cross_attention_norm.build(x_shape)
        self._build_feed_forward(x_shape)
        self.ff_norm.build(x_shape)
        self.built = True

    def call(self, x, memory, self_attention_mask=None, memory_mask=None, training=None):
        x = self._residual(x, self.self_attention(x, x, attention_mask=self_attention_mask, training=training),
                           self.self_attention_norm, training)
        cross_mask = None if memory_mask is None else key_mask(memory_mask)
        x = self._residual(x, self.cross_attention(x, memory, attention_mask=cross_mask, training=training),
                           self.cross_attention_norm, training)
        return self._residual(x, self.ff_outer(self.ff_inner(x)), self.ff_norm, training)

    def step(self, x, cache, index, memory_key_value, memory_mask):
        """One decoding position (inference).

        Args:
            x: (batch, 1, d_model), the embedded token at position `index`.
            cache: (batch, 2, max_length, heads, head_dim), this layer's self-attention keys and values.
            index: int32 scalar.
            memory_key_value: `cross_attention.project_key_value(memory)`, computed once per source.
            memory_mask: bool (batch, S).

        Returns:
            (output (batch, 1, d_model), the updated cache).
        """
        visible = ops.arange(ops.shape(cache)[2]) <= index  # the causal mask's row `index`
        attended, cache = self.self_attention.attend_cached(x, cache, index, visible[None, None, :])
        x = self.self_attention_norm(x + attended)
        crossed = self.cross_attention.attend(x, *memory_key_value, attention_mask=key_mask(memory_mask))
        x = self.cross_attention_norm(x + crossed)
        return self.ff_norm(x + self.ff_outer(self.ff_inner(x))), cache

    def compute_output_shape(self, x_shape, *args, **kwargs):
        return tuple(x_shape)
