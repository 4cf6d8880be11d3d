"""A CNN with a global-average-pooling head, and its class activation maps (Zhou, Khosla, Lapedriza, Oliva
& Torralba 2016, "Learning Deep Features for Discriminative Localization"; GAP from Lin, Chen & Yan 2014,
"Network In Network").

Convolutions, then global average pooling (GAP) straight into the classifier: no flatten, no hidden dense
layer. GAP has no parameters and keeps one number per feature map, so the classifier's weight w[k, c]
says how much map k speaks for class c (seed 001 "GAP"). Weighting the last feature maps by those
weights gives the class activation map (CAM): where in the image the evidence for class c lies (seed 001
"CAM"): CAM_c(x, y) = sum_k w[k, c] * f_k(x, y).

`class_activation_map` works for any zoo classifier whose top is global average pooling (`avg_pool`),
optionally dropout, and the dense `predictions` layer: this model, ResNet, DenseNet, GoogLeNet without
auxiliary classifiers. `save_cam_png` writes the map over the image as a PNG (needs matplotlib).

Size: with the defaults (28x28x1, filters (32, 64, 128), two 3x3 convolutions per block, 10 classes):
287,722 parameters; a test pins it.
"""

from __future__ import annotations

import os

import keras
import numpy as np

from zoo.models.cnn.common import CNNModel
from zoo.nn import check_positive_int
from zoo.nn import chain_styles, check_image_classifier_args, image_classifier_top, serializable


def gap_cam_layers(
    *, input_shape=(28, 28, 1), include_top=True, pooling=None, classes=10, classifier_activation="softmax",
    filters=(32, 64, 128), convs_per_block=2, **_,
) -> list[keras.layers.Layer]:
    """The layers: blocks of 3x3 ReLU convolutions (`block{b}_conv{i}`) with 2x2 max-pooling between blocks
    (`block{b}_pool`; none after the last, so the maps that the CAM weighs keep their resolution), then
    global average pooling (`avg_pool`) and the classifier (`predictions`).

    Args:
        input_shape: (height, width, channels); at least 2**(len(filters) - 1) pixels a side.
        include_top: whether to end with global average pooling and the classifier.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).
        filters: filters of each block's convolutions.
        convs_per_block: convolutions per block.

    Returns:
        The list of layers that the three styles stack.
    """
    if not isinstance(filters, (list, tuple)) or not filters:
        raise ValueError(f"`filters` must list the filters of at least one block. Received: filters={filters!r}")
    for f in filters:
        check_positive_int("filters", f)
    check_positive_int("convs_per_block", convs_per_block)
    check_image_classifier_args(include_top=include_top, pooling=pooling, classes=classes, input_shape=input_shape,
                                min_size=2 ** (len(filters) - 1))
    layers = []
    for block, f in enumerate(filters, start=1):
        if block > 1:
            layers.append(keras.layers.MaxPooling2D(2, name=f"block{block - 1}_pool"))
        layers += [keras.layers.Conv2D(f, 3, padding="same", activation="relu", name=f"block{block}_conv{i}")
                   for i in range(1, convs_per_block + 1)]
    return layers + image_classifier_top(include_top=include_top, pooling=pooling, classes=classes,
                                         classifier_activation=classifier_activation)


@serializable
class GapCNN(CNNModel):
    """The GAP classifier as a `keras.Model` subclass; arguments as `gap_cam_layers`.

    Example:
        >>> model = GapCNN(input_shape=(28, 28, 1), classes=10)
        >>> heatmap = class_activation_map(model, np.zeros((28, 28, 1), "float32"), class_index=3)
    """

    default_name = "gap_cam"
    tuple_hparams = ("input_shape", "filters")

    def __init__(self, input_shape=(28, 28, 1), include_top=True, pooling=None, classes=10,
                 classifier_activation="softmax", filters=(32, 64, 128), convs_per_block=2, name=None):
        super().__init__(name=name, input_shape=tuple(input_shape), include_top=include_top, pooling=pooling,
                         classes=classes, classifier_activation=classifier_activation, filters=filters,
                         convs_per_block=convs_per_block)

    make_layers = staticmethod(gap_cam_layers)


GAP_CAM = chain_styles(gap_cam_layers, GapCNN, "gap_cam", input_name="image")


