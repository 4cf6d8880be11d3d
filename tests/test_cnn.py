"""Catalog section C beyond the standard model test: canonical sizes, keras.applications' arguments, the
block layers, GoogLeNet's auxiliary classifiers, class activation maps, the sentence CNN, transfer
learning, and (slow) learning checks on digits.
"""

from __future__ import annotations

import numpy as np
import pytest

import zoo

# Its module-scoped fixtures are expensive: `make test` keeps the module on one worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("cnn")

IMAGE_CLASSIFIERS = sorted(n for n in zoo.list_models()
                           if zoo.get_spec(n).family == "cnn" and "pooling" in zoo.get_spec(n).defaults)
# Deep models whose builds cost seconds each: their per-model checks run in the slow target.
DEEP = {"resnet101", "resnet152", "densenet169", "densenet201"}

# keras.applications' sizes at 224x224x3 with a 1000-class top (catalog section C).
CANONICAL = {
    "vgg16": (138_357_544, "VGG16"),
    "vgg19": (143_667_240, "VGG19"),
    "resnet50": (25_636_712, "ResNet50"),
    "resnet101": (44_707_176, "ResNet101"),
    "resnet152": (60_419_944, "ResNet152"),
    "densenet121": (8_062_504, "DenseNet121"),
    "densenet169": (14_307_880, "DenseNet169"),
    "densenet201": (20_242_984, "DenseNet201"),
}
# The configurations this zoo chose where keras.applications has none (see each module's docstring).
CHOSEN = {
    "alexnet": 62_378_344,   # Krizhevsky et al. 2012, single tower
    "googlenet": 6_998_552,  # Szegedy et al. 2014, table 1, no auxiliary classifiers
    "resnet18": 11_699_112,  # He et al. 2015, table 1; includes batch-norm moving statistics
    "resnet34": 21_814_696,
}
# Trainable parameters: the figures torchvision reports for the same networks (it does not count the
# batch-norm moving statistics as parameters).
TRAINABLE = {"resnet18": 11_689_512, "resnet34": 21_797_672}
SIZES = {**{name: count for name, (count, _) in CANONICAL.items()}, **CHOSEN}
# Features entering the 1000-class classifier of the networks with a pooling top, to take that top off.
FEATURES = {"resnet18": 512, "resnet34": 512, "resnet50": 2048, "resnet101": 2048, "resnet152": 2048,
            "densenet121": 1024, "densenet169": 1664, "densenet201": 1920, "googlenet": 1024}
# Without the top the count does not depend on the input size (AlexNet and VGG keep only their convolutions).
NO_TOP = {
    "alexnet": 3_747_200,
    "vgg16": 14_714_688,
    "vgg19": 20_024_384,
    **{name: SIZES[name] - (features * 1000 + 1000) for name, features in FEATURES.items()},
}
MIN_SIZES = {"alexnet": 63, "lenet5": 16, "simple_cnn": 4, "gap_cam": 4,
             **{n: 32 for n in IMAGE_CLASSIFIERS if n.startswith(("vgg", "resnet", "densenet", "googlenet"))}}


def _param(name):
    return pytest.param(name, marks=[pytest.mark.slow] if name in DEEP else [], id=name)


def _small(name):
    return dict(zoo.get_spec(name).small)


def _shapes(model):
    return [tuple(w.shape) for w in model.weights]


def _rgb_or_grey(name, size):
    return (size, size, zoo.get_spec(name).defaults["input_shape"][-1])


# ------------------------------------------------------------------------------------------ canonical sizes
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CANONICAL))
def test_canonical_size_and_weights_equal_keras_applications(name):
    import keras

    count, reference_name = CANONICAL[name]
    model = zoo.build(name)  # the defaults: 224x224x3 and a 1000-class top, as keras.applications
    reference = getattr(keras.applications, reference_name)(weights=None)
    assert reference.count_params() == count
    assert model.count_params() == count
    # Same weights, not only the same total: every tensor's shape matches one of keras.applications'.
    assert sorted(_shapes(model)) == sorted(_shapes(reference))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CHOSEN))
def test_chosen_configuration_sizes(name):
    model = zoo.build(name)
    assert model.count_params() == CHOSEN[name]
    if name in TRAINABLE:
        assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == TRAINABLE[name]


@pytest.mark.slow
def test_googlenet_auxiliary_classifiers_add_the_papers_heads():
    # Each: conv 512*128+128, fc 2048*1024+1024, classifier 1024*1000+1000.
    assert zoo.build("googlenet", aux_heads=True).count_params() == CHOSEN["googlenet"] + 2 * 3_189_864


