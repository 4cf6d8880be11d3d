"""The seed notes' Boston housing regressor: features -> Dense64 -> Dense64 -> Dense1, judged by MAE.

Seed 003 "3) Regression Analysis" (13 Boston housing features; MSE loss, MAE metric) and "Early Stopping"
(stop when the validation loss stops improving, which the recipe's `monitor`/`patience` configure).
"""

from __future__ import annotations

import keras

from zoo.nn import ChainModel, chain_styles, check_positive_int, dense_head, serializable


def _input_shape(hparams):
    return (hparams["input_dim"],)


def dnn_regression_layers(*, input_dim: int = 10, units: int = 64, **_) -> list[keras.layers.Layer]:
    """Two ReLU layers of `units`, then one linear output unit."""
    check_positive_int("input_dim", input_dim)
    check_positive_int("units", units)
    return [
        keras.layers.Dense(units, activation="relu", name="hidden_1"),
        keras.layers.Dense(units, activation="relu", name="hidden_2"),
        dense_head(1, None),
    ]


@serializable
class DNNRegression(ChainModel):
    """`dnn_regression` as a `keras.Model` subclass (seed 003 "3) Regression Analysis").

    Args:
        input_dim: number of input features: 13 for Boston housing (the notes' data), 10 for diabetes.
        units: width of each hidden layer.

    Returns:
        A built model mapping (batch, input_dim) standardised features to the predicted value, (batch, 1).

    Example:
        >>> model = DNNRegression(input_dim=13)
        >>> model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    """

    default_name = "dnn_regression"

    def __init__(self, input_dim: int = 10, units: int = 64, name: str | None = None):
        super().__init__(name=name, input_dim=input_dim, units=units)

    make_layers = staticmethod(dnn_regression_layers)
    input_shape_of = staticmethod(_input_shape)


DNN_REGRESSION = chain_styles(dnn_regression_layers, DNNRegression, "dnn_regression")
