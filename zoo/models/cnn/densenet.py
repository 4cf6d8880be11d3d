"""DenseNet-121/169/201 (Huang, Liu, van der Maaten & Weinberger 2017, "Densely Connected Convolutional
Networks").

Inside a dense block every layer receives the concatenation of all earlier feature maps and adds
`growth_rate` (32) new ones; where ResNet adds a block's output to its input, DenseNet concatenates them
(seed 002 "5장"). Each such layer is DenseNet-B's bottleneck: BN-ReLU-1x1 conv (4x growth) -BN-ReLU-3x3
conv. Between blocks, a transition layer (BN-ReLU-1x1 conv halving the channels, 2x2 average pooling)
keeps the width in check: the paper's DenseNet-BC with compression 0.5.

Stem: 7x7/2 convolution, BN-ReLU, 3x3/2 max-pooling; after the last block a final BN-ReLU. Dense blocks
of (6, 12, 24, 16) layers make DenseNet-121, (6, 12, 32, 32) DenseNet-169, (6, 12, 48, 32) DenseNet-201.
This follows keras.applications' arrangement (convolutions without biases, batch-normalisation epsilon
1.001e-5), so at 224x224x3 with a 1000-class top the counts equal its 8,062,504 / 14,307,880 /
20,242,984 parameters; tests pin them. `batch_norm_momentum` as in `zoo.models.cnn.resnet`.
"""

from __future__ import annotations

import functools

import keras

from zoo.models.cnn.common import (
    BN_EPSILON, BN_MOMENTUM, CNNModel, apply_chain, build_chain, check_positive_int, inherit_trainable,
)
from zoo.models.cnn.pretrained import with_weights_loader
from zoo.nn import chain_styles, check_image_classifier_args, image_classifier_top, serializable

MIN_SIZE = 32  # keras.applications' minimum: there the five stride-2 steps leave a 1x1 map.
GROWTH_RATE = 32
COMPRESSION = 0.5
VARIANTS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32)}


@serializable
class DenseConvBlock(keras.layers.Layer):
    """One layer of a dense block: concat(x, conv3x3(relu(bn(conv1x1(relu(bn(x))))))).

    Args:
        growth_rate: feature maps the block adds to its input.
        bottleneck_factor: the 1x1 convolution's width, as a multiple of `growth_rate` (the paper's 4).
        epsilon: batch-normalisation epsilon.
        momentum: batch-normalisation momentum of the moving statistics.

    Example:
        >>> block = DenseConvBlock(32, name="conv2_block1")
        >>> y = block(keras.ops.ones((1, 8, 8, 64)))  # (1, 8, 8, 96)
    """

    def __init__(self, growth_rate: int = GROWTH_RATE, bottleneck_factor: int = 4, epsilon: float = BN_EPSILON,
                 momentum: float = BN_MOMENTUM, **kwargs):
        super().__init__(**kwargs)
        self.growth_rate = check_positive_int("growth_rate", growth_rate)
        self.bottleneck_factor = check_positive_int("bottleneck_factor", bottleneck_factor)
        self.epsilon = epsilon
        self.momentum = momentum
        kw = {"dtype": self.dtype_policy}
        bn = {"epsilon": epsilon, "momentum": momentum, **kw}
        self.branch = [
            keras.layers.BatchNormalization(name=f"{self.name}_0_bn", **bn),
            keras.layers.Activation("relu", name=f"{self.name}_0_relu", **kw),
            keras.layers.Conv2D(bottleneck_factor * growth_rate, 1, use_bias=False, name=f"{self.name}_1_conv",
                                **kw),
            keras.layers.BatchNormalization(name=f"{self.name}_1_bn", **bn),
            keras.layers.Activation("relu", name=f"{self.name}_1_relu", **kw),
            keras.layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{self.name}_2_conv", **kw),
        ]
        self.concat = keras.layers.Concatenate(name=f"{self.name}_concat", **kw)
        inherit_trainable(self)

    def build(self, input_shape):
        new = build_chain(self.branch, input_shape)
        self.concat.build([tuple(input_shape), new])
        self.built = True

    def call(self, inputs, training=None):
        return self.concat([inputs, apply_chain(self.branch, inputs, training)])

    def compute_output_shape(self, input_shape):
        channels = None if input_shape[-1] is None else input_shape[-1] + self.growth_rate
        return (*tuple(input_shape)[:-1], channels)

    def get_config(self):
        return {**super().get_config(), "growth_rate": self.growth_rate,
                "bottleneck_factor": self.bottleneck_factor, "epsilon": self.epsilon, "momentum": self.momentum}