@pytest.mark.parametrize("name", [_param(n) for n in sorted(NO_TOP)])
def test_sizes_without_the_top_do_not_depend_on_the_input(name):
    size = 64 if name == "alexnet" else 32
    model = zoo.build(name, include_top=False, pooling="avg", input_shape=(size, size, 3))
    assert model.count_params() == NO_TOP[name]


@pytest.mark.parametrize("name,count", [("lenet5", 61_706), ("simple_cnn", 421_642), ("gap_cam", 287_722),
                                        ("text_cnn", 2_714_502)])
def test_default_sizes_of_the_small_networks(name, count):
    assert zoo.build(name).count_params() == count


# ------------------------------------------------------------------------------ keras.applications arguments
@pytest.mark.parametrize("name", IMAGE_CLASSIFIERS)
def test_bad_arguments_are_one_line_value_errors(name):
    shape = _rgb_or_grey(name, 64)
    with pytest.raises(ValueError, match=r"`pooling` must be one of None, 'avg', 'max'\. Received: pooling='mean'"):
        zoo.build(name, include_top=False, pooling="mean", input_shape=shape)
    with pytest.raises(ValueError, match=r"`classes` must be a positive integer\. Received: classes=0"):
        zoo.build(name, classes=0, input_shape=shape)
    with pytest.raises(ValueError, match=r"Received: input_shape=\(64, 64\)"):
        zoo.build(name, input_shape=(64, 64))
    with pytest.raises(ValueError, match="Unknown hyperparameter"):
        zoo.build(name, pooling_type="avg")


@pytest.mark.parametrize("name", [_param(n) for n in IMAGE_CLASSIFIERS])
def test_inputs_below_the_minimum_are_refused_and_the_minimum_builds(name):
    smallest = MIN_SIZES[name]
    with pytest.raises(ValueError, match=rf"at least {smallest}x{smallest}.*Received: input_shape"):
        zoo.build(name, input_shape=_rgb_or_grey(name, smallest - 1))
    model = zoo.build(name, include_top=False, input_shape=_rgb_or_grey(name, smallest))
    height, width = model.output_shape[1:3]
    assert height >= 1 and width >= 1


@pytest.mark.parametrize("style", zoo.STYLES)
@pytest.mark.parametrize("pooling,rank", [(None, 4), ("avg", 2), ("max", 2)])
def test_without_the_top_pooling_gives_features(style, pooling, rank):
    model = zoo.build("resnet18", style=style, include_top=False, pooling=pooling, input_shape=(64, 64, 3))
    y = np.asarray(model(np.random.default_rng(0).random((2, 64, 64, 3), dtype="float32"), training=False))
    assert y.ndim == rank
    assert y.shape[-1] == 512
    if rank == 4:
        assert y.shape[1:3] == (2, 2)


@pytest.mark.parametrize("name", ["vgg16", "alexnet"])
def test_flattening_tops_need_a_fixed_input_size(name):
    with pytest.raises(ValueError, match="fixed height and width"):
        zoo.build(name, input_shape=(None, None, 3), fc_units=8)
    model = zoo.build(name, include_top=False, pooling="max", input_shape=(None, None, 3))
    assert model.output_shape == (None, 256 if name == "alexnet" else 512)


def test_a_backbone_composes_into_a_new_model_and_trains_as_keras_users_do():
    import keras

    backbone = zoo.build("resnet18", include_top=False, pooling="avg", input_shape=(32, 32, 3))
    assert backbone.output_shape == (None, 512)
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Dropout(0.2)(backbone(inputs)))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 32, 32, 3), dtype="float32"), rng.integers(0, 3, 8)
    before = [w.copy() for w in backbone.get_weights()]
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, backbone.get_weights()))
    assert model.predict(x, verbose=0).shape == (8, 3)


def test_weights_argument_loads_a_file_and_refuses_imagenet(tmp_path):
    source = zoo.build("simple_cnn", style="sequential")
    path = str(tmp_path / "simple.weights.h5")
    source.save_weights(path)
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype="float32")
    for style in zoo.STYLES:
        loaded = zoo.build("simple_cnn", style=style, weights=path)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), source.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="cannot be downloaded here"):
        zoo.build("resnet18", weights="imagenet")


# --------------------------------------------------------------------------------------------- block layers
def _round_trip(layer, x):
    """Config round trip, and a safe-mode `.keras` round trip of a model around `layer`."""
    import keras

    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, layer(inputs))
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "block.keras")
        model.save(path)
        loaded = zoo.load_model(path)
    assert type(loaded.layers[1]) is type(layer)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    return np.asarray(model.predict(x, verbose=0))


