"""The variational autoencoder (Kingma & Welling 2013, "Auto-Encoding Variational Bayes").

An encoder maps an image x to the mean and log-variance of a diagonal Gaussian q(z|x) over a latent code;
a code z = mean + exp(log_var / 2) * eps, eps ~ N(0, I), is drawn by reparameterisation (so gradients
flow through the sampling); a decoder maps z back to Bernoulli pixel probabilities p(x|z). Training
minimises the negative evidence lower bound, in nats per image:

    -ELBO(x) = E_q[-log p(x|z)]  +  KL(q(z|x) || N(0, I))
             = sum over pixels of the binary cross-entropy  +  -1/2 sum_j (1 + log_var_j - mean_j^2 - exp(log_var_j))

(the reconstruction term uses one sampled z per image while training). Pixel intensities in [0, 1] are
treated as Bernoulli probabilities, as the paper does for MNIST.

Networks: the paper's multilayer perceptrons. The encoder flattens the image, applies ReLU dense layers
(`hidden_units`) and one float32 dense layer of 2 * `latent_dim` units, the code's mean and log-variance
side by side (one layer, so the encoder is a single chain in all three styles); the decoder mirrors the
hidden layers and ends in a float32 sigmoid layer reshaped to the image.

The model owns its loss, portably across backends: `call` adds the KL term with `add_loss`, and
`compute_loss` adds the reconstruction term, updates the `reconstruction_loss` and `kl_loss` trackers
(Keras' own tracker reports the total as `loss`) and returns the total. So `compile(optimizer)` with no
loss is all it needs. In inference mode `call` decodes the mean code, deterministically: the
reconstruction. The sampling noise comes from a `keras.random.SeedGenerator` the model owns.

Parts: `model.encoder` (image -> [mean, log_var], shape (batch, 2 * latent_dim)), `model.decoder`
(code -> image), and the helpers `model.encode` (image -> (mean, log_var)) and `model.decode`. The decoder is
what a deployed VAE serves: it generates images from codes drawn from the prior N(0, I).

Size: with the defaults (28x28x1, hidden (512,), 16 latent dimensions) the encoder has 401,920 + 16,416
parameters and the decoder 8,704 + 402,192: 829,232 in all.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from zoo.models.generative.common import (
    Part, build_part, check_image_shape, check_seed, check_style_argument, check_units, replica_share,
)
from zoo.nn import Styles, check_positive_int, serializable, with_tuples


# ------------------------------------------------------------------------------------------------ the bound
def reconstruction_nats(images, reconstruction):
    """-log p(x|z) per image in nats: the binary cross-entropy of the pixels, summed over each image.

    Args:
        images: (batch, ...) pixel intensities in [0, 1].
        reconstruction: (batch, ...) the decoder's pixel probabilities, same shape.

    Returns:
        (batch,) float32.
    """
    images = ops.cast(images, "float32")
    probabilities = ops.cast(reconstruction, "float32")
    batch = ops.shape(images)[0]
    cross_entropy = ops.binary_crossentropy(ops.reshape(images, (batch, -1)), ops.reshape(probabilities, (batch, -1)))
    return ops.sum(cross_entropy, axis=-1)


def kl_nats(z_mean, z_log_var):
    """KL(N(z_mean, exp(z_log_var)) || N(0, I)) per example in nats, in closed form. Returns (batch,) float32."""
    z_mean = ops.cast(z_mean, "float32")
    z_log_var = ops.cast(z_log_var, "float32")
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


# -------------------------------------------------------------------------------------------------- parts
def encoder_layers(*, input_shape=(28, 28, 1), hidden_units=(512,), latent_dim=16, **_) -> list[keras.layers.Layer]:
    """The encoder: flatten, ReLU dense layers, then the code's mean and log-variance side by side (float32)."""
    return [
        keras.layers.Flatten(name="encoder_flatten"),
        *[keras.layers.Dense(units, activation="relu", name=f"encoder_dense_{i}")
          for i, units in enumerate(hidden_units, start=1)],
        keras.layers.Dense(2 * latent_dim, dtype="float32", name="encoder_moments"),
    ]


def decoder_layers(*, input_shape=(28, 28, 1), hidden_units=(512,), latent_dim=16, **_) -> list[keras.layers.Layer]:
    """The decoder: the encoder's hidden layers in reverse, then sigmoid pixel probabilities (float32)."""
    return [
        *[keras.layers.Dense(units, activation="relu", name=f"decoder_dense_{i}")
          for i, units in enumerate(reversed(hidden_units), start=1)],
        keras.layers.Dense(math.prod(input_shape), activation="sigmoid", dtype="float32", name="decoder_pixels"),
        keras.layers.Reshape(tuple(input_shape), dtype="float32", name="decoder_image"),
    ]


