"""VGG-16 and VGG-19 (Simonyan & Zisserman 2014, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", configurations D and E).

Five blocks of 3x3 convolutions (64, 128, 256, 512, 512 filters; ReLU, "same" padding), each closed by a
2x2 max-pooling, then two 4096-unit ReLU layers and the classifier. Only 3x3 kernels: two stacked 3x3
convolutions see as far as one 5x5 with fewer parameters and one more non-linearity (seed 002 "5장").
VGG-16 has (2, 2, 3, 3, 3) convolutions per block, VGG-19 (2, 2, 4, 4, 4).

Configuration and sizes: keras.applications' arrangement (flatten, `fc1`, `fc2`, `predictions`), with the
paper's dropout of 0.5 after `fc1` and `fc2` (dropout has no parameters) and He initialisation of the
convolutions (`RELU_INITIALIZER`; the paper initialised its deeper nets from trained shallower ones). At
224x224x3 with a 1000-class top: 138,357,544 (VGG-16) and 143,667,240 (VGG-19) parameters, as
keras.applications; tests pin them.
`fc_units` (default 4096) narrows the dense layers for small runs; the canonical sizes need 4096.
"""

from __future__ import annotations

import functools

import keras

from zoo.models.cnn.common import RELU_INITIALIZER, CNNModel, flatten_top
from zoo.models.cnn.pretrained import with_weights_loader
from zoo.nn import chain_styles, check_image_classifier_args, serializable

MIN_SIZE = 32  # five 2x2 poolings bring 32 pixels down to one.
BLOCK_FILTERS = (64, 128, 256, 512, 512)
VARIANTS = {16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


def vgg_layers(
    depth: int, *, input_shape=(224, 224, 3), include_top=True, pooling=None, classes=1000,
    classifier_activation="softmax", fc_units=4096, dropout=0.5, **_,
) -> list[keras.layers.Layer]:
    """The layers of VGG-`depth`: `block{b}_conv{i}` and `block{b}_pool`, then the top.

    Args:
        depth: 16 or 19.
        input_shape: (height, width, channels), at least 32x32.
        include_top: whether to end with flatten, `fc1`, `fc2` and the classifier.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).
        fc_units: units of `fc1` and `fc2` (the paper's 4096).
        dropout: dropout rate after `fc1` and `fc2` (the paper's 0.5).

    Returns:
        The list of layers that the three styles stack.
    """
    if depth not in VARIANTS:
        raise ValueError(f"`depth` must be one of {sorted(VARIANTS)}. Received: depth={depth!r}")
    check_image_classifier_args(include_top=include_top, pooling=pooling, classes=classes,
                                input_shape=input_shape, min_size=MIN_SIZE)
    layers = []
    for block, (filters, convs) in enumerate(zip(BLOCK_FILTERS, VARIANTS[depth]), start=1):
        layers += [keras.layers.Conv2D(filters, 3, padding="same", activation="relu",
                                       kernel_initializer=RELU_INITIALIZER, name=f"block{block}_conv{i}")
                   for i in range(1, convs + 1)]
        layers.append(keras.layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool"))
    return layers + flatten_top(include_top=include_top, pooling=pooling, classes=classes,
                                classifier_activation=classifier_activation, fc_units=fc_units, dropout=dropout,
                                input_shape=input_shape)


class VGG(CNNModel):
    """VGG as a `keras.Model` subclass: the base of `VGG16` and `VGG19`, which fix `depth`.

    Args:
        input_shape: (height, width, channels), at least 32x32.
        include_top: whether to end with flatten, `fc1`, `fc2` and the classifier.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).
        fc_units: units of `fc1` and `fc2`.
        dropout: dropout rate after `fc1` and `fc2`.
    """

    depth: int | None = None

    def __init__(self, input_shape=(224, 224, 3), include_top=True, pooling=None, classes=1000,
                 classifier_activation="softmax", fc_units=4096, dropout=0.5, name=None):
        super().__init__(name=name, input_shape=tuple(input_shape), include_top=include_top, pooling=pooling,
                         classes=classes, classifier_activation=classifier_activation, fc_units=fc_units,
                         dropout=dropout)

    def make_layers(self, **hparams):
        return vgg_layers(self.depth, **hparams)


@serializable
class VGG16(VGG):
    """VGG-16 (configuration D); arguments as `VGG`.

    Example:
        >>> model = VGG16(input_shape=(32, 32, 3), classes=10, fc_units=256)
    """

    depth = 16
    default_name = "vgg16"


@serializable
class VGG19(VGG):
    """VGG-19 (configuration E); arguments as `VGG`.

    Example:
        >>> model = VGG19(input_shape=(32, 32, 3), classes=10, fc_units=256)
    """

    depth = 19
    default_name = "vgg19"


# keras.applications' legacy `.h5` files load by layer name through `zoo.models.cnn.pretrained`.
VGG16_STYLES = with_weights_loader(
    chain_styles(functools.partial(vgg_layers, 16), VGG16, "vgg16", input_name="image"), "vgg16")
VGG19_STYLES = with_weights_loader(
    chain_styles(functools.partial(vgg_layers, 19), VGG19, "vgg19", input_name="image"), "vgg19")
