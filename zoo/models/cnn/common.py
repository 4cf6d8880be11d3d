"""Pieces shared by the convolutional networks of catalog section C.

The block layers of the individual architectures (residual, dense and inception blocks) live with their
architecture; this module holds what several of them use: building and applying a chain of sublayers,
freezing that reaches every sublayer, the local response normalisation of AlexNet and GoogLeNet, the
flatten-and-dense top of AlexNet and VGG, argument checks, and a `ChainModel` base that turns JSON lists
back into tuples.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras

from zoo.nn import ChainModel, check_positive_int, dense_head, image_classifier_top, serializable

# keras.applications' batch-normalisation epsilon (from the Caffe models its ImageNet weights came from).
BN_EPSILON = 1.001e-5
# keras.applications' (and Keras') batch-normalisation momentum: the moving statistics average over about
# 100 steps, right for ImageNet's thousands of steps per epoch. A small dataset (digits: 40 steps an
# epoch) needs a lower momentum, or the statistics used for validation lag far behind the weights.
BN_MOMENTUM = 0.99
# For deep ReLU networks without batch normalisation (VGG, GoogLeNet): He et al. 2015 ("Delving Deep into
# Rectifiers") initialisation keeps the signal's scale through the layers, so they train from scratch in a
# few epochs; with Keras' default (Glorot) they sit at chance for several. It changes no parameter count.
RELU_INITIALIZER = "he_normal"


def build_chain(layers: Sequence[keras.layers.Layer], input_shape) -> tuple:
    """Build `layers` one after another from `input_shape`; return the last layer's output shape."""
    shape = tuple(input_shape)
    for layer in layers:
        if not layer.built:
            layer.build(shape)
        shape = tuple(layer.compute_output_shape(shape))
    return shape


def chain_output_shape(layers: Sequence[keras.layers.Layer], input_shape) -> tuple:
    """The output shape of `layers` applied one after another to `input_shape`."""
    shape = tuple(input_shape)
    for layer in layers:
        shape = tuple(layer.compute_output_shape(shape))
    return shape


def set_trainable(layer: keras.layers.Layer, value: bool) -> None:
    """Set `layer.trainable` and pass it on to all its sublayers and variables, always.

    Under the TensorFlow backend `layer.trainable = value` does nothing when the flag already has that
    value (TF's attribute tracking short-circuits `x.a = x.a`), even if sublayers differ; calling the
    property's setter itself always propagates.
    """
    keras.layers.Layer.trainable.fset(layer, bool(value))


def inherit_trainable(layer: keras.layers.Layer) -> None:
    """Give the sublayers that `layer` created in its constructor the layer's own `trainable` flag.

    Keras passes a saved `trainable=False` to a layer's constructor before the layer creates its
    sublayers, so without this a frozen block would reload with trainable sublayers. Call it at the end
    of the constructor of every layer that owns sublayers.
    """
    if not layer.trainable:
        set_trainable(layer, False)


def apply_chain(layers: Sequence[keras.layers.Layer], x, training=None):
    """Apply `layers` one after another."""
    for layer in layers:
        x = layer(x, training=training)
    return x


@serializable
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels (Krizhevsky et al. 2012, section 3.3).

    b[c] = a[c] / (bias + alpha * sum(a[j]**2 for j within `depth_radius` channels of c)) ** beta,
    with the paper's constants k=2, n=5 (radius 2), alpha=1e-4, beta=0.75 as defaults. It has no weights.
    The sum is computed with a cumulative sum over zero-padded channels, which works on every backend.

    Args:
        depth_radius: half-width of the channel window (the paper's n = 2 * depth_radius + 1).
        bias: the paper's k.
        alpha: scale of the sum of squares.
        beta: exponent.

    Example:
        >>> layer = LocalResponseNormalization(name="norm1")
        >>> y = layer(keras.ops.ones((1, 4, 4, 8)))
    """

    def __init__(self, depth_radius: int = 2, bias: float = 2.0, alpha: float = 1e-4, beta: float = 0.75,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(depth_radius, int) or depth_radius < 0:
            raise ValueError(f"`depth_radius` must be a non-negative integer. Received: depth_radius={depth_radius!r}")
        self.depth_radius = depth_radius
        self.bias = bias
        self.alpha = alpha
        self.beta = beta

    def call(self, inputs):
        ops = keras.ops
        # Squares summed in float32: under mixed_bfloat16 a sum of squares loses most of its digits.
        x = ops.cast(inputs, "float32")
        squares = ops.square(x)
        r = self.depth_radius
        padded = ops.pad(squares, [[0, 0]] * (len(inputs.shape) - 1) + [[r + 1, r]])
        cumulative = ops.cumsum(padded, axis=-1)
        window = cumulative[..., 2 * r + 1:] - cumulative[..., : -(2 * r + 1)]
        scale = ops.power(self.bias + self.alpha * window, -self.beta)
        return ops.cast(x * scale, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "depth_radius": self.depth_radius, "bias": self.bias,
                "alpha": self.alpha, "beta": self.beta}


def flatten_top(*, include_top: bool, pooling: str | None, classes: int, classifier_activation: str | None,
                fc_units: int, dropout: float, input_shape) -> list[keras.layers.Layer]:
    """AlexNet's and VGG's top: flatten, two ReLU dense layers (`fc1`, `fc2`) with dropout, classifier.

    Without the top, the pooling asked for (or nothing). The flattened size depends on the input size,
    so the top needs a fixed height and width.
    """
    if not include_top:
        return image_classifier_top(include_top=False, pooling=pooling, classes=classes,
                                    classifier_activation=classifier_activation)
    if None in tuple(input_shape)[:2]:
        raise ValueError(
            "include_top=True flattens the feature map, so `input_shape` needs a fixed height and width. "
            f"Received: input_shape={tuple(input_shape)!r}"
        )
    check_positive_int("fc_units", fc_units)
    check_rate("dropout", dropout)
    return [
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(fc_units, activation="relu", name="fc1"),
        keras.layers.Dropout(dropout, name="fc1_dropout"),
        keras.layers.Dense(fc_units, activation="relu", name="fc2"),
        keras.layers.Dropout(dropout, name="fc2_dropout"),
        dense_head(classes, classifier_activation),
    ]


def check_rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")
    return float(value)


class CNNModel(ChainModel):
    """`ChainModel` whose tuple-valued hyperparameters come back as tuples from a `.keras` file.

    Subclasses list those hyperparameters in `tuple_hparams` (JSON turns tuples into lists, and a list
    would make the reloaded model's config differ from the saved one).
    """

    tuple_hparams: tuple[str, ...] = ("input_shape",)

    def __init__(self, name: str | None = None, **hparams: Any):
        for key in self.tuple_hparams:
            if isinstance(hparams.get(key), list):
                hparams[key] = tuple(hparams[key])
        super().__init__(name=name, **hparams)

    @classmethod
    def from_config(cls, config):
        return cls(**config)