def densenet_layers(
    blocks, *, input_shape=(224, 224, 3), include_top=True, pooling=None, classes=1000,
    classifier_activation="softmax", batch_norm_momentum=BN_MOMENTUM, **_,
) -> list[keras.layers.Layer]:
    """The layers of a DenseNet with `blocks` layers in each of its four dense blocks.

    Args:
        blocks: four layer counts, e.g. (6, 12, 24, 16) for DenseNet-121.
        input_shape: (height, width, channels), at least 32x32.
        include_top: whether to end with global average pooling and the classifier.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).
        batch_norm_momentum: momentum of the batch-normalisation moving statistics (see `BN_MOMENTUM`).

    Returns:
        The list of layers that the three styles stack.
    """
    blocks = tuple(blocks)
    if len(blocks) != 4 or not all(isinstance(b, int) and b > 0 for b in blocks):
        raise ValueError(f"`blocks` must be four positive layer counts. Received: blocks={blocks!r}")
    check_image_classifier_args(include_top=include_top, pooling=pooling, classes=classes,
                                input_shape=input_shape, min_size=MIN_SIZE)
    layers = [
        keras.layers.ZeroPadding2D(3, name="conv1_pad"),
        keras.layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv"),
        keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=batch_norm_momentum, name="conv1_bn"),
        keras.layers.Activation("relu", name="conv1_relu"),
        keras.layers.ZeroPadding2D(1, name="pool1_pad"),
        keras.layers.MaxPooling2D(3, strides=2, name="pool1"),
    ]
    channels = 64
    for stage, count in enumerate(blocks, start=2):
        layers += [DenseConvBlock(GROWTH_RATE, momentum=batch_norm_momentum, name=f"conv{stage}_block{i}")
                   for i in range(1, count + 1)]
        channels += count * GROWTH_RATE
        if stage < 5:
            channels = int(channels * COMPRESSION)
            layers += [
                keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=batch_norm_momentum,
                                                name=f"pool{stage}_bn"),
                keras.layers.Activation("relu", name=f"pool{stage}_relu"),
                keras.layers.Conv2D(channels, 1, use_bias=False, name=f"pool{stage}_conv"),
                keras.layers.AveragePooling2D(2, strides=2, name=f"pool{stage}_pool"),
            ]
    layers += [
        keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=batch_norm_momentum, name="bn"),
        keras.layers.Activation("relu", name="relu"),
    ]
    return layers + image_classifier_top(include_top=include_top, pooling=pooling, classes=classes,
                                         classifier_activation=classifier_activation)


@serializable
class DenseNet(CNNModel):
    """A DenseNet as a `keras.Model` subclass, with any four block sizes; the variants below fix them.

    Args:
        blocks: layers in each of the four dense blocks.
        input_shape: (height, width, channels), at least 32x32.
        include_top: whether to end with global average pooling and the classifier.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).
        batch_norm_momentum: momentum of the batch-normalisation moving statistics.

    Example:
        >>> model = DenseNet121(input_shape=(64, 64, 3), classes=10)
        >>> tiny = DenseNet(blocks=(1, 1, 1, 1), input_shape=(32, 32, 1), classes=10)
    """

    default_name = "densenet"
    tuple_hparams = ("input_shape", "blocks")

    def __init__(self, blocks=(6, 12, 24, 16), input_shape=(224, 224, 3), include_top=True, pooling=None,
                 classes=1000, classifier_activation="softmax", batch_norm_momentum=BN_MOMENTUM, name=None):
        super().__init__(name=name, blocks=blocks, input_shape=tuple(input_shape), include_top=include_top,
                         pooling=pooling, classes=classes, classifier_activation=classifier_activation,
                         batch_norm_momentum=batch_norm_momentum)

    make_layers = staticmethod(densenet_layers)


class _FixedDenseNet(CNNModel):
    """A DenseNet whose block sizes are fixed by the class (`blocks`)."""

    blocks: tuple[int, ...] = ()

    def __init__(self, input_shape=(224, 224, 3), include_top=True, pooling=None, classes=1000,
                 classifier_activation="softmax", batch_norm_momentum=BN_MOMENTUM, name=None):
        super().__init__(name=name, input_shape=tuple(input_shape), include_top=include_top, pooling=pooling,
                         classes=classes, classifier_activation=classifier_activation,
                         batch_norm_momentum=batch_norm_momentum)

    def make_layers(self, **hparams):
        return densenet_layers(self.blocks, **hparams)


@serializable
class DenseNet121(_FixedDenseNet):
    """DenseNet-121 (Huang et al. 2017); arguments as `DenseNet` without `blocks`."""

    blocks = VARIANTS[121]
    default_name = "densenet121"


@serializable
class DenseNet169(_FixedDenseNet):
    """DenseNet-169 (Huang et al. 2017); arguments as `DenseNet` without `blocks`."""

    blocks = VARIANTS[169]
    default_name = "densenet169"


@serializable
class DenseNet201(_FixedDenseNet):
    """DenseNet-201 (Huang et al. 2017); arguments as `DenseNet` without `blocks`."""

    blocks = VARIANTS[201]
    default_name = "densenet201"


def _styles(cls: type[_FixedDenseNet]):
    # keras.applications' weights files load through `zoo.models.cnn.pretrained` (by weight path).
    styles = chain_styles(functools.partial(densenet_layers, cls.blocks), cls, cls.default_name, input_name="image")
    return with_weights_loader(styles, cls.default_name)


DENSENET121 = _styles(DenseNet121)
DENSENET169 = _styles(DenseNet169)
DENSENET201 = _styles(DenseNet201)
