"""ResNet-18/34/50/101/152 (He, Zhang, Ren & Sun 2015, "Deep Residual Learning for Image Recognition").

A 7x7/2 convolution and a 3x3/2 max-pooling, then four stages of residual blocks (64, 128, 256 and 512
filters; every stage after the first halves the resolution in its first block), global average pooling
and the classifier. A residual block adds its input (the shortcut) to what its convolutions compute, so
each block learns a correction to the identity; that is what lets 152 layers train.

- ResNet-18 and -34 stack *basic* blocks (two 3x3 convolutions); ResNet-50, -101 and -152 stack
  *bottleneck* blocks (1x1 reduce, 3x3, 1x1 expand to 4x the filters), which keep the 3x3 convolution
  narrow (seed 002 "5장": the 1x1 bottleneck cuts parameters).
- Shortcuts are identities, except where the shape changes (a stride or a new channel count), where a
  1x1 convolution with batch normalisation projects the input: the paper's option B.

Configuration and sizes, at 224x224x3 with a 1000-class top:
- ResNet-50/101/152 follow keras.applications' arrangement of the paper (convolutions with biases, the
  stride on the block's first 1x1 convolution, batch-normalisation epsilon 1.001e-5) and have exactly its
  25,636,712 / 44,707,176 / 60,419,944 parameters.
- ResNet-18/34 (not in keras.applications) follow the paper's table 1 with basic blocks; their
  convolutions have no bias, since the batch normalisation after each one has its own shift (as in
  torchvision's and the authors' Torch models). Keras counts 11,699,112 and 21,814,696 parameters; of
  those, 11,689,512 and 21,797,672 are trainable (torchvision's figures), the rest being batch
  normalisation's moving statistics.
Tests pin all five counts.

`batch_norm_momentum` (default 0.99, keras.applications') sets how fast the moving statistics follow the
batches; small datasets with few steps an epoch want less (the `small` configuration uses 0.9).
"""

from __future__ import annotations

import functools

import keras

from zoo.models.cnn.common import (
    BN_EPSILON, BN_MOMENTUM, CNNModel, apply_chain, build_chain, chain_output_shape, inherit_trainable,
)
from zoo.models.cnn.pretrained import with_weights_loader
from zoo.nn import chain_styles, check_image_classifier_args, image_classifier_top, serializable

MIN_SIZE = 32  # keras.applications' minimum: there the five stride-2 steps leave a 1x1 map.
STAGE_FILTERS = (64, 128, 256, 512)

# depth -> (bottleneck blocks?, blocks per stage, convolutions with biases?)
VARIANTS = {
    18: (False, (2, 2, 2, 2), False),
    34: (False, (3, 4, 6, 3), False),
    50: (True, (3, 4, 6, 3), True),
    101: (True, (3, 4, 23, 3), True),
    152: (True, (3, 8, 36, 3), True),
}


