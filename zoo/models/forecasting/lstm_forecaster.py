"""LSTM forecaster: a window of a series' past values -> its next value (Hochreiter & Schmidhuber 1997).

The seed notes' time-series example ("시계열 데이터 분석"): read the last 180 days, predict day 181. The window
(batch, window), oldest value first, becomes a sequence of one feature per step; `layers` stacked LSTMs of
`units` read it (every one but the last returns its whole sequence to the next), and a linear unit turns
the last state into the next value. Its task (`zoo.tasks.forecasting`) feeds it windows of the standardised
series minus each window's last value, so it predicts the correction to the naive forecast; the deployed
model adds those transforms and their inverse, and takes raw windows.

The LSTMs keep Keras' defaults (tanh, sigmoid gates, no recurrent dropout, no unrolling) so they run on
the fused cuDNN kernel on a GPU. The output unit computes in float32, as a head under mixed precision must.

Configuration and size: with the defaults (window 48, 32 units, one layer), 4,385 parameters: the LSTM
4,352 (4 gates x (1 input + 32 recurrent + 1 bias) x 32) and the output unit 33.
"""

from __future__ import annotations

import keras

from zoo.nn import ChainModel, chain_styles, check_positive_int, dense_head, serializable

NAME = "lstm_forecaster"
INPUT = "window"


def lstm_forecaster_layers(*, window: int = 48, units: int = 32, layers: int = 1, **_) -> list[keras.layers.Layer]:
    """The forecaster's layers, in order: steps of one feature, `layers` LSTMs, the output unit.

    Args:
        window: past values per example.
        units: size of each LSTM's state.
        layers: stacked LSTMs.

    Returns:
        The layer list that all three styles apply one after another.
    """
    for name, value in (("window", window), ("units", units), ("layers", layers)):
        check_positive_int(name, value)
    stack = [keras.layers.Reshape((window, 1), name="steps")]
    for index in range(1, layers + 1):
        stack.append(keras.layers.LSTM(units, return_sequences=index < layers, name=f"lstm_{index}"))
    stack.append(dense_head(1, None, name="next_value"))
    return stack


def _input_shape(hparams):
    return (hparams["window"],)


@serializable
class LSTMForecaster(ChainModel):
    """The LSTM forecaster as a `keras.Model` subclass.

    Args:
        window: past values per example.
        units: size of each LSTM's state.
        layers: stacked LSTMs.

    Returns:
        A built model mapping windows (batch, window), oldest value first, to the next value (batch, 1).

    Example:
        >>> model = LSTMForecaster(window=180, units=32)
        >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    """

    default_name = NAME

    def __init__(self, window: int = 48, units: int = 32, layers: int = 1, name: str | None = None):
        super().__init__(name=name, window=window, units=units, layers=layers)

    make_layers = staticmethod(lstm_forecaster_layers)
    input_shape_of = staticmethod(_input_shape)


LSTM_FORECASTER = chain_styles(lstm_forecaster_layers, LSTMForecaster, NAME, input_name=INPUT)
