"""DCGAN's networks (Radford, Metz & Chintala 2015), shared by the convolutional GANs: dcgan, lsgan, cgan, acgan, sgan.

The layer factories build the paper's generator (project and reshape the noise, stride-2 transposed
convolutions with batch normalisation and ReLU, tanh output) and discriminator (stride-2 convolutions,
batch normalisation after the first, LeakyReLU 0.2, logits), every weight drawn from N(0, 0.02);
`Generator` and `Discriminator` are the same chains as `keras.Model` subclasses. `ConvolutionalGAN` is the
top model that holds one of each (dcgan and lsgan differ only in their losses). See
`zoo.models.generative.dcgan` for the architecture's guidelines and the pixel ranges.
"""

from __future__ import annotations

import keras

from zoo.models.generative.adversarial import AdversarialModel
from zoo.models.generative.common import Part, build_part, check_fraction, check_image_shape, check_units
from zoo.nn import check_positive_int, serializable

LEAKY_SLOPE = 0.2  # the paper's LeakyReLU slope
INIT_STDDEV = 0.02  # the paper's weight initialisation, N(0, 0.02)


def init():
    """The paper's weight initialiser, N(0, 0.02): a fresh instance per layer (one seeded instance shared by
    layers would give them equal weights)."""
    return keras.initializers.RandomNormal(stddev=INIT_STDDEV)


def check_generator_shape(image_shape, generator_filters) -> int:
    """The side of G's first feature map: the image side halved once per transposed convolution."""
    height, width, _ = image_shape
    steps = len(generator_filters)
    if height != width or height % 2 ** steps:
        raise ValueError(
            f"`image_shape` must be square with a side divisible by 2**len(generator_filters) = {2 ** steps} "
            f"(the generator doubles its feature map {steps} times). Received: image_shape={tuple(image_shape)!r}"
        )
    return height // 2 ** steps


# -------------------------------------------------------------------------------------------------- parts
def generator_layers(*, latent_dim=100, image_shape=(28, 28, 1), generator_filters=(128, 64), kernel_size=5,
                     batch_norm_momentum=0.9, **_) -> list[keras.layers.Layer]:
    """G: project and reshape the noise, then a stride-2 transposed convolution per entry of `generator_filters`.

    The first entry is the depth of the projected feature map; each later one is the depth after an
    upsampling; the last transposed convolution makes the image's channels (tanh, float32), rescaled to [0, 1].
    The projection takes whatever width its input has (a conditional generator's noise and one-hot label).
    """
    side = check_generator_shape(image_shape, generator_filters)
    first, *rest = generator_filters
    layers = [
        keras.layers.Dense(side * side * first, use_bias=False, kernel_initializer=init(), name="generator_project"),
        keras.layers.BatchNormalization(momentum=batch_norm_momentum, name="generator_project_bn"),
        keras.layers.ReLU(name="generator_project_relu"),
        keras.layers.Reshape((side, side, first), name="generator_reshape"),
    ]
    for i, filters in enumerate(rest, start=1):
        layers += [
            keras.layers.Conv2DTranspose(filters, kernel_size, strides=2, padding="same", use_bias=False,
                                         kernel_initializer=init(), name=f"generator_deconv_{i}"),
            keras.layers.BatchNormalization(momentum=batch_norm_momentum, name=f"generator_deconv_{i}_bn"),
            keras.layers.ReLU(name=f"generator_deconv_{i}_relu"),
        ]
    return layers + [
        keras.layers.Conv2DTranspose(image_shape[-1], kernel_size, strides=2, padding="same", activation="tanh",
                                     kernel_initializer=init(), dtype="float32", name="generator_image"),
        keras.layers.Rescaling(0.5, offset=0.5, dtype="float32", name="generator_to_unit_range"),
    ]


def from_unit_range() -> keras.layers.Layer:
    """D's first layer: pixels from the data's [0, 1] to the paper's [-1, 1]."""
    return keras.layers.Rescaling(2.0, offset=-1.0, name="discriminator_from_unit_range")


def discriminator_layers(*, image_shape=(28, 28, 1), discriminator_filters=(64, 128), kernel_size=5,
                         batch_norm_momentum=0.9, outputs=1, rescale=True, **_) -> list[keras.layers.Layer]:
    """D: a stride-2 convolution per entry of `discriminator_filters` (batch norm after all but the first),
    LeakyReLU, then `outputs` logits (float32): one real-vs-generated logit for DCGAN.

    `rescale=False` leaves out the first layer (pixels to [-1, 1]) for a discriminator that rescales its
    image before joining a label to it (cgan); `outputs` > 1 gives an auxiliary classifier's logits too.
    """
    layers = [from_unit_range()] if rescale else []
    for i, filters in enumerate(discriminator_filters, start=1):
        layers.append(keras.layers.Conv2D(filters, kernel_size, strides=2, padding="same", use_bias=i == 1,
                                          kernel_initializer=init(), name=f"discriminator_conv_{i}"))
        if i > 1:
            layers.append(keras.layers.BatchNormalization(momentum=batch_norm_momentum,
                                                          name=f"discriminator_conv_{i}_bn"))
        layers.append(keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"discriminator_conv_{i}_lrelu"))
    return layers + [
        keras.layers.Flatten(name="discriminator_flatten"),
        keras.layers.Dense(outputs, kernel_initializer=init(), dtype="float32",
                           name="discriminator_logit" if outputs == 1 else "discriminator_logits"),
    ]


