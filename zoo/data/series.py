"""Univariate series for forecasters: the Jena climate record, and windows cut with Keras' own utility.

A series dataset is one array of values in time order and, per split, the range of time steps whose values
are that split's targets. Loaders of kind "series" return it as `Splits` whose split `s` holds
`x = values[:end_s]` (everything observed up to its last target: a view, not a copy) and
`y = values[start_s:end_s]` (its targets), so `len(x) - len(y)` is where the split's targets start. The
splits are chronological: a forecaster is always scored on the future of what it was trained on, and a
window may reach back into the previous split (observed history at forecast time, not leaked targets).

Windows are cut from the series by `keras.utils.timeseries_dataset_from_array` when a forecaster's data is
prepared (`windows`, in the preprocess step, one batch at a time into one preallocated array): window i is
`values[t - w : t]` and its target `values[t]`, the value right after it. Cutting them there, not in the
task's per-example map, is what the pipeline's data contract allows: its reader maps one stored example to
one example, and non-image data is stored as an "arrays" artifact that the reader holds whole. That costs
N x w floats, about 34 MB for the hourly Jena record at w = 120, which is fine at this size; a series long
enough for N x w to matter would need a stored-series format whose reader cuts the windows as it streams.

`jena_climate` (online) reads the Max Planck Institute's weather record that the Keras timeseries examples
use; `synthetic_series` (offline, `zoo.data.generated`) is given as windows and `as_series` recovers its
series, so both reach a forecaster through the same windowing code.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from typing import Mapping

import numpy as np

from zoo.data import Split, Splits, dataset

SPLIT_NAMES = ("train", "val", "test")

JENA_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/jena_climate_2009_2016.csv.zip"
JENA_ZIP = "jena_climate_2009_2016.csv.zip"
JENA_CSV = "jena_climate_2009_2016.csv"
JENA_TARGET = "T (degC)"
# The record has a row every 10 minutes; 6 rows make an hour, as in the Keras and TensorFlow examples.
JENA_STEP = 6
# Chronological fractions of the targets: train, then validation, then test (the rest).
TRAIN_FRACTION, VAL_FRACTION = 0.70, 0.15


# ------------------------------------------------------------------------------------------ series splits
def series_splits(name: str, values: np.ndarray, bounds: Mapping[str, tuple[int, int]], info: dict) -> Splits:
    """`Splits` of kind "series" over one array: split s holds `values[:end]` (history) and `values[start:end]`."""
    parts = [Split(values[:bounds[s][1]], values[bounds[s][0]:bounds[s][1]]) for s in SPLIT_NAMES]
    bounds = {s: [int(a), int(b)] for s, (a, b) in bounds.items()}
    return Splits(name, "series", *parts, info={**info, "targets": bounds})


def chronological_bounds(length: int, first: int = 0) -> dict[str, tuple[int, int]]:
    """Target ranges of train, val and test: 70%, 15% and 15% of steps `first..length`, in time order."""
    n = length - first
    cut_train, cut_val = first + int(round(TRAIN_FRACTION * n)), first + int(round((TRAIN_FRACTION + VAL_FRACTION) * n))
    return {"train": (first, cut_train), "val": (cut_train, cut_val), "test": (cut_val, length)}


def as_series(splits: Splits) -> tuple[np.ndarray, dict[str, tuple[int, int]]]:
    """The series under `splits` and each split's target range: (values, {split: (start, end)}).

    Accepts kind "series" and kind "sequence" windows of one series, one window per consecutive target
    (`synthetic_series`: row i is the `window` values before target i); the latter's series is its first
    window followed by every target.

    Raises:
        ValueError: if the data is neither, or its windows are not consecutive windows of one series.
    """
    if splits.kind == "series":
        values = np.asarray(splits.test.x)
        bounds, end = {}, 0
        for name, split in splits.items():
            x, y = np.asarray(split.x), np.asarray(split.y)
            start, stop = len(x) - len(y), len(x)
            if x.ndim != 1 or start < end or not np.array_equal(values[start:stop], y):
                raise ValueError(f"{splits.name} is not one series split in time order (kind 'series': split s holds "
                                 f"values[:end_s] and its targets values[start_s:end_s]).")
            bounds[name], end = (start, stop), stop
        return values, bounds
    first = np.asarray(splits.train.x) if splits.kind == "sequence" else None
    if first is None or first.ndim != 2 or not all(np.ndim(s.y) == 1 for _, s in splits.items()):
        raise ValueError(f"A forecaster trains on one series (kind 'series', or 'sequence' windows (N, window) of "
                         f"one series). Received: {splits.name} of kind {splits.kind!r}")
    values = np.concatenate([first[0], *(np.asarray(s.y) for _, s in splits.items())]).astype("float32")
    bounds, start = {}, first.shape[1]
    for name, split in splits.items():
        stop = start + len(split.y)
        # Each window ends on the value just before its target.
        if np.shape(split.x)[1] != first.shape[1] or not np.array_equal(np.asarray(split.x)[:, -1],
                                                                         values[start - 1:stop - 1]):
            raise ValueError(f"{splits.name}'s windows are not consecutive windows of one series, one per target; "
                             "a forecaster cannot recover the series from them.")
        bounds[name], start = (start, stop), stop
    return values, bounds


def standardise_series(values: np.ndarray, train_end: int) -> tuple[np.ndarray, dict[str, float]]:
    """Values scaled to zero mean and unit variance with the statistics of `values[:train_end]` only."""
    history = np.asarray(values[:train_end], dtype="float64")
    mean, std = float(history.mean()), float(history.std())
    std = std if std > 0 else 1.0
    return ((np.asarray(values, dtype="float64") - mean) / std).astype("float32"), {"mean": mean, "std": std}


def windows(values: np.ndarray, start: int, end: int, window: int,
            batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """The windows of the `window` values before each target `values[t]`, t in [max(start, window), end).

    Cut by `keras.utils.timeseries_dataset_from_array` and written batch by batch into one array, so no
    step holds more than the result and one batch. Targets earlier than `window` have too little history
    and are left out.

    Returns:
        (x, y): x float32 (N, window), oldest value first; y float32 (N,) with y[i] the value after x[i].
    """
    import keras

    first = max(int(start), int(window))
    count = int(end) - first
    if count < 1:
        raise ValueError(f"No target in steps [{start}, {end}) has {window} values before it; use a shorter window.")
    values = np.asarray(values, dtype="float32")
    # Window i of `data` starts at step first - window + i; its target is values[first + i].
    data, targets = values[first - window:end - 1], values[first:end]
    if count == 1:  # the utility needs a stride shorter than its data
        return data[None, :].copy(), targets.copy()
    x = np.empty((count, window), dtype="float32")
    y = np.empty((count,), dtype="float32")
    done = 0
    batches = keras.utils.timeseries_dataset_from_array(data, targets, sequence_length=window,
                                                        batch_size=batch_size, shuffle=False)
    for batch_x, batch_y in batches.as_numpy_iterator():
        x[done:done + len(batch_y)], y[done:done + len(batch_y)] = batch_x, batch_y
        done += len(batch_y)
    if done != count:
        raise RuntimeError(f"timeseries_dataset_from_array gave {done} windows where {count} were expected.")
    return x, y


# -------------------------------------------------------------------------------------------- jena climate
@dataset("jena_climate", offline=False,
         summary="Jena climate 2009-2016 (the Keras timeseries examples' file): hourly air temperature in degC, "
                 "chronological splits (downloads on first use).")
def jena_climate(*, seed: int = 0, data_dir: str | None = None, column: str = JENA_TARGET,
                 step: int = JENA_STEP) -> Splits:
    """The weather record of the Max Planck Institute for Biogeochemistry's Jena station, 2009-2016.

    One of its 14 quantities (`column`, air temperature by default) every `step` rows: the record has a row
    every 10 minutes, and `step=6` keeps the on-the-hour rows (the 6th, 12th, ... rows), as the Keras and
    TensorFlow examples do. The first 70% of the values train, the next 15% validate, the last 15% test
    (chronological: `seed` changes nothing). Values are standardised with the training split's mean and
    standard deviation only; `info["scaling"]` keeps them, so forecasts and errors convert back to `column`'s
    units. `data_dir` (a local folder) holds the downloaded archive; Keras' cache otherwise.

    Returns:
        `Splits` of kind "series" (see the module docstring): float32 values, about 70,000 hourly steps.
    """
    step = _positive_int("step", step)
    values = read_jena_csv(download_jena(data_dir), column)[step - 1::step]
    bounds = chronological_bounds(len(values))
    if min(b - a for a, b in bounds.values()) < 2:
        raise ValueError(f"The Jena record has {len(values)} values every {step} rows: too few for three splits.")
    values, scaling = standardise_series(values, bounds["train"][1])
    info = {"source": JENA_URL, "column": column, "step": step, "scaling": scaling, "split": "chronological"}
    return series_splits("jena_climate", values, bounds, info)


def download_jena(data_dir: str | None) -> str:
    """The path of the Jena archive, downloaded by `keras.utils.get_file` unless it is cached already."""
    import keras

    cache_dir = os.path.abspath(data_dir) if data_dir and "://" not in data_dir else None
    return keras.utils.get_file(JENA_ZIP, origin=JENA_URL, cache_dir=cache_dir)


def read_jena_csv(path: str, column: str = JENA_TARGET) -> np.ndarray:
    """One column of the Jena CSV (or of the CSV inside its zip archive) as float32 values in file order.

    Raises:
        ValueError: if the column is not in the file, or a value in it is missing or not a number.
    """
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if n.endswith(".csv") and not n.startswith("__MACOSX")]
            if not members:
                raise ValueError(f"{path} holds no CSV file.")
            with archive.open(members[0]) as raw:
                return _read_column(io.TextIOWrapper(raw, encoding="utf-8"), column, path)
    with open(path, encoding="utf-8") as f:
        return _read_column(f, column, path)


def _read_column(lines, column: str, path: str) -> np.ndarray:
    header = next(csv.reader([lines.readline()]), [])
    if column not in header:
        raise ValueError(f"Column {column!r} is not in {os.path.basename(path)}. "
                         f"Allowed: {', '.join(repr(h) for h in header[1:])}.")
    try:
        values = np.loadtxt(lines, delimiter=",", usecols=header.index(column), dtype="float64", ndmin=1)
    except ValueError as err:
        raise ValueError(f"Column {column!r} of {os.path.basename(path)} holds a value that is not a number "
                         f"({' '.join(str(err).split())}).") from None
    if not np.all(np.isfinite(values)):
        raise ValueError(f"Column {column!r} of {os.path.basename(path)} has {int(np.sum(~np.isfinite(values)))} "
                         "missing or infinite values.")
    return values.astype("float32")


def _positive_int(option: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{option}` must be a positive integer. Received: {option}={value!r}")
    return int(value)
