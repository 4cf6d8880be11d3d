"""keras.applications weight files load into their zoo twins (issue 13 item 6), strictly.

Nothing is downloaded here, so each test builds a randomly initialised keras.applications model (its
weights perturbed so that every tensor, batch-normalisation statistics included, is distinct), saves it
in both formats users have (a Keras 3 `.weights.h5`, and the legacy `.h5` in which the ImageNet weights
are published), loads each into the zoo model in every style through `zoo.build(..., weights=PATH)` and
compares predictions. One small representative per family runs in the default suite at 32x32 without
the top; the other twins, and the canonical 224x224 builds with the ImageNet top, are `slow`.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import zoo
from zoo.models.cnn.pretrained import TWINS, keras_file_keys

# Its module-scoped fixtures are expensive: `make test` keeps the module on one worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("pretrained")

SMALL = {"input_shape": (32, 32, 3), "include_top": False}
SIZE = SMALL["input_shape"]
DEFAULT_SUITE = ("resnet50", "densenet121", "vgg16")


def _twin_params():
    return [pytest.param(name, marks=[] if name in DEFAULT_SUITE else [pytest.mark.slow], id=name)
            for name in TWINS]


def reference_model(name, **arguments):
    """keras.applications' twin of `name`, randomly initialised, with every weight made distinct."""
    import keras

    model = getattr(keras.applications, TWINS[name])(weights=None, **arguments)
    rng = np.random.default_rng(1)
    model.set_weights([w + rng.normal(0.0, 0.05, w.shape).astype(w.dtype) if w.ndim == 1 else w
                       for w in model.get_weights()])
    return model


def write_legacy_h5(model, path, rename=lambda name: name):
    """The legacy HDF5 layout keras.applications publishes its ImageNet weights in (Keras 2's
    `save_weights`): `layer_names`, and per layer group its `weight_names`, with Keras 2's ":0" suffixes.
    `rename` maps a layer name to the one the file uses (Keras 2 named some layers "conv1/conv")."""
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["layer_names"] = [rename(layer.name).encode() for layer in model.layers]
        for layer in model.layers:
            group = f.create_group(rename(layer.name))
            names = [f"{rename(layer.name)}/{v.name}:0" for v in layer.weights]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, v in zip(names, layer.weights):
                group.create_dataset(name, data=np.asarray(v))


