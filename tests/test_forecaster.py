"""Catalog section E's forecaster: windows cut by Keras' utility, the naive-forecast floor, the Jena loader.

The standard model test (tests/test_models.py) covers the three styles; this file checks what is particular
to forecasting. Heavier checks (the default configuration's learning, the whole pipeline on the Jena
loader) are marked slow.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

import zoo
from zoo.data import adapt, load_dataset
from zoo.data.series import JENA_STEP, JENA_URL, as_series, read_jena_csv, windows
from zoo.pipeline import steps
from zoo.tasks import get_task

NAME = "lstm_forecaster"
SMALL = {**zoo.get_spec(NAME).defaults, **zoo.get_spec(NAME).small}


def _one_line_value_error(call, fragment):
    with pytest.raises(ValueError) as caught:
        call()
    message = str(caught.value)
    assert fragment in message and "\n" not in message, message
    return message


def _mapped(split, batch_size=64):
    """A split's windows through the task's per-example map, as the pipeline's reader gives them."""
    import tensorflow as tf

    example_map = get_task("sequence_forecasting").example_map(zoo.get_spec(NAME), SMALL, {})
    return tf.data.Dataset.from_tensor_slices((split.x, split.y)).map(example_map).batch(batch_size)


# ----------------------------------------------------------------------------------------------------- spec
def test_the_spec_gates_on_mae_against_the_naive_forecast_and_its_task_reports_both():
    spec = zoo.get_spec(NAME)
    assert (spec.gate.metric, spec.gate.direction, spec.gate.floor_metric, spec.gate.floor) == \
        ("mae", "min", "naive_mae", None)
    assert spec.task == "sequence_forecasting" and spec.offline_datasets == ("synthetic_series",)
    assert spec.online_datasets == ("jena_climate",)
    assert {"mae", "naive_mae", "rmse"} <= set(get_task(spec.task).metric_names)
    # The regression task's "forecasting" name is untouched.
    assert type(get_task("forecasting")).__name__ == "RegressionTask"


def test_the_default_configuration_has_its_documented_size():
    # LSTM: 4 gates x (1 input + 32 recurrent + 1 bias) x 32 = 4,352; output unit 33.
    assert zoo.build(NAME).count_params() == 4_385
    assert zoo.build(NAME, layers=2, units=8).count_params() == 4 * 8 * 10 + 4 * 8 * 17 + 9


def test_bad_hyperparameters_are_one_line_errors():
    _one_line_value_error(lambda: zoo.build(NAME, window=0), "Received: window=0")
    _one_line_value_error(lambda: zoo.build(NAME, units=-3), "Received: units=-3")
    _one_line_value_error(lambda: zoo.build(NAME, style="subclass", layers=1.5), "Received: layers=1.5")
    _one_line_value_error(lambda: zoo.build(NAME, lags=3), "Unknown hyperparameter")


# -------------------------------------------------------------------------------------------------- windows
def test_windows_are_those_of_timeseries_dataset_from_array_with_the_next_value_as_target():
    import keras

    values = np.arange(30, dtype="float32") * 1.5
    x, y = windows(values, 0, len(values), 4, batch_size=7)
    # "w values -> the next one" with Keras' utility: targets from step w, data up to the last window's end.
    reference = keras.utils.timeseries_dataset_from_array(values[:-1], values[4:], sequence_length=4, batch_size=64)
    (ref_x, ref_y), = reference.as_numpy_iterator()
    np.testing.assert_array_equal(x, ref_x)
    np.testing.assert_array_equal(y, ref_y)
    assert x.shape == (26, 4) and x.dtype == np.float32
    for i in range(len(y)):
        np.testing.assert_array_equal(x[i], values[i:i + 4])
        assert y[i] == values[i + 4]  # the value right after the window
    # A later split: targets 20..29, windows reaching back into the earlier steps.
    x, y = windows(values, 20, 30, 4)
    np.testing.assert_array_equal(y, values[20:30])
    np.testing.assert_array_equal(x[0], values[16:20])
    _one_line_value_error(lambda: windows(values, 0, 3, 4), "use a shorter window")


