"""Multi-head attention whose scores and softmax are float32 under every dtype policy: the one attention
arithmetic of the zoo's Transformers (`transformer`, `transformer_classifier`, `bert`, `gpt`, `vit`).

Why: under `mixed_bfloat16` a softmax in bfloat16 keeps 8 bits of mantissa, so over a long row the small
probabilities vanish and the row no longer sums to 1, and a large negative mask score is rounded. Here the
scores are cast up to float32, masked with `MASKED_SCORE`, normalised in float32 and dropped out in float32;
the probabilities are cast to the compute dtype once, for the weighted sum of the values.

`Float32SoftmaxAttention` is Keras' `MultiHeadAttention` (same constructor, same query/key/value/output
projections, so the same weights in the same order) with `_compute_attention` rewritten, plus what cached
decoding needs: `project_key_value` (keys and values of a source, computed once), `attend` (attention over
keys and values already projected) and `attend_cached` (new positions written into a key/value cache, then
attended). It uses only the `attention_mask` it is given (and `use_causal_mask`), never Keras masks carried
by the inputs: a zoo model passes every mask explicitly. Written with `keras.ops` only, so it runs on every
Keras backend; it always takes the explicit path (never a fused `dot_product_attention` kernel), so the
float32 softmax does not depend on the backend's kernel.

Example:
    >>> attention = Float32SoftmaxAttention(num_heads=8, key_dim=16)
    >>> y = attention(x, x, attention_mask=mask)  # mask: bool (batch, T, S), True where a query may look
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.nn import serializable

# Added to masked attention scores (in float32): exp(-1e9 - max) is exactly 0, so a masked key gets no
# weight, and a row with every key masked gets uniform weights instead of NaN (its output is never read).
MASKED_SCORE = -1e9


@serializable
class Float32SoftmaxAttention(keras.layers.MultiHeadAttention):
    """Keras' `MultiHeadAttention` whose scores, softmax and attention dropout compute in float32.

    softmax(Q Kᵀ / sqrt(key_dim)) V per head, with Keras' projections. Inputs are (batch, length, features)
    and attention runs over the length axis (Keras' default `attention_axes`).

    Call arguments (as Keras' layer): query (batch, T, features), value (batch, S, features), `attention_mask`
    bool (batch or 1, T, S), True where a query may attend to a key; `return_attention_scores` gives the
    float32 probabilities before dropout.
    """

    def _build_attention(self, rank):
        super()._build_attention(rank)
        # `_compute_attention` below does the arithmetic; Keras' own `_masked_softmax`, which it no longer
        # calls, is made float32 too, so no entry point of this layer normalises in bfloat16.
        self._softmax = keras.layers.Softmax(axis=self._softmax.axis, dtype="float32")
        if rank != 4 or tuple(self._attention_axes) != (1,):
            raise ValueError(f"{self.name}: float32-softmax attention takes (batch, length, features) inputs and "
                             f"attends over the length axis. Received: inputs of rank {rank - 1}, "
                             f"attention_axes={self._attention_axes!r}")

    def _compute_attention_mask(self, query, value, query_mask=None, value_mask=None, key_mask=None,
                                attention_mask=None, use_causal_mask=False):
        # Only the explicit mask (and the causal one, if asked): a padded query's row need not be masked, its
        # output is never read.
        return super()._compute_attention_mask(query, value, attention_mask=attention_mask,
                                               use_causal_mask=use_causal_mask)

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, **kwargs):
        # query (B, T, N, H), key and value (B, S, N, H) -> probabilities (B, N, T, S), in float32.
        query = ops.multiply(query, ops.cast(self._inverse_sqrt_key_dim, query.dtype))
        scores = ops.cast(ops.einsum("btnh,bsnh->bnts", query, ops.cast(key, query.dtype)), "float32")
        if attention_mask is not None:
            scores = ops.where(ops.expand_dims(ops.cast(attention_mask, "bool"), axis=1), scores, MASKED_SCORE)
        probabilities = ops.softmax(scores, axis=-1)
        dropped = ops.cast(self._attention_dropout(probabilities, training), self.compute_dtype)
        output = ops.einsum("bnts,bsnh->btnh", dropped, ops.cast(value, self.compute_dtype))
        return output, probabilities

    def _attention_dropout(self, probabilities, training):
        # Keras' own dropout layer would cast the float32 probabilities to the compute dtype first, and scale
        # them by a bfloat16 1 / (1 - rate) (1.109 for 1.111 at rate 0.1). Its seed generator draws the mask.
        if not training or self._dropout == 0:
            return probabilities
        return keras.random.dropout(probabilities, self._dropout, seed=self._dropout_layer.seed_generator)

    def project_key_value(self, source):
        """The keys and values of `source` (batch, S, features), each (batch, S, heads, head_dim): computed once
        per source, then read by every decoding step (`attend`)."""
        return self._key_dense(source), self._value_dense(source)

    def attend(self, query, key, value, attention_mask=None, training=None):
        """Attention of `query` (batch, T, features) over keys and values already projected (batch, S, heads,
        head_dim); `attention_mask` bool (batch or 1, T, S). Returns (batch, T, output features)."""
        output, _ = self._compute_attention(self._query_dense(query), key, value, attention_mask, training)
        return self._output_dense(output)

    def attend_cached(self, query, cache, index, attention_mask, value=None, training=None):
        """Attention of new positions with a key/value cache: their keys and values are written at `index`,
        then the queries attend over the whole cache (what `attention_mask` lets them see).

        Args:
            query: (batch, T, features), the inputs at positions index .. index + T - 1.
            cache: (batch, 2, max_length, heads, head_dim): keys then values of the earlier positions.
            index: int32 scalar, the first new position.
            attention_mask: bool (batch or 1, T, max_length), True at the positions each query may see.
            value: the inputs the new keys and values are projected from; default `query` (self-attention).

        Returns:
            (output (batch, T, output features), the cache with the new keys and values written).
        """
        key, value = self.project_key_value(query if value is None else value)
        start = [0, index, 0, 0]
        keys = ops.slice_update(cache[:, 0], start, ops.cast(key, cache.dtype))
        values = ops.slice_update(cache[:, 1], start, ops.cast(value, cache.dtype))
        output = self.attend(query, keys, values, attention_mask, training)
        return output, ops.stack([keys, values], axis=1)
