"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document recognition").

conv(6@5x5) -> subsample -> conv(16@5x5) -> subsample -> dense(120) -> dense(84) -> classifier, tanh
throughout, on a 32x32x1 input.

Configuration and size: the paper's C3 connects each map to a subset of S2's maps and its subsampling
layers have trainable coefficients; like most modern re-implementations, this one connects C3 fully and
subsamples by average pooling, and replaces the RBF output with a softmax layer. At 32x32x1 with 10
classes it has 61,706 parameters (C1 156, C3 2,416, C5 48,120, F6 10,164, output 850); a test pins it.
"""

from __future__ import annotations

import keras

from zoo.nn import ChainModel, chain_styles, check_image_classifier_args, dense_head, serializable

MIN_SIZE = 16  # two 5x5 valid convolutions and two 2x2 subsamplings leave at least 1x1.


def lenet5_layers(
    *, input_shape=(32, 32, 1), include_top=True, pooling=None, classes=10, classifier_activation="softmax",
    activation="tanh", **_,
) -> list[keras.layers.Layer]:
    """LeNet-5's layers. Without the top, `pooling` ("avg"/"max") pools C3's 16 feature maps."""
    check_image_classifier_args(include_top=include_top, pooling=pooling, classes=classes,
                                input_shape=input_shape, min_size=MIN_SIZE)
    layers = [
        keras.layers.Conv2D(6, 5, activation=activation, name="c1"),
        keras.layers.AveragePooling2D(2, name="s2"),
        keras.layers.Conv2D(16, 5, activation=activation, name="c3"),
        keras.layers.AveragePooling2D(2, name="s4"),
    ]
    if include_top:
        return layers + [
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(120, activation=activation, name="c5"),
            keras.layers.Dense(84, activation=activation, name="f6"),
            dense_head(classes, classifier_activation),
        ]
    if pooling == "avg":
        layers.append(keras.layers.GlobalAveragePooling2D(name="avg_pool"))
    elif pooling == "max":
        layers.append(keras.layers.GlobalMaxPooling2D(name="max_pool"))
    return layers


@serializable
class LeNet5(ChainModel):
    """LeNet-5 as a `keras.Model` subclass; arguments as `zoo.build("lenet5", ...)`.

    Args:
        input_shape: (height, width, channels), at least 16x16.
        include_top: whether to include the dense layers and the classifier.
        pooling: without the top, None (4D output), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).
        activation: activation of the hidden layers (the paper's tanh).

    Example:
        >>> model = LeNet5(input_shape=(32, 32, 1), classes=10)
    """

    default_name = "lenet5"

    def __init__(self, input_shape=(32, 32, 1), include_top=True, pooling=None, classes=10,
                 classifier_activation="softmax", activation="tanh", name=None):
        super().__init__(name=name, input_shape=tuple(input_shape), include_top=include_top, pooling=pooling,
                         classes=classes, classifier_activation=classifier_activation, activation=activation)

    make_layers = staticmethod(lenet5_layers)


LENET5 = chain_styles(lenet5_layers, LeNet5, "lenet5", input_name="image")
