"""Exports that serve on CPU: a float32 copy of a model trained under mixed precision.

Training on accelerators uses `mixed_bfloat16` (TPU) or `mixed_float16` (GPU): each layer's dtype policy is
saved in its config, so `model.export` of the trained model writes a graph that computes in 16 bits, which
a CPU prediction server runs slowly (bfloat16) or not at all on some kernels, and less accurately.
`float32_copy` rebuilds the model from its config with every mixed or 16-bit policy replaced by float32 and
copies the weights (mixed-precision variables are float32 already, so nothing is rounded).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

_LOW = {"mixed_float16", "mixed_bfloat16", "float16", "bfloat16"}


def _float32_config(config: Any) -> Any:
    """`config` (a serialized Keras object) with every 16-bit or mixed dtype policy and tensor dtype float32."""
    if isinstance(config, list):
        return [_float32_config(c) for c in config]
    if not isinstance(config, dict):
        return config
    if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and isinstance(config.get("config"), dict):
        if config["config"].get("name") in _LOW:
            return {**config, "config": {**config["config"], "name": "float32"}}
        return config
    out = {}
    for key, value in config.items():
        if key in ("dtype", "dtype_policy", "compute_dtype") and isinstance(value, str) and value in _LOW:
            out[key] = "float32"
        else:
            out[key] = _float32_config(value)
    return out


def is_mixed(model) -> bool:
    """Whether any layer of `model` (nested ones included) computes in 16 bits."""
    layers = model._flatten_layers(include_self=True, recursive=True)
    return any(getattr(layer, "compute_dtype", "float32") in ("float16", "bfloat16") for layer in layers)


def float32_copy(model):
    """A float32 copy of `model` (same class, config and weights), or `model` itself if it is float32 already.

    Call it on the trained model before building the serving model and exporting:
    `task.serving_model(float32_copy(model), ...).export(...)`. Every zoo model, layer and wrapper is
    registered and has a complete `get_config`, so the copy round-trips like `model.keras` does.
    """
    import keras

    if not is_mixed(model):
        return model
    config = _float32_config(keras.saving.serialize_keras_object(model))
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        copy = keras.saving.deserialize_keras_object(config, safe_mode=True)
        if not copy.built:
            copy.build_from_config(config.get("build_config") or {})
        # Weights by object path (Keras' own matching), not by position: a mismatch raises, never misloads.
        with tempfile.TemporaryDirectory(prefix="zoo-float32-") as folder:
            path = os.path.join(folder, "model.weights.h5")
            model.save_weights(path)
            copy.load_weights(path)
    finally:
        keras.config.set_dtype_policy(previous)
    if is_mixed(copy):
        raise ValueError(f"{model.name}: a layer still computes in 16 bits after the float32 rebuild; its "
                         "get_config must pass `dtype` on to the layers it creates.")
    return copy