def test_the_adapter_recovers_synthetic_series_and_cuts_the_same_windows_for_any_window_length():
    spec = zoo.get_spec(NAME)
    raw = load_dataset("synthetic_series")
    values, bounds = as_series(load_dataset("synthetic_series"))
    assert len(values) == 1200 and bounds["test"][1] == 1200
    for window in (24, 60):  # longer than synthetic_series' own windows of 48 too
        adapted = adapt(spec, {**SMALL, "window": window}, load_dataset("synthetic_series"))
        scaling = adapted.info["scaling"]
        assert adapted.info["window"] == window and adapted.test.x.shape == (len(raw.test), window)
        in_units = lambda a: a * scaling["std"] + scaling["mean"]  # noqa: E731
        np.testing.assert_allclose(in_units(adapted.test.y[:, 0]), raw.test.y, atol=1e-4)
        np.testing.assert_allclose(in_units(adapted.test.x[:, -1]), raw.test.x[:, -1], atol=1e-4)
        # Standardised with the training part's statistics only: the trend lifts later splits above 0.
        assert abs(float(adapted.train.x.mean())) < 0.2 and float(adapted.test.y.mean()) > 1.5
    assert len(adapted.train) == len(raw.train) - (60 - 48)  # early targets lack 60 values of history


def test_the_adapter_refuses_other_data_and_windows_longer_than_the_training_split():
    spec = zoo.get_spec(NAME)
    _one_line_value_error(lambda: adapt(spec, SMALL, load_dataset("synthetic_linear")),
                          "Received: synthetic_linear of kind 'tabular'")
    _one_line_value_error(lambda: adapt(spec, {**SMALL, "window": 900}, load_dataset("synthetic_series")),
                          "with window=900 finds no train target")
    shuffled = load_dataset("synthetic_series")
    shuffled.val.x = shuffled.val.x[::-1]
    _one_line_value_error(lambda: adapt(spec, SMALL, shuffled), "not consecutive windows of one series")


# --------------------------------------------------------------------------------------- evaluation and gate
def test_the_evaluation_reports_the_naive_forecast_error_of_the_same_test_windows_in_series_units():
    spec = zoo.get_spec(NAME)
    raw = load_dataset("synthetic_series")
    adapted = adapt(spec, SMALL, load_dataset("synthetic_series"))
    model = zoo.build(NAME, **SMALL)
    result = get_task(spec.task).evaluate(model, _mapped(adapted.test), spec, SMALL, adapted.info)
    assert result.metrics["naive_mae"] == pytest.approx(np.mean(np.abs(raw.test.x[:, -1] - raw.test.y)), rel=1e-5)
    assert result.metrics["naive_rmse"] == pytest.approx(np.sqrt(np.mean((raw.test.x[:, -1] - raw.test.y) ** 2)),
                                                         rel=1e-5)
    # Per-example absolute errors for the paired t-test, in the series' units.
    assert result.paired_test == "paired_t" and result.scores.shape == (len(raw.test),)
    assert result.metrics["mae"] == pytest.approx(result.scores.mean())
    served = get_task(spec.task).serving_model(model, spec, SMALL, adapted.info)
    forecast = np.asarray(served.predict(raw.test.x[:, -SMALL["window"]:], verbose=0))[:, 0]
    np.testing.assert_allclose(np.abs(forecast - raw.test.y), result.scores, rtol=1e-4, atol=1e-4)


