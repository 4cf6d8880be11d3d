"""GoogLeNet, Inception v1 (Szegedy et al. 2014, "Going Deeper with Convolutions").

Nine inception modules between a convolutional stem and global average pooling. An inception module runs
four branches side by side on the same input (1x1; 1x1 then 3x3; 1x1 then 5x5; 3x3 max-pooling then 1x1)
and concatenates them; the 1x1 convolutions in front of the 3x3 and 5x5 ones reduce the channels first,
which is what keeps a 22-layer network at a few million parameters (seed 003 "(3) GooLeNet", 002 "5장").
During training the paper adds two auxiliary classifiers on modules 4a and 4d (5x5/3 average pooling,
1x1 convolution with 128 filters, 1024-unit ReLU layer, 70% dropout, softmax), whose losses count 0.3.

Configuration and size: the paper's table 1 and figure 3, with every convolution followed by ReLU and
carrying a bias, local response normalisation after the first max-pooling and after the 3x3 stem
convolution, "same"-padded 3x3/2 max-poolings, global average pooling (the paper's 7x7 average pooling at
224x224), 40% dropout and the classifier; He initialisation of the convolutions (`RELU_INITIALIZER`; the
paper leaned on its auxiliary classifiers and a long SGD schedule instead). At 224x224x3 with 1000
classes: 6,998,552 parameters without the auxiliary classifiers, 13,378,280 with them (each adds
3,189,864); tests pin both.

Auxiliary classifiers (`aux_heads=True`) make a three-output model `[main, aux_4a, aux_4d]`; compile it
with `loss=[loss] * 3, loss_weights=AUX_LOSS_WEIGHTS`. A `keras.Sequential` cannot have three outputs, so
the sequential style raises for `aux_heads=True`. For inference, keep the first output.
"""

from __future__ import annotations

import keras

from zoo.models.cnn.common import (
    RELU_INITIALIZER, CNNModel, LocalResponseNormalization, apply_chain, build_chain, chain_output_shape,
    check_rate, inherit_trainable,
)
from zoo.nn import (
    Styles, check_image_classifier_args, dense_head, image_classifier_top, sequential_model, serializable,
)

MIN_SIZE = 32  # as keras.applications' networks: there the five stride-2 steps leave a 1x1 map.
# The auxiliary classifiers' 5x5 average pooling needs a 5x5 map at module 4a, which is 1/16 of the input.
MIN_SIZE_AUX = 65
AUX_LOSS_WEIGHTS = (1.0, 0.3, 0.3)
AUX_AFTER = ("inception_4a", "inception_4d")

# The paper's table 1: module -> (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj).
MODULES = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


