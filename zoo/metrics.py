"""Evaluation metrics by name: direction, per-example scores and the paired test that fits them (NumPy only).

A metric that is a mean over examples (accuracy: 0/1 hits; RMSE: the root of the mean squared error; a
per-example loss) declares its per-example function and the paired test the gate runs on those scores
against the deployed model's: "mcnemar" for 0/1 hits, "paired_t" for real values. Metrics that do not
decompose over examples (mean IoU, mAP, BLEU, a Fréchet distance) register with `per_example=None` and
`paired_test=None`; the gate then compares point estimates only. Tasks register their own metrics here.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str
    direction: str  # "max" or "min"
    per_example: Callable[..., np.ndarray] | None
    aggregate: Callable[[np.ndarray], float] = lambda scores: float(np.mean(scores))
    # The gate's paired test on per-example scores: "mcnemar" (0/1 hits), "paired_t" (real values), or None.
    paired_test: str | None = None
    uses_threshold: bool = False  # per_example takes the spec's decision threshold for one-score outputs

    def __post_init__(self):
        if self.direction not in ("max", "min"):
            raise ValueError(f"Metric direction must be 'max' or 'min'. Received: direction={self.direction!r}")
        if self.paired_test not in (None, "mcnemar", "paired_t"):
            raise ValueError(f"Unknown paired test {self.paired_test!r}. Allowed: 'mcnemar', 'paired_t', None.")


def class_ids(y: np.ndarray) -> np.ndarray:
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
    hits = (predicted_classes(y_pred, threshold) == class_ids(y_true).astype("int64")).astype("float64")
    return hits.reshape(len(hits), -1).mean(axis=1)


def _flat_errors(y_true, y_pred):
    y_true = np.asarray(y_true, dtype="float64").reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype="float64").reshape(len(y_pred), -1)
    return y_pred - y_true


METRICS: dict[str, Metric] = {
    "accuracy": Metric("accuracy", "max", _hits, paired_test="mcnemar", uses_threshold=True),
    "mse": Metric("mse", "min", lambda t, p: np.mean(_flat_errors(t, p) ** 2, axis=1), paired_test="paired_t"),
    "mae": Metric("mae", "min", lambda t, p: np.mean(np.abs(_flat_errors(t, p)), axis=1), paired_test="paired_t"),
    "rmse": Metric(
        "rmse", "min", lambda t, p: np.mean(_flat_errors(t, p) ** 2, axis=1),
        aggregate=lambda s: float(np.sqrt(np.mean(s))), paired_test="paired_t",
    ),
    # The training loss per example (the recipe's loss, or the model's own such as a VAE's negative ELBO).
    "loss": Metric("loss", "min", None, paired_test="paired_t"),
}


def register_metric(metric: Metric) -> Metric:
    """Add a metric (a family's own, e.g. mean IoU); the gate and evaluate step then know it."""
    if metric.name in METRICS:
        raise RuntimeError(f"Metric {metric.name!r} is registered twice.")
    METRICS[metric.name] = metric
    return metric


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        # Tasks register their own metrics when their module is imported.
        from zoo.tasks import list_tasks

        list_tasks()
    if name not in METRICS:
        raise ValueError(f"Unknown metric {name!r}. Allowed: {', '.join(sorted(METRICS))}.")
    return METRICS[name]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int, threshold: float = 0.5) -> np.ndarray:
    """classes x classes counts: rows are true classes, columns predicted ones."""
    predicted = predicted_classes(y_pred, threshold)
    truth = class_ids(y_true).astype("int64").reshape(-1)
    matrix = np.zeros((classes, classes), dtype="int64")
    np.add.at(matrix, (truth, predicted.reshape(-1)), 1)
    return matrix
