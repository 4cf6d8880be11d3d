"""style_transfer beyond the standard model test: the Gram matrix and the loss pieces against NumPy, the
optimisation loop (a quick check that it lowers the loss by a clear factor; the pipeline's recipe in the slow
tier), keras.applications weight files, serving, argument errors, and the offline content/style images.
"""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.models.style import style_transfer as st
from zoo.tasks import get_task
from zoo.tasks.style_transfer import fixed_pairs

SPEC = zoo.get_spec("style_transfer")
SMALL = dict(SPEC.small)
HPARAMS = {k: v for k, v in {**SPEC.defaults, **SPEC.small}.items() if k != "weights"}
TINY = {**SMALL, "block_filters": (4, 8, 8, 8, 8)}  # the small configuration's depth, narrower
TASK = get_task(SPEC.task)


@pytest.fixture(scope="module")
def images():
    """A small offline dataset (60 images: ten of each texture and ten scenes)."""
    from zoo.data import load_dataset

    return load_dataset("synthetic_style_images", seed=0, n=60)


def _features(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# ------------------------------------------------------------------------------------------------- losses
def test_the_gram_matrix_is_the_channel_correlation_of_numpy():
    features = _features((2, 5, 3, 4))
    expected = np.stack([f.reshape(-1, 4).T @ f.reshape(-1, 4) / 15 for f in features])
    np.testing.assert_allclose(np.asarray(st.gram_matrix(features)), expected, rtol=1e-5, atol=1e-5)


def test_the_loss_pieces_match_their_numpy_formulas():
    target, value = _features((2, 4, 4, 3), 1), _features((2, 4, 4, 3), 2)
    content = np.asarray(st.content_loss({"c": value}, {"c": target}))
    expected = ((value - target) ** 2).sum((1, 2, 3)) / (target ** 2).sum((1, 2, 3))
    np.testing.assert_allclose(content, expected, rtol=1e-5)
    assert np.allclose(np.asarray(st.content_loss({"c": target}, {"c": target})), 0.0)

    style_gram, content_gram = np.asarray(st.gram_matrix(target)), np.asarray(st.gram_matrix(value))
    scales = st.style_scales({"s": style_gram}, {"s": content_gram})
    expected_scale = (style_gram ** 2).sum((1, 2)) + (content_gram ** 2).sum((1, 2))
    np.testing.assert_allclose(np.asarray(scales["s"]), expected_scale, rtol=1e-5)
    style = np.asarray(st.style_loss({"s": value}, {"s": style_gram}, scales))
    np.testing.assert_allclose(style, ((content_gram - style_gram) ** 2).sum((1, 2)) / expected_scale, rtol=1e-5)
    assert 0 < style.max() <= 2  # the scale bounds the starting value

    checker = (np.indices((4, 4)).sum(0) % 2).astype("float32")[None, ..., None].repeat(3, -1)
    tv = np.asarray(st.total_variation(np.concatenate([checker, np.zeros_like(checker)])))
    np.testing.assert_allclose(tv, [2.0, 0.0], atol=1e-6)  # every neighbour differs by 1 in the checkerboard


# ------------------------------------------------------------------------------------------- optimisation
def test_the_optimisation_lowers_the_total_loss_by_a_clear_factor_on_the_gated_pair(images):
    """What the evaluate step gates on: 60 steps on the test split's first (content, style) pair."""
    import keras

    keras.utils.set_random_seed(0)
    model = zoo.build("style_transfer", **TINY)
    batches = [(images.test.x[:5], images.test.y[:5]), (images.test.x[5:], images.test.y[5:])]
    evaluation = TASK.evaluate(model, batches, SPEC, {**HPARAMS, "steps": 60}, images.info)
    metrics = evaluation.metrics
    assert set(metrics) == set(TASK.metric_names)
    assert metrics["loss_decrease"] == pytest.approx(
        (metrics["initial_loss"] - metrics["final_loss"]) / metrics["initial_loss"])
    assert metrics["loss_decrease"] > 0.4
    assert metrics["style_loss"] < 0.6 * metrics["initial_style_loss"]
    assert "steps=60" in evaluation.fingerprint


def test_the_pictures_show_content_style_and_stylised_side_by_side(images, tmp_path):
    model = zoo.build("style_transfer", **TINY)
    pictures = TASK.pictures(model, [(images.test.x, images.test.y)], SPEC, {**HPARAMS, "steps": 5}, images.info,
                             str(tmp_path))
    (path,) = pictures.values()
    assert path == str(tmp_path / "style_transfer_pairs.png")
    from PIL import Image

    # Three columns (content | style | stylised) of 32-pixel images drawn at twice their size, one-pixel gutters.
    assert Image.open(path).size[0] == 3 * (2 * 32 + 1) + 1


def test_pairs_need_content_and_style_images(images):
    with pytest.raises(ValueError, match="needs content images"):
        fixed_pairs(images.test.x[:3], np.zeros(3, "int32"), images.info, count=1)


@pytest.mark.slow
def test_trained_features_lower_the_loss_of_the_gated_pair_beyond_the_floor():
    """The pipeline's recipe (small configuration, `synthetic_style_images`, seed 0): the classifier learns the
    textures far above chance, and its features give the gated pair a relative decrease above the floor."""
    import keras

    from zoo.data import load_dataset

    keras.utils.set_random_seed(0)
    data = load_dataset("synthetic_style_images", seed=0)
    model = zoo.build("style_transfer", **SMALL)
    TASK.compile(model, SPEC, HPARAMS, learning_rate=SPEC.recipe.learning_rate)
    model.fit(data.train.x, data.train.y, validation_data=(data.val.x, data.val.y), epochs=SPEC.recipe.epochs,
              batch_size=SPEC.recipe.batch_size, verbose=0,
              callbacks=[keras.callbacks.EarlyStopping(patience=SPEC.recipe.patience, restore_best_weights=True)])
    evaluation = TASK.evaluate(model, [(data.test.x, data.test.y)], SPEC, HPARAMS, data.info)
    assert evaluation.metrics["accuracy"] > 0.5  # six classes: chance is 1/6
    assert evaluation.metrics["loss_decrease"] > SPEC.gate.floor


# ------------------------------------------------------------------------------------------------ weights
def _assert_same_convolutions(model, reference):
    import keras

    for layer in reference.layers:
        if isinstance(layer, keras.layers.Conv2D):
            mine = model.get_layer(layer.name).get_weights()
            assert len(mine) == 2
            for value, expected in zip(mine, layer.get_weights()):
                np.testing.assert_array_equal(value, expected)


def test_a_keras3_file_of_a_flat_vgg19_loads_into_the_body_by_the_order_of_its_convolutions(tmp_path):
    """A `.weights.h5` as keras.applications.VGG19 writes it (flat, keyed `conv2d`, `conv2d_1`, ...) at TINY's
    filters; the real keras.applications file is the slow test below."""
    import keras

    layers = [layer for layer in st.style_transfer_layers(**{**HPARAMS, **TINY}) if layer.name.startswith("block")]
    inputs = keras.Input((32, 32, 3))
    x = inputs
    for layer in layers:
        x = layer(x)
    reference = keras.Model(inputs, x)
    path = str(tmp_path / "vgg19_notop.weights.h5")
    reference.save_weights(path)
    _assert_same_convolutions(zoo.build("style_transfer", style="functional", weights=path, **TINY), reference)


@pytest.mark.slow
def test_keras_applications_vgg19_weights_load_into_the_body(tmp_path):
    import keras

    reference = keras.applications.VGG19(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = str(tmp_path / "vgg19_notop.weights.h5")
    reference.save_weights(path)
    _assert_same_convolutions(zoo.build("style_transfer", style="sequential", input_shape=(32, 32, 3), weights=path),
                              reference)


def _write_legacy_h5(path, model, extra_layer=None):
    """A legacy (keras.applications' published) HDF5 weights file of the model's convolutions, by layer name."""
    import h5py

    layers = [layer for layer in st.feature_layers(model) if layer.name.startswith("block") and layer.weights]
    with h5py.File(path, "w") as f:
        names = [layer.name for layer in layers] + ([extra_layer] if extra_layer else [])
        f.attrs["layer_names"] = [n.encode() for n in names]
        for layer in layers:
            group = f.create_group(layer.name)
            # Named as keras.applications' 2016 VGG files name them (`<layer>_W_1:0`, `<layer>_b_1:0`).
            weight_names = [f"{layer.name}/{layer.name}_{short}_1:0" for short in ("W", "b")]
            group.attrs["weight_names"] = [n.encode() for n in weight_names]
            for name, v in zip(weight_names, layer.weights):
                group.create_dataset(name, data=np.asarray(v))
        if extra_layer:  # a top layer (fc1), which the body leaves out
            group = f.create_group(extra_layer)
            group.attrs["weight_names"] = [f"{extra_layer}/kernel:0".encode()]
            group.create_dataset(f"{extra_layer}/kernel:0", data=np.ones((2, 2), "float32"))


def test_legacy_h5_weights_load_by_layer_name_and_a_file_that_does_not_fit_fails_in_one_line(tmp_path):
    source = zoo.build("style_transfer", **TINY)
    path = str(tmp_path / "vgg19_weights.h5")
    _write_legacy_h5(path, source, extra_layer="fc1")
    loaded = zoo.build("style_transfer", style="subclass", weights=path, **TINY)
    for name in st.conv_names(TINY["block_convs"]):
        for mine, theirs in zip(loaded.get_layer(name).get_weights(), source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(mine, theirs)
    with pytest.raises(ValueError, match=r"^Cannot load weights from .* of another shape") as info:
        zoo.build("style_transfer", weights=path, **{**TINY, "block_filters": (4, 8, 8, 8, 16)})
    assert "\n" not in str(info.value)
    not_hdf5 = tmp_path / "notes.weights.h5"
    not_hdf5.write_text("not weights")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        zoo.build("style_transfer", weights=str(not_hdf5), **TINY)


def test_the_models_own_file_loads_whole_in_any_style_and_one_of_another_configuration_fails_in_one_line(tmp_path):
    source = zoo.build("style_transfer", style="subclass", **TINY)
    path = str(tmp_path / "style_transfer.weights.h5")
    source.save_weights(path)
    loaded = zoo.build("style_transfer", style="sequential", weights=path, **TINY)
    for mine, theirs in zip(loaded.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    with pytest.raises(ValueError, match=r"^Cannot load weights from ") as info:
        zoo.build("style_transfer", weights=path, **{**TINY, "classes": 3})
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------------------------ serving
@pytest.mark.parametrize("style", ["functional", "subclass"])
def test_serving_stylises_a_content_image_of_any_size_with_a_style_of_another(style):
    model = zoo.build("style_transfer", style=style, **TINY)
    serving = TASK.serving_model(model, SPEC, {**HPARAMS, "steps": 3}, {})
    rng = np.random.default_rng(0)
    content = rng.uniform(size=(2, 20, 44, 3)).astype("float32")
    style = rng.uniform(size=(2, 40, 40, 3)).astype("float32")
    stylised = np.asarray(serving({"content": content, "style": style}))
    assert stylised.shape == content.shape and np.all((stylised >= 0) & (stylised <= 1))
    # The loop itself (eagerly here) starts at the content image: no content loss at first.
    import tensorflow as tf

    square = tf.constant(rng.uniform(size=(2, 32, 32, 3)).astype("float32"))
    _, initial, _ = st.optimise_images(model, square, tf.constant(style), st.transfer_settings({"steps": 3}))
    np.testing.assert_allclose(np.asarray(initial["content"]), 0.0, atol=1e-6)
    assert not np.allclose(stylised, content, atol=1e-3)


# ------------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("arguments,message", [
    ({"content_layers": ("block9_conv1",)}, "content_layers"),
    ({"style_layers": "block1_conv1"}, "style_layers"),
    ({"style_weight": -1.0}, "style_weight"),
    ({"steps": 0}, "steps"),
    ({"step_size": 2.0}, "step_size"),
    ({"preprocessing": "bgr"}, "preprocessing"),
    ({"input_shape": (16, 16, 3)}, "input_shape"),
    ({"block_filters": (4, 8, 8, 8)}, "block_filters"),
])
def test_bad_arguments_fail_in_one_line_naming_what_was_received(arguments, message):
    with pytest.raises(ValueError, match=rf"`{message}`.*Received: {message}=") as info:
        zoo.build("style_transfer", **{**TINY, **arguments})
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------------------------ data
def test_the_offline_images_are_deterministic_balanced_and_name_their_content_class(images):
    from zoo.data import load_dataset
    from zoo.data.style_images import CLASS_NAMES, CONTENT_CLASS

    again = load_dataset("synthetic_style_images", seed=0, n=60)
    np.testing.assert_array_equal(again.train.x, images.train.x)
    labels = np.concatenate([images.train.y, images.val.y, images.test.y])
    assert np.bincount(labels).tolist() == [10] * 6
    assert images.info == {"class_names": list(CLASS_NAMES), "content_class": CONTENT_CLASS}
    assert images.train.x.dtype == np.float32 and 0 <= images.train.x.min() and images.train.x.max() <= 1
    with pytest.raises(ValueError, match="Received: n=10"):
        load_dataset("synthetic_style_images", n=10)
