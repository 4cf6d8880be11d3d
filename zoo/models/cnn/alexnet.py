"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification with Deep Convolutional Neural
Networks").

Five convolutions and three dense layers, ReLU throughout, dropout in the first two dense layers, local
response normalisation after the first two convolutions and overlapping 3x3/2 max-pooling after the
first, second and fifth (the paper's section 3 and figure 2; seed 003 "(2) AlexNet", 002 "5장").

Configuration and size: the paper's layer sizes as one network (96-256-384-384-256 kernels of 11, 5, 3, 3
and 3 pixels, 4096-4096 dense units). The paper split layers 2, 4 and 5 across two GPUs, each half seeing
only its own GPU's maps; a single device needs no split, so those layers are connected fully, as in most
re-implementations. The paper's 224x224 input only gives its 55x55 first feature map with two pixels of
padding, so the 11x11/4 convolution follows a 2-pixel zero padding. At 224x224x3 with 1000 classes:
62,378,344 parameters (conv 3,747,200, dense 58,631,144); a test pins it.
`fc_units` (default 4096) narrows the dense layers for small runs.
"""

from __future__ import annotations

import keras

from zoo.models.cnn.common import CNNModel, LocalResponseNormalization, flatten_top
from zoo.nn import chain_styles, check_image_classifier_args, serializable

# The smallest input that leaves at least one pixel after the third max-pooling.
MIN_SIZE = 63


def alexnet_layers(
    *, input_shape=(224, 224, 3), include_top=True, pooling=None, classes=1000, classifier_activation="softmax",
    fc_units=4096, dropout=0.5, **_,
) -> list[keras.layers.Layer]:
    """AlexNet's layers: `conv1`...`conv5` with `norm1`, `norm2`, `pool1`, `pool2`, `pool5`, then the top.

    Args:
        input_shape: (height, width, channels), at least 63x63.
        include_top: whether to end with flatten, `fc1`, `fc2` and the classifier.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).
        fc_units: units of the two hidden dense layers (the paper's 4096).
        dropout: dropout rate after them (the paper's 0.5).

    Returns:
        The list of layers that the three styles stack.
    """
    check_image_classifier_args(include_top=include_top, pooling=pooling, classes=classes,
                                input_shape=input_shape, min_size=MIN_SIZE)

    def conv(filters, kernel, name, **kw):
        return keras.layers.Conv2D(filters, kernel, activation="relu", name=name, **kw)

    layers = [
        keras.layers.ZeroPadding2D(2, name="conv1_pad"),
        conv(96, 11, "conv1", strides=4),
        LocalResponseNormalization(name="norm1"),
        keras.layers.MaxPooling2D(3, strides=2, name="pool1"),
        conv(256, 5, "conv2", padding="same"),
        LocalResponseNormalization(name="norm2"),
        keras.layers.MaxPooling2D(3, strides=2, name="pool2"),
        conv(384, 3, "conv3", padding="same"),
        conv(384, 3, "conv4", padding="same"),
        conv(256, 3, "conv5", padding="same"),
        keras.layers.MaxPooling2D(3, strides=2, name="pool5"),
    ]
    return layers + flatten_top(include_top=include_top, pooling=pooling, classes=classes,
                                classifier_activation=classifier_activation, fc_units=fc_units, dropout=dropout,
                                input_shape=input_shape)


@serializable
class AlexNet(CNNModel):
    """AlexNet as a `keras.Model` subclass; arguments as `zoo.build("alexnet", ...)`.

    Args:
        input_shape: (height, width, channels), at least 63x63.
        include_top: whether to end with flatten, `fc1`, `fc2` and the classifier.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).
        fc_units: units of the two hidden dense layers.
        dropout: dropout rate after them.

    Example:
        >>> model = AlexNet(input_shape=(64, 64, 1), classes=10, fc_units=256)
    """

    default_name = "alexnet"

    def __init__(self, input_shape=(224, 224, 3), include_top=True, pooling=None, classes=1000,
                 classifier_activation="softmax", fc_units=4096, dropout=0.5, name=None):
        super().__init__(name=name, input_shape=tuple(input_shape), include_top=include_top, pooling=pooling,
                         classes=classes, classifier_activation=classifier_activation, fc_units=fc_units,
                         dropout=dropout)

    make_layers = staticmethod(alexnet_layers)


ALEXNET = chain_styles(alexnet_layers, AlexNet, "alexnet", input_name="image")