def save_both_formats(model, folder, stem):
    """`stem.weights.h5` (Keras 3) and `stem_weights_tf_dim_ordering_tf_kernels.h5` (legacy, written by Keras'
    own legacy writer)."""
    from keras.src.legacy.saving import legacy_h5_format

    keras3 = str(folder / f"{stem}.weights.h5")
    legacy = str(folder / f"{stem}_weights_tf_dim_ordering_tf_kernels.h5")
    model.save_weights(keras3)
    with h5py.File(legacy, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return keras3, legacy


@pytest.fixture(scope="module")
def references():
    """`references(name)`: the small keras.applications reference of `name`, built once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = reference_model(name, **SMALL)
        return cache[name]

    return get


def _predict(model, x):
    # An eager call: tracing `predict` costs more than the DenseNet's forward pass at this size.
    return np.asarray(model(x, training=False))


@pytest.mark.parametrize("name", _twin_params())
def test_keras_applications_files_load_into_every_style_with_identical_outputs(name, tmp_path, references):
    from zoo.nn import load_weights_file

    reference = references(name)
    x = np.random.default_rng(0).random((2, *SIZE), dtype="float32")
    expected = _predict(reference, x)
    keras3, legacy = save_both_formats(reference, tmp_path, name)
    for style in zoo.STYLES:
        model = zoo.build(name, style=style, weights=legacy, **SMALL)
        np.testing.assert_allclose(_predict(model, x), expected, rtol=1e-5, atol=1e-5, err_msg=f"{style} legacy")
        # The Keras 3 file into the same model, wiped first (building again costs more than loading).
        model.set_weights([np.zeros_like(w) for w in model.get_weights()])
        load_weights_file(model, keras3)
        np.testing.assert_allclose(_predict(model, x), expected, rtol=1e-5, atol=1e-5, err_msg=f"{style} keras 3")


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in TWINS])
def test_canonical_imagenet_layout_loads_with_the_top(name, tmp_path):
    """At 224x224x3 with the 1000-class top, as the published ImageNet files are."""
    reference = reference_model(name)
    x = np.random.default_rng(0).random((1, 224, 224, 3), dtype="float32")
    expected = _predict(reference, x)
    for path in save_both_formats(reference, tmp_path, name):
        model = zoo.build(name, style="functional", weights=path)
        np.testing.assert_allclose(_predict(model, x), expected, rtol=1e-5, atol=1e-6, err_msg=path)


def test_keras2_layer_names_of_the_published_densenet_file_load(tmp_path, references):
    """Keras 2 named DenseNet's stem "conv1/conv" and "conv1/bn"; Keras 3 (and the zoo) "conv1_conv"."""
    reference = references("densenet121")
    path = str(tmp_path / "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5")
    write_legacy_h5(reference, path, rename=lambda n: n.replace("conv1_", "conv1/"))
    with h5py.File(path) as f:
        assert "conv1/conv" in [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]
    x = np.random.default_rng(0).random((2, *SIZE), dtype="float32")
    model = zoo.build("densenet121", style="sequential", weights=path, **SMALL)
    np.testing.assert_allclose(_predict(model, x), _predict(reference, x), rtol=1e-5, atol=1e-5)


def test_the_keras_file_keys_are_the_ones_keras_writes(tmp_path, references):
    """The twin's layer order names each key of a Keras 3 file: check that against a file Keras wrote."""
    reference = references("resnet50")
    path = str(tmp_path / "r50.weights.h5")
    reference.save_weights(path)
    with h5py.File(path) as f:
        written = {f"layers/{k}/vars" for k in f["layers"] if len(f["layers"][k].get("vars", {}))}
    assert set(keras_file_keys(reference)) == written


def _one_line_error(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_a_truncated_file_is_refused_naming_the_missing_weights(tmp_path, references):
    reference = references("resnet50")
    keras3, legacy = save_both_formats(reference, tmp_path, "resnet50")
    with h5py.File(legacy, "a") as f:
        f.attrs["layer_names"] = [n for n in f.attrs["layer_names"] if n not in ("conv5_block3_3_conv", b"conv5_block3_3_conv")]
        del f["conv5_block3_3_conv"]
    with h5py.File(keras3, "a") as f:
        del f["layers"]["conv2d_52"]["vars"]["1"]
    for path in (legacy, keras3):
        with pytest.raises(ValueError, match="missing from the file") as excinfo:
            zoo.build("resnet50", style="subclass", weights=path, **SMALL)
        assert "conv5_block3_3_conv/" in _one_line_error(excinfo)


def test_a_file_of_another_configuration_is_refused_naming_the_mismatch(tmp_path):
    with_top = reference_model("resnet50", input_shape=SIZE, classes=7)
    keras3, legacy = save_both_formats(with_top, tmp_path, "resnet50_top")
    # The model has no top: the file's classifier would go unused.
    with pytest.raises(ValueError, match=r"unused by the model \(predictions/kernel") as excinfo:
        zoo.build("resnet50", style="functional", weights=legacy, **SMALL)
    _one_line_error(excinfo)
    # Another number of classes: the classifier's shapes differ.
    for path in (legacy, keras3):
        with pytest.raises(ValueError, match=r"of another shape .*predictions/kernel \(2048, 7\) vs \(2048, 10\)"):
            zoo.build("resnet50", style="sequential", weights=path, input_shape=SIZE, classes=10)


def test_the_legacy_by_name_partial_load_no_longer_passes_silently(tmp_path, references):
    """A DenseNet file offered to a ResNet shares a handful of layer names (the stem): Keras' by-name load
    would set those and report nothing; the zoo refuses, with counts."""
    other = references("densenet121")
    _, legacy = save_both_formats(other, tmp_path, "densenet121")
    with pytest.raises(ValueError, match=r"of the model's \d+ weights missing from the file") as excinfo:
        zoo.build("resnet50", style="functional", weights=legacy, **SMALL)
    assert "unused by the model" in _one_line_error(excinfo)


def test_the_zoo_models_own_files_still_load(tmp_path):
    source = zoo.build("resnet50", style="subclass", **SMALL)
    path = str(tmp_path / "own.weights.h5")
    source.save_weights(path)
    x = np.random.default_rng(0).random((2, *SIZE), dtype="float32")
    model = zoo.build("resnet50", style="functional", weights=path, **SMALL)
    np.testing.assert_allclose(_predict(model, x), _predict(source, x), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="must be a '.weights.h5' or '.keras' or '.h5' file"):
        zoo.build("resnet50", weights=str(tmp_path / "weights.npz"), **SMALL)