@serializable
class ResidualBlock(keras.layers.Layer):
    """One residual block of He et al. 2015: relu(shortcut(x) + F(x)).

    Args:
        filters: filters of the block's convolutions; a bottleneck block outputs 4x as many channels.
        bottleneck: True for 1x1-3x3-1x1 (ResNet-50 and deeper), False for two 3x3 convolutions.
        stride: stride of the block's first convolution (2 at the start of stages 3-5).
        projection: project the shortcut with a 1x1 convolution and batch normalisation; needed when the
            stride is not 1 or the input does not have the block's output channels.
        use_bias: whether the convolutions have biases.
        epsilon: batch-normalisation epsilon.
        momentum: batch-normalisation momentum of the moving statistics.

    Sublayers are named after the block (`{name}_0_conv` is the projection, `{name}_1_conv`... the
    residual branch), as in keras.applications, so weight files stay readable.

    Example:
        >>> block = ResidualBlock(64, bottleneck=True, projection=True, name="conv2_block1")
        >>> y = block(keras.ops.ones((1, 8, 8, 64)))  # (1, 8, 8, 256)
    """

    def __init__(self, filters: int, bottleneck: bool = True, stride: int = 1, projection: bool = False,
                 use_bias: bool = True, epsilon: float = BN_EPSILON, momentum: float = BN_MOMENTUM, **kwargs):
        super().__init__(**kwargs)
        if stride not in (1, 2):
            raise ValueError(f"`stride` must be 1 or 2. Received: stride={stride!r}")
        self.filters = filters
        self.bottleneck = bottleneck
        self.stride = stride
        self.projection = projection
        self.use_bias = use_bias
        self.epsilon = epsilon
        self.momentum = momentum
        self.output_channels = filters * 4 if bottleneck else filters
        if stride != 1 and not projection:
            raise ValueError(f"{self.name}: a block with stride {stride} needs projection=True.")

        def conv(units, kernel, strides, index):
            return keras.layers.Conv2D(units, kernel, strides=strides, padding="same", use_bias=use_bias,
                                       name=f"{self.name}_{index}_conv", dtype=self.dtype_policy)

        def norm(index):
            return keras.layers.BatchNormalization(epsilon=epsilon, momentum=momentum,
                                                   name=f"{self.name}_{index}_bn", dtype=self.dtype_policy)

        self.shortcut = [conv(self.output_channels, 1, stride, 0), norm(0)] if projection else []
        if bottleneck:
            convs = [(filters, 1, stride), (filters, 3, 1), (self.output_channels, 1, 1)]
        else:
            convs = [(filters, 3, stride), (self.output_channels, 3, 1)]
        self.residual = []
        for index, (units, kernel, strides) in enumerate(convs, start=1):
            self.residual += [conv(units, kernel, strides, index), norm(index)]
            if index < len(convs):
                self.residual.append(keras.layers.Activation("relu", name=f"{self.name}_{index}_relu",
                                                             dtype=self.dtype_policy))
        self.merge = keras.layers.Add(name=f"{self.name}_add", dtype=self.dtype_policy)
        self.out = keras.layers.Activation("relu", name=f"{self.name}_out", dtype=self.dtype_policy)
        inherit_trainable(self)

    def build(self, input_shape):
        if not self.projection and input_shape[-1] != self.output_channels:
            raise ValueError(
                f"{self.name}: an identity shortcut needs {self.output_channels} input channels; use "
                f"projection=True. Received: input_shape={tuple(input_shape)!r}"
            )
        build_chain(self.shortcut, input_shape)
        shape = build_chain(self.residual, input_shape)
        self.merge.build([shape, shape])
        self.out.build(shape)
        self.built = True

    def call(self, inputs, training=None):
        shortcut = apply_chain(self.shortcut, inputs, training)
        residual = apply_chain(self.residual, inputs, training)
        return self.out(self.merge([shortcut, residual]))

    def compute_output_shape(self, input_shape):
        return chain_output_shape(self.residual, input_shape)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "bottleneck": self.bottleneck,
                "stride": self.stride, "projection": self.projection, "use_bias": self.use_bias,
                "epsilon": self.epsilon, "momentum": self.momentum}