@serializable
class VAEEncoder(Part):
    """The VAE's encoder as a `keras.Model` subclass: image -> [mean, log_var], shape (batch, 2 * latent_dim)."""

    default_name = "encoder"
    tuple_hparams = ("input_shape", "hidden_units")
    make_layers = staticmethod(encoder_layers)

    def __init__(self, input_shape=(28, 28, 1), hidden_units=(512,), latent_dim=16, name=None):
        super().__init__(name=name, input_shape=input_shape, hidden_units=hidden_units, latent_dim=latent_dim)


@serializable
class VAEDecoder(Part):
    """The VAE's decoder as a `keras.Model` subclass: code (batch, latent_dim) -> image in [0, 1]."""

    default_name = "decoder"
    tuple_hparams = ("input_shape", "hidden_units")
    make_layers = staticmethod(decoder_layers)

    def __init__(self, input_shape=(28, 28, 1), hidden_units=(512,), latent_dim=16, name=None):
        super().__init__(name=name, input_shape=input_shape, hidden_units=hidden_units, latent_dim=latent_dim)

    @staticmethod
    def input_shape_of(hparams):
        return (hparams["latent_dim"],)


# -------------------------------------------------------------------------------------------------- model
@serializable
class VariationalAutoencoder(keras.Model):
    """A VAE that owns its loss (the negative ELBO); arguments as `zoo.build("vae", ...)`.

    Args:
        input_shape: (height, width, channels) of the images, pixel intensities in [0, 1].
        hidden_units: units of the encoder's ReLU dense layers (the decoder mirrors them).
        latent_dim: dimensions of the latent code.
        style: how the encoder and decoder are built: "sequential", "functional" or "subclass".
        seed: seed of the model's sampling noise (None: drawn from Keras' global seed).
        name: the model's name.

    Example:
        >>> vae = VariationalAutoencoder(input_shape=(8, 8, 1), hidden_units=(128,), latent_dim=8)
        >>> vae.compile(optimizer="adam")
        >>> vae.fit(images, epochs=10)
        >>> samples = vae.decoder(keras.random.normal((16, 8)))
    """

    def __init__(self, input_shape=(28, 28, 1), hidden_units=(512,), latent_dim=16, style="functional", seed=None,
                 name="vae", **kwargs):
        super().__init__(name=name, **kwargs)
        self.image_shape = check_image_shape("input_shape", input_shape)
        self.hidden_units = check_units("hidden_units", hidden_units, allow_empty=True)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.style = check_style_argument(style)
        self.seed = check_seed(seed)
        parts = {"input_shape": self.image_shape, "hidden_units": self.hidden_units, "latent_dim": latent_dim}
        self.encoder = build_part(style, encoder_layers, VAEEncoder, "encoder", "image", **parts)
        self.decoder = build_part(style, decoder_layers, VAEDecoder, "decoder", "latent", **parts)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True  # the parts are built; the top model has no weights of its own

    def encode(self, images, training=None):
        """The code's distribution q(z|x): (mean, log_var), each (batch, latent_dim), float32."""
        moments = ops.cast(self.encoder(images, training=training), "float32")
        return moments[:, : self.latent_dim], moments[:, self.latent_dim:]

    def decode(self, codes, training=None):
        """Pixel probabilities for codes (batch, latent_dim): (batch, *input_shape), float32."""
        return self.decoder(codes, training=training)

    def call(self, inputs, training=None):
        z_mean, z_log_var = self.encode(inputs, training=training)
        if training:
            noise = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
            codes = z_mean + ops.exp(0.5 * z_log_var) * noise
        else:
            codes = z_mean
        # The KL term as a loss of this call (portable: Keras collects it on every backend).
        self.add_loss(ops.mean(kl_nats(z_mean, z_log_var)))
        return self.decode(codes, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The negative ELBO averaged over the batch: reconstruction (here) plus KL (added by `call`).

        `y` is ignored: a VAE reconstructs its inputs (fit on images alone, or on (images, labels)).
        """
        reconstruction = ops.mean(reconstruction_nats(x, y_pred))
        # `self.losses` holds the KL term of this step's call (and any weight penalties a user added).
        kl = ops.sum(ops.stack([ops.cast(loss, "float32") for loss in self.losses])) if self.losses else 0.0
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return replica_share(reconstruction + kl)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "input_shape": self.image_shape,
                "hidden_units": self.hidden_units, "latent_dim": self.latent_dim, "style": self.style,
                "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**with_tuples(config, ("input_shape", "hidden_units")))


VAE = Styles.of(VariationalAutoencoder)
