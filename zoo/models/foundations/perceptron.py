"""Perceptron and multi-layer perceptron (Rosenblatt 1958; Rumelhart, Hinton & Williams 1986).

The seed notes' story: one perceptron (a weighted sum through a sigmoid, thresholded at 0.5) learns the
AND, OR and NAND gates but no line separates XOR's classes; one hidden layer solves XOR.
"""

from __future__ import annotations

import keras

from zoo.nn import ChainModel, chain_styles, dense_head, serializable


def _input_shape(hparams):
    return (hparams["input_dim"],)


def perceptron_layers(*, input_dim: int = 2, **_) -> list[keras.layers.Layer]:
    """One sigmoid unit: p(y=1 | x) = sigmoid(w·x + b)."""
    return [dense_head(1, "sigmoid", name="perceptron")]


@serializable
class Perceptron(ChainModel):
    """A single-layer perceptron as a `keras.Model` subclass.

    Args:
        input_dim: number of input features (2 for a logic gate).

    Example:
        >>> model = Perceptron(input_dim=2)
    """

    default_name = "perceptron"

    def __init__(self, input_dim: int = 2, name: str | None = None):
        super().__init__(name=name, input_dim=input_dim)

    make_layers = staticmethod(perceptron_layers)
    input_shape_of = staticmethod(_input_shape)


def mlp_layers(*, input_dim: int = 2, hidden_units: int = 8, activation: str = "tanh", **_):
    """One hidden layer, then a sigmoid output unit."""
    return [
        keras.layers.Dense(hidden_units, activation=activation, name="hidden"),
        dense_head(1, "sigmoid", name="output"),
    ]


@serializable
class MLP(ChainModel):
    """A multi-layer perceptron with one hidden layer, as a `keras.Model` subclass.

    Args:
        input_dim: number of input features.
        hidden_units: width of the hidden layer.
        activation: the hidden layer's activation.
    """

    default_name = "mlp"

    def __init__(self, input_dim: int = 2, hidden_units: int = 8, activation: str = "tanh", name: str | None = None):
        super().__init__(name=name, input_dim=input_dim, hidden_units=hidden_units, activation=activation)

    make_layers = staticmethod(mlp_layers)
    input_shape_of = staticmethod(_input_shape)


PERCEPTRON = chain_styles(perceptron_layers, Perceptron, "perceptron", input_name="features")
MLP_STYLES = chain_styles(mlp_layers, MLP, "mlp", input_name="features")
