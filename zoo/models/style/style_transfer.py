"""Neural style transfer (Gatys, Ecker & Bethge 2016, "Image Style Transfer Using Convolutional Neural
Networks"), on the features of a VGG-19 body.

An image is optimised, starting from the content image, so that a VGG-19's feature maps keep the content
image's layout and take on the style image's textures:

    total = content_weight * content + style_weight * style + tv_weight * total_variation

- *content*: the squared difference of the feature maps at `content_layers` (the paper's conv4_2, here
  `block4_conv2`), relative to the content image's own (`||F - P||^2 / ||P||^2`);
- *style*: the squared difference of the Gram matrices (channel correlations, `gram_matrix`) at
  `style_layers` (the paper's conv1_1 ... conv5_1), each relative to the sizes of the style image's and
  the content image's Grams (`||G - A||^2 / (||A||^2 + ||C||^2)`, a constant per pair that bounds the
  starting value by 2 even where a layer barely fires on one image), averaged over the layers (the paper's
  equal weights w_l = 1 / L);
- *total variation*: the mean squared difference of neighbouring pixels, which keeps the image smooth.

Each term is made relative to its target where the paper divides by layer sizes (1 / (4 N^2 M^2)): the
weights then mean the same for ImageNet features, features trained on the offline data and random ones,
whose scales differ by orders of magnitude. The image is optimised with Adam (the paper used L-BFGS) on
its pixels, kept in [0, 1].

The network is VGG-19's convolutional body as keras.applications builds it (`block{b}_conv{i}`,
`block{b}_pool`; (2, 2, 4, 4, 4) 3x3 convolutions of (64, 128, 256, 512, 512) filters), after an input
preprocessing layer, with a small classifier head (`avg_pool`, `predictions`) that the pipeline's train
step fits, so the features learn what the offline data's textures and scenes look like. The three styles
build that chain as `keras.Sequential`, a functional model or a subclassed model; the style-transfer code
reads the feature maps from any of them by running the chain's layers (`extract_features`).

Why the train step fits the body rather than serving random features (random-filter style transfer works
too, and is what `weights=None` gives before training): on the gated pair of `synthetic_style_images`
(small configuration, 200 steps), random bodies (seeds 0/1/2) lower the total loss by 0.56/0.62/0.61 and
end at content 0.067/0.054/0.068, style 0.23/0.13/0.16; the body trained by the pipeline (seed 0, test
accuracy 0.83 over six classes) lowers it by 0.71 and ends at content 0.030, style 0.096: features that
tell the textures apart give the optimisation a clearer style signal. (Both are measured in each body's
own features, which is why the spec's floor is set above what random bodies reach.)

Weights: `zoo.build("style_transfer", weights=PATH)` loads keras.applications' VGG-19 weights (the
published legacy `.h5` files, with or without the top, or a `.weights.h5` that `keras.applications.VGG19`
saved) into the body, by layer name, strictly; the head keeps its own. ImageNet weights need the canonical
filters and `preprocessing="caffe"` (keras.applications.vgg19's input convention). `imagenet_weights_file()`
gives the path of keras.applications' own cached file (it downloads only when a user calls it).

The optimisation loop (`stylize`) and the serving wrapper (`Stylize`, `serving_model`) are TensorFlow-only:
they need the gradient of the loss with respect to the image, which Keras 3 offers only through each
backend's own autodiff (here `tf.GradientTape`), and the loop runs as a `tf.while_loop` so the exported
SavedModel stylises in one graph call. The network and the losses are `keras.ops`.

Example:
    >>> hparams = {"input_shape": (32, 32, 3), "block_filters": (8, 16, 16, 32, 32), "preprocessing": "symmetric"}
    >>> model = zoo.build("style_transfer", **hparams)
    >>> result = stylize(model, content_images, style_images, transfer_settings({**hparams, "steps": 100}))
    >>> result.image.shape == content_images.shape
    True
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Mapping, Sequence

import keras
import numpy as np

from zoo.models.cnn.common import RELU_INITIALIZER, CNNModel
from zoo.nn import chain_styles, check_positive_int, dense_head, serializable, uses_tensorflow

BLOCK_FILTERS = (64, 128, 256, 512, 512)
BLOCK_CONVS = (2, 2, 4, 4, 4)
CONTENT_LAYERS = ("block4_conv2",)
STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
PREPROCESSINGS = ("caffe", "symmetric")
# keras.applications.vgg19.preprocess_input ("caffe"): BGR channel means of ImageNet, on a 0-255 scale.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
# keras.applications' VGG-19 file without the top, and its MD5 (what keras.applications.VGG19 checks).
IMAGENET_NOTOP = ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                  "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
                  "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6")
# Settings of the optimisation loop (not architecture): `transfer_settings` reads them from hparams.
TRANSFER_HPARAMS = ("content_layers", "style_layers", "content_weight", "style_weight", "tv_weight", "steps",
                    "step_size")
ADAM_BETAS = (0.9, 0.999)
# The `.weights.h5` key of the preprocessing layer, which tells the zoo model's own files from keras.applications'.
OWN_FILE_KEY = "vgg_preprocessing"
EPSILON = 1e-8


# ------------------------------------------------------------------------------------------------ network
@serializable
class VGGPreprocessing(keras.layers.Layer):
    """Images in [0, 1] (RGB) to what the VGG body expects; no weights.

    Args:
        mode: "caffe" (keras.applications.vgg19's convention and what ImageNet weights need: 0-255 scale,
            RGB to BGR, ImageNet channel means subtracted) or "symmetric" (scaled to [-1, 1], which suits a
            body trained from scratch: He-initialised layers then start at a moderate scale).
    """

    def __init__(self, mode: str = "caffe", **kwargs):
        super().__init__(**kwargs)
        if mode not in PREPROCESSINGS:
            raise ValueError(f"`preprocessing` must be one of {PREPROCESSINGS}. Received: preprocessing={mode!r}")
        self.mode = mode

    def call(self, inputs):
        if self.mode == "symmetric":
            return inputs * 2.0 - 1.0
        bgr = keras.ops.flip(inputs, axis=-1) * 255.0
        return bgr - keras.ops.convert_to_tensor(CAFFE_BGR_MEAN, dtype=bgr.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def conv_names(block_convs: Sequence[int]) -> list[str]:
    """The names of the body's convolutions, in order: `block{b}_conv{i}`."""
    return [f"block{b}_conv{i}" for b, convs in enumerate(block_convs, start=1) for i in range(1, convs + 1)]


