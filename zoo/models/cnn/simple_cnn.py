"""A simple convolutional network: (convolution -> max-pooling) x 2 -> flatten -> dense -> classifier.

The textbook CNN of seed 003 "6. Convolutional Neural Network": learned filters slide over the image
(local connectivity and parameter sharing), pooling subsamples the feature maps, and a dense layer
classifies the flattened features. Its hyperparameters are the ones the notes single out: the number and
size of the filters, padding, and pooling. Optional augmentation layers ("Image Augmentation") put random
flips, rotations, zooms, translations or contrast changes in front of the network; Keras applies them
only while training, so the served model sees images unchanged.

Size: with the defaults (28x28x1, filters (32, 64), "same" padding, 128 dense units, 10 classes) it has
421,642 parameters (conv 320 + 18,496, dense 401,536 + 1,290); a test pins it.
"""

from __future__ import annotations

import keras

from zoo.models.cnn.common import CNNModel, check_rate
from zoo.nn import check_positive_int
from zoo.nn import chain_styles, check_image_classifier_args, dense_head, image_classifier_top, serializable

PADDINGS = ("same", "valid")
# Name -> factory. Factors are fractions (rotation: of a full turn), mild enough to keep a digit a digit.
AUGMENTATIONS = {
    "flip": lambda: keras.layers.RandomFlip("horizontal", name="augment_flip"),
    "rotation": lambda: keras.layers.RandomRotation(0.05, name="augment_rotation"),
    "zoom": lambda: keras.layers.RandomZoom(0.1, name="augment_zoom"),
    "translation": lambda: keras.layers.RandomTranslation(0.1, 0.1, name="augment_translation"),
    "contrast": lambda: keras.layers.RandomContrast(0.2, name="augment_contrast"),
}


def augmentation_layers(names) -> list[keras.layers.Layer]:
    """Random augmentation layers, in the order named; ValueError for an unknown name."""
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise ValueError(f"`augmentation` must be a list of names. Received: augmentation={names!r}")
    layers = []
    for name in names:
        if name not in AUGMENTATIONS:
            raise ValueError(f"Unknown augmentation {name!r}. Allowed: {', '.join(AUGMENTATIONS)}.")
        layers.append(AUGMENTATIONS[name]())
    if len(set(names)) != len(tuple(names)):
        raise ValueError(f"Each augmentation may appear once. Received: augmentation={tuple(names)!r}")
    return layers


def minimum_size(filters, kernel_size: int, padding: str, pool_size: int) -> int:
    """The smallest height/width that leaves at least one pixel after the last pooling."""

    def final(size):
        for _ in filters:
            size = size if padding == "same" else size - kernel_size + 1
            if size < 1:
                return 0
            size //= pool_size
        return size

    size = 1
    while final(size) < 1:
        size += 1
    return size


def simple_cnn_layers(
    *, input_shape=(28, 28, 1), include_top=True, pooling=None, classes=10, classifier_activation="softmax",
    filters=(32, 64), kernel_size=3, padding="same", pool_size=2, dense_units=128, dropout=0.5, augmentation=(),
    **_,
) -> list[keras.layers.Layer]:
    """The layers: augmentation, then `conv{i}` and `pool{i}` per entry of `filters`, then the top.

    Args:
        input_shape: (height, width, channels), at least as large as the pooling allows.
        include_top: whether to end with flatten, the dense layer, dropout and the classifier.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).
        filters: filters of each convolution (two for the classic network; any number works).
        kernel_size: height and width of the filters.
        padding: "same" keeps the size through a convolution, "valid" shrinks it by kernel_size - 1.
        pool_size: max-pooling window and stride.
        dense_units: units of the hidden dense layer.
        dropout: dropout rate before the classifier.
        augmentation: names from "flip", "rotation", "zoom", "translation", "contrast" (empty: none).

    Returns:
        The list of layers that the three styles stack.
    """
    if not isinstance(filters, (list, tuple)) or not filters:
        raise ValueError(f"`filters` must list the filters of at least one convolution. Received: filters={filters!r}")
    for f in filters:
        check_positive_int("filters", f)
    check_positive_int("kernel_size", kernel_size)
    check_positive_int("pool_size", pool_size)
    check_positive_int("dense_units", dense_units)
    check_rate("dropout", dropout)
    if padding not in PADDINGS:
        raise ValueError(f"`padding` must be one of {PADDINGS}. Received: padding={padding!r}")
    check_image_classifier_args(include_top=include_top, pooling=pooling, classes=classes, input_shape=input_shape,
                                min_size=minimum_size(filters, kernel_size, padding, pool_size))
    layers = augmentation_layers(augmentation)
    for i, f in enumerate(filters, start=1):
        layers += [
            keras.layers.Conv2D(f, kernel_size, padding=padding, activation="relu", name=f"conv{i}"),
            keras.layers.MaxPooling2D(pool_size, name=f"pool{i}"),
        ]
    if not include_top:
        return layers + image_classifier_top(include_top=False, pooling=pooling, classes=classes,
                                             classifier_activation=classifier_activation)
    return layers + [
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(dense_units, activation="relu", name="fc"),
        keras.layers.Dropout(dropout, name="dropout"),
        dense_head(classes, classifier_activation),
    ]


@serializable
class SimpleCNN(CNNModel):
    """The simple CNN as a `keras.Model` subclass; arguments as `simple_cnn_layers`.

    Example:
        >>> model = SimpleCNN(input_shape=(28, 28, 1), classes=10, augmentation=("rotation", "zoom"))
    """

    default_name = "simple_cnn"
    tuple_hparams = ("input_shape", "filters", "augmentation")

    def __init__(self, input_shape=(28, 28, 1), include_top=True, pooling=None, classes=10,
                 classifier_activation="softmax", filters=(32, 64), kernel_size=3, padding="same", pool_size=2,
                 dense_units=128, dropout=0.5, augmentation=(), name=None):
        super().__init__(name=name, input_shape=tuple(input_shape), include_top=include_top, pooling=pooling,
                         classes=classes, classifier_activation=classifier_activation, filters=filters,
                         kernel_size=kernel_size, padding=padding, pool_size=pool_size, dense_units=dense_units,
                         dropout=dropout, augmentation=augmentation)

    make_layers = staticmethod(simple_cnn_layers)


SIMPLE_CNN = chain_styles(simple_cnn_layers, SimpleCNN, "simple_cnn", input_name="image")