def test_bottleneck_block_with_projection():
    from zoo.models.cnn.resnet import ResidualBlock

    block = ResidualBlock(16, bottleneck=True, stride=2, projection=True, name="conv3_block1")
    y = _round_trip(block, np.random.default_rng(0).random((2, 8, 8, 32), dtype="float32"))
    assert y.shape == (2, 4, 4, 64)
    assert [layer.name for layer in block.shortcut] == ["conv3_block1_0_conv", "conv3_block1_0_bn"]
    assert (y >= 0).all()  # the block ends in ReLU


def test_basic_block_adds_its_input_through_the_identity_shortcut():
    import keras

    from zoo.models.cnn.resnet import ResidualBlock

    block = ResidualBlock(8, bottleneck=False, name="conv2_block1")
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 8)).astype("float32")
    _round_trip(block, x)
    # With the residual branch's last batch normalisation zeroed, the block is relu(x): the skip is real.
    last_bn = block.residual[-1]
    assert isinstance(last_bn, keras.layers.BatchNormalization)
    last_bn.gamma.assign(np.zeros(8, "float32"))
    last_bn.beta.assign(np.zeros(8, "float32"))
    np.testing.assert_allclose(np.asarray(block(x, training=False)), np.maximum(x, 0), atol=1e-6)


def test_residual_blocks_reject_shapes_they_cannot_add():
    from zoo.models.cnn.resnet import ResidualBlock

    with pytest.raises(ValueError, match="identity shortcut needs 8 input channels"):
        ResidualBlock(8, bottleneck=False)(np.zeros((1, 4, 4, 3), "float32"))
    with pytest.raises(ValueError, match="needs projection=True"):
        ResidualBlock(8, bottleneck=False, stride=2)


def test_dense_block_concatenates_its_input_with_growth_rate_new_maps():
    from zoo.models.cnn.densenet import DenseConvBlock

    x = np.random.default_rng(0).random((2, 6, 6, 5), dtype="float32")
    y = _round_trip(DenseConvBlock(4, name="conv2_block1"), x)
    assert y.shape == (2, 6, 6, 9)
    np.testing.assert_allclose(y[..., :5], x, atol=1e-6)


def test_inception_module_concatenates_its_four_branches():
    from zoo.models.cnn.googlenet import InceptionModule

    module = InceptionModule((4, 3, 6, 2, 5, 7), name="inception_3a")
    y = _round_trip(module, np.random.default_rng(0).random((2, 7, 7, 8), dtype="float32"))
    assert y.shape == (2, 7, 7, 4 + 6 + 5 + 7)
    with pytest.raises(ValueError, match="six positive integers"):
        InceptionModule((4, 3, 6))


def test_auxiliary_classifier_outputs_probabilities_in_float32():
    from zoo.models.cnn.googlenet import AuxiliaryClassifier

    y = _round_trip(AuxiliaryClassifier(5, name="aux_4a"), np.random.default_rng(0).random((2, 14, 14, 8), "float32"))
    assert y.shape == (2, 5)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="at least 5x5"):
        AuxiliaryClassifier(5)(np.zeros((1, 4, 4, 8), "float32"))


def test_local_response_normalization_matches_tensorflow():
    import tensorflow as tf

    from zoo.models.cnn.common import LocalResponseNormalization

    # Large activations, so the normaliser is far from the bias alone.
    x = np.random.default_rng(0).normal(scale=30.0, size=(2, 5, 5, 11)).astype("float32")
    y = _round_trip(LocalResponseNormalization(name="norm1"), x)
    expected = tf.nn.local_response_normalization(x, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(y, x / 2.0 ** 0.75, rtol=1e-3)


def test_a_frozen_block_reloads_with_frozen_sublayers():
    from zoo.models.cnn.resnet import ResidualBlock

    frozen = ResidualBlock.from_config(ResidualBlock(8, bottleneck=False, trainable=False).get_config())
    frozen.build((None, 4, 4, 8))
    assert frozen.weights and not any(w.trainable for w in frozen.weights)


def test_a_tiny_densenet_is_the_same_network_in_all_three_styles(tmp_path):
    from zoo.models.cnn.densenet import DenseNet, densenet_layers
    from zoo.nn import functional_chain, sequential_model

    hp = dict(input_shape=(32, 32, 1), classes=3)
    models = [functional_chain(hp["input_shape"], densenet_layers((1, 2, 1, 1), **hp), "tiny"),
              sequential_model(hp["input_shape"], densenet_layers((1, 2, 1, 1), **hp), "tiny"),
              DenseNet(blocks=(1, 2, 1, 1), **hp)]
    x = np.random.default_rng(0).random((2, 32, 32, 1), dtype="float32")
    expected = models[0].predict(x, verbose=0)
    for other in models[1:]:
        assert _shapes(other) == _shapes(models[0])
        other.set_weights(models[0].get_weights())
        np.testing.assert_allclose(other.predict(x, verbose=0), expected, atol=1e-5)
    models[2].save(tmp_path / "tiny.keras")
    loaded = zoo.load_model(str(tmp_path / "tiny.keras"))
    assert type(loaded) is DenseNet and loaded.get_config()["blocks"] == (1, 2, 1, 1)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-5)


