"""pix2pix: image-to-image translation with a conditional GAN (Isola, Zhu, Zhou & Efros 2017, "Image-to-Image
Translation with Conditional Adversarial Networks").

A generator G translates a source image x (a label map, an edge map) into an image of the target domain (a
photo); a discriminator D sees a source image *together with* a target image, real (x, y) or translated
(x, G(x)), and judges it patch by patch. The objective (the paper's equation 4, lambda = 100):

    D minimises  [BCE(1, D(x, y)) + BCE(0, D(x, G(x)))] / 2        (halved, as the paper does for D)
    G minimises  BCE(1, D(x, G(x))) + lambda * |y - G(x)|_1         (non-saturating adversarial term + L1)

The L1 term pulls the translation towards the real target at low frequencies; the adversarial term, from a
discriminator that only looks at patches, makes it sharp at high frequencies.

- **Generator: a U-Net** (section 3.2.1 and appendix 6.1.1). The encoder is C64-C128-C256-C512-C512-C512-C512-C512
  at 256x256 (`generator_filters`): 4x4 convolutions of stride 2, batch norm after all but the first,
  LeakyReLU 0.2; the feature map halves each time, to 1x1. The decoder mirrors it (CD512-CD512-CD512-C512-
  C256-C128-C64: 4x4 transposed convolutions of stride 2, batch norm, dropout 0.5 in the first three, ReLU)
  and each of its blocks is concatenated with the encoder's output of the same size (the skip connections
  that let low-level detail, the edges' positions, bypass the bottleneck). A last transposed convolution
  makes the target's channels with tanh.
- **Discriminator: the 70x70 PatchGAN** (section 3.2.2 and appendix 6.1.2): the source and the target are
  concatenated on the channel axis, then C64-C128-C256-C512 (`discriminator_filters`; 4x4 convolutions,
  stride 2 except the last, batch norm except the first, LeakyReLU 0.2) and a stride-1 convolution to one
  logit per patch. At 256x256 the logits form a 30x30 grid, each logit seeing a 70x70 patch of the pair.
- Weights from N(0, 0.02); Adam with learning rate 2e-4 and beta_1 = 0.5 for both networks (section 4).

Pixels: the model's images are in [0, 1] like the zoo's data; each network's first layer rescales them to
the paper's [-1, 1] and G's tanh output is rescaled back to [0, 1] by its last layer.

Training: `train_step` alternates as the paper (and its Torch code) does: G translates the batch once; D takes
one step on the real and the translated pairs; then G takes one step on its adversarial and L1 terms through
the updated D, on the same translation. Two optimizers (`compile(d_optimizer=..., g_optimizer=...)`); the
trackers `d_loss`, `g_loss` and G's two terms, `gan_loss` and `l1_loss`, are reported. The step is written for
the TensorFlow backend (`tf.GradientTape`): two networks with their own losses and optimizers need gradients
of two losses, which Keras 3 computes only through each backend's own API (JAX and PyTorch would each need
their own `train_step`). Under `mixed_float16` both optimizers are wrapped in `LossScaleOptimizer` (Keras only
wraps the one `compile` optimizer it knows of). Data: `fit(sources, targets)`, or a dataset of such pairs.

Inference: `model(x)` (and `predict`) returns translations, float32 (batch, H, W, output_channels) in [0, 1]:
the generator in inference mode (moving batch statistics, no dropout). The paper keeps dropout and batch
statistics at test time for its noise; the zoo serves a deterministic translation, so the same image always
gets the same answer. `model.generator` and `model.discriminator` are usable alone; the generator is what
a deployed pix2pix serves.

Styles: the functional and subclass styles build the same layers in the same order (one layer factory per
network and one forward function, `unet_forward` / `patch_forward`, applied to symbolic inputs or called
by the subclass). A `keras.Sequential` cannot hold either network: the U-Net's skip connections join
non-adjacent layers and the discriminator takes two images.

Size: with the defaults (256x256x3 to 256x256x3) the generator has 54,425,923 parameters and the
discriminator 2,770,497 (batch-normalisation moving statistics included; TensorFlow's pix2pix tutorial has
64 fewer in each, leaving out the first convolution's biases, which the paper's Torch code has).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.models.cnn.common import apply_chain
from zoo.models.generative.adversarial import TwoOptimizerModel, bce
from zoo.models.generative.common import (
    check_fraction, check_image_shape, check_seed, check_style_argument, check_units, replica_share,
)
from zoo.models.pix2pix.spec import NOT_SEQUENTIAL
from zoo.nn import Styles, check_positive_int, serializable, uses_tensorflow, with_tuples

LEAKY_SLOPE = 0.2  # the paper's LeakyReLU slope
INIT_STDDEV = 0.02  # the paper's weight initialisation, N(0, 0.02)
L1_WEIGHT = 100.0  # the paper's lambda
GENERATOR_FILTERS = (64, 128, 256, 512, 512, 512, 512, 512)
DISCRIMINATOR_FILTERS = (64, 128, 256, 512)


def _init():
    # A fresh initializer per layer: one seeded instance shared by layers would give them equal weights.
    return keras.initializers.RandomNormal(stddev=INIT_STDDEV)


# --------------------------------------------------------------------------------------------------- checks
def check_unet_shape(input_shape, generator_filters) -> None:
    """The U-Net halves its feature map once per encoder block and doubles it back: both sides must divide."""
    height, width, _ = input_shape
    steps = len(generator_filters)
    if height % 2 ** steps or width % 2 ** steps:
        raise ValueError(
            f"`input_shape` must have a height and width divisible by 2**len(generator_filters) = {2 ** steps} "
            f"(the U-Net halves its feature map {steps} times). Received: input_shape={tuple(input_shape)!r}")


def patch_grid(input_shape, discriminator_filters, kernel_size) -> tuple[int, int]:
    """The (rows, columns) of the PatchGAN's logits for images of `input_shape`.

    Every filter entry but the last halves the map ("same" padding); the last and the logit layer are
    stride-1 convolutions after a one-pixel zero padding, each changing a side by 3 - kernel_size.
    """
    strided = len(discriminator_filters) - 1
    sides = []
    for side in input_shape[:2]:
        for _ in range(strided):
            side = -(-side // 2)
        sides.append(side + 2 * (3 - kernel_size))
    if min(sides) < 1:
        raise ValueError(
            f"`input_shape` {tuple(input_shape)!r} is too small for the discriminator: {strided} stride-2 "
            f"convolutions and two {kernel_size}x{kernel_size} ones leave no patch; use fewer "
            f"discriminator_filters. Received: discriminator_filters={tuple(discriminator_filters)!r}")
    return sides[0], sides[1]


def _check_non_negative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"`{name}` must be a non-negative number. Received: {name}={value!r}")
    return float(value)


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative integer. Received: {name}={value!r}")
    return value


# ---------------------------------------------------------------------------------------------------- parts
def generator_layers(*, input_shape=(256, 256, 3), output_channels=3, generator_filters=GENERATOR_FILTERS,
                     kernel_size=4, dropout=0.5, dropout_layers=3, batch_norm_momentum=0.9, seed=None,
                     **_) -> dict:
    """The U-Net's layers, in the order of its weights in both styles.

    Args:
        input_shape: (height, width, channels) of the source images; both sides divisible by
            2 ** len(generator_filters).
        output_channels: channels of the translated images.
        generator_filters: filters of each encoder block (the decoder mirrors all but the last).
        kernel_size: side of every convolution's kernel (the paper's 4).
        dropout: dropout rate of the first `dropout_layers` decoder blocks (the paper's 0.5).
        dropout_layers: how many decoder blocks, from the bottleneck, have dropout (the paper's 3).
        batch_norm_momentum: momentum of the batch-normalisation moving statistics.
        seed: seed of the dropout masks (None: Keras' global seed).

    Returns:
        {"from_unit_range", "encoder": [block, ...], "decoder": [block, ...], "to_image", "to_unit_range"}:
        each encoder block is [conv, (batch norm), LeakyReLU], each decoder block [transposed conv, batch
        norm, (dropout), ReLU, concatenation with the skip].
    """
    check_unet_shape(input_shape, generator_filters)
    encoder = []
    for i, filters in enumerate(generator_filters, start=1):
        block = [keras.layers.Conv2D(filters, kernel_size, strides=2, padding="same", use_bias=i == 1,
                                     kernel_initializer=_init(), name=f"generator_down_{i}")]
        if i > 1:
            block.append(keras.layers.BatchNormalization(momentum=batch_norm_momentum, name=f"generator_down_{i}_bn"))
        block.append(keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"generator_down_{i}_lrelu"))
        encoder.append(block)
    decoder = []
    for i, filters in enumerate(reversed(generator_filters[:-1]), start=1):
        block = [keras.layers.Conv2DTranspose(filters, kernel_size, strides=2, padding="same", use_bias=False,
                                              kernel_initializer=_init(), name=f"generator_up_{i}"),
                 keras.layers.BatchNormalization(momentum=batch_norm_momentum, name=f"generator_up_{i}_bn")]
        if i <= dropout_layers and dropout > 0:
            block.append(keras.layers.Dropout(dropout, seed=None if seed is None else seed + i,
                                              name=f"generator_up_{i}_dropout"))
        block += [keras.layers.ReLU(name=f"generator_up_{i}_relu"),
                  keras.layers.Concatenate(name=f"generator_skip_{i}")]
        decoder.append(block)
    return {
        "from_unit_range": keras.layers.Rescaling(2.0, offset=-1.0, name="generator_from_unit_range"),
        "encoder": encoder,
        "decoder": decoder,
        "to_image": keras.layers.Conv2DTranspose(output_channels, kernel_size, strides=2, padding="same",
                                                 activation="tanh", kernel_initializer=_init(), dtype="float32",
                                                 name="generator_image"),
        "to_unit_range": keras.layers.Rescaling(0.5, offset=0.5, dtype="float32", name="generator_to_unit_range"),
    }


def unet_forward(parts: dict, images, training=None):
    """The U-Net's pass: encode, then decode with each block joined to the encoder output of its size."""
    x = parts["from_unit_range"](images)
    skips = []
    for block in parts["encoder"]:
        x = apply_chain(block, x, training=training)
        skips.append(x)
    # The bottleneck (the last encoder output) is the decoder's input, not a skip.
    for block, skip in zip(parts["decoder"], reversed(skips[:-1])):
        *layers, join = block
        x = join([apply_chain(layers, x, training=training), skip])
    return parts["to_unit_range"](parts["to_image"](x))


def discriminator_layers(*, input_shape=(256, 256, 3), discriminator_filters=DISCRIMINATOR_FILTERS, kernel_size=4,
                         batch_norm_momentum=0.9, **_) -> list[keras.layers.Layer]:
    """The PatchGAN's layers: join the pair, rescale, the convolutions, one logit per patch (float32)."""
    patch_grid(input_shape, discriminator_filters, kernel_size)
    layers = [keras.layers.Concatenate(name="discriminator_pair"),
              keras.layers.Rescaling(2.0, offset=-1.0, name="discriminator_from_unit_range")]
    last = len(discriminator_filters)
    for i, filters in enumerate(discriminator_filters, start=1):
        if i < last:
            layers.append(keras.layers.Conv2D(filters, kernel_size, strides=2, padding="same", use_bias=i == 1,
                                              kernel_initializer=_init(), name=f"discriminator_conv_{i}"))
        else:  # the paper's last C512 has stride 1, after a one-pixel padding as in its Torch code
            layers += [keras.layers.ZeroPadding2D(1, name=f"discriminator_pad_{i}"),
                       keras.layers.Conv2D(filters, kernel_size, use_bias=i == 1, kernel_initializer=_init(),
                                           name=f"discriminator_conv_{i}")]
        if i > 1:
            layers.append(keras.layers.BatchNormalization(momentum=batch_norm_momentum,
                                                          name=f"discriminator_conv_{i}_bn"))
        layers.append(keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"discriminator_conv_{i}_lrelu"))
    return layers + [
        keras.layers.ZeroPadding2D(1, name="discriminator_pad_logits"),
        keras.layers.Conv2D(1, kernel_size, kernel_initializer=_init(), dtype="float32", name="discriminator_logits"),
    ]


def patch_forward(layers, source, target, training=None):
    """The PatchGAN's pass on a (source, target) pair: logits (batch, rows, columns, 1)."""
    join, *rest = layers
    return apply_chain(rest, join([source, target]), training=training)


_GENERATOR_KEYS = ("input_shape", "output_channels", "generator_filters", "kernel_size", "dropout", "dropout_layers",
                   "batch_norm_momentum", "seed")
_DISCRIMINATOR_KEYS = ("input_shape", "output_channels", "discriminator_filters", "kernel_size",
                       "batch_norm_momentum")
_TUPLES = ("input_shape", "generator_filters", "discriminator_filters")


def _target_shape(hparams) -> tuple[int, int, int]:
    height, width, _ = hparams["input_shape"]
    return height, width, hparams["output_channels"]


def _functional_generator(**hparams) -> keras.Model:
    parts = generator_layers(**hparams)
    images = keras.Input(shape=tuple(hparams["input_shape"]), name="image")
    return keras.Model(images, unet_forward(parts, images), name="generator")


def _functional_discriminator(**hparams) -> keras.Model:
    layers = discriminator_layers(**hparams)
    source = keras.Input(shape=tuple(hparams["input_shape"]), name="source")
    target = keras.Input(shape=_target_shape(hparams), name="target")
    return keras.Model([source, target], patch_forward(layers, source, target), name="discriminator")


class _Part(keras.Model):
    """A network of pix2pix as a `keras.Model` subclass: its hyperparameters are its config."""

    keys: tuple[str, ...] = ()

    def __init__(self, name: str, **hparams):
        super().__init__(name=name)
        self.hparams = {key: tuple(hparams[key]) if key in _TUPLES else hparams[key] for key in self.keys}

    def get_config(self):
        return {"name": self.name, **self.hparams}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@serializable
class UNetGenerator(_Part):
    """pix2pix's U-Net generator as a `keras.Model` subclass: source images -> translated images in [0, 1]."""

    keys = _GENERATOR_KEYS

    def __init__(self, input_shape=(256, 256, 3), output_channels=3, generator_filters=GENERATOR_FILTERS,
                 kernel_size=4, dropout=0.5, dropout_layers=3, batch_norm_momentum=0.9, seed=None, name="generator"):
        super().__init__(name, input_shape=input_shape, output_channels=output_channels,
                         generator_filters=generator_filters, kernel_size=kernel_size, dropout=dropout,
                         dropout_layers=dropout_layers, batch_norm_momentum=batch_norm_momentum, seed=seed)
        parts = generator_layers(**self.hparams)
        # Assigned in the functional model's weight order: input scaling, encoder, decoder, output.
        self.from_unit_range = parts["from_unit_range"]
        self.encoder = parts["encoder"]
        self.decoder = parts["decoder"]
        self.to_image = parts["to_image"]
        self.to_unit_range = parts["to_unit_range"]
        # A symbolic call builds every layer and records the input's shape (which `export` serves).
        self(keras.KerasTensor((None, *self.hparams["input_shape"])))

    def parts(self) -> dict:
        return {"from_unit_range": self.from_unit_range, "encoder": self.encoder, "decoder": self.decoder,
                "to_image": self.to_image, "to_unit_range": self.to_unit_range}

    def build(self, input_shape):
        unet_forward(self.parts(), keras.KerasTensor(tuple(input_shape)))  # builds every layer on its input
        self.built = True

    def call(self, inputs, training=None):
        return unet_forward(self.parts(), inputs, training=training)


@serializable
class PatchDiscriminator(_Part):
    """pix2pix's PatchGAN as a `keras.Model` subclass: [source, target] -> logits (batch, rows, columns, 1)."""

    keys = _DISCRIMINATOR_KEYS

    def __init__(self, input_shape=(256, 256, 3), output_channels=3, discriminator_filters=DISCRIMINATOR_FILTERS,
                 kernel_size=4, batch_norm_momentum=0.9, name="discriminator"):
        super().__init__(name, input_shape=input_shape, output_channels=output_channels,
                         discriminator_filters=discriminator_filters, kernel_size=kernel_size,
                         batch_norm_momentum=batch_norm_momentum)
        self.stack = discriminator_layers(**self.hparams)
        self([keras.KerasTensor((None, *self.hparams["input_shape"])),
              keras.KerasTensor((None, *_target_shape(self.hparams)))])

    def build(self, input_shape):
        source, target = (keras.KerasTensor(tuple(shape)) for shape in input_shape)
        patch_forward(self.stack, source, target)  # builds every layer on its input
        self.built = True

    def call(self, inputs, training=None):
        source, target = inputs
        return patch_forward(self.stack, source, target, training=training)


def build_networks(style: str, hparams: dict) -> tuple[keras.Model, keras.Model]:
    """(generator, discriminator) built in `style`: "functional" or "subclass" (not "sequential")."""
    check_style_argument(style)
    if style == "sequential":
        raise ValueError(f"pix2pix cannot be built as 'sequential': {NOT_SEQUENTIAL}. Received: style={style!r}")
    generator_hparams = {key: hparams[key] for key in _GENERATOR_KEYS}
    discriminator_hparams = {key: hparams[key] for key in _DISCRIMINATOR_KEYS}
    if style == "subclass":
        return UNetGenerator(**generator_hparams), PatchDiscriminator(**discriminator_hparams)
    return _functional_generator(**generator_hparams), _functional_discriminator(**discriminator_hparams)


# ------------------------------------------------------------------------------------------------------ model
@serializable
class Pix2Pix(TwoOptimizerModel):
    """pix2pix, trained by its own `train_step` with two optimizers; arguments as `zoo.build("pix2pix", ...)`.

    Args:
        input_shape: (height, width, channels) of the source images, pixel intensities in [0, 1]; both sides
            divisible by 2 ** len(generator_filters).
        output_channels: channels of the target (and translated) images.
        generator_filters: filters of the U-Net's encoder blocks; the decoder mirrors all but the last.
        discriminator_filters: filters of the PatchGAN's convolutions (all but the last have stride 2).
        kernel_size: side of every convolution's kernel (the paper's 4).
        dropout: dropout rate in the generator's first `dropout_layers` decoder blocks (the paper's 0.5).
        dropout_layers: how many decoder blocks have dropout (the paper's 3).
        l1_weight: lambda, the weight of the L1 term in G's loss (the paper's 100).
        batch_norm_momentum: momentum of the batch-normalisation moving statistics.
        style: how the generator and discriminator are built: "functional" or "subclass".
        seed: seed of the generator's dropout masks, its only noise (None: Keras' global seed).
        name: the model's name.

    Example:
        >>> model = Pix2Pix(input_shape=(32, 32, 3), generator_filters=(32, 64, 128, 128, 128),
        ...                 discriminator_filters=(32, 64, 128))
        >>> model.compile()  # Adam(2e-4, beta_1=0.5) for both networks
        >>> model.fit(edge_maps, photos, epochs=10)
        >>> translated = model.predict(edge_maps[:8])
    """

    def __init__(self, input_shape=(256, 256, 3), output_channels=3, generator_filters=GENERATOR_FILTERS,
                 discriminator_filters=DISCRIMINATOR_FILTERS, kernel_size=4, dropout=0.5, dropout_layers=3,
                 l1_weight=L1_WEIGHT, batch_norm_momentum=0.9, style="functional", seed=None, name="pix2pix",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.image_shape = check_image_shape("input_shape", input_shape)
        self.output_channels = check_positive_int("output_channels", output_channels)
        self.generator_filters = check_units("generator_filters", generator_filters)
        self.discriminator_filters = check_units("discriminator_filters", discriminator_filters)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.dropout = check_fraction("dropout", dropout)
        self.dropout_layers = _check_count("dropout_layers", dropout_layers)
        self.l1_weight = _check_non_negative("l1_weight", l1_weight)
        self.batch_norm_momentum = check_fraction("batch_norm_momentum", batch_norm_momentum)
        self.style = check_style_argument(style)
        self.seed = check_seed(seed)
        self.generator, self.discriminator = build_networks(style, self._hparams())
        self.trackers = {key: keras.metrics.Mean(name=key) for key in ("d_loss", "g_loss", "gan_loss", "l1_loss")}
        self.d_optimizer = None
        self.g_optimizer = None
        self.built = True  # the networks are built; the top model has no weights of its own

    def _hparams(self) -> dict:
        return {"input_shape": self.image_shape, "output_channels": self.output_channels,
                "generator_filters": self.generator_filters, "discriminator_filters": self.discriminator_filters,
                "kernel_size": self.kernel_size, "dropout": self.dropout, "dropout_layers": self.dropout_layers,
                "batch_norm_momentum": self.batch_norm_momentum, "seed": self.seed}

    def call(self, inputs, training=None):
        return self.generator(inputs, training=training)

    @property
    def patch_grid(self) -> tuple[int, int]:
        """(rows, columns) of the discriminator's logits: one per patch of the image pair."""
        return patch_grid(self.image_shape, self.discriminator_filters, self.kernel_size)

    # ------------------------------------------------------------------------------------------- training
    def _pair(self, data):
        source, target, _ = keras.utils.unpack_x_y_sample_weight(data)
        if target is None:
            raise ValueError("pix2pix trains on (source, target) image pairs: fit(sources, targets) or a dataset "
                             "of such pairs. Received: sources alone.")
        return ops.cast(source, self.compute_dtype), ops.cast(target, self.compute_dtype)

    def discriminator_loss(self, source, target, translated, training=None):
        """D's loss, halved as in the paper: [BCE(1, D(x, y)) + BCE(0, D(x, G(x)))] / 2, float32."""
        real = self.discriminator([source, target], training=training)
        fake = self.discriminator([source, ops.cast(translated, self.compute_dtype)], training=training)
        return 0.5 * (bce(1.0, real) + bce(0.0, fake))

    def generator_losses(self, source, target, translated, training=None):
        """G's two terms, float32: the adversarial BCE(1, D(x, G(x))) and the mean absolute error |y - G(x)|."""
        fake = self.discriminator([source, ops.cast(translated, self.compute_dtype)], training=training)
        l1 = ops.mean(ops.abs(ops.cast(target, "float32") - ops.cast(translated, "float32")))
        return bce(1.0, fake), l1

    @uses_tensorflow("training: two optimizers need tf.GradientTape (pix2pix's spec declares tensorflow_only)")
    def train_step(self, data):
        import tensorflow as tf

        self.check_compiled()
        source, target = self._pair(data)
        generator_vars = self.generator.trainable_variables
        discriminator_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as generator_tape:
            translated = self.generator(source, training=True)
            # D's step on the same translation; G's tape does not record it.
            with generator_tape.stop_recording():
                with tf.GradientTape() as discriminator_tape:
                    d_loss = self.discriminator_loss(source, target, translated, training=True)
                    scaled = self.d_optimizer.scale_loss(replica_share(d_loss))
                self.d_optimizer.apply(discriminator_tape.gradient(scaled, discriminator_vars), discriminator_vars)
            gan_loss, l1_loss = self.generator_losses(source, target, translated, training=True)
            g_loss = gan_loss + self.l1_weight * l1_loss
            scaled = self.g_optimizer.scale_loss(replica_share(g_loss))
        self.g_optimizer.apply(generator_tape.gradient(scaled, generator_vars), generator_vars)
        return self._track(d_loss, g_loss, gan_loss, l1_loss)

    def test_step(self, data):
        source, target = self._pair(data)
        translated = self.generator(source, training=False)
        d_loss = self.discriminator_loss(source, target, translated, training=False)
        gan_loss, l1_loss = self.generator_losses(source, target, translated, training=False)
        return self._track(d_loss, gan_loss + self.l1_weight * l1_loss, gan_loss, l1_loss)

    def _track(self, d_loss, g_loss, gan_loss, l1_loss):
        for key, value in (("d_loss", d_loss), ("g_loss", g_loss), ("gan_loss", gan_loss), ("l1_loss", l1_loss)):
            self.trackers[key].update_state(value)
        return {key: tracker.result() for key, tracker in self.trackers.items()}

    @property
    def metrics(self):
        return list(self.trackers.values())

    # ------------------------------------------------------------------------------------------ saving
    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **self._hparams(), "l1_weight": self.l1_weight,
                "style": self.style}

    @classmethod
    def from_config(cls, config):
        return cls(**with_tuples(config, _TUPLES))


PIX2PIX_STYLES = Styles.of(Pix2Pix, sequential=False)
