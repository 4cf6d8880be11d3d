"""keras.applications weight files for the zoo CNNs that have a keras.applications twin.

Users hold keras.applications weights in two formats:
- the legacy HDF5 file in which the ImageNet weights are published (`resnet50_weights_tf_dim_ordering_tf_
  kernels.h5`): one group per layer, listed in the `layer_names` attribute, each listing its
  `weight_names`; it is keyed by layer *name*;
- the `.weights.h5` file a Keras 3 model saves: keyed by object *nesting*, where a layer's key is its class
  name and a counter (`layers/conv2d_7/vars/0`), not its name.

The zoo's VGG is flat like keras.applications', so Keras loads both of its files directly. The zoo's ResNet
and DenseNet nest their sublayers in block layers, so the Keras 3 keys differ, and the flat weight order
differs too (a residual block holds its shortcut before its branch). Both formats are therefore converted
by weight path: a Keras 3 file is read against a twin built from keras.applications with the same
arguments (its layer order gives each key its layer name), a legacy file by its own layer names, and the
weights are then assigned to the zoo layers of the same name, which are named as keras.applications
names them. The load is strict: every weight of the file must find its place and every weight of the
model must be set, with matching shapes; otherwise a one-line ValueError counts and names what is
missing, unused or mismatched, and nothing is assigned.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Callable

import numpy as np

# Zoo registry name -> keras.applications builder with the same architecture and layer names.
TWINS = {
    "vgg16": "VGG16",
    "vgg19": "VGG19",
    "resnet50": "ResNet50",
    "resnet101": "ResNet101",
    "resnet152": "ResNet152",
    "densenet121": "DenseNet121",
    "densenet169": "DenseNet169",
    "densenet201": "DenseNet201",
}
_TWIN_ARGS = ("input_shape", "include_top", "pooling", "classes", "classifier_activation")
_SHOWN = 3  # names quoted per kind of problem in an error message

# {layer name: {weight name: array}}, what a weights file holds once read.
LayerWeights = dict[str, dict[str, np.ndarray]]


def with_weights_loader(styles, name: str):
    """`styles` whose builders give each model a `zoo_weights_loader` for keras.applications files.

    `zoo.nn.load_weights_file` (what `zoo.build(..., weights=PATH)` calls) dispatches to it. Models
    without a twin (ResNet-18/34) still get it: their legacy `.h5` files load by layer name.
    """

    def wrap(builder: Callable | None) -> Callable | None:
        if builder is None:
            return None

        @functools.wraps(builder)
        def build(**hparams):
            model = builder(**hparams)
            model.zoo_weights_loader = functools.partial(load_weights, twin=TWINS.get(name), hparams=hparams)
            return model

        return build

    return dataclasses.replace(styles, sequential=wrap(styles.sequential), functional=wrap(styles.functional),
                               subclass=wrap(styles.subclass))


def load_weights(model, path: str, *, twin: str | None = None, hparams: dict[str, Any] | None = None) -> None:
    """Load a weights file into a zoo CNN: its own file, or keras.applications' in either format.

    Args:
        model: the zoo model (any style).
        path: a legacy `.h5` file (keras.applications' published ImageNet format) or a Keras 3
            `.weights.h5` file (the zoo model's own, or one a keras.applications model saved).
        twin: the keras.applications builder with the same architecture ("ResNet50"), if any.
        hparams: the hyperparameters `model` was built with (to build the twin with the same arguments).

    Raises:
        ValueError: in one line, when the file does not fit: how many weights are missing, unused or of
            another shape, and the first few of their names.

    Example:
        >>> reference = keras.applications.ResNet50(weights=None)
        >>> reference.save_weights("resnet50.weights.h5")
        >>> model = zoo.build("resnet50", style="sequential", weights="resnet50.weights.h5")
    """
    path = os.fspath(path)
    if is_legacy_h5(path):
        assign_by_layer_name(model, read_legacy_h5(path), path)
        return
    flat_file = _is_flat_keras_file(path)
    if twin is None or not flat_file or not _is_nested(model):
        try:
            # The zoo model's own file, or a flat model's (VGG nests as keras.applications does): Keras reads it.
            model.load_weights(path)
            return
        except Exception as err:  # Keras raises several types for a file of another structure.
            if twin is None or not flat_file:
                lines = str(err).strip().splitlines() or [repr(err)]
                raise ValueError(f"Cannot load weights from {path!r} into {model.name}: {lines[0]}") from None
    reference = build_twin(twin, hparams or {})
    assign_by_layer_name(model, read_keras_file_by_twin(path, reference), path)


def is_legacy_h5(path: str) -> bool:
    """Whether `path` is a legacy (Keras 2 style) HDF5 weights or model file."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            group = f["model_weights"] if "model_weights" in f else f
            return "layer_names" in group.attrs
    except OSError as err:
        raise ValueError(f"Cannot read weights from {path!r}: not an HDF5 file ({err}).") from None


def _text(value) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _keras3_layer_name(name: str) -> str:
    # Keras 2 names such as DenseNet's "conv1/conv" became "conv1_conv" in Keras 3 (no "/" in names).
    return name.replace("/", "_")


def _weight_name(name: str) -> str:
    # "conv1_conv/kernel:0" (Keras 2) or "conv1_conv/kernel" (Keras 3) -> "kernel"
    return name.rsplit("/", 1)[-1].split(":", 1)[0]


def read_legacy_h5(path: str) -> LayerWeights:
    """The weights of a legacy HDF5 file, by layer name and weight name (h5py only, no model needed)."""
    import h5py

    found: LayerWeights = {}
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        for layer in map(_text, group.attrs["layer_names"]):
            names = [_text(n) for n in group[layer].attrs.get("weight_names", [])]
            if names:
                found[_keras3_layer_name(layer)] = {_weight_name(n): np.asarray(group[layer][n]) for n in names}
    return found


def _is_flat_keras_file(path: str) -> bool:
    """Whether a Keras 3 weights file holds only top-level layers (`layers/<key>/vars/<i>`), as a flat
    functional model such as a keras.applications one writes it."""
    import h5py

    with h5py.File(path, "r") as f:
        if "layers" not in f:
            return False
        return all(set(f["layers"][key].keys()) <= {"vars"} for key in f["layers"])


def _is_nested(model) -> bool:
    """Whether some weights of `model` sit in block layers (ResNet, DenseNet) rather than at the top."""
    return any(any(sub.weights for sub in layer._flatten_layers(include_self=False)) for layer in model.layers)


def build_twin(twin: str, hparams: dict[str, Any]):
    """The keras.applications model `twin`, randomly initialised, with the zoo model's arguments."""
    import keras

    arguments = {k: hparams[k] for k in _TWIN_ARGS if k in hparams}
    if "input_shape" in arguments:
        arguments["input_shape"] = tuple(arguments["input_shape"])
    return getattr(keras.applications, twin)(weights=None, **arguments)


def keras_file_keys(model) -> dict[str, Any]:
    """The `.weights.h5` key of each layer of a flat functional `model` that has weights.

    Keras 3 writes `model.layers` in order, each under its snake-cased class name, numbered from the
    second of a class on (`conv2d`, `conv2d_1`, ...).
    """
    from keras.src.utils import naming

    keys, used = {}, {}
    for layer in model.layers:
        base = naming.to_snake_case(layer.__class__.__name__)
        key = base if base not in used else f"{base}_{used[base] + 1}"
        used[base] = used.get(base, -1) + 1
        if layer.weights:
            keys[f"layers/{key}/vars"] = layer
    return keys


def read_keras_file_by_twin(path: str, reference) -> LayerWeights:
    """The weights of a Keras 3 file saved by a keras.applications model, by layer name and weight name.

    `reference` is that model (built with the same arguments): its layer order names each key. A layer
    of the file that the reference lacks, or one with a different count of weights, is kept under its key,
    so that the strict assignment reports it.
    """
    import h5py

    keys = keras_file_keys(reference)
    found: LayerWeights = {}
    with h5py.File(path, "r") as f:
        stored = {f"layers/{key}/vars": f["layers"][key]["vars"] for key in f["layers"] if "vars" in f["layers"][key]}
        for key, group in stored.items():
            arrays = [np.asarray(group[str(i)]) for i in range(len(group))]
            if not arrays:
                continue
            layer = keys.get(key)
            if layer is None or len(layer.weights) != len(arrays):
                found[f"file:{key}"] = {str(i): a for i, a in enumerate(arrays)}
                continue
            found[layer.name] = {v.name: a for v, a in zip(layer.weights, arrays)}
    return found


def leaf_layers(model) -> dict[str, Any]:
    """The layers of `model` (at any depth) that own weights themselves, by name."""
    leaves = {}
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if layer.weights and not any(sub.weights for sub in layer._flatten_layers(include_self=False)):
            if layer.name in leaves:
                raise ValueError(f"{model.name} has two layers named {layer.name!r}; weights cannot load by name.")
            leaves[layer.name] = layer
    return leaves


def _quote(items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (", ..." if len(items) > _SHOWN else "")


def assign_by_layer_name(model, weights: LayerWeights, path: str) -> None:
    """Set every weight of `model` from `weights` (layer name -> weight name -> array), strictly.

    Raises:
        ValueError: one line, when a model weight has no value in the file, a file weight has no place in
            the model, or shapes differ; nothing is assigned then.
    """
    targets = {f"{layer_name}/{v.name}": v for layer_name, layer in leaf_layers(model).items()
               for v in layer.weights}
    values = {f"{layer}/{name}": array for layer, named in weights.items() for name, array in named.items()}
    missing = [k for k in targets if k not in values]
    unused = [k for k in values if k not in targets]
    mismatched = [f"{k} {tuple(values[k].shape)} vs {tuple(targets[k].shape)}" for k in targets
                  if k in values and tuple(values[k].shape) != tuple(targets[k].shape)]
    if missing or unused or mismatched:
        problems = []
        if missing:
            problems.append(f"{len(missing)} of the model's {len(targets)} weights missing from the file "
                            f"({_quote(missing)})")
        if unused:
            problems.append(f"{len(unused)} of the file's {len(values)} weights unused by the model "
                            f"({_quote(unused)})")
        if mismatched:
            problems.append(f"{len(mismatched)} of another shape (file vs model: {_quote(mismatched)})")
        raise ValueError(f"Cannot load weights from {path!r} into {model.name}: {'; '.join(problems)}.")
    for key, variable in targets.items():
        variable.assign(values[key].astype(variable.dtype))