def _cam_parts(model: keras.Model):
    """The layers before global average pooling, and the classifier, of a GAP-topped zoo classifier."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    names = [layer.name for layer in layers]
    if "avg_pool" not in names or names[-1] != "predictions":
        raise ValueError(
            f"A class activation map needs a classifier that ends in global average pooling ('avg_pool') and a "
            f"dense 'predictions' layer (include_top=True). Received: {model.name} ending in {names[-2:]}"
        )
    pool = names.index("avg_pool")
    between = layers[pool + 1:-1]
    if not all(isinstance(layer, keras.layers.Dropout) for layer in between):
        raise ValueError(f"{model.name}: only dropout may sit between 'avg_pool' and 'predictions' for a CAM. "
                         f"Received: {[layer.name for layer in between]}")
    return layers[:pool], layers[-1]


def class_activation_map(model: keras.Model, image, class_index: int | None = None) -> np.ndarray:
    """The class activation map of `class_index` for one image (Zhou et al. 2016), at the image's size.

    Args:
        model: a zoo classifier with a global-average-pooling top (gap_cam, ResNet, DenseNet, GoogLeNet),
            in any style.
        image: one image, (height, width, channels) or (1, height, width, channels), as the model takes it.
        class_index: the class to explain; None explains the class the model predicts.

    Returns:
        A float32 array of shape (height, width) in [0, 1]: the weighted sum of the last feature maps,
        bilinearly resized to the image and scaled so its minimum is 0 and its maximum 1 (all zeros when
        the map is flat).

    Example:
        >>> model = zoo.build("gap_cam")
        >>> heatmap = class_activation_map(model, x_test[0], class_index=int(y_test[0]))
    """
    features_of, head = _cam_parts(model)
    batch = np.asarray(image, dtype="float32")
    if batch.ndim == 3:
        batch = batch[None]
    if batch.ndim != 4 or batch.shape[0] != 1:
        raise ValueError(f"`image` must be one image, (height, width, channels). Received shape {np.shape(image)}")
    features = batch
    for layer in features_of:
        features = layer(features, training=False)
    features = keras.ops.convert_to_numpy(keras.ops.cast(features, "float32"))[0]
    kernel = keras.ops.convert_to_numpy(keras.ops.cast(head.kernel, "float32"))
    classes = kernel.shape[1]
    if class_index is None:
        bias = keras.ops.convert_to_numpy(keras.ops.cast(head.bias, "float32")) if head.use_bias else 0.0
        class_index = int(np.argmax(features.mean(axis=(0, 1)) @ kernel + bias))
    in_range = isinstance(class_index, (int, np.integer)) and 0 <= class_index < classes
    if isinstance(class_index, bool) or not in_range:
        raise ValueError(f"`class_index` must be an integer in [0, {classes}). Received: class_index={class_index!r}")
    cam = features @ kernel[:, int(class_index)]
    height, width = batch.shape[1:3]
    cam = keras.ops.convert_to_numpy(keras.ops.image.resize(cam[None, :, :, None], (height, width),
                                                            interpolation="bilinear"))[0, :, :, 0]
    low, high = float(cam.min()), float(cam.max())
    if high - low <= 1e-12:
        return np.zeros((height, width), dtype="float32")
    return ((cam - low) / (high - low)).astype("float32")


def save_cam_png(image, heatmap, path: str, *, alpha: float = 0.45, colormap: str = "jet", scale: int = 1) -> str:
    """Write `heatmap` over `image` as a PNG: (1 - alpha) * image + alpha * colormap(heatmap).

    Args:
        image: (height, width) or (height, width, 1 or 3) values in [0, 1].
        heatmap: (height, width) values in [0, 1], e.g. from `class_activation_map`.
        path: the `.png` file to write (its folder must exist).
        alpha: weight of the heatmap in the overlay, in [0, 1].
        colormap: a matplotlib colormap name.
        scale: enlarge each pixel to scale x scale pixels (small images are hard to see).

    Returns:
        `path`.

    Example:
        >>> save_cam_png(x_test[0], heatmap, "cam.png", scale=8)
    """
    try:
        import matplotlib
        import matplotlib.image
    except ImportError:
        raise ImportError("save_cam_png needs matplotlib: pip install matplotlib") from None
    if not str(path).lower().endswith(".png"):
        raise ValueError(f"`path` must end with '.png'. Received: path={path!r}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha!r}")
    check_positive_int("scale", scale)
    picture = np.asarray(image, dtype="float32")
    if picture.ndim == 3 and picture.shape[-1] in (1, 3):
        picture = np.repeat(picture, 3, axis=-1) if picture.shape[-1] == 1 else picture
    elif picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=-1)
    else:
        raise ValueError(f"`image` must be (height, width) or (height, width, 1 or 3). Received shape {picture.shape}")
    heat = np.asarray(heatmap, dtype="float32")
    if heat.shape != picture.shape[:2]:
        raise ValueError(f"`heatmap` must have the image's size {picture.shape[:2]}. Received shape {heat.shape}")
    colours = matplotlib.colormaps[colormap](np.clip(heat, 0, 1))[..., :3]
    overlay = np.clip((1 - alpha) * np.clip(picture, 0, 1) + alpha * colours, 0, 1)
    if scale > 1:
        overlay = overlay.repeat(scale, axis=0).repeat(scale, axis=1)
    folder = os.path.dirname(os.fspath(path))
    if folder and not os.path.isdir(folder):
        raise ValueError(f"The folder of `path` does not exist. Received: path={path!r}")
    matplotlib.image.imsave(path, overlay)
    return path
