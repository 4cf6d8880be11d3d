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


# ------------------------------------------------------------------- models trained on another backend
# A JAX-trained model is exported by TensorFlow from its .keras file (steps.export_in_tensorflow); a probe
# of a few validation inputs and the trained model's predictions on them proves the export serves that model.
PROBE_RTOL, PROBE_ATOL = 1e-3, 1e-4


def _flat_inputs(inputs) -> dict:
    import numpy as np

    if isinstance(inputs, dict):
        return {f"x/{name}": np.asarray(value) for name, value in inputs.items()}
    if isinstance(inputs, (list, tuple)):
        return {f"x/{i}": np.asarray(value) for i, value in enumerate(inputs)}
    return {"x": np.asarray(inputs)}


def _inputs_from(flat: dict):
    if "x" in flat:
        return flat["x"]
    names = [key[2:] for key in flat if key.startswith("x/")]
    if all(name.isdigit() for name in names):
        return [flat[f"x/{i}"] for i in range(len(names))]
    return {name: flat[f"x/{name}"] for name in names}


def save_probe(path: str, model, inputs, count: int) -> None:
    """Save `count` examples of `inputs` and `model`'s predictions on them to `path` (an .npz file).

    A model whose predictions differ between two calls (it samples) is marked stochastic: only its inputs
    and output shapes can be compared then.
    """
    import keras
    import numpy as np

    flat = {key: value[:count] for key, value in _flat_inputs(inputs).items()}
    x = _inputs_from(flat)
    first = [np.asarray(y) for y in keras.tree.flatten(model.predict(x, verbose=0))]
    again = [np.asarray(y) for y in keras.tree.flatten(model.predict(x, verbose=0))]
    stochastic = not all(np.array_equal(a, b) for a, b in zip(first, again))
    outputs = {f"y/{i}": y for i, y in enumerate(first)}
    np.savez(path, stochastic=np.asarray(stochastic), **flat, **outputs)


def _signature_inputs(signature, x):
    """`x` as the keyword arguments of a SavedModel signature, or None when the signature takes other inputs."""
    specs = signature.structured_input_signature[1]
    given = x if isinstance(x, dict) else dict(zip(sorted(specs), x if isinstance(x, list) else [x]))
    if sorted(given) != sorted(specs) or len(given) != len(specs):
        return None
    for name, spec in specs.items():
        value = given[name]
        if spec.dtype.is_floating != (value.dtype.kind == "f") or not spec.shape.is_compatible_with(value.shape):
            return None
        given[name] = value.astype(spec.dtype.as_numpy_dtype)
    return given


def compare_probe(path: str, target, reference=None) -> dict:
    """Compare `target`'s predictions on the probe's inputs with the probe's (the trained model's), or with
    `reference`'s (a Keras model) when given. `target` is a Keras model, or a SavedModel folder (its serving
    signature, when it takes the model's own inputs). A mismatch raises a one-line ValueError; a comparison
    that does not apply says why."""
    import keras
    import numpy as np

    with np.load(path) as data:
        probe = {key: data[key] for key in data.files}
    x = _inputs_from({k: v for k, v in probe.items() if k.startswith("x")})
    expected = [probe[f"y/{i}"] for i in range(sum(k.startswith("y/") for k in probe))]
    if isinstance(target, str):
        import tensorflow as tf

        signature = tf.saved_model.load(target).signatures["serving_default"]
        kwargs = _signature_inputs(signature, x)
        if kwargs is None:
            return {"compared": False, "why": "the serving signature takes other inputs than the model"}
        answer = signature(**kwargs)
        got = [np.asarray(answer[name]) for name in sorted(answer)]
    else:
        got = [np.asarray(y) for y in keras.tree.flatten(target.predict(x, verbose=0))]
    if reference is not None:  # only once the target takes the model's inputs, which the reference then does
        expected = [np.asarray(y) for y in keras.tree.flatten(reference.predict(x, verbose=0))]
    if len(got) != len(expected) or any(g.shape != e.shape for g, e in zip(got, expected)):
        return {"compared": False, "why": f"outputs {[g.shape for g in got]} differ from the model's "
                                          f"{[e.shape for e in expected]}"}
    if bool(probe["stochastic"]):
        return {"compared": False, "why": "the model samples: its predictions differ from call to call"}
    worst = max((float(np.max(np.abs(g.astype("float64") - e))) for g, e in zip(got, expected) if g.size), default=0.0)
    if not all(np.allclose(g, e, rtol=PROBE_RTOL, atol=PROBE_ATOL) for g, e in zip(got, expected)):
        raise ValueError(f"the exported model's predictions differ from the trained model's by up to {worst:.3g}")
    return {"compared": True, "examples": int(len(keras.tree.flatten(x)[0])), "max_abs_diff": worst}


def main(argv=None) -> int:
    """`python -m zoo.pipeline.export MODEL DATA_DIR MODEL_DIR HPARAMS_JSON PROBE` on the TensorFlow backend:
    the child process of `steps.export_in_tensorflow`; prints the check as one JSON line."""
    import json
    import sys

    from zoo.pipeline import steps

    model_name, data_dir, model_dir, config, probe = argv if argv is not None else sys.argv[1:]
    try:
        check = steps.export_from_keras_file(model_name, data_dir, model_dir, json.loads(config), probe)
    except ValueError as err:
        print(f"{model_name}: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    print(json.dumps(check))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
