"""A model with two inputs: one Dense branch per input, concatenated, then a Dense head.

The seed notes' example of what the functional API can do and `keras.Sequential` cannot (000 "function API",
"다중입력을 받는 모델": "input 을 여러개 만들고, 각 입력에 대해 모델을 만든 뒤, concatenate([m1.output,
m2.output])"). A Sequential model has exactly one input tensor, so this model has no sequential style.

Inputs are named "source_a" and "source_b" (the keys of `synthetic_two_source`'s feature dict), and the
model takes them as a dict with those keys in every style.
"""

from __future__ import annotations

from typing import Any

import keras

from zoo.nn import Styles, check_positive_int, dense_head, serializable


def multi_input_layers(*, source_a_dim: int = 4, source_b_dim: int = 6, branch_units: int = 8,
                       head_units: int = 8, **_) -> dict[str, keras.layers.Layer]:
    """The model's layers, in the order the functional graph holds their weights.

    Returns:
        A dict: one ReLU Dense per source ("source_a_dense", "source_b_dense"), "concatenate", the ReLU
        "head_dense" and the sigmoid "output".
    """
    for name, value in (("source_a_dim", source_a_dim), ("source_b_dim", source_b_dim),
                        ("branch_units", branch_units), ("head_units", head_units)):
        check_positive_int(name, value)
    return {
        "source_a_dense": keras.layers.Dense(branch_units, activation="relu", name="source_a_dense"),
        "source_b_dense": keras.layers.Dense(branch_units, activation="relu", name="source_b_dense"),
        "concatenate": keras.layers.Concatenate(name="concatenate"),
        "head_dense": keras.layers.Dense(head_units, activation="relu", name="head_dense"),
        "output": dense_head(1, "sigmoid", name="output"),
    }


def _forward(layers: dict[str, keras.layers.Layer], inputs: dict[str, Any]):
    """The forward pass shared by the functional graph and the subclass's `call`."""
    a = layers["source_a_dense"](inputs["source_a"])
    b = layers["source_b_dense"](inputs["source_b"])
    joined = layers["concatenate"]([a, b])
    return layers["output"](layers["head_dense"](joined))


def _input_dims(hparams) -> dict[str, int]:
    return {"source_a": hparams["source_a_dim"], "source_b": hparams["source_b_dim"]}


def multi_input_functional(**hparams) -> keras.Model:
    """The functional-API model: two named inputs, taken as a dict {"source_a": ..., "source_b": ...}."""
    layers = multi_input_layers(**hparams)
    inputs = {key: keras.Input(shape=(dim,), name=key) for key, dim in _input_dims(hparams).items()}
    return keras.Model(inputs, _forward(layers, inputs), name="multi_input")


@serializable
class MultiInput(keras.Model):
    """The two-input model as a `keras.Model` subclass, with the functional model's layers and weight order.

    Args:
        source_a_dim: number of features of the first input.
        source_b_dim: number of features of the second input.
        branch_units: width of each input's ReLU branch.
        head_units: width of the ReLU layer after the concatenation (the seed code used 2).

    Returns:
        A built model mapping {"source_a": (batch, source_a_dim), "source_b": (batch, source_b_dim)} to the
        probability of class 1, (batch, 1).

    Example:
        >>> model = MultiInput(source_a_dim=4, source_b_dim=6)
        >>> model({"source_a": np.zeros((2, 4)), "source_b": np.zeros((2, 6))}).shape
        TensorShape([2, 1])
    """

    def __init__(self, source_a_dim: int = 4, source_b_dim: int = 6, branch_units: int = 8, head_units: int = 8,
                 name: str | None = None):
        super().__init__(name=name or "multi_input")
        self.hparams = {"source_a_dim": source_a_dim, "source_b_dim": source_b_dim, "branch_units": branch_units,
                        "head_units": head_units}
        layers = multi_input_layers(**self.hparams)
        # Attributes are tracked in assignment order, which is the functional model's weight order.
        self.source_a_dense = layers["source_a_dense"]
        self.source_b_dense = layers["source_b_dense"]
        self.concatenate = layers["concatenate"]
        self.head_dense = layers["head_dense"]
        self.output_layer = layers["output"]
        self.build({key: (None, dim) for key, dim in _input_dims(self.hparams).items()})

    def _layer_map(self) -> dict[str, keras.layers.Layer]:
        return {"source_a_dense": self.source_a_dense, "source_b_dense": self.source_b_dense,
                "concatenate": self.concatenate, "head_dense": self.head_dense, "output": self.output_layer}

    def build(self, input_shape):
        units = self.hparams["branch_units"]
        self.source_a_dense.build(tuple(input_shape["source_a"]))
        self.source_b_dense.build(tuple(input_shape["source_b"]))
        self.head_dense.build((None, 2 * units))
        self.output_layer.build((None, self.hparams["head_units"]))
        self.built = True

    def call(self, inputs, training=None):
        return _forward(self._layer_map(), inputs)

    def get_config(self):
        return {"name": self.name, **self.hparams}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


MULTI_INPUT = Styles(sequential=None, functional=multi_input_functional, subclass=lambda **hp: MultiInput(**hp))