def test_subclassed_block_models_export_a_savedmodel_that_serves(tmp_path):
    import tensorflow as tf

    from zoo.models.cnn.densenet import DenseNet

    model = DenseNet(blocks=(1, 1, 1, 1), input_shape=(32, 32, 1), classes=3)
    x = np.random.default_rng(0).random((2, 32, 32, 1), dtype="float32")
    expected = model.predict(x, verbose=0)  # Keras exports a subclassed model once it has been called
    model.export(str(tmp_path / "saved"), verbose=False)
    exported = tf.saved_model.load(str(tmp_path / "saved"))  # keep it: its variables live as long as it does
    np.testing.assert_allclose(np.asarray(exported.serve(tf.constant(x))), expected, atol=1e-5)


# --------------------------------------------------------------------------------- GoogLeNet's auxiliaries
def test_googlenet_auxiliary_classifiers_in_functional_and_subclass_styles(tmp_path):
    import keras

    from zoo.models.cnn.googlenet import AUX_LOSS_WEIGHTS

    hp = dict(aux_heads=True, input_shape=(65, 65, 1), classes=4)
    functional = zoo.build("googlenet", style="functional", **hp)
    subclass = zoo.build("googlenet", style="subclass", **hp)
    x = np.random.default_rng(0).random((2, 65, 65, 1), dtype="float32")
    assert _shapes(subclass) == _shapes(functional)
    subclass.set_weights(functional.get_weights())
    expected = functional.predict(x, verbose=0)
    assert len(expected) == 3 and all(y.shape == (2, 4) for y in expected)
    for a, b in zip(subclass.predict(x, verbose=0), expected):
        np.testing.assert_allclose(a, b, atol=1e-5)
    subclass.save(tmp_path / "googlenet.keras")
    for a, b in zip(zoo.load_model(str(tmp_path / "googlenet.keras")).predict(x, verbose=0), expected):
        np.testing.assert_allclose(a, b, atol=1e-5)
    functional.compile(optimizer=keras.optimizers.SGD(1e-3), loss=["sparse_categorical_crossentropy"] * 3,
                       loss_weights=list(AUX_LOSS_WEIGHTS))
    history = functional.fit(x, (np.array([0, 1]),) * 3, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_googlenet_auxiliary_classifiers_refuse_what_they_cannot_do():
    with pytest.raises(ValueError, match="three outputs, which a keras.Sequential cannot have"):
        zoo.build("googlenet", style="sequential", aux_heads=True, input_shape=(65, 65, 1), classes=4)
    with pytest.raises(ValueError, match="at least 65x65"):
        zoo.build("googlenet", aux_heads=True, input_shape=(64, 64, 1), classes=4)
    with pytest.raises(ValueError, match="needs include_top=True"):
        zoo.build("googlenet", aux_heads=True, include_top=False, input_shape=(96, 96, 1))


# ----------------------------------------------------------------------------------------------- simple_cnn
def test_augmentation_acts_in_training_only():
    plain = zoo.build("simple_cnn", dropout=0.0)  # no dropout: training and inference differ only by augmenting
    augmented = zoo.build("simple_cnn", dropout=0.0, augmentation=("rotation", "zoom", "translation", "contrast"))
    assert _shapes(augmented) == _shapes(plain)
    augmented.set_weights(plain.get_weights())
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype="float32")
    expected = plain.predict(x, verbose=0)
    np.testing.assert_allclose(augmented.predict(x, verbose=0), expected, atol=1e-6)
    np.testing.assert_allclose(np.asarray(plain(x, training=True)), expected, atol=1e-6)
    assert not np.allclose(np.asarray(augmented(x, training=True)), expected, atol=1e-4)


@pytest.mark.parametrize("augmentation,message", [(("blur",), "Unknown augmentation 'blur'"),
                                                  ("rotation", "must be a list of names"),
                                                  (("zoom", "zoom"), "once")])