def resnet_layers(
    depth: int, *, input_shape=(224, 224, 3), include_top=True, pooling=None, classes=1000,
    classifier_activation="softmax", batch_norm_momentum=BN_MOMENTUM, **_,
) -> list[keras.layers.Layer]:
    """The layers of ResNet-`depth`, in order: stem, residual blocks, top.

    Args:
        depth: 18, 34, 50, 101 or 152.
        input_shape: (height, width, channels), at least 32x32.
        include_top: whether to end with global average pooling and the classifier.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).
        batch_norm_momentum: momentum of the batch-normalisation moving statistics (see `BN_MOMENTUM`).

    Returns:
        The list of layers that the three styles stack.
    """
    if depth not in VARIANTS:
        raise ValueError(f"`depth` must be one of {sorted(VARIANTS)}. Received: depth={depth!r}")
    check_image_classifier_args(include_top=include_top, pooling=pooling, classes=classes,
                                input_shape=input_shape, min_size=MIN_SIZE)
    bottleneck, blocks, use_bias = VARIANTS[depth]
    layers = [
        keras.layers.ZeroPadding2D(3, name="conv1_pad"),
        keras.layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv"),
        keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=batch_norm_momentum, name="conv1_bn"),
        keras.layers.Activation("relu", name="conv1_relu"),
        keras.layers.ZeroPadding2D(1, name="pool1_pad"),
        keras.layers.MaxPooling2D(3, strides=2, name="pool1_pool"),
    ]
    channels = 64
    for stage, (filters, count) in enumerate(zip(STAGE_FILTERS, blocks), start=2):
        for index in range(1, count + 1):
            stride = 2 if index == 1 and stage > 2 else 1
            out = filters * 4 if bottleneck else filters
            layers.append(ResidualBlock(filters, bottleneck=bottleneck, stride=stride,
                                        projection=stride != 1 or channels != out, use_bias=use_bias,
                                        momentum=batch_norm_momentum, name=f"conv{stage}_block{index}"))
            channels = out
    return layers + image_classifier_top(include_top=include_top, pooling=pooling, classes=classes,
                                         classifier_activation=classifier_activation)


class ResNet(CNNModel):
    """ResNet as a `keras.Model` subclass: the base of `ResNet18` ... `ResNet152`, which fix `depth`.

    Args:
        input_shape: (height, width, channels), at least 32x32.
        include_top: whether to end with global average pooling and the classifier.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).
        batch_norm_momentum: momentum of the batch-normalisation moving statistics.

    Example:
        >>> model = ResNet50(input_shape=(64, 64, 3), classes=10)
    """

    depth: int | None = None

    def __init__(self, input_shape=(224, 224, 3), include_top=True, pooling=None, classes=1000,
                 classifier_activation="softmax", batch_norm_momentum=BN_MOMENTUM, name=None):
        super().__init__(name=name, input_shape=tuple(input_shape), include_top=include_top, pooling=pooling,
                         classes=classes, classifier_activation=classifier_activation,
                         batch_norm_momentum=batch_norm_momentum)

    def make_layers(self, **hparams):
        return resnet_layers(self.depth, **hparams)


@serializable
class ResNet18(ResNet):
    """ResNet-18 (He et al. 2015); arguments as `ResNet`."""

    depth = 18
    default_name = "resnet18"


@serializable
class ResNet34(ResNet):
    """ResNet-34 (He et al. 2015); arguments as `ResNet`."""

    depth = 34
    default_name = "resnet34"


@serializable
class ResNet50(ResNet):
    """ResNet-50 (He et al. 2015); arguments as `ResNet`."""

    depth = 50
    default_name = "resnet50"


@serializable
class ResNet101(ResNet):
    """ResNet-101 (He et al. 2015); arguments as `ResNet`."""

    depth = 101
    default_name = "resnet101"


@serializable
class ResNet152(ResNet):
    """ResNet-152 (He et al. 2015); arguments as `ResNet`."""

    depth = 152
    default_name = "resnet152"


# Weights files (the zoo's own, and keras.applications' for ResNet-50/101/152) load through
# `zoo.models.cnn.pretrained`, which maps keras.applications' layout onto the nested blocks.
RESNET18 = with_weights_loader(
    chain_styles(functools.partial(resnet_layers, 18), ResNet18, "resnet18", input_name="image"), "resnet18")
RESNET34 = with_weights_loader(
    chain_styles(functools.partial(resnet_layers, 34), ResNet34, "resnet34", input_name="image"), "resnet34")
RESNET50 = with_weights_loader(
    chain_styles(functools.partial(resnet_layers, 50), ResNet50, "resnet50", input_name="image"), "resnet50")
RESNET101 = with_weights_loader(
    chain_styles(functools.partial(resnet_layers, 101), ResNet101, "resnet101", input_name="image"), "resnet101")
RESNET152 = with_weights_loader(
    chain_styles(functools.partial(resnet_layers, 152), ResNet152, "resnet152", input_name="image"), "resnet152")