def _check_layer_names(name: str, value, allowed: list[str]) -> tuple[str, ...]:
    listed = isinstance(value, (list, tuple)) and bool(value)
    if not listed or any(v not in allowed for v in value):
        raise ValueError(f"`{name}` must be a non-empty tuple of the body's convolutions ({allowed[0]} ... "
                         f"{allowed[-1]}). Received: {name}={value!r}")
    return tuple(value)


def _check_sizes(block_filters, block_convs, input_shape) -> None:
    for name, value in (("block_filters", block_filters), ("block_convs", block_convs)):
        if not isinstance(value, (list, tuple)) or len(value) != 5 or any(
                isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
            raise ValueError(f"`{name}` must be five positive integers (one per VGG block). Received: {name}={value!r}")
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[-1] != 3 or any(s is None or s < 32 for s in shape[:2]):
        raise ValueError(f"`input_shape` must be (height, width, 3) with height and width at least 32 (five 2x2 "
                         f"poolings). Received: input_shape={input_shape!r}")


def style_transfer_layers(*, input_shape=(224, 224, 3), block_filters=BLOCK_FILTERS, block_convs=BLOCK_CONVS,
                          classes=6, preprocessing="caffe", **hparams) -> list[keras.layers.Layer]:
    """The chain the three styles stack: preprocessing, VGG-19's body, and the classifier head.

    Args:
        input_shape: (height, width, 3) of the training images, at least 32x32; stylisation runs at this size.
        block_filters: filters of the five blocks (VGG-19's (64, 128, 256, 512, 512); smaller for CPU runs).
        block_convs: 3x3 convolutions per block (VGG-19's (2, 2, 4, 4, 4)).
        classes: classes of the head that the train step fits (textures and scenes of the offline data).
        preprocessing: "caffe" (ImageNet weights) or "symmetric" (see `VGGPreprocessing`).
        **hparams: the optimisation loop's settings, checked here (see `transfer_settings`).

    Returns:
        `[preprocessing, block1_conv1, ..., block5_pool, avg_pool, predictions]`.
    """
    _check_sizes(block_filters, block_convs, input_shape)
    check_positive_int("classes", classes)
    transfer_settings({**hparams, "block_convs": block_convs})
    layers = [VGGPreprocessing(preprocessing, name="preprocessing")]
    for block, (filters, convs) in enumerate(zip(block_filters, block_convs), start=1):
        layers += [keras.layers.Conv2D(filters, 3, padding="same", activation="relu",
                                       kernel_initializer=RELU_INITIALIZER, name=f"block{block}_conv{i}")
                   for i in range(1, convs + 1)]
        layers.append(keras.layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool"))
    return layers + [keras.layers.GlobalAveragePooling2D(name="avg_pool"), dense_head(classes, "softmax")]


@serializable
class StyleTransferNet(CNNModel):
    """The style-transfer network as a `keras.Model` subclass (the "subclass" style); arguments as
    `style_transfer_layers`, and the optimisation settings of `transfer_settings`, which it keeps in its
    config so a saved model stylises as it was trained to."""

    default_name = "style_transfer"
    tuple_hparams = ("input_shape", "block_filters", "block_convs", "content_layers", "style_layers")

    def make_layers(self, **hparams):
        return style_transfer_layers(**hparams)


def feature_layers(model) -> list[keras.layers.Layer]:
    """The chain's layers in order, whatever the style built (no input layer)."""
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def extract_features(model, images, names: Sequence[str]) -> dict[str, Any]:
    """The feature maps of `images` (B, H, W, 3) in [0, 1] at the layers `names`, as float32.

    Runs the chain's layers one after another and stops after the last one asked for (the head never runs).
    """
    wanted, found, x = set(names), {}, images
    for layer in feature_layers(model):
        x = layer(x)
        if layer.name in wanted:
            found[layer.name] = keras.ops.cast(x, "float32")
            if len(found) == len(wanted):
                return found
    missing = sorted(wanted - set(found))
    raise ValueError(f"{model.name} has no layers {missing}; its convolutions are {conv_names_of(model)}.")


def conv_names_of(model) -> list[str]:
    return [layer.name for layer in feature_layers(model) if isinstance(layer, keras.layers.Conv2D)]


# ------------------------------------------------------------------------------------------------- losses
def gram_matrix(features):
    """Channel correlations of feature maps: (B, H, W, C) -> (B, C, C), G[c, d] = sum_hw F[c] F[d] / (H W)."""
    shape = keras.ops.shape(features)
    flat = keras.ops.reshape(features, (shape[0], -1, shape[-1]))
    size = keras.ops.cast(keras.ops.shape(flat)[1], features.dtype)
    return keras.ops.einsum("bnc,bnd->bcd", flat, flat) / size


def squared_norm(x):
    """Per example: the sum of squares over every axis but the first."""
    return keras.ops.sum(keras.ops.square(x), axis=tuple(range(1, len(x.shape))))


def content_loss(features: Mapping[str, Any], targets: Mapping[str, Any]):
    """Per example: ||F - P||^2 / ||P||^2 of the feature maps, averaged over the content layers (`targets`)."""
    errors = [squared_norm(features[k] - p) / keras.ops.maximum(squared_norm(p), EPSILON) for k, p in targets.items()]
    return keras.ops.mean(keras.ops.stack(errors), axis=0)


def style_loss(features: Mapping[str, Any], target_grams: Mapping[str, Any], scales: Mapping[str, Any]):
    """Per example: ||G - A||^2 / scale of the Gram matrices, averaged over the style layers.

    Args:
        features: feature maps by layer name (B, H, W, C).
        target_grams: the style images' Gram matrices by layer name (B, C, C).
        scales: per layer, (B,) constants that make each layer's error relative (`style_scales`).
    """
    errors = [squared_norm(gram_matrix(features[k]) - a) / scales[k] for k, a in target_grams.items()]
    return keras.ops.mean(keras.ops.stack(errors), axis=0)


def style_scales(style_grams: Mapping[str, Any], content_grams: Mapping[str, Any]) -> dict[str, Any]:
    """Per layer and example: ||A||^2 + ||C||^2, the sizes of the style and content Grams (at least EPSILON)."""
    return {k: keras.ops.maximum(squared_norm(a) + squared_norm(content_grams[k]), EPSILON)
            for k, a in style_grams.items()}


def total_variation(images):
    """Per example: the mean squared difference between vertically and horizontally neighbouring pixels."""
    down = keras.ops.square(images[:, 1:, :, :] - images[:, :-1, :, :])
    right = keras.ops.square(images[:, :, 1:, :] - images[:, :, :-1, :])
    return keras.ops.mean(down, axis=(1, 2, 3)) + keras.ops.mean(right, axis=(1, 2, 3))


# --------------------------------------------------------------------------------------------- settings
@dataclasses.dataclass(frozen=True)
class TransferSettings:
    """How an image is optimised: the layers, the weights of the three terms, the steps and the step size."""

    content_layers: tuple[str, ...] = CONTENT_LAYERS
    style_layers: tuple[str, ...] = STYLE_LAYERS
    content_weight: float = 1.0
    style_weight: float = 1.0
    tv_weight: float = 1.0
    steps: int = 200
    step_size: float = 0.02


def transfer_settings(hparams: Mapping[str, Any]) -> TransferSettings:
    """The `TransferSettings` in `hparams` (defaults for those absent), checked; one-line ValueError if not."""
    allowed = conv_names(hparams.get("block_convs", BLOCK_CONVS))
    given = {k: hparams[k] for k in TRANSFER_HPARAMS if k in hparams}
    for key in ("content_layers", "style_layers"):
        if key in given:
            given[key] = _check_layer_names(key, given[key], allowed)
    for key in ("content_weight", "style_weight", "tv_weight"):
        value = given.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
            raise ValueError(f"`{key}` must be a non-negative number. Received: {key}={value!r}")
    if "steps" in given:
        check_positive_int("steps", given["steps"])
    step = given.get("step_size", 0.02)
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not 0 < step <= 1:
        raise ValueError(f"`step_size` must be a number in (0, 1] (pixels are in [0, 1]). Received: step_size={step!r}")
    return TransferSettings(**given)


# ---------------------------------------------------------------------------------- optimisation (TF only)
@dataclasses.dataclass
class Stylized:
    """What `stylize` returns: the images and the loss terms before and after (each (B,) NumPy arrays)."""

    image: np.ndarray
    initial: dict[str, np.ndarray]
    final: dict[str, np.ndarray]


def loss_terms(model, images, content_targets, style_grams, scales, settings: TransferSettings) -> dict[str, Any]:
    """Per example: "content", "style", "tv" and their weighted sum "total" for `images` (B, H, W, 3)."""
    features = extract_features(model, images, (*settings.content_layers, *settings.style_layers))
    terms = {"content": content_loss(features, content_targets), "style": style_loss(features, style_grams, scales),
             "tv": total_variation(images)}
    terms["total"] = (settings.content_weight * terms["content"] + settings.style_weight * terms["style"]
                      + settings.tv_weight * terms["tv"])
    return terms


@uses_tensorflow("the image's gradient loop uses tf.GradientTape in a tf.while_loop (see the spec's tensorflow_only)")
def optimise_images(model, content, style, settings: TransferSettings):
    """The optimisation loop as TensorFlow ops (call it inside a `tf.function`): `settings.steps` Adam steps
    on the pixels, from the content images, each step clipped to [0, 1].

    Args:
        model: the style-transfer network (any style).
        content: (B, H, W, 3) float32 in [0, 1]; the images start here and keep their layout.
        style: (B, H', W', 3) float32 in [0, 1], one per content image (its size may differ).
        settings: the layers, weights, steps and step size.

    Returns:
        (images, initial loss terms, final loss terms), as tensors.
    """
    import tensorflow as tf

    content_targets = extract_features(model, content, settings.content_layers)

    def grams(images):
        return {k: gram_matrix(v) for k, v in extract_features(model, images, settings.style_layers).items()}

    style_grams = grams(style)
    terms = functools.partial(loss_terms, model, content_targets=content_targets, style_grams=style_grams,
                              scales=style_scales(style_grams, grams(content)), settings=settings)
    beta_1, beta_2 = ADAM_BETAS

    def step(t, image, first, second):
        with tf.GradientTape() as tape:
            tape.watch(image)
            total = tf.reduce_sum(terms(image)["total"])
        gradient = tape.gradient(total, image)
        first = beta_1 * first + (1 - beta_1) * gradient
        second = beta_2 * second + (1 - beta_2) * tf.square(gradient)
        t = t + 1.0
        update = (first / (1 - beta_1 ** t)) / (tf.sqrt(second / (1 - beta_2 ** t)) + EPSILON)
        return t, tf.clip_by_value(image - settings.step_size * update, 0.0, 1.0), first, second

    zeros = tf.zeros_like(content)
    _, image, _, _ = tf.while_loop(lambda t, *_: t < settings.steps, step, (tf.constant(0.0), content, zeros, zeros))
    return image, terms(content), terms(image)


@uses_tensorflow("the image's gradient loop uses tf.GradientTape in a tf.while_loop")
def stylize(model, content, style, settings: TransferSettings) -> Stylized:
    """Stylise each content image with the style image beside it (see `optimise_images`); TensorFlow-only.

    Example:
        >>> result = stylize(model, content[:1], style[:1], transfer_settings(hparams))
        >>> float(result.final["total"][0]) < float(result.initial["total"][0])
        True
    """
    import tensorflow as tf

    content, style = _pair(content, style)
    run = tf.function(functools.partial(optimise_images, model, settings=settings))
    image, initial, final = run(tf.constant(content), tf.constant(style))
    as_numpy = lambda terms: {k: np.asarray(v, dtype="float64") for k, v in terms.items()}  # noqa: E731
    return Stylized(np.asarray(image), as_numpy(initial), as_numpy(final))


def _pair(content, style) -> tuple[np.ndarray, np.ndarray]:
    content, style = np.asarray(content, dtype="float32"), np.asarray(style, dtype="float32")
    if content.ndim != 4 or style.ndim != 4 or content.shape[-1] != 3 or style.shape[-1] != 3:
        raise ValueError(f"content and style must be image batches (B, H, W, 3). Received shapes {content.shape} "
                         f"and {style.shape}.")
    if len(content) != len(style):
        raise ValueError(f"One style image per content image: received {len(content)} content and {len(style)} "
                         "style images.")
    return content, style


# -------------------------------------------------------------------------------------- serving (TF only)
@serializable
class Stylize(keras.layers.Layer):
    """Serving: `[content, style]` -> the stylised content, at the content's own size; TensorFlow-only.

    Both images are resized (bilinearly) to the network's input size, where the optimisation loop runs
    (`optimise_images`, one `tf.while_loop` in the exported graph; a bounded size bounds a request's time),
    and the result is resized back to the content's size. No weights of its own: it holds the trained network.

    Args:
        network: the trained style-transfer network.
        image_size: (height, width) the network was trained at, where the optimisation runs.
        settings: the `TransferSettings` fields as a dict (layers, weights, steps, step size).
    """

    def __init__(self, network, image_size: Sequence[int], settings: Mapping[str, Any] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.image_size = tuple(int(s) for s in image_size)
        self.settings = transfer_settings({**(settings or {}), "block_convs": _block_convs(network)})

    @uses_tensorflow("serving: the stylisation loop inside the exported SavedModel")
    def call(self, inputs):
        import tensorflow as tf

        content, style = (tf.cast(x, "float32") for x in inputs)
        size = self.image_size
        image, _, _ = optimise_images(self.network, tf.image.resize(content, size), tf.image.resize(style, size),
                                      self.settings)
        return tf.clip_by_value(tf.image.resize(image, tf.shape(content)[1:3]), 0.0, 1.0)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(tuple(inputs[0].shape), dtype="float32")

    def get_config(self):
        settings = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self.settings).items()}
        return {**super().get_config(), "network": keras.saving.serialize_keras_object(self.network),
                "image_size": list(self.image_size), "settings": settings}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        return cls(**config)


def _block_convs(network) -> tuple[int, ...]:
    counts: dict[int, int] = {}
    for name in conv_names_of(network):
        block = int(name.split("_")[0][len("block"):])
        counts[block] = counts.get(block, 0) + 1
    return tuple(counts[b] for b in sorted(counts))


def serving_model(network, settings: TransferSettings, image_size: Sequence[int]) -> keras.Model:
    """The endpoint's model: {"content": (B, H, W, 3), "style": (B, H', W', 3)} float32 in [0, 1] -> the stylised
    content (B, H, W, 3) in [0, 1], optimised at `image_size` (the network's training size; see `Stylize`)."""
    content = keras.Input((None, None, 3), name="content")
    style = keras.Input((None, None, 3), name="style")
    stylised = Stylize(network, image_size, dataclasses.asdict(settings), name="stylized")([content, style])
    return keras.Model({"content": content, "style": style}, stylised, name=f"{network.name}_serving")


# ---------------------------------------------------------------------------------------------- weights
def load_vgg19_weights(model, path: str) -> None:
    """Load keras.applications' VGG-19 weights (or the model's own file) into the model's body, strictly.

    Accepted: the published legacy `.h5` files (with or without the top: `fc1`, `fc2`, `predictions` are
    left out), a `.weights.h5` that `keras.applications.VGG19` saved (`read_applications_file`), or the zoo
    model's own `.weights.h5` (Keras loads it whole, head included). From keras.applications' files, every
    convolution of the body must find its kernel and bias, of its shape (otherwise a one-line ValueError),
    and the head keeps its weights.
    """
    import h5py

    from zoo.models.cnn.pretrained import assign_by_layer_name, is_legacy_h5, read_legacy_h5

    path = os.fspath(path)
    if is_legacy_h5(path):
        found = read_legacy_h5(path)
    else:
        with h5py.File(path, "r") as f:
            # The zoo model's own files hold its preprocessing layer; keras.applications' do not.
            own = f"layers/{OWN_FILE_KEY}" in f
        if own:
            try:
                model.load_weights(path)
                return
            except Exception as err:  # Keras raises several types for a file of another configuration
                lines = str(err).strip().splitlines() or [repr(err)]
                raise ValueError(f"Cannot load weights from {path!r} into {model.name}: {lines[0]}") from None
        found = read_applications_file(path, conv_names(_block_convs(model)))
    # Named by rank, not by the file's weight names: keras.applications' 2016 VGG files may name them
    # `block1_conv1_W_1:0` and `block1_conv1_b_1:0` rather than `kernel` and `bias`.
    found = {k: {("kernel" if a.ndim == 4 else "bias" if a.ndim == 1 else n): a for n, a in v.items()}
             for k, v in found.items() if k.startswith("block")}
    # The head is not VGG-19's: it keeps its own weights (given back as they are).
    found.update({layer.name: {v.name: np.asarray(v) for v in layer.weights} for layer in feature_layers(model)
                  if layer.weights and not layer.name.startswith("block")})
    assign_by_layer_name(model, found, path)


def read_applications_file(path: str, names: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
    """The convolutions of a Keras 3 `.weights.h5` file that a flat VGG-19 (keras.applications') saved.

    Keras 3 keys a flat model's layers by class and order (`layers/conv2d`, `layers/conv2d_1`, ...), not by
    name; VGG-19's convolutions come in the order of their names, so the n-th `conv2d` key is `names[n]`.
    Dense layers of a file with the top are left out; a count of convolutions other than the model's is kept
    under the file's key, so the strict assignment reports it.
    """
    import h5py

    def order(key: str) -> int:
        return 0 if key == "conv2d" else int(key.rsplit("_", 1)[1]) + 1

    found = {}
    with h5py.File(path, "r") as f:
        keys = sorted((k for k in f.get("layers", {}) if k == "conv2d" or k.startswith("conv2d_")), key=order)
        for index, key in enumerate(keys):
            group = f["layers"][key]["vars"]
            name = names[index] if index < len(names) else f"block_file:{key}"
            found[name] = dict(zip(("kernel", "bias"), (np.asarray(group[str(i)]) for i in range(len(group)))))
    return found


def imagenet_weights_file() -> str:
    """The path of keras.applications' VGG-19 ImageNet weights without the top, from its cache
    (`~/.keras/models`); Keras downloads it (about 80 MB) on the first call. Pass it as `weights=`."""
    name, origin, md5 = IMAGENET_NOTOP
    return keras.utils.get_file(name, origin, cache_subdir="models", file_hash=md5)


def _with_weights_loader(builder):
    @functools.wraps(builder)
    def build(**hparams):
        model = builder(**hparams)
        model.zoo_weights_loader = load_vgg19_weights
        return model

    return build


_CHAIN = chain_styles(style_transfer_layers, StyleTransferNet, "style_transfer", input_name="image")
STYLE_TRANSFER_STYLES = dataclasses.replace(
    _CHAIN, sequential=_with_weights_loader(_CHAIN.sequential), functional=_with_weights_loader(_CHAIN.functional),
    subclass=_with_weights_loader(_CHAIN.subclass))