def test_bad_augmentations_are_value_errors(augmentation, message):
    with pytest.raises(ValueError, match=message):
        zoo.build("simple_cnn", augmentation=augmentation)


def test_valid_padding_shrinks_the_minimum_input():
    hp = dict(filters=(8, 16), kernel_size=5, padding="valid")
    with pytest.raises(ValueError, match="at least 16x16"):
        zoo.build("simple_cnn", input_shape=(15, 15, 1), **hp)
    assert zoo.build("simple_cnn", input_shape=(16, 16, 1), **hp).get_layer("pool2").output.shape[1:3] == (1, 1)
    with pytest.raises(ValueError, match="`padding` must be one of"):
        zoo.build("simple_cnn", padding="full")


# ----------------------------------------------------------------------------------- class activation maps
def test_class_activation_map_is_normalised_image_sized_and_style_independent():
    from zoo.models.cnn.gap_cam import class_activation_map

    models = [zoo.build("gap_cam", style=style) for style in zoo.STYLES]
    for model in models[1:]:
        model.set_weights(models[0].get_weights())
    image = np.random.default_rng(0).random((28, 28, 1), dtype="float32")
    maps = [class_activation_map(model, image, class_index=3) for model in models]
    assert maps[0].shape == (28, 28) and maps[0].dtype == np.float32
    assert maps[0].min() == 0.0 and maps[0].max() == pytest.approx(1.0)
    for other in maps[1:]:
        np.testing.assert_allclose(other, maps[0], atol=1e-5)
    predicted = int(np.argmax(models[0].predict(image[None], verbose=0)))
    np.testing.assert_allclose(class_activation_map(models[0], image),
                               class_activation_map(models[0], image, predicted))
    assert not np.allclose(class_activation_map(models[0], image, 0), class_activation_map(models[0], image, 1))


def test_class_activation_map_works_for_other_gap_classifiers_and_refuses_others():
    from zoo.models.cnn.gap_cam import class_activation_map

    image = np.random.default_rng(0).random((32, 32, 1), dtype="float32")
    assert class_activation_map(zoo.build("resnet18", **_small("resnet18")), image, 2).shape == (32, 32)
    with pytest.raises(ValueError, match="global average pooling"):
        class_activation_map(zoo.build("simple_cnn", input_shape=(32, 32, 1)), image, 0)
    with pytest.raises(ValueError, match="global average pooling"):
        class_activation_map(zoo.build("gap_cam", include_top=False, input_shape=(32, 32, 1)), image, 0)
    model = zoo.build("gap_cam")
    with pytest.raises(ValueError, match=r"`class_index` must be an integer in \[0, 10\)"):
        class_activation_map(model, np.zeros((28, 28, 1), "float32"), 10)
    with pytest.raises(ValueError, match="one image"):
        class_activation_map(model, np.zeros((2, 28, 28, 1), "float32"), 0)


def test_save_cam_png_writes_an_overlay(tmp_path):
    import matplotlib.image

    from zoo.models.cnn.gap_cam import save_cam_png

    image = np.zeros((8, 6, 1), "float32")
    heatmap = np.linspace(0, 1, 48, dtype="float32").reshape(8, 6)
    path = save_cam_png(image, heatmap, str(tmp_path / "cam.png"), scale=4)
    picture = matplotlib.image.imread(path)
    assert picture.shape[:2] == (32, 24)
    # On a black image the overlay is the colormap's colours: low and high heat differ.
    assert not np.allclose(picture[0, 0, :3], picture[-1, -1, :3])
    with pytest.raises(ValueError, match="must end with '.png'"):
        save_cam_png(image, heatmap, str(tmp_path / "cam.jpg"))
    with pytest.raises(ValueError, match="image's size"):
        save_cam_png(image, heatmap[:4], str(tmp_path / "cam.png"))


SHAPES = ((6, 6), (2, 8), (8, 2))  # (height, width): a square, a horizontal bar, a vertical bar


def _shape_images(n, rng, size=24):
    """Noisy images with one bright shape at a random place; the label says which shape, not where."""
    x = rng.random((n, size, size, 1), dtype="float32") * 0.3
    y = rng.integers(0, len(SHAPES), n).astype("int32")
    boxes = []
    for i, label in enumerate(y):
        height, width = SHAPES[label]
        row, col = rng.integers(0, size - height + 1), rng.integers(0, size - width + 1)
        x[i, row:row + height, col:col + width] = 1.0
        boxes.append((row, col, height, width))
    return x, y, boxes