def test_the_trained_forecaster_beats_the_naive_forecast_on_unseen_windows():
    import keras

    spec = zoo.get_spec(NAME)
    task = get_task(spec.task)
    adapted = adapt(spec, SMALL, load_dataset("synthetic_series"))
    keras.utils.set_random_seed(0)
    model = zoo.build(NAME, **SMALL)
    task.compile(model, spec, SMALL, learning_rate=1e-2)
    model.fit(_mapped(adapted.train, 32), epochs=6, shuffle=False, verbose=0)
    result = task.evaluate(model, _mapped(adapted.test), spec, SMALL, adapted.info)
    # Measured: MAE 0.46 against the naive forecast's 0.85 (the noise alone costs 0.40).
    assert result.metrics["mae"] < 0.8 * result.metrics["naive_mae"], result.metrics


def _evaluation(mae, naive_mae):
    return {"model": NAME, "dataset": "synthetic_series", "task": "sequence_forecasting", "metric": "mae",
            "direction": "min", "value": mae, "metrics": {"mae": mae, "naive_mae": naive_mae, "rmse": 1.0},
            "scores": None, "paired_test": "paired_t", "test_fingerprint": "f", "examples": 173}


def test_the_gate_refuses_a_first_model_that_does_not_beat_the_naive_forecast(tmp_path):
    baselines = str(tmp_path / "baselines")
    worse = steps.gate(_evaluation(0.9, 0.85), baselines)
    assert not worse.deploy and "naive_mae" in worse.reason
    tie = steps.gate(_evaluation(0.85, 0.85), baselines)  # the floor must be beaten, not matched
    assert not tie.deploy
    better = steps.gate(_evaluation(0.46, 0.85), baselines)
    assert better.deploy and "below naive_mae = 0.85" in better.reason


# ---------------------------------------------------------------------------------------------- jena climate
def _jena_csv(hours: int) -> tuple[str, np.ndarray]:
    """A Jena-format CSV of `hours` hours (a row every 10 minutes) and its on-the-hour temperatures."""
    rng = np.random.default_rng(0)
    rows = hours * JENA_STEP
    temperature = np.round(5 + 10 * np.sin(np.arange(rows) * 2 * np.pi / 144) + rng.normal(0, 0.3, rows), 2)
    lines = ['"Date Time","p (mbar)","T (degC)","Tpot (K)","rh (%)"']
    for i in range(rows):
        day, minute = divmod((i + 1) * 10, 1440)
        lines.append(f"{day + 1:02d}.01.2009 {minute // 60:02d}:{minute % 60:02d}:00,996.5{i % 10},"
                     f"{temperature[i]:.2f},{temperature[i] + 273.15:.2f},93.{i % 7}")
    return "\n".join(lines) + "\n", temperature[JENA_STEP - 1::JENA_STEP].astype("float32")


@pytest.fixture
def jena_archive(tmp_path, monkeypatch):
    """The Jena zip archive, generated here: `keras.utils.get_file` returns it instead of downloading."""
    import keras

    text, hourly = _jena_csv(hours=300)
    path = tmp_path / "jena_climate_2009_2016.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("jena_climate_2009_2016.csv", text)
    asked = {}

    def fake_get_file(fname=None, origin=None, **kwargs):
        asked.update(fname=fname, origin=origin, **kwargs)
        return str(path)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    return hourly, asked, tmp_path


def test_jena_climate_reads_hourly_temperature_in_time_order_standardised_by_the_training_split(jena_archive):
    hourly, asked, data_dir = jena_archive
    splits = load_dataset("jena_climate", data_dir=str(data_dir))
    assert asked["origin"] == JENA_URL and asked["cache_dir"] == str(data_dir)
    assert splits.kind == "series" and splits.info["column"] == "T (degC)"
    values, bounds = as_series(splits)
    assert bounds == {"train": (0, 210), "val": (210, 255), "test": (255, 300)}
    mean, std = hourly[:210].mean(), hourly[:210].std()
    assert splits.info["scaling"]["mean"] == pytest.approx(mean, rel=1e-5)
    np.testing.assert_allclose(values * std + mean, hourly, atol=1e-4)
    assert abs(splits.train.y.mean()) < 1e-5 and splits.train.y.std() == pytest.approx(1.0, rel=1e-4)
    # The forecaster's windows come back in degrees, targets right after their windows.
    adapted = adapt(zoo.get_spec(NAME), SMALL, splits)
    in_degrees = adapted.test.y[:, 0] * std + mean
    np.testing.assert_allclose(in_degrees, hourly[255:], atol=1e-4)
    np.testing.assert_allclose(adapted.test.x[0] * std + mean, hourly[255 - SMALL["window"]:255], atol=1e-4)


