"""FCN: fully convolutional networks for semantic segmentation (Long, Shelhamer & Darrell 2015,
"Fully Convolutional Networks for Semantic Segmentation").

A classification network becomes a segmenter when every layer is a convolution: the encoder (VGG-16's
convolution blocks, each ending in 2x2 max-pooling) turns the image into a coarse feature map; its dense
layers become convolutions (`fc6`, a `fc_kernel` x `fc_kernel` convolution, and `fc7`, a 1x1 convolution,
with dropout), and a 1x1 convolution (`score_fr`) scores every class at every coarse position. A
transposed convolution ("deconvolution", initialised to bilinear interpolation and learned) upsamples the
scores back to the input's size, and a per-pixel softmax gives class probabilities.

Skip connections (`skips`) refine the coarse prediction with finer layers, as the paper's FCN-16s and
FCN-8s do: each skip upsamples the scores 2x (`upscore2_{i}`), adds 1x1-convolution scores of the pooling
output one level up (`score_pool{k}`, zero-initialised so training starts from the coarser net), and the
final transposed convolution upsamples the rest of the way. With the VGG-16 encoder, `skips=0` is FCN-32s,
1 is FCN-16s and 2 is FCN-8s. Only the skip-free model is a plain chain of layers, so the sequential style
builds `skips=0` only.

Configuration and size. The defaults are the paper's VGG-16 FCN for PASCAL VOC (21 classes) at 224x224x3,
skip-free (FCN-32s): 136,152,917 parameters (VGG-16's convolutions 14,714,688; fc6 as a 7x7 convolution
102,764,544; fc7 16,781,312; score_fr 86,037; the 64x64 stride-32 upscore32 1,806,336). FCN-8s (`skips=2`)
has 134,489,759: two 4x4 upscore2 layers of 7,056, score_pool4 10,773 and score_pool3 5,397, and a 16x16
stride-8 upscore8 of 112,896. Like the authors' Caffe models, the transposed convolutions have no bias.
Unlike them, convolutions pad "same" instead of padding the input by 100 pixels and cropping, so the height
and width must be multiples of the encoder's stride (2 ** len(block_filters)); a test pins both counts.
The `small` configuration (two blocks, stride 4, 32x32x3, 4 classes) trains on `synthetic_shapes` in under
a minute on two CPU cores.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np

from zoo.nn import Styles, check_positive_int, sequential_model, serializable

VGG16_BLOCK_FILTERS = (64, 128, 256, 512, 512)
VGG16_BLOCK_CONVS = (2, 2, 3, 3, 3)
# For deep ReLU stacks without normalisation (He et al. 2015); changes no parameter count.
RELU_INITIALIZER = "he_normal"
TUPLE_HPARAMS = ("input_shape", "block_filters", "block_convs")


@serializable
class BilinearUpsampling(keras.initializers.Initializer):
    """Initialises a transposed-convolution kernel to bilinear interpolation, channel by channel.

    For a kernel of shape (k, k, out_channels, in_channels), channel c of the output receives the bilinear
    filter of channel c of the input and nothing from the others, so with stride k / 2 the layer starts as
    bilinear upsampling (the paper's initialisation), which training then refines.
    """

    def __call__(self, shape, dtype=None):
        kernel_h, kernel_w, out_channels, in_channels = shape
        filter_2d = np.outer(_bilinear_1d(kernel_h), _bilinear_1d(kernel_w))
        weights = np.zeros(shape, dtype="float32")
        for c in range(min(out_channels, in_channels)):
            weights[:, :, c, c] = filter_2d
        return keras.ops.convert_to_tensor(weights, dtype=dtype)

    def get_config(self):
        return {}


def _bilinear_1d(size: int) -> np.ndarray:
    factor = (size + 1) // 2
    centre = factor - 1 if size % 2 == 1 else factor - 0.5
    return 1.0 - np.abs(np.arange(size) - centre) / factor


@dataclasses.dataclass
class FCNLayers:
    """The layers of an FCN, grouped by role (one set of layer objects, shared by all three styles).

    Attributes:
        blocks: per encoder block, its convolutions then its max-pooling.
        head: fc6, its dropout, fc7, its dropout, and the class scores `score_fr`.
        skips: per skip connection, deepest first: (2x upsampling of the scores, scores of the pooling output
            one level up, the sum).
        upsample: the final transposed convolution, back to the input's size (float32).
        activation: the per-pixel classifier activation (float32).
    """

    blocks: list[list[keras.layers.Layer]]
    head: list[keras.layers.Layer]
    skips: list[tuple[keras.layers.Layer, keras.layers.Layer, keras.layers.Layer]]
    upsample: keras.layers.Layer
    activation: keras.layers.Layer

    def in_call_order(self) -> list[keras.layers.Layer]:
        """Every layer in the order the forward pass first calls it (the order of the functional model's weights)."""
        layers = [layer for block in self.blocks for layer in block] + list(self.head)
        for upscore, score_pool, fuse in self.skips:
            layers += [upscore, score_pool, fuse]
        return layers + [self.upsample, self.activation]


def check_fcn_args(*, input_shape, classes, block_filters, block_convs, fc_units, fc_kernel, dropout, skips,
                   classifier_activation) -> tuple:
    """Validate FCN hyperparameters (one-line ValueErrors naming what was received); return input_shape."""
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"`input_shape` must be (height, width, channels). Received: input_shape={input_shape!r}")
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise ValueError(f"`classes` must be an integer of at least 2. Received: classes={classes!r}")
    for name, value in (("block_filters", block_filters), ("block_convs", block_convs)):
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError(f"`{name}` must list one entry per encoder block. Received: {name}={value!r}")
        for v in value:
            check_positive_int(name, v)
    if len(block_filters) != len(block_convs):
        raise ValueError("`block_filters` and `block_convs` must have one entry per encoder block each. "
                         f"Received: block_filters={tuple(block_filters)!r}, block_convs={tuple(block_convs)!r}")
    check_positive_int("fc_units", fc_units)
    check_positive_int("fc_kernel", fc_kernel)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be a number in [0, 1). Received: dropout={dropout!r}")
    if isinstance(skips, bool) or not isinstance(skips, int) or not 0 <= skips < len(block_filters):
        raise ValueError(f"`skips` must be an integer from 0 to {len(block_filters) - 1} (one less than the "
                         f"number of encoder blocks). Received: skips={skips!r}")
    if classifier_activation is not None and not isinstance(classifier_activation, str):
        raise ValueError("`classifier_activation` must be an activation name or None. "
                         f"Received: classifier_activation={classifier_activation!r}")
    stride = 2 ** len(block_filters)
    if any(d is not None and (d < stride or d % stride) for d in shape[:2]):
        raise ValueError(f"`input_shape` needs a height and width that are multiples of the encoder's stride "
                         f"{stride} (2 ** {len(block_filters)} blocks). Received: input_shape={input_shape!r}")
    return shape


def fcn_layers(
    *, input_shape=(224, 224, 3), classes=21, block_filters=VGG16_BLOCK_FILTERS, block_convs=VGG16_BLOCK_CONVS,
    fc_units=4096, fc_kernel=7, dropout=0.5, skips=0, classifier_activation="softmax", **_,
) -> FCNLayers:
    """Create an FCN's layers (unbuilt), named as in the paper's Caffe models.

    Args:
        input_shape: (height, width, channels); height and width multiples of 2 ** len(block_filters), or None.
        classes: number of classes, the background included.
        block_filters: filters of each encoder block's 3x3 convolutions (VGG-16's by default).
        block_convs: convolutions per encoder block (VGG-16's by default).
        fc_units: filters of fc6 and fc7.
        fc_kernel: kernel size of fc6 (7: VGG-16's first dense layer, as a convolution).
        dropout: dropout rate after fc6 and after fc7.
        skips: skip connections from finer pooling outputs (0: FCN-32s-like, 1: FCN-16s, 2: FCN-8s).
        classifier_activation: per-pixel activation of the output ("softmax"; None for logits).

    Returns:
        An `FCNLayers`.
    """
    check_fcn_args(input_shape=input_shape, classes=classes, block_filters=block_filters, block_convs=block_convs,
                   fc_units=fc_units, fc_kernel=fc_kernel, dropout=dropout, skips=skips,
                   classifier_activation=classifier_activation)
    blocks = []
    for b, (filters, convs) in enumerate(zip(block_filters, block_convs), start=1):
        block = [keras.layers.Conv2D(filters, 3, padding="same", activation="relu",
                                     kernel_initializer=RELU_INITIALIZER, name=f"block{b}_conv{c}")
                 for c in range(1, convs + 1)]
        blocks.append(block + [keras.layers.MaxPooling2D(2, name=f"block{b}_pool")])
    head = [
        keras.layers.Conv2D(fc_units, fc_kernel, padding="same", activation="relu",
                            kernel_initializer=RELU_INITIALIZER, name="fc6"),
        keras.layers.Dropout(dropout, name="drop6"),
        keras.layers.Conv2D(fc_units, 1, activation="relu", kernel_initializer=RELU_INITIALIZER, name="fc7"),
        keras.layers.Dropout(dropout, name="drop7"),
        keras.layers.Conv2D(classes, 1, name="score_fr"),
    ]
    deepest = len(block_filters)
    skip_layers = []
    for i in range(1, skips + 1):
        level = deepest - i  # the pooling output this skip reads
        skip_layers.append((
            keras.layers.Conv2DTranspose(classes, 4, strides=2, padding="same", use_bias=False,
                                         kernel_initializer=BilinearUpsampling(), name=f"upscore2_{i}"),
            keras.layers.Conv2D(classes, 1, kernel_initializer="zeros", name=f"score_pool{level}"),
            keras.layers.Add(name=f"fuse_pool{level}"),
        ))
    factor = 2 ** (deepest - skips)
    upsample = keras.layers.Conv2DTranspose(
        classes, 2 * factor, strides=factor, padding="same", use_bias=False, kernel_initializer=BilinearUpsampling(),
        dtype="float32", name=f"upscore{factor}",
    )
    activation = keras.layers.Activation(classifier_activation or "linear", dtype="float32", name="predictions")
    return FCNLayers(blocks, head, skip_layers, upsample, activation)


def fcn_forward(layers: FCNLayers, x, training=None):
    """The FCN's forward pass: encoder, head, skip fusions (deepest first), final upsampling, activation."""
    pooled = []
    for block in layers.blocks:
        for layer in block:
            x = layer(x, training=training)
        pooled.append(x)
    for layer in layers.head:
        x = layer(x, training=training)
    # Skip i reads the pooling output i levels above the deepest one.
    for (upscore, score_pool, fuse), finer in zip(layers.skips, reversed(pooled[:-1])):
        x = fuse([upscore(x), score_pool(finer)])
    return layers.activation(layers.upsample(x))


@serializable
class FCN(keras.Model):
    """FCN as a `keras.Model` subclass; arguments as `fcn_layers` (and `zoo.build("fcn", ...)`).

    Example:
        >>> model = FCN(input_shape=(32, 32, 3), classes=4, block_filters=(16, 32, 64), block_convs=(1, 1, 2),
        ...             fc_units=64, fc_kernel=3, dropout=0.0, skips=2)
    """

    def __init__(self, input_shape=(224, 224, 3), classes=21, block_filters=VGG16_BLOCK_FILTERS,
                 block_convs=VGG16_BLOCK_CONVS, fc_units=4096, fc_kernel=7, dropout=0.5, skips=0,
                 classifier_activation="softmax", name="fcn", **kwargs):
        super().__init__(name=name, **kwargs)
        self.hparams = _tuples(dict(
            input_shape=input_shape, classes=classes, block_filters=block_filters, block_convs=block_convs,
            fc_units=fc_units, fc_kernel=fc_kernel, dropout=dropout, skips=skips,
            classifier_activation=classifier_activation,
        ))
        self.parts = fcn_layers(**self.hparams)
        # Tracked in call order, so the weights come in the functional model's order.
        self.stack = self.parts.in_call_order()
        self.build((None, *self.hparams["input_shape"]))

    def build(self, input_shape):
        # Building through a symbolic call builds every layer on the shape it will see.
        fcn_forward(self.parts, keras.KerasTensor(tuple(input_shape)))
        self.built = True

    def call(self, inputs, training=None):
        return fcn_forward(self.parts, inputs, training=training)

    def get_config(self):
        return {"name": self.name, **self.hparams}

    @classmethod
    def from_config(cls, config):
        return cls(**_tuples(dict(config)))


def _tuples(hparams: dict[str, Any]) -> dict[str, Any]:
    """JSON returns tuples as lists; give the tuple-valued hyperparameters back their type."""
    for key in TUPLE_HPARAMS:
        if isinstance(hparams.get(key), list):
            hparams[key] = tuple(hparams[key])
    return hparams


def _sequential(**hparams):
    if hparams.get("skips", 0):
        raise ValueError(
            f"fcn with skips={hparams['skips']} adds finer pooling outputs to the upsampled scores, which a "
            "keras.Sequential cannot express; use style='functional' or 'subclass', or skips=0."
        )
    parts = fcn_layers(**hparams)
    return sequential_model(hparams["input_shape"], parts.in_call_order(), "fcn", input_name="image")


def _functional(**hparams):
    inputs = keras.Input(shape=tuple(hparams["input_shape"]), name="image")
    return keras.Model(inputs, fcn_forward(fcn_layers(**hparams), inputs), name="fcn")


FCN_STYLES = Styles(sequential=_sequential, functional=_functional, subclass=lambda **hp: FCN(**hp))
