"""The Vision Transformer (`vit`): canonical size, KerasHub weights, refusals, mixed precision, learning.

The standard model test (tests/test_models.py) covers building, a training step, config and `.keras`
round trips and style equivalence in the `small` configuration.
"""

from __future__ import annotations

import numpy as np
import pytest

import zoo

VIT_B16_BACKBONE = 85_798_656  # ViT-B/16 at 224x224x3, without the classifier (KerasHub's ViTBackbone too)
VIT_B16 = {"patch_size": 16, "num_layers": 12, "num_heads": 12, "hidden_dim": 768, "mlp_dim": 3072}
TINY = {"patch_size": 2, "num_layers": 2, "num_heads": 4, "hidden_dim": 32, "mlp_dim": 64}


def small():
    return dict(zoo.get_spec("vit").small)


def test_vit_b16_backbone_has_the_canonical_parameter_count():
    model = zoo.build("vit", include_top=False)
    assert model.count_params() == VIT_B16_BACKBONE
    # With the 1000-class classifier on the [CLS] token: 768 * 1000 + 1000 more.
    assert zoo.build("vit", style="sequential").count_params() == VIT_B16_BACKBONE + 769_000


@pytest.mark.slow
def test_vit_b16_backbone_count_equals_keras_hubs():
    import keras_hub

    reference = keras_hub.models.ViTBackbone(image_shape=(224, 224, 3), **VIT_B16)
    assert reference.count_params() == VIT_B16_BACKBONE
    assert zoo.build("vit", style="subclass", include_top=False).count_params() == reference.count_params()


def _keras_hub_backbone(**overrides):
    import keras
    import keras_hub

    backbone = keras_hub.models.ViTBackbone(image_shape=(8, 8, 3), **{**TINY, **overrides})
    rng = np.random.default_rng(2)  # LayerNorm and biases start at 0/1: make every weight distinct
    backbone.set_weights([w + rng.normal(0, 0.1, w.shape).astype("float32") for w in backbone.get_weights()])
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in backbone.weights)
    return backbone


def test_keras_hub_backbone_weights_load_with_identical_outputs():
    from zoo.models.vit.vit import from_keras_hub

    backbone = _keras_hub_backbone()
    x = np.random.default_rng(0).random((2, 8, 8, 3), dtype="float32")
    expected = np.asarray(backbone(x))
    for style in zoo.STYLES:
        model = from_keras_hub(zoo.build("vit", style=style, input_shape=(8, 8, 3), include_top=False, **TINY),
                               backbone)
        np.testing.assert_allclose(np.asarray(model(x, training=False)), expected, atol=1e-5, err_msg=style)
    # The classifier reads the [CLS] token of the same encoder output.
    classifier = from_keras_hub(zoo.build("vit", input_shape=(8, 8, 3), classes=5, pooling="token", **TINY),
                                backbone)
    assert classifier.output_shape == (None, 5)
    token = zoo.build("vit", input_shape=(8, 8, 3), include_top=False, pooling="token", **TINY)
    np.testing.assert_allclose(np.asarray(from_keras_hub(token, backbone)(x)), expected[:, 0], atol=1e-5)


def test_a_keras_hub_backbone_of_another_configuration_is_refused():
    from zoo.models.vit.vit import from_keras_hub

    deeper = _keras_hub_backbone(num_layers=3)
    model = zoo.build("vit", input_shape=(8, 8, 3), include_top=False, **TINY)
    with pytest.raises(ValueError, match=r"unused by the model \(block_3/ln_1/gamma") as excinfo:
        from_keras_hub(model, deeper)
    assert "\n" not in str(excinfo.value)
    wider_mlp = _keras_hub_backbone(mlp_dim=48)
    with pytest.raises(ValueError, match=r"of another shape .*block_1/dense_1/kernel \(32, 48\) vs \(32, 64\)"):
        from_keras_hub(model, wider_mlp)


@pytest.mark.parametrize("hparams,message", [
    ({"input_shape": (9, 9, 1)}, "multiples of `patch_size`"),
    ({"hidden_dim": 60, "num_heads": 8}, "divisible by `num_heads`"),
    ({"pooling": "max", "include_top": False}, "`pooling` must be one of"),
    ({"dropout": 1.5}, "`dropout` must be a number"),
])
def test_bad_hyperparameters_raise_one_line(hparams, message):
    with pytest.raises(ValueError, match=message) as excinfo:
        zoo.build("vit", **{**small(), **hparams})
    assert "\n" not in str(excinfo.value)


def test_mixed_bfloat16_trains_a_step_without_nan_and_keeps_the_softmax_in_float32():
    import keras

    from zoo.models.vit.vit import ViTEncoderBlock

    keras.config.set_dtype_policy("mixed_bfloat16")
    model = zoo.build("vit", style="sequential", **small())
    blocks = [layer for layer in model.layers if isinstance(layer, ViTEncoderBlock)]
    assert blocks and all(b.attention.compute_dtype == "bfloat16" for b in blocks)
    assert all(b.attention._softmax.compute_dtype == "float32" for b in blocks)
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 8, 8, 1), dtype="float32"), rng.integers(0, 10, 8)
    model.compile(optimizer="adamw", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert keras.backend.standardize_dtype(model(x).dtype) == "float32"


def test_learns_digits():
    """The small configuration learns digits within a few epochs (the local run trains it further)."""
    import keras
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target
    model = zoo.build("vit", **small())
    model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x[:1400], y[:1400], batch_size=32, epochs=6, verbose=0)
    _, accuracy = model.evaluate(x[1400:], y[1400:], verbose=0)
    assert accuracy > 0.7