def test_class_activation_map_finds_the_evidence():
    """Trained on labels only, the map's peak falls on the shape (within 2 pixels): weak localisation."""
    import keras

    from zoo.models.cnn.gap_cam import class_activation_map

    x, y, _ = _shape_images(1200, np.random.default_rng(0))
    model = zoo.build("gap_cam", input_shape=(24, 24, 1), classes=len(SHAPES), filters=(16, 32))
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=6, verbose=0)
    x_test, y_test, boxes = _shape_images(60, np.random.default_rng(1))
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.9
    hits = 0
    for image, label, (row, col, height, width) in zip(x_test, y_test, boxes):
        peak = np.unravel_index(np.argmax(class_activation_map(model, image, int(label))), (24, 24))
        hits += row - 2 <= peak[0] < row + height + 2 and col - 2 <= peak[1] < col + width + 2
    assert hits / len(x_test) >= 0.9


# ------------------------------------------------------------------------------------------------ text_cnn
def test_text_cnn_takes_int32_token_ids_named_tokens():
    from zoo.models.cnn.text_cnn import MultiWidthConv1D

    for style in ("sequential", "functional"):
        model = zoo.build("text_cnn", style=style, **_small("text_cnn"))
        assert model.inputs[0].dtype == "int32"
        assert model.inputs[0].name == "tokens"
    with pytest.raises(ValueError, match=r"`sequence_length` must be at least the widest kernel, 5 tokens"):
        zoo.build("text_cnn", sequence_length=4)
    with pytest.raises(ValueError, match="at least 3 tokens"):
        MultiWidthConv1D(4, (2, 3))(np.zeros((1, 2, 8), "float32"))
    with pytest.raises(ValueError, match="must not repeat"):
        zoo.build("text_cnn", kernel_sizes=(3, 3))


def test_text_cnn_learns_which_n_gram_decides_the_class(tmp_path):
    import keras
    import tensorflow as tf

    # Class 1 exactly when the bigram (7, 8) occurs: a width-2 (or wider) filter sees it, max-pooling finds it.
    rng = np.random.default_rng(0)
    x = rng.integers(9, 60, size=(800, 24)).astype("int32")
    y = rng.integers(0, 2, 800).astype("int32")
    for row, label in zip(x, y):
        at = rng.integers(0, 23)
        row[at:at + 2] = (7, 8) if label else (8, 7)
    model = zoo.build("text_cnn", vocab_size=60, sequence_length=24, embedding_dim=16, filters=16,
                      kernel_sizes=(2, 3))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:600], y[:600], batch_size=32, epochs=8, verbose=0)
    assert model.evaluate(x[600:], y[600:], verbose=0)[1] > 0.9
    model.export(str(tmp_path / "saved"), verbose=False)
    exported = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_allclose(np.asarray(exported.serve(tf.constant(x[:4]))), model.predict(x[:4], verbose=0),
                               atol=1e-5)


# ---------------------------------------------------------------------------------------- transfer learning
TL = dict(backbone="resnet18", input_shape=(32, 32, 1), classes=3)


@pytest.fixture(scope="module")
def resnet18_weights(tmp_path_factory):
    """A resnet18 with its own 10-class top, trained briefly on digits, and its weights file."""
    from zoo.data import load_dataset
    from zoo.data.adapt import fit_images

    digits = load_dataset("digits")
    x, y = fit_images(digits.train.x[:256], (32, 32, 1)), digits.train.y[:256]
    source = zoo.build("resnet18", input_shape=(32, 32, 1), classes=10, batch_norm_momentum=0.9)
    # Eagerly: for eight steps, tracing a graph would cost more than it saves.
    source.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    source.fit(x, y, batch_size=32, epochs=1, verbose=0)
    path = str(tmp_path_factory.mktemp("weights") / "resnet18_digits.weights.h5")
    source.save_weights(path)
    return source, path


def _backbone_matches(backbone, source):
    return all(
        all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), source.get_layer(layer.name).get_weights()))
        for layer in backbone.layers if layer.weights
    )


@pytest.mark.parametrize("style", zoo.STYLES)
def test_backbone_weights_load_from_a_file_with_its_own_top(style, resnet18_weights):
    from zoo.models.cnn.transfer import backbone_of

    source, path = resnet18_weights
    model = zoo.build("transfer_learning", style=style, backbone_weights=path, **TL)
    assert _backbone_matches(backbone_of(model), source)
    assert not _backbone_matches(backbone_of(zoo.build("transfer_learning", style=style, **TL)), source)
    assert model.predict(np.zeros((1, 32, 32, 1), "float32"), verbose=0).shape == (1, 3)


