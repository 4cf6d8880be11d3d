"""Shape a dataset to one model: inputs to the model's signature, labels to its loss."""

from __future__ import annotations

import importlib
import math
from typing import Any, Mapping

import numpy as np

from zoo.spec import ModelSpec


def resolve(ref: str):
    """The object a "module:attribute" reference names."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def adapt(spec: ModelSpec, hparams: Mapping[str, Any], splits):
    """Return `splits` with inputs shaped to `spec.inputs(hparams)` and labels encoded for `spec.target`.

    A spec with its own `adapter` (text vectorisation, id encoding, ...) is adapted by that instead.
    """
    if spec.adapter:
        return resolve(spec.adapter)(spec, hparams, splits)
    signature = spec.inputs(hparams)
    for _, split in splits.items():
        split.x = _inputs(splits.kind, split.x, signature)
        split.y = encode_targets(spec.target, split.y, splits.classes)
    return splits


def _inputs(kind: str, x, signature):
    if len(signature) != 1 or isinstance(x, dict):
        return x
    (sig,) = signature.values()
    if kind == "image":
        return fit_images(x, sig.shape)
    if isinstance(x, np.ndarray) and sig.dtype != "string":
        expected = tuple(sig.shape)
        if len(x.shape) - 1 != len(expected) or any(e is not None and e != d for e, d in zip(expected, x.shape[1:])):
            raise ValueError(
                f"The data has examples of shape {tuple(x.shape[1:])} but the model takes {expected}; "
                f"set the model's input size to the data's (e.g. --hparam input_dim={x.shape[-1]})."
            )
        return x.astype(sig.dtype)
    return x


def fit_images(images: np.ndarray, shape) -> np.ndarray:
    """Resize N,H,W,C images in [0, 1] to `shape`: (H, W, C), or (D,) for a flattened square image."""
    if len(shape) == 1:
        side = math.isqrt(shape[0] // images.shape[-1])
        return fit_images(images, (side, side, images.shape[-1])).reshape(len(images), -1)
    height, width, channels = shape
    if images.shape[-1] != channels:
        if images.shape[-1] == 1:
            images = np.repeat(images, channels, axis=-1)
        elif channels == 1:
            images = images.mean(axis=-1, keepdims=True)
        else:
            raise ValueError(f"Cannot turn {images.shape[-1]}-channel images into {channels} channels.")
    if images.shape[1:3] != (height, width):
        import tensorflow as tf

        images = np.concatenate([
            tf.image.resize(images[i:i + 1024], (height, width)).numpy() for i in range(0, len(images), 1024)
        ])
    return images.astype("float32")


def encode_targets(target: str, y: np.ndarray, classes: int | None) -> np.ndarray:
    """Labels in the form the loss wants: class ids, one-hot rows, a binary column or regression values."""
    if target == "sparse":
        return y.astype("int32")
    if target == "onehot":
        return np.eye(classes, dtype="float32")[y.astype("int64")]
    if target in ("binary", "regression"):
        return y.astype("float32").reshape(len(y), -1)
    return y
