"""`zoo.attention.Float32SoftmaxAttention`, the one attention arithmetic of the zoo's Transformers: its softmax and
dropout stay float32 under `mixed_bfloat16`, masked keys get exactly no weight, and the three layer names that
saved models refer to are this class.
"""

from __future__ import annotations

import numpy as np

ROWS_KEYS = 512  # long rows: where a bfloat16 softmax loses the small probabilities


def _reference(layer, query, value, mask):
    """The layer's function in float64 numpy, from its float32 weights."""
    w = {"/".join(v.path.split("/")[-2:]): np.asarray(v, "float64") for v in layer.weights}

    def project(x, name):
        return np.einsum("btd,dnh->btnh", x, w[f"{name}/kernel"]) + w[f"{name}/bias"]

    q, k, v = project(query, "query"), project(value, "key"), project(value, "value")
    scores = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1])
    scores = np.where(mask[:, None], scores, -np.inf)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.einsum("btnh,nhd->btd", np.einsum("bnts,bsnh->btnh", p, v), w["attention_output/kernel"]) \
        + w["attention_output/bias"]


def test_float32_policy_computes_scaled_dot_product_attention():
    from zoo.attention import Float32SoftmaxAttention

    rng = np.random.default_rng(0)
    query, value = rng.normal(size=(2, 5, 12)), rng.normal(size=(2, 7, 12))
    mask = rng.random((2, 5, 7)) < 0.7
    mask[:, :, 0] = True
    layer = Float32SoftmaxAttention(num_heads=2, key_dim=6)  # 1 / sqrt(6): a scale that rounds
    out = np.asarray(layer(query.astype("float32"), value.astype("float32"), attention_mask=mask))
    np.testing.assert_allclose(out, _reference(layer, query, value, mask), rtol=1e-5, atol=1e-5)


def test_softmax_is_float32_under_mixed_bfloat16_and_masked_keys_get_exactly_nothing():
    import keras

    from zoo.attention import Float32SoftmaxAttention

    keras.config.set_dtype_policy("mixed_bfloat16")
    rng = np.random.default_rng(1)
    query = rng.normal(size=(2, 4, 16)).astype("float32")
    value = rng.normal(size=(2, ROWS_KEYS, 16)).astype("float32")
    mask = np.broadcast_to(rng.random((2, 1, ROWS_KEYS)) < 0.8, (2, 4, ROWS_KEYS))
    layer = Float32SoftmaxAttention(num_heads=2, key_dim=8)
    out, probabilities = layer(query, value, attention_mask=mask, return_attention_scores=True)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert keras.backend.standardize_dtype(probabilities.dtype) == "float32"
    probabilities = np.asarray(probabilities)
    assert np.abs(probabilities.sum(-1) - 1).max() < 1e-5
    assert (probabilities[np.broadcast_to(~mask[:, None], probabilities.shape)] == 0).all()
    # The same probabilities rounded to bfloat16 (the best a bfloat16 softmax can give) miss 1 by far more.
    rounded = np.asarray(keras.ops.cast(keras.ops.cast(probabilities, "bfloat16"), "float32"))
    assert np.abs(rounded.sum(-1) - 1).max() > 1e-4
    # A masked key's value does not reach the output, to the last bit.
    changed = value.copy()
    changed[~mask[:, 0]] = 100.0
    np.testing.assert_array_equal(np.asarray(layer(query, changed, attention_mask=mask), "float32"),
                                  np.asarray(out, "float32"))


def test_attention_dropout_keeps_the_weights_unbiased_under_mixed_bfloat16():
    """Dropout runs on the float32 probabilities: kept weights are scaled by 1 / 0.9 exactly, not by bfloat16's
    1.109 (which, with a bfloat16 draw, shrank every row's total by about 0.34 %)."""
    import keras

    from zoo.attention import Float32SoftmaxAttention

    keras.config.set_dtype_policy("mixed_bfloat16")
    x = np.random.default_rng(2).normal(size=(64, 256, 8)).astype("float32")
    layer = Float32SoftmaxAttention(num_heads=2, key_dim=4, dropout=0.1, seed=0)
    layer(x, x)
    # Every value is 1 and the output is the mean of the 2 x 4 attended values (the query and key projections
    # stay random: weights of many sizes, whose bfloat16 roundings average out).
    layer.value_dense.kernel.assign(np.zeros(layer.value_dense.kernel.shape, "float32"))
    layer.value_dense.bias.assign(np.ones(layer.value_dense.bias.shape, "float32"))
    layer.output_dense.kernel.assign(np.full(layer.output_dense.kernel.shape, 1 / 8, "float32"))
    # Each output is the mean over heads of a row's weights after dropout: 1 in expectation.
    totals = np.asarray(layer(x, x, training=True), "float32")
    assert not np.allclose(totals, 1.0)  # dropout did run
    assert abs(totals.mean() - 1) < 1e-3


def test_the_names_saved_models_refer_to_are_the_shared_layer():
    import keras

    import zoo.models.language.layers  # noqa: F401 (registers its layers)
    import zoo.models.transformer.layers  # noqa: F401
    import zoo.models.vit.vit  # noqa: F401
    from zoo.attention import Float32SoftmaxAttention

    for name in ("zoo>Float32SoftmaxAttention", "zoo>MultiHeadAttention", "zoo>CachedAttention"):
        registered = keras.saving.get_registered_object(name)
        assert registered is not None and issubclass(registered, Float32SoftmaxAttention), name
        for method in ("_compute_attention", "_attention_dropout", "attend", "attend_cached"):
            assert getattr(registered, method) is getattr(Float32SoftmaxAttention, method), (name, method)