def test_jena_csv_parsing_other_columns_plain_files_and_bad_input(tmp_path):
    text, hourly = _jena_csv(hours=3)
    plain = tmp_path / "jena.csv"
    plain.write_text(text)
    every_row = read_jena_csv(str(plain))
    assert every_row.shape == (18,) and every_row.dtype == np.float32
    np.testing.assert_allclose(every_row[JENA_STEP - 1::JENA_STEP], hourly)
    np.testing.assert_allclose(read_jena_csv(str(plain), "Tpot (K)"), every_row + 273.15, atol=1e-3)
    _one_line_value_error(lambda: read_jena_csv(str(plain), "T (K)"), "Column 'T (K)' is not in jena.csv")
    broken = tmp_path / "broken.csv"
    rows = text.splitlines()
    fields = rows[3].split(",")
    fields[2] = "n/a"
    broken.write_text("\n".join([*rows[:3], ",".join(fields), *rows[4:]]))
    _one_line_value_error(lambda: read_jena_csv(str(broken)), "not a number")


def test_jena_options_are_checked(jena_archive):
    _, _, data_dir = jena_archive
    _one_line_value_error(lambda: load_dataset("jena_climate", data_dir=str(data_dir), step=0), "Received: step=0")
    _one_line_value_error(lambda: load_dataset("jena_climate", data_dir=str(data_dir), step=400),
                          "too few for three splits")


# ------------------------------------------------------------------------------------------------ slow tier
@pytest.mark.slow
def test_the_default_configuration_learns_the_season_by_its_recipe():
    from recipes import fit_by_recipe

    spec = zoo.get_spec(NAME)
    config = dict(spec.defaults)
    adapted = adapt(spec, config, load_dataset("synthetic_series"))
    for _, split in adapted.items():
        split.x, split.y = split.x - split.x[:, -1:], split.y - split.x[:, -1:]
    model = fit_by_recipe(NAME, adapted)
    result = get_task(spec.task).evaluate(model, [(adapted.test.x, adapted.test.y)], spec, config, adapted.info)
    # The least-squares AR(24) scores 0.43 on this test split, the naive forecast 0.85.
    assert result.metrics["mae"] < 0.55 < result.metrics["naive_mae"], result.metrics


@pytest.mark.slow
def test_the_pipeline_steps_train_on_jena_and_serve_degrees(jena_archive, tmp_path):
    import json

    import tensorflow as tf

    hourly, _, data_dir = jena_archive
    hparams = json.dumps({"window": 24, "units": 8})
    data = str(tmp_path / "data")
    meta = steps.preprocess(NAME, "jena_climate", data, hparams=hparams, data_dir=str(data_dir))
    assert meta["format"] == "arrays" and meta["sizes"] == {"train": 186, "val": 45, "test": 45}
    steps.train(NAME, data, str(tmp_path / "model"), hparams=hparams, epochs=5)
    evaluation = steps.evaluate(NAME, data, str(tmp_path / "model"))
    assert evaluation["metric"] == "mae" and set(evaluation["metrics"]) >= {"mae", "naive_mae", "rmse"}
    assert len(evaluation["scores"]) == 45
    served = tf.saved_model.load(str(tmp_path / "model" / "saved_model")).signatures["serving_default"]
    windows_in_degrees = np.stack([hourly[t - 24:t] for t in range(255, 300)])
    (forecast,) = served(window=tf.constant(windows_in_degrees)).values()
    errors = np.abs(forecast.numpy()[:, 0] - hourly[255:])
    assert np.mean(errors) == pytest.approx(evaluation["value"], rel=1e-4)