@pytest.mark.parametrize("style", zoo.STYLES)
def test_trainable_from_unfreezes_the_top_blocks_but_not_batch_norm(style, tmp_path):
    import keras

    from zoo.models.cnn.transfer import backbone_of, set_trainable_from

    frozen = zoo.build("transfer_learning", style=style, **TL)
    assert backbone_of(frozen).trainable_weights == []
    assert len(frozen.trainable_weights) == 2  # the new classifier only
    tuned = zoo.build("transfer_learning", style=style, trainable_from="conv5_block1", **TL)
    trainable = {w.path for w in backbone_of(tuned).trainable_weights}
    assert trainable and all(p.startswith(("conv5_block1/", "conv5_block2/")) for p in trainable)
    assert all("_conv/" in p for p in trainable)  # kernels and biases; batch norm stays frozen
    by_index = zoo.build("transfer_learning", style=style, trainable_from=-2, **TL)  # conv5_block2, then the pool
    assert {w.path for w in backbone_of(by_index).trainable_weights} == {p for p in trainable if "block2" in p}
    assert not any(layer.trainable for layer in backbone_of(tuned)._flatten_layers()
                   if isinstance(layer, keras.layers.BatchNormalization))
    frozen.save(tmp_path / "frozen.keras")
    assert backbone_of(zoo.load_model(str(tmp_path / "frozen.keras"))).trainable_weights == []
    tuned.save(tmp_path / "tuned.keras")
    reloaded = backbone_of(zoo.load_model(str(tmp_path / "tuned.keras")))
    if style != "subclass":  # batch norm inside blocks reloads trainable there (see zoo.models.cnn.transfer)
        set_trainable_from(reloaded, "conv5_block1")
    assert {w.path for w in reloaded.trainable_weights} == trainable


def test_bad_transfer_arguments_are_one_line_value_errors():
    with pytest.raises(ValueError, match=r"Unknown backbone 'resnet5'\. Did you mean 'resnet50'"):
        zoo.build("transfer_learning", backbone="resnet5")
    with pytest.raises(ValueError, match="Unknown backbone 'text_cnn'"):
        zoo.build("transfer_learning", backbone="text_cnn")
    with pytest.raises(ValueError, match="Zoo backbones have no ImageNet weights"):
        zoo.build("transfer_learning", backbone_weights="imagenet", **TL)
    with pytest.raises(ValueError, match="Weights file not found"):
        zoo.build("transfer_learning", backbone_weights="missing.weights.h5", **TL)
    with pytest.raises(ValueError, match=r"Unknown layer of resnet18: 'conv5_blok1'\. Did you mean 'conv5_block1'"):
        zoo.build("transfer_learning", trainable_from="conv5_blok1", **TL)
    with pytest.raises(ValueError, match="`trainable_from` must be None, a layer name or an index"):
        zoo.build("transfer_learning", trainable_from=500, **TL)


def test_a_keras_applications_backbone_loads_its_weights_file(tmp_path):
    import keras

    from zoo.models.cnn.transfer import backbone_of

    source = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")
    path = str(tmp_path / "mobilenet.weights.h5")
    source.save_weights(path)
    model = zoo.build("transfer_learning", backbone="MobileNetV2", backbone_weights=path, input_shape=(32, 32, 3),
                      classes=3, trainable_from="block_16_expand")
    assert _backbone_matches(backbone_of(model), source)
    assert model.predict(np.zeros((1, 32, 32, 3), "float32"), verbose=0).shape == (1, 3)


def test_fit_two_phase_trains_the_head_then_the_top_blocks_only():
    import keras

    from zoo.models.cnn.transfer import backbone_of, fit_two_phase

    model = zoo.build("transfer_learning", style="subclass", **TL)
    backbone = backbone_of(model)
    before = {w.path: np.array(w) for w in model.weights}
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 32, 32, 1), dtype="float32"), rng.integers(0, 3, 16)
    histories = fit_two_phase(model, x, y, trainable_from="conv5_block2", feature_epochs=1, fine_tune_epochs=1,
                              batch_size=8)
    assert [len(h["loss"]) for h in histories.values()] == [1, 1]
    changed = {w.path for w in model.weights if not np.array_equal(np.array(w), before[w.path])}
    assert {w.path for w in model.weights if "predictions/" in w.path} <= changed
    assert any("conv5_block2_1_conv" in p for p in changed)
    assert not any(p.startswith(("conv1_", "conv2", "conv3", "conv4", "conv5_block1/")) for p in changed)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
                   for layer in backbone._flatten_layers())
    with pytest.raises(ValueError, match="needs a layer to train from"):
        fit_two_phase(model, x, y, trainable_from=None)