PART_TUPLES = ("image_shape", "generator_filters", "discriminator_filters")


@serializable
class Generator(Part):
    """DCGAN's generator as a `keras.Model` subclass: noise (batch, latent_dim) -> images in [0, 1]."""

    default_name = "generator"
    tuple_hparams = PART_TUPLES
    make_layers = staticmethod(generator_layers)

    def __init__(self, latent_dim=100, image_shape=(28, 28, 1), generator_filters=(128, 64), kernel_size=5,
                 batch_norm_momentum=0.9, name=None):
        super().__init__(name=name, latent_dim=latent_dim, image_shape=image_shape,
                         generator_filters=generator_filters, kernel_size=kernel_size,
                         batch_norm_momentum=batch_norm_momentum)

    @staticmethod
    def input_shape_of(hparams):
        return (hparams["latent_dim"],)


@serializable
class Discriminator(Part):
    """DCGAN's discriminator as a `keras.Model` subclass: images in [0, 1] -> one logit (real vs generated)."""

    default_name = "discriminator"
    tuple_hparams = PART_TUPLES
    make_layers = staticmethod(discriminator_layers)

    def __init__(self, image_shape=(28, 28, 1), discriminator_filters=(64, 128), kernel_size=5,
                 batch_norm_momentum=0.9, name=None):
        super().__init__(name=name, image_shape=image_shape, discriminator_filters=discriminator_filters,
                         kernel_size=kernel_size, batch_norm_momentum=batch_norm_momentum)

    @staticmethod
    def input_shape_of(hparams):
        return tuple(hparams["image_shape"])


def check_convolutional_args(model, *, image_shape, generator_filters, discriminator_filters, kernel_size,
                             batch_norm_momentum) -> dict:
    """Check DCGAN-style hyperparameters, store them on `model`, and return the arguments its parts share."""
    model.image_shape = check_image_shape("image_shape", image_shape)
    model.generator_filters = check_units("generator_filters", generator_filters)
    model.discriminator_filters = check_units("discriminator_filters", discriminator_filters)
    model.kernel_size = check_positive_int("kernel_size", kernel_size)
    model.batch_norm_momentum = check_fraction("batch_norm_momentum", batch_norm_momentum)
    check_generator_shape(model.image_shape, model.generator_filters)
    return {"image_shape": model.image_shape, "kernel_size": model.kernel_size,
            "batch_norm_momentum": model.batch_norm_momentum}


def convolutional_config(model) -> dict:
    """The config entries of DCGAN-style hyperparameters (see `check_convolutional_args`)."""
    return {"image_shape": model.image_shape, "generator_filters": model.generator_filters,
            "discriminator_filters": model.discriminator_filters, "kernel_size": model.kernel_size,
            "batch_norm_momentum": model.batch_norm_momentum}


class ConvolutionalGAN(AdversarialModel):
    """A GAN with DCGAN's generator and discriminator; subclasses say what each network minimises.

    Args:
        latent_dim: dimensions of the noise z ~ N(0, I).
        image_shape: (height, width, channels) of the images, square, side divisible by
            2 ** len(generator_filters); pixel intensities in [0, 1].
        generator_filters: depth of G's projected feature map, then of each upsampled one.
        discriminator_filters: filters of D's strided convolutions.
        kernel_size: kernel side of every convolution.
        batch_norm_momentum: momentum of the batch-normalisation moving statistics.
        style: how the generator and discriminator are built: "sequential", "functional" or "subclass".
        seed: seed of the model's training noise (None: drawn from Keras' global seed).
        name: the model's name.
    """

    def __init__(self, latent_dim=100, image_shape=(28, 28, 1), generator_filters=(128, 64),
                 discriminator_filters=(64, 128), kernel_size=5, batch_norm_momentum=0.9, style="functional",
                 seed=None, name="convolutional_gan", **kwargs):
        super().__init__(latent_dim=latent_dim, style=style, seed=seed, name=name, **kwargs)
        common = check_convolutional_args(self, image_shape=image_shape, generator_filters=generator_filters,
                                          discriminator_filters=discriminator_filters, kernel_size=kernel_size,
                                          batch_norm_momentum=batch_norm_momentum)
        self.set_parts(
            build_part(style, generator_layers, Generator, "generator", "noise", latent_dim=latent_dim,
                       generator_filters=self.generator_filters, **common),
            build_part(style, discriminator_layers, Discriminator, "discriminator", "image",
                       discriminator_filters=self.discriminator_filters, **common),
        )

    def call(self, inputs, training=None):
        return self.generator(inputs, training=training)

    def get_config(self):
        return {**self.base_config(), **convolutional_config(self)}
