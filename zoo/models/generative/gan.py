"""The generative adversarial network of Goodfellow et al. 2014 ("Generative Adversarial Nets"), exactly as the
seed notes' MNIST code builds it (seed 000 "GAN code (clone)", seed 003 "3) Generative Adversarial Network").

Two multilayer perceptrons with one hidden layer each, all weights drawn from N(0, 0.01) and biases zero:

    G: noise z (n_noise = 128) ~ N(0, I) -> ReLU dense (n_hidden = 256) -> sigmoid dense (pixels) -> image
    D: image -> flatten -> ReLU dense (n_hidden = 256) -> one logit of "real"

and the notes' losses, with D's sigmoid folded into them (the same functions, computed stably from logits):

    D minimises  -mean(log D(x) + log(1 - D(G(z))))        G minimises  -mean(log D(G(z)))

(G's loss is the non-saturating one of the paper's section 3). Both train with Adam at learning rate 2e-4
(TensorFlow's `AdamOptimizer` defaults otherwise: beta_1 0.9, beta_2 0.999), batch size 100. As in the
notes, each batch takes one D step and then one G step on **the same noise** (`reuse_noise`).

Hyperparameters: `latent_dim` is the notes' `n_noise`, `hidden_units` their `n_hidden`; `image_shape` is
(28, 28, 1) for MNIST (the notes' `n_input` = 784 is its pixel count). Pixels are in [0, 1] in and out, as
the notes' sigmoid output and MNIST's pixels are.

Training (`zoo.models.generative.adversarial.AdversarialModel`) is TensorFlow-only, like every zoo GAN's: a
`tf.GradientTape` step with two optimizers. `model(z)` returns generated images; `model.generator` and
`model.discriminator` are usable alone.

Size: with the defaults the generator has 128 * 256 + 256 + 256 * 784 + 784 = 234,512 parameters and the
discriminator 784 * 256 + 256 + 256 + 1 = 201,217.
"""

from __future__ import annotations

import math

import keras  # first: see zoo/models/generative/__init__.py

from zoo.models.generative.adversarial import AdversarialModel, bce
from zoo.models.generative.common import Part, build_part, check_image_shape
from zoo.nn import Styles, check_positive_int, serializable

INIT_STDDEV = 0.01  # the notes' tf.random_normal(..., stddev=0.01)
SEED_ADAM = {"class_name": "adam", "config": {"learning_rate": 2e-4}}  # the notes' AdamOptimizer(0.0002)


def _init():
    return keras.initializers.RandomNormal(stddev=INIT_STDDEV)


def generator_layers(*, latent_dim=128, hidden_units=256, image_shape=(28, 28, 1), **_) -> list[keras.layers.Layer]:
    """G: ReLU dense (`hidden_units`), sigmoid dense over the pixels (float32), reshaped to the image."""
    return [
        keras.layers.Dense(hidden_units, activation="relu", kernel_initializer=_init(), name="generator_hidden"),
        keras.layers.Dense(math.prod(image_shape), activation="sigmoid", kernel_initializer=_init(),
                           dtype="float32", name="generator_pixels"),
        keras.layers.Reshape(tuple(image_shape), dtype="float32", name="generator_image"),
    ]


def discriminator_layers(*, hidden_units=256, image_shape=(28, 28, 1), **_) -> list[keras.layers.Layer]:
    """D: flatten, ReLU dense (`hidden_units`), one logit (float32; the notes' sigmoid is in the loss)."""
    return [
        keras.layers.Flatten(name="discriminator_flatten"),
        keras.layers.Dense(hidden_units, activation="relu", kernel_initializer=_init(), name="discriminator_hidden"),
        keras.layers.Dense(1, kernel_initializer=_init(), dtype="float32", name="discriminator_logit"),
    ]


@serializable
class MLPGenerator(Part):
    """The seed GAN's generator as a `keras.Model` subclass: noise (batch, latent_dim) -> images in [0, 1]."""

    default_name = "generator"
    tuple_hparams = ("image_shape",)
    make_layers = staticmethod(generator_layers)

    def __init__(self, latent_dim=128, hidden_units=256, image_shape=(28, 28, 1), name=None):
        super().__init__(name=name, latent_dim=latent_dim, hidden_units=hidden_units, image_shape=image_shape)

    @staticmethod
    def input_shape_of(hparams):
        return (hparams["latent_dim"],)


@serializable
class MLPDiscriminator(Part):
    """The seed GAN's discriminator as a `keras.Model` subclass: images in [0, 1] -> one logit."""

    default_name = "discriminator"
    tuple_hparams = ("image_shape",)
    make_layers = staticmethod(discriminator_layers)

    def __init__(self, hidden_units=256, image_shape=(28, 28, 1), name=None):
        super().__init__(name=name, hidden_units=hidden_units, image_shape=image_shape)

    @staticmethod
    def input_shape_of(hparams):
        return tuple(hparams["image_shape"])


@serializable
class GAN(AdversarialModel):
    """The seed notes' MLP GAN; arguments as `zoo.build("gan", ...)`.

    Args:
        latent_dim: dimensions of the noise (the notes' n_noise, 128).
        hidden_units: units of each network's hidden layer (the notes' n_hidden, 256).
        image_shape: (height, width, channels) of the images, pixels in [0, 1].
        style: how the generator and discriminator are built: "sequential", "functional" or "subclass".
        seed: seed of the model's training noise (None: drawn from Keras' global seed).
        name: the model's name.

    Example:
        >>> gan = GAN(image_shape=(16, 16, 1))
        >>> gan.compile()  # Adam(2e-4) for both networks, as the notes
        >>> gan.fit(images, batch_size=100, epochs=100)
        >>> samples = gan.predict(np.random.normal(size=(16, 128)))
    """

    default_optimizer = SEED_ADAM
    reuse_noise = True

    def __init__(self, latent_dim=128, hidden_units=256, image_shape=(28, 28, 1), style="functional", seed=None,
                 name="gan", **kwargs):
        super().__init__(latent_dim=latent_dim, style=style, seed=seed, name=name, **kwargs)
        self.hidden_units = check_positive_int("hidden_units", hidden_units)
        self.image_shape = check_image_shape("image_shape", image_shape)
        parts = {"hidden_units": self.hidden_units, "image_shape": self.image_shape}
        self.set_parts(
            build_part(style, generator_layers, MLPGenerator, "generator", "noise", latent_dim=latent_dim, **parts),
            build_part(style, discriminator_layers, MLPDiscriminator, "discriminator", "image", **parts),
        )

    def call(self, inputs, training=None):
        return self.generator(inputs, training=training)

    def discriminator_objective(self, real, labels, noise, training):
        """-mean(log D(x)) - mean(log(1 - D(G(z)))): the notes' loss_D."""
        real_logits = self.discriminator(real, training=training)
        fake_logits = self.discriminator(self.generator(noise, training=training), training=training)
        return bce(1.0, real_logits) + bce(0.0, fake_logits), {}

    def generator_objective(self, noise, labels, training):
        """-mean(log D(G(z))): the notes' loss_G."""
        return bce(1.0, self.discriminator(self.generator(noise, training=training), training=training)), {}

    def get_config(self):
        return {**self.base_config(), "hidden_units": self.hidden_units, "image_shape": self.image_shape}


GAN_STYLES = Styles.of(GAN)