@serializable
class InceptionModule(keras.layers.Layer):
    """An inception module with dimension reductions (Szegedy et al. 2014, figure 2b).

    Args:
        filters: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj) as in the paper's table 1.

    Its output has #1x1 + #3x3 + #5x5 + pool proj channels, at the input's resolution.

    Example:
        >>> module = InceptionModule((64, 96, 128, 16, 32, 32), name="inception_3a")
        >>> y = module(keras.ops.ones((1, 28, 28, 192)))  # (1, 28, 28, 256)
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        filters = tuple(filters)
        if len(filters) != 6 or not all(isinstance(f, int) and f > 0 for f in filters):
            raise ValueError(f"`filters` must be six positive integers. Received: filters={filters!r}")
        self.filters = filters
        n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj = filters
        p = self.name

        def conv(units, kernel, suffix):
            return keras.layers.Conv2D(units, kernel, padding="same", activation="relu", name=f"{p}_{suffix}",
                                       kernel_initializer=RELU_INITIALIZER, dtype=self.dtype_policy)

        self.branch_1x1 = [conv(n1x1, 1, "1x1")]
        self.branch_3x3 = [conv(n3x3_reduce, 1, "3x3_reduce"), conv(n3x3, 3, "3x3")]
        self.branch_5x5 = [conv(n5x5_reduce, 1, "5x5_reduce"), conv(n5x5, 5, "5x5")]
        self.branch_pool = [
            keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{p}_pool", dtype=self.dtype_policy),
            conv(pool_proj, 1, "pool_proj"),
        ]
        self.concat = keras.layers.Concatenate(name=f"{p}_output", dtype=self.dtype_policy)
        inherit_trainable(self)

    @property
    def branches(self):
        return (self.branch_1x1, self.branch_3x3, self.branch_5x5, self.branch_pool)

    def build(self, input_shape):
        self.concat.build([build_chain(branch, input_shape) for branch in self.branches])
        self.built = True

    def call(self, inputs, training=None):
        return self.concat([apply_chain(branch, inputs, training) for branch in self.branches])

    def compute_output_shape(self, input_shape):
        return self.concat.compute_output_shape([chain_output_shape(b, input_shape) for b in self.branches])

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@serializable
class AuxiliaryClassifier(keras.layers.Layer):
    """GoogLeNet's auxiliary classifier (Szegedy et al. 2014, section 5), applied to a module's output.

    5x5/3 average pooling, 1x1 convolution (128, ReLU), flatten, 1024-unit ReLU layer, dropout, softmax.
    Its classifier computes in float32, like every zoo output layer.

    Args:
        classes: number of classes.
        classifier_activation: activation of its classifier (None for logits).
        dropout: dropout rate before the classifier (the paper's 0.7).

    Example:
        >>> head = AuxiliaryClassifier(10, name="aux_4a")
        >>> y = head(keras.ops.ones((1, 14, 14, 512)))  # (1, 10)
    """

    def __init__(self, classes: int, classifier_activation: str | None = "softmax", dropout: float = 0.7,
                 **kwargs):
        super().__init__(**kwargs)
        self.classes = classes
        self.classifier_activation = classifier_activation
        self.dropout = check_rate("dropout", dropout)
        p, kw = self.name, {"dtype": self.dtype_policy}
        self.stack = [
            keras.layers.AveragePooling2D(5, strides=3, name=f"{p}_pool", **kw),
            keras.layers.Conv2D(128, 1, activation="relu", name=f"{p}_conv", **kw),
            keras.layers.Flatten(name=f"{p}_flatten", **kw),
            keras.layers.Dense(1024, activation="relu", name=f"{p}_fc", **kw),
            keras.layers.Dropout(dropout, name=f"{p}_dropout", **kw),
            dense_head(classes, classifier_activation, name=f"{p}_predictions"),
        ]
        inherit_trainable(self)

    def build(self, input_shape):
        if input_shape[1] is None or input_shape[2] is None or min(input_shape[1:3]) < 5:
            raise ValueError(
                f"{self.name} needs a feature map of at least 5x5 (an input of at least "
                f"{MIN_SIZE_AUX}x{MIN_SIZE_AUX}). Received: input_shape={tuple(input_shape)!r}"
            )
        build_chain(self.stack, input_shape)
        self.built = True

    def call(self, inputs, training=None):
        return apply_chain(self.stack, inputs, training)

    def compute_output_shape(self, input_shape):
        return chain_output_shape(self.stack, input_shape)

    def get_config(self):
        return {**super().get_config(), "classes": self.classes,
                "classifier_activation": self.classifier_activation, "dropout": self.dropout}


def googlenet_layers(
    *, input_shape=(224, 224, 3), include_top=True, pooling=None, classes=1000, classifier_activation="softmax",
    dropout=0.4, aux_heads=False, **_,
) -> list[keras.layers.Layer]:
    """GoogLeNet's layers in order; with `aux_heads`, each `AuxiliaryClassifier` follows the module it taps.

    Args:
        input_shape: (height, width, channels), at least 32x32 (65x65 with auxiliary classifiers).
        include_top: whether to end with global average pooling, dropout and the classifier.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifiers (None for logits).
        dropout: dropout rate before the classifier (the paper's 0.4).
        aux_heads: add the two auxiliary classifiers (needs `include_top`).

    Returns:
        The list of layers: the main chain, then (with `aux_heads`) the two `AuxiliaryClassifier`s, each
        reading the output of the module it is named after (`aux_4a` reads `inception_4a`).
    """
    check_image_classifier_args(include_top=include_top, pooling=pooling, classes=classes,
                                input_shape=input_shape, min_size=MIN_SIZE_AUX if aux_heads else MIN_SIZE)
    if aux_heads and not include_top:
        raise ValueError("The auxiliary classifiers belong to the classifier: aux_heads=True needs include_top=True.")
    check_rate("dropout", dropout)

    def conv(filters, kernel, name, strides=1):
        return keras.layers.Conv2D(filters, kernel, strides=strides, padding="same", activation="relu", name=name,
                                   kernel_initializer=RELU_INITIALIZER)

    def pool(name):
        return keras.layers.MaxPooling2D(3, strides=2, padding="same", name=name)

    layers = [
        conv(64, 7, "conv1_7x7", strides=2),
        pool("pool1"),
        LocalResponseNormalization(name="norm1"),
        conv(64, 1, "conv2_3x3_reduce"),
        conv(192, 3, "conv2_3x3"),
        LocalResponseNormalization(name="norm2"),
        pool("pool2"),
    ]
    for module, filters in MODULES.items():
        if module in ("4a", "5a"):
            layers.append(pool(f"pool{int(module[0]) - 1}"))
        layers.append(InceptionModule(filters, name=f"inception_{module}"))
    if not include_top:
        return layers + image_classifier_top(include_top=False, pooling=pooling, classes=classes,
                                             classifier_activation=classifier_activation)
    layers += [
        keras.layers.GlobalAveragePooling2D(name="avg_pool"),
        keras.layers.Dropout(dropout, name="dropout"),
        dense_head(classes, classifier_activation),
    ]
    if aux_heads:
        # Last in the list, as the functional API orders them, so every style holds the weights in one order.
        layers += [AuxiliaryClassifier(classes, classifier_activation, name=aux_name(tap)) for tap in AUX_AFTER]
    return layers


def aux_name(tap: str) -> str:
    """The name of the auxiliary classifier that reads the output of the layer named `tap`."""
    return tap.replace("inception_", "aux_")


def _split(layers):
    """The main chain, and the auxiliary classifiers keyed by the name of the layer each one reads."""
    main = [layer for layer in layers if not isinstance(layer, AuxiliaryClassifier)]
    taps = {tap: layer for tap in AUX_AFTER for layer in layers if layer.name == aux_name(tap)}
    return main, taps


def _forward(layers, x, training=None):
    """The model's outputs: the main chain's, then each auxiliary classifier's on the map it taps."""
    main, taps = _split(layers)
    aux = []
    for layer in main:
        x = layer(x, training=training)
        if layer.name in taps:
            aux.append(taps[layer.name](x, training=training))
    return [x, *aux] if aux else x


@serializable
class GoogLeNet(CNNModel):
    """GoogLeNet as a `keras.Model` subclass; arguments as `zoo.build("googlenet", ...)`.

    Args:
        input_shape: (height, width, channels), at least 32x32 (65x65 with auxiliary classifiers).
        include_top: whether to end with global average pooling, dropout and the classifier.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifiers (None for logits).
        dropout: dropout rate before the classifier.
        aux_heads: add the two auxiliary classifiers; the model then returns [main, aux_4a, aux_4d].

    Example:
        >>> model = GoogLeNet(input_shape=(96, 96, 3), classes=10, aux_heads=True)
    """

    default_name = "googlenet"

    def __init__(self, input_shape=(224, 224, 3), include_top=True, pooling=None, classes=1000,
                 classifier_activation="softmax", dropout=0.4, aux_heads=False, name=None):
        super().__init__(name=name, input_shape=tuple(input_shape), include_top=include_top, pooling=pooling,
                         classes=classes, classifier_activation=classifier_activation, dropout=dropout,
                         aux_heads=aux_heads)

    make_layers = staticmethod(googlenet_layers)

    def build(self, input_shape):
        main, taps = _split(self.stack)
        shape = tuple(input_shape)
        for layer in main:
            shape = build_chain([layer], shape)
            if layer.name in taps:
                build_chain([taps[layer.name]], shape)
        self.built = True

    def call(self, inputs, training=None):
        return _forward(self.stack, inputs, training)


def _sequential(**hparams):
    if hparams.get("aux_heads"):
        raise ValueError(
            "googlenet with aux_heads=True has three outputs, which a keras.Sequential cannot have; "
            "use style='functional' or 'subclass', or aux_heads=False."
        )
    return sequential_model(hparams["input_shape"], googlenet_layers(**hparams), "googlenet", input_name="image")


def _functional(**hparams):
    inputs = keras.Input(shape=tuple(hparams["input_shape"]), name="image")
    return keras.Model(inputs, _forward(googlenet_layers(**hparams), inputs), name="googlenet")


GOOGLENET = Styles(sequential=_sequential, functional=_functional, subclass=lambda **hp: GoogLeNet(**hp))

