"""Datasets by name, with deterministic train/validation/test splits.

Every loader returns `Splits` of NumPy arrays; `adapt` then shapes them to one model's signature and
encodes the labels for its loss. Loaders register themselves with `@dataset(...)` in the modules of this
package (`bundled` for scikit-learn's bundled data, `synthetic` for generated data, `online` for TensorFlow
Datasets), which are discovered on first use. Nothing here imports TensorFlow at import time.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from typing import Any, Callable, Mapping

import numpy as np


@dataclasses.dataclass
class Split:
    """Examples of one split: `x` an array (or a dict of arrays for several inputs), `y` the labels."""

    x: Any
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclasses.dataclass
class Splits:
    """A dataset's three splits and what they hold: `Split` arrays, or for data too large to hold, sources
    that preprocess describes and the reader streams (`zoo.data.stream.TfdsSplit`, `ExampleStream`).

    Attributes:
        kind: "image" (x: N,H,W,C floats in [0, 1]), "tabular" (N,F standardised floats), "text"
            (x: N strings), "sequence", "ids" or another kind a loader documents.
        classes: number of classes for classification data, else None.
    """

    name: str
    kind: str
    train: Split
    val: Split
    test: Split
    classes: int | None = None
    info: dict = dataclasses.field(default_factory=dict)

    def items(self):
        return (("train", self.train), ("val", self.val), ("test", self.test))

    @property
    def streamed(self) -> bool:
        """The splits are sources to stream (TFDS references, example generators), not arrays."""
        from zoo.data.stream import ExampleStream, TfdsSplit

        return any(isinstance(split, (TfdsSplit, ExampleStream)) for _, split in self.items())


@dataclasses.dataclass(frozen=True)
class DatasetEntry:
    name: str
    loader: Callable[..., Splits]
    offline: bool
    summary: str
    # loader option -> the model hyperparameter that sets it when a run gives it (`steps.preprocess`): the
    # data is then cut to the model's sizes (a translation's vocabulary and sentence length).
    hparam_options: Mapping[str, str] = dataclasses.field(default_factory=dict)


_REGISTRY: dict[str, DatasetEntry] = {}


def dataset(name: str, *, offline: bool, summary: str, hparam_options: Mapping[str, str] | None = None):
    """Register a loader `fn(*, seed, data_dir, **options) -> Splits` under `name`; `hparam_options` maps
    loader options to the model hyperparameters that set them when a run gives them."""

    def register(fn):
        if name in _REGISTRY:
            raise RuntimeError(f"Dataset {name!r} is registered twice.")
        _REGISTRY[name] = DatasetEntry(name, fn, offline, summary, dict(hparam_options or {}))
        return fn

    return register


@functools.lru_cache(maxsize=1)
def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def list_datasets() -> list[str]:
    _discover()
    return sorted(_REGISTRY)


def get_entry(name: str) -> DatasetEntry:
    _discover()
    if name not in _REGISTRY:
        from zoo.registry import _unknown

        raise _unknown("dataset", name, _REGISTRY)
    return _REGISTRY[name]


def load_dataset(name: str, *, seed: int = 0, data_dir: str | None = None, **options) -> Splits:
    """Load the dataset `name` with deterministic splits (the same `seed` gives the same splits)."""
    return get_entry(name).loader(seed=seed, data_dir=data_dir, **options)


def split_arrays(x, y, *, seed: int, val: float = 0.15, test: float = 0.15, stratify: bool = True):
    """Shuffle and cut arrays into train/val/test deterministically (stratified on `y` for labels)."""
    from sklearn.model_selection import train_test_split

    def cut(xs, ys, fraction, salt):
        strat = ys if stratify else None
        return train_test_split(xs, ys, test_size=fraction, random_state=seed + salt, stratify=strat)

    index = np.arange(len(y))
    rest, test_idx, y_rest, _ = cut(index, y, test, 0)
    train_idx, val_idx, _, _ = cut(rest, y_rest, val / (1 - test), 1)
    take = lambda idx: Split(_take(x, idx), y[idx])  # noqa: E731
    return take(np.sort(train_idx)), take(np.sort(val_idx)), take(np.sort(test_idx))


def _take(x, idx):
    if isinstance(x, dict):
        return {k: v[idx] for k, v in x.items()}
    return x[idx]


def standardise(train: Split, *others: Split) -> dict:
    """Scale features to zero mean and unit variance using the training split's statistics only."""
    mean = train.x.mean(axis=0)
    std = train.x.std(axis=0)
    std[std == 0] = 1.0
    for split in (train, *others):
        split.x = ((split.x - mean) / std).astype("float32")
    return {"mean": mean.tolist(), "std": std.tolist()}


from zoo.data.adapt import adapt  # noqa: E402  (re-exported; adapt needs the classes above)

__all__ = ["Split", "Splits", "adapt", "dataset", "list_datasets", "load_dataset", "split_arrays", "standardise"]
