"""Evaluation metrics as per-example scores (NumPy only).

Every gate metric here is an aggregate of per-example scores (accuracy is the mean of 0/1 hits, RMSE the
root of the mean squared error), which lets the gate run a paired significance test of a candidate against
the deployed model on the same test examples. Families with metrics that do not decompose this way
(mean IoU, mAP, BLEU) register them with `per_example=None`: the gate then compares point estimates only.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str
    direction: str  # "max" or "min"
    per_example: Callable[[np.ndarray, np.ndarray], np.ndarray] | None
    aggregate: Callable[[np.ndarray], float] = lambda scores: float(np.mean(scores))
    binary_scores: bool = False  # scores are 0/1 hits (the gate uses McNemar's test)
    uses_threshold: bool = False  # per_example takes the spec's decision threshold for one-score outputs


def _class_ids(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim >= 2 and y.shape[-1] > 1:
        return np.argmax(y, axis=-1)
    if y.ndim >= 2:
        y = y[..., 0]
    return y


def predicted_classes(y_pred: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Class ids from outputs: argmax of several columns, or a single score above `threshold` (class 1)."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim >= 2 and y_pred.shape[-1] > 1:
        return np.argmax(y_pred, axis=-1)
    return (y_pred.reshape(len(y_pred), -1)[:, 0] > threshold).astype("int64")


def _hits(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    hits = (predicted_classes(y_pred, threshold) == _class_ids(y_true).astype("int64")).astype("float64")
    return hits.reshape(len(hits), -1).mean(axis=1)


def _flat_errors(y_true, y_pred):
    y_true = np.asarray(y_true, dtype="float64").reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype="float64").reshape(len(y_pred), -1)
    return y_pred - y_true


METRICS: dict[str, Metric] = {
    "accuracy": Metric("accuracy", "max", _hits, binary_scores=True, uses_threshold=True),
    "mse": Metric("mse", "min", lambda t, p: np.mean(_flat_errors(t, p) ** 2, axis=1)),
    "mae": Metric("mae", "min", lambda t, p: np.mean(np.abs(_flat_errors(t, p)), axis=1)),
    "rmse": Metric(
        "rmse", "min", lambda t, p: np.mean(_flat_errors(t, p) ** 2, axis=1),
        aggregate=lambda s: float(np.sqrt(np.mean(s))),
    ),
}


def register_metric(metric: Metric) -> Metric:
    """Add a metric (a family's own, e.g. mean IoU); the gate and evaluate step then know it."""
    if metric.name in METRICS:
        raise RuntimeError(f"Metric {metric.name!r} is registered twice.")
    METRICS[metric.name] = metric
    return metric


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        raise ValueError(f"Unknown metric {name!r}. Allowed: {', '.join(sorted(METRICS))}.")
    return METRICS[name]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int, threshold: float = 0.5) -> np.ndarray:
    """classes x classes counts: rows are true classes, columns predicted ones."""
    predicted = predicted_classes(y_pred, threshold)
    truth = _class_ids(y_true).astype("int64").reshape(-1)
    matrix = np.zeros((classes, classes), dtype="int64")
    np.add.at(matrix, (truth, predicted.reshape(-1)), 1)
    return matrix