# -------------------------------------------------------------------------------------- learning (slow)
def _digits(name):
    from zoo.data import adapt, load_dataset

    spec = zoo.get_spec(name)
    return adapt(spec, {**spec.defaults, **spec.small}, load_dataset("digits"))


def _fit_by_recipe(model, spec, splits, epochs=None):
    import keras

    recipe = spec.recipe
    model.compile(optimizer=keras.optimizers.get({"class_name": recipe.optimizer,
                                                  "config": {"learning_rate": recipe.learning_rate}}),
                  loss=recipe.loss, metrics=list(recipe.metrics))
    model.fit(splits.train.x, splits.train.y, batch_size=recipe.batch_size, epochs=epochs or recipe.epochs,
              validation_data=(splits.val.x, splits.val.y), verbose=0,
              callbacks=[keras.callbacks.EarlyStopping(monitor=recipe.monitor, patience=recipe.patience,
                                                       restore_best_weights=True)])
    return model.evaluate(splits.test.x, splits.test.y, verbose=0, return_dict=True)["accuracy"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lenet5", "simple_cnn", "resnet18"])
def test_reaches_ninety_percent_on_digits(name):
    spec = zoo.get_spec(name)
    accuracy = _fit_by_recipe(zoo.build(name, **spec.small), spec, _digits(name))
    assert accuracy >= 0.9


@pytest.mark.slow
def test_transfer_from_a_digits_backbone_beats_the_same_network_from_scratch(tmp_path):
    """Pretrain on digits 0-4, transfer to digits 5-9 with 30 training images; equal epochs for both."""
    import keras

    from zoo.models.cnn.transfer import fit_two_phase

    splits = _digits("resnet18")
    source = splits.train.y < 5
    backbone = zoo.build("resnet18", input_shape=(32, 32, 1), classes=5, batch_norm_momentum=0.9)
    backbone.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    backbone.fit(splits.train.x[source], splits.train.y[source], batch_size=32, epochs=6, verbose=0)
    path = str(tmp_path / "resnet18_digits_0_4.weights.h5")
    backbone.save_weights(path)

    rng = np.random.default_rng(0)
    target = np.flatnonzero(splits.train.y >= 5)
    few = rng.choice(target, 30, replace=False)
    x, y = splits.train.x[few], splits.train.y[few] - 5
    test = splits.test.y >= 5
    x_test, y_test = splits.test.x[test], splits.test.y[test] - 5

    keras.utils.set_random_seed(1)
    transferred = zoo.build("transfer_learning", backbone="resnet18", backbone_weights=path,
                            input_shape=(32, 32, 1), classes=5)
    fit_two_phase(transferred, x, y, trainable_from="conv5_block1", feature_epochs=10, fine_tune_epochs=5,
                  learning_rate=3e-3, batch_size=16)
    # The same network from scratch, every layer (batch normalisation too) learning from the start.
    keras.utils.set_random_seed(1)
    scratch = zoo.build("resnet18", input_shape=(32, 32, 1), classes=5, batch_norm_momentum=0.9)
    scratch.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    scratch.fit(x, y, batch_size=16, epochs=15, verbose=0)

    def accuracy(model):
        return float(np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == y_test))

    assert accuracy(transferred) > accuracy(scratch) + 0.15
    assert accuracy(transferred) > 0.5


def test_text_cnn_trains_on_sentences_and_its_export_takes_raw_text(tmp_path):
    import tensorflow as tf

    from zoo.pipeline import steps

    spec = zoo.get_spec("text_cnn")
    data, model = str(tmp_path / "data"), str(tmp_path / "model")
    meta = steps.preprocess("text_cnn", "synthetic_sentiment", data, hparams=dict(spec.small))
    assert meta["info"]["vocabulary"][:2] == ["", "[UNK]"]
    steps.train("text_cnn", data, model, hparams=dict(spec.small), epochs=1)
    trained = zoo.load_model(str(tmp_path / "model" / "model.keras"))
    served = tf.saved_model.load(str(tmp_path / "model" / "saved_model"))
    x, _ = steps.load_prepared(data, "test")
    texts = ["a good film", "not a good film at all"]
    out = np.asarray(served.serve(tf.constant(texts)))
    assert out.shape == (2, 2)
    from zoo.models.cnn.text_cnn import token_vectorizer

    vocabulary = meta["info"]["vocabulary"][2:]
    ids = np.asarray(token_vectorizer(spec.small["vocab_size"], spec.small["sequence_length"], vocabulary)(texts))
    np.testing.assert_allclose(out, trained.predict(ids, verbose=0), rtol=1e-5, atol=1e-6)
