"""Forecasting the next value of a series from a window of its past, scored against the naive forecast.

Data: windows cut from one series standardised with its training part's statistics (`adapt_series`, with
`keras.utils.timeseries_dataset_from_array` in `zoo.data.series.windows`), stored by preprocess. The task's
per-example map then expresses each window and its target relative to the window's last value, so the
model learns the correction to the naive forecast ("the next value is the last one"), which is 0 in that
form. Why: a series with a trend (`synthetic_series`) leaves the range of values seen in training during
its test period, where tanh units saturate; an LSTM fed standardised levels scored an MAE of 2.05 there
against the naive forecast's 0.85, and 0.47 fed the same windows relative to their last values. The
subtraction is exact and invertible, and it is what NLinear (Zeng et al. 2023) does inside its model.

Evaluation: MAE and RMSE in the series' units next to the naive last-value forecast's on the same test
windows; the naive MAE is the floor a forecaster has to beat (`Gate.floor_metric="naive_mae"`). The gate
metric's per-example scores (absolute errors for MAE) go with a paired t-test.

Serving: the deployed model takes raw windows and returns the next value in the series' units: it
subtracts the last value and divides by the training standard deviation, runs the model, and undoes both.

This is not the "forecasting" task of `zoo.tasks.supervised` (a regression over prepared features): it is
registered as "sequence_forecasting".
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterable

import numpy as np

from zoo.metrics import METRICS, get_metric, register_metric
from zoo.tasks.base import Evaluation, Task, first_output, random_inputs

#: Metric of the model's forecast -> the same metric of the naive last-value forecast.
NAIVE = {"mae": "naive_mae", "rmse": "naive_rmse"}
# MAE's and RMSE's definitions, applied to the naive forecast.
for _name, _naive_name in NAIVE.items():
    register_metric(dataclasses.replace(METRICS[_name], name=_naive_name))


class ForecastingTask(Task):
    """Windows of past values -> the next value: MAE and RMSE, and the naive forecast's, in the series' units."""

    names = ("sequence_forecasting",)
    metric_names = ("mae", "rmse", "naive_mae", "naive_rmse")

    def example_map(self, spec, hparams, info, outputs: int = 1):
        return relative_to_last_value

    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0,
                 train_batches=None) -> Evaluation:
        """Score the model's and the naive forecasts of every test window (`batches`, mapped by `example_map`)."""
        scale = _scaling(info)["std"]
        per_example: dict[str, list[np.ndarray]] = {name: [] for name in self.metric_names}
        for x, y in batches:
            x = np.asarray(x)
            truth, forecast, naive = (scale * v for v in _forecasts(model, x, y))
            for name, naive_name in NAIVE.items():
                per_example[name].append(get_metric(name).per_example(truth, forecast))
                per_example[naive_name].append(get_metric(naive_name).per_example(truth, naive))
        if not per_example["mae"]:
            raise ValueError("The test split holds no windows to forecast.")
        scores = {name: np.concatenate(parts) for name, parts in per_example.items()}
        metrics = {name: get_metric(name).aggregate(values) for name, values in scores.items()}
        gate = get_metric(spec.gate.metric)
        return Evaluation(metrics=metrics, scores=scores[gate.name], paired_test=gate.paired_test)

    def serving_model(self, model, spec, hparams, info):
        """Raw window in, next value out, in the series' units (the inverse of the data's transforms)."""
        import keras

        scale = _scaling(info)["std"]
        (name, signature), = spec.inputs(hparams).items()
        window = keras.Input(signature.shape, name=name)
        last = window[:, -1:]
        relative = keras.layers.Rescaling(1.0 / scale, name="standardise")(window - last)
        change = keras.layers.Rescaling(scale, dtype="float32", name="to_series_units")(model(relative, training=False))
        served = keras.Model(window, last + change, name=f"{model.name}_serving")
        return super().serving_model(served, spec, hparams, info)

    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0,
                 steps: int = 240) -> dict[str, str]:
        """The first `steps` test targets as changes from the last observed value: actual and forecast."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        scale = _scaling(info)["std"]
        truth, forecast = [], []
        for x, y in batches:
            actual, predicted, _ = _forecasts(model, np.asarray(x), y)
            truth.append(actual[:, 0])
            forecast.append(predicted[:, 0])
            if sum(map(len, truth)) >= steps:
                break
        figure = Figure(figsize=(9, 3.5))
        FigureCanvasAgg(figure)
        axes = figure.add_subplot(1, 1, 1)
        axes.axhline(0.0, color="C1", linestyle=":", linewidth=1, label="naive (no change)")
        axes.plot(scale * np.concatenate(truth)[:steps], "k-", linewidth=1, label="actual")
        axes.plot(scale * np.concatenate(forecast)[:steps], "C0-", linewidth=1, label=spec.name)
        axes.set_xlabel("test step")
        axes.set_ylabel(f"change of {info.get('column', 'the value')}")
        axes.legend(loc="upper left", fontsize=8)
        figure.suptitle(f"{spec.name}: next value minus last value on the test split", fontsize=9)
        figure.tight_layout()
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, f"{spec.name}_forecasts.png")
        figure.savefig(path, dpi=80)
        return {"Forecasts and the naive forecast": path}

    def random_batch(self, spec, hparams, model, batch, rng):
        x = random_inputs(spec, hparams, batch, rng)
        return x, rng.normal(size=(batch, 1)).astype("float32")


def adapt_series(spec, hparams, splits):
    """The forecaster's adapter: standardised windows of `hparams["window"]` values -> the next value.

    The series is standardised with its training part's statistics (unless its loader did so already and
    recorded them in `info["scaling"]`), then each split's windows are cut by
    `keras.utils.timeseries_dataset_from_array` (`zoo.data.series.windows`). Targets are shaped (N, 1).

    Raises:
        ValueError: if the data is not one series, or the window is too long for the training split.
    """
    from zoo.data.series import as_series, standardise_series, windows

    window = hparams["window"]
    values, bounds = as_series(splits)
    scaling = splits.info.get("scaling")
    if scaling is None:
        values, scaling = standardise_series(values, bounds["train"][1])
    for name, split in splits.items():
        start, end = bounds[name]
        if end - max(start, window) < 1:
            raise ValueError(f"{spec.name} with window={window} finds no {name} target of {splits.name} with "
                             f"{window} values before it (its {name} targets are steps {start} to {end - 1}); "
                             "lower the window.")
        split.x, y = windows(values, start, end, window)
        split.y = y.reshape(-1, 1)
    splits.kind = "sequence"
    splits.info = {**splits.info, "window": window, "scaling": {k: float(v) for k, v in scaling.items()},
                   "targets": {name: [int(a), int(b)] for name, (a, b) in bounds.items()}}
    return splits


def _scaling(info) -> dict[str, float]:
    scaling = info.get("scaling")
    if not scaling or "mean" not in scaling or "std" not in scaling:
        raise ValueError("The prepared series has no standardisation (info['scaling'] with 'mean' and 'std'); "
                         "prepare it again with the forecaster's adapter.")
    return {"mean": float(scaling["mean"]), "std": float(scaling["std"])}


def relative_to_last_value(x, y):
    """The task's per-example map: a window and its target minus the window's last value (tf.data tensors)."""
    last = x[-1:]
    return x - last, y - last


def _forecasts(model, x: np.ndarray, y):
    """(truth, model forecast, naive forecast) for mapped windows, each (batch, 1) in standardised units."""
    truth = np.asarray(first_output(y), dtype="float64").reshape(len(x), 1)
    forecast = np.asarray(first_output(model.predict_on_batch(x)), dtype="float64").reshape(len(x), 1)
    # The naive forecast repeats the window's last value (0 once the map has subtracted it).
    return truth, forecast, np.asarray(x[:, -1:], dtype="float64")
