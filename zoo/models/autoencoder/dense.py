"""Dense autoencoders: undercomplete, stacked (deep), denoising and sparse.

- **autoencoder** (`DenseAutoencoder`): the undercomplete autoencoder of the seed notes and of Chollet's
  "Building Autoencoders in Keras": the flattened image goes through one dense code layer narrower than the
  input (`latent_dim` units) and one dense layer back to the pixels. With linear activations and a squared
  error it spans the same subspace as PCA (Baldi & Hornik 1989); the defaults use ReLU codes and sigmoid
  pixels trained with binary cross-entropy.
- **stacked_autoencoder** (`StackedAutoencoder`): the deep, symmetric version (Hinton & Salakhutdinov
  2006): `hidden_units` dense layers narrowing to the code, the same widths in reverse back to the pixels.
  Trained end to end (no layer-wise pre-training, which ReLU networks and Adam do not need).
- **denoising_autoencoder** (`DenoisingAutoencoder`, Vincent et al. 2008): the input is corrupted while
  training and the model reconstructs the clean input, so it must learn what the data looks like rather
  than copy it. `corruption` is "gaussian" (additive N(0, level^2) noise, `keras.layers.GaussianNoise`) or
  "dropout" (each pixel zeroed with probability `level` and the others scaled by 1 / (1 - level),
  `keras.layers.Dropout`, as the seed notes put it: noise or dropout right after the input layer). The
  corruption layer sits in the top model before the encoder and is active only in training, so inference,
  `model.encoder` alone and the served model see clean inputs. `corrupt` replays the same corruption with
  NumPy for the evaluation on corrupted test images.
- **sparse_autoencoder** (`SparseAutoencoder`): an L1 activity penalty on the code, `l1_penalty` times the
  L1 norm of each image's code averaged over the batch (Keras' `regularizers.L1` as an activity regularizer,
  which Keras normalises by the batch size), added with `add_loss` in the top model's `call`. With ReLU codes
  it drives most code units of an image to exactly zero (Ng 2011 uses a KL penalty on mean activations; the
  seed notes and Keras use L1). The encoder and decoder are the plain autoencoder's.

Parts: `model.encoder` (image -> code, float32 under mixed precision too), `model.decoder` (code -> image,
float32), `model.encode` / `model.decode`, `model.latent_dim`.

Size: `autoencoder` with the defaults (28x28x1, 32-unit code) has 784 * 32 + 32 + 32 * 784 + 784 = 50,992
parameters; `stacked_autoencoder` (hidden (128, 64), 32-unit code) 222,384.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from zoo.models.autoencoder.base import Autoencoder, check_activation, check_number
from zoo.models.generative.common import Part, check_seed, check_units
from zoo.nn import Styles, serializable

#: how the denoising autoencoder corrupts its input while training
CORRUPTIONS = ("gaussian", "dropout")
_DENSE_TUPLES = ("input_shape", "hidden_units")


# -------------------------------------------------------------------------------------------------- parts
def encoder_layers(*, hidden_units=(), latent_dim=32, activation="relu", code_activation="relu", **_):
    """Flatten, `hidden_units` dense layers, then the code (float32, so the code is float32 under mixed precision)."""
    return [
        keras.layers.Flatten(name="encoder_flatten"),
        *[keras.layers.Dense(units, activation=activation, name=f"encoder_dense_{i}")
          for i, units in enumerate(hidden_units, start=1)],
        keras.layers.Dense(latent_dim, activation=code_activation, dtype="float32", name="encoder_code"),
    ]


def decoder_layers(*, input_shape=(28, 28, 1), hidden_units=(), activation="relu", output_activation="sigmoid", **_):
    """The encoder's hidden layers in reverse, then the pixels (float32) reshaped to the image."""
    return [
        *[keras.layers.Dense(units, activation=activation, name=f"decoder_dense_{i}")
          for i, units in enumerate(reversed(hidden_units), start=1)],
        keras.layers.Dense(math.prod(input_shape), activation=output_activation, dtype="float32",
                           name="decoder_pixels"),
        keras.layers.Reshape(tuple(input_shape), dtype="float32", name="decoder_image"),
    ]


@serializable
class DenseEncoder(Part):
    """A dense autoencoder's encoder as a `keras.Model` subclass: image -> code (batch, latent_dim)."""

    default_name = "encoder"
    tuple_hparams = _DENSE_TUPLES
    make_layers = staticmethod(encoder_layers)

    def __init__(self, input_shape=(28, 28, 1), hidden_units=(), latent_dim=32, activation="relu",
                 code_activation="relu", output_activation="sigmoid", name=None):
        super().__init__(name=name, input_shape=input_shape, hidden_units=hidden_units, latent_dim=latent_dim,
                         activation=activation, code_activation=code_activation,
                         output_activation=output_activation)


@serializable
class DenseDecoder(Part):
    """A dense autoencoder's decoder as a `keras.Model` subclass: code (batch, latent_dim) -> image."""

    default_name = "decoder"
    tuple_hparams = _DENSE_TUPLES
    make_layers = staticmethod(decoder_layers)

    def __init__(self, input_shape=(28, 28, 1), hidden_units=(), latent_dim=32, activation="relu",
                 code_activation="relu", output_activation="sigmoid", name=None):
        super().__init__(name=name, input_shape=input_shape, hidden_units=hidden_units, latent_dim=latent_dim,
                         activation=activation, code_activation=code_activation,
                         output_activation=output_activation)

    @staticmethod
    def input_shape_of(hparams):
        return (hparams["latent_dim"],)


# ------------------------------------------------------------------------------------------------- models
@serializable
class DenseAutoencoder(Autoencoder):
    """The undercomplete dense autoencoder; arguments as `zoo.build("autoencoder", ...)`.

    Args:
        input_shape: (height, width, channels) of the images, pixel intensities in [0, 1].
        hidden_units: units of the encoder's dense layers before the code (the decoder mirrors them);
            empty for the one-layer autoencoder.
        latent_dim: units of the code.
        activation: activation of the hidden layers.
        code_activation: activation of the code layer ("linear" with `output_activation="linear"`: PCA's span).
        output_activation: activation of the pixels ("sigmoid" for binary cross-entropy on [0, 1] pixels).
        style: how the encoder and decoder are built: "sequential", "functional" or "subclass".
        name: the model's name.

    Example:
        >>> model = DenseAutoencoder(input_shape=(8, 8, 1), latent_dim=16)
        >>> model.compile(optimizer="adam", loss="binary_crossentropy")
        >>> model.fit(images, images, epochs=20)
        >>> codes = model.encoder.predict(images)
    """

    def __init__(self, input_shape=(28, 28, 1), hidden_units=(), latent_dim=32, activation="relu",
                 code_activation="relu", output_activation="sigmoid", style="functional", name="autoencoder",
                 **kwargs):
        super().__init__(input_shape=input_shape, latent_dim=latent_dim, style=style, name=name, **kwargs)
        self.hidden_units = self._check_hidden_units(hidden_units)
        self.activation = check_activation("activation", activation)
        self.code_activation = check_activation("code_activation", code_activation)
        self.output_activation = check_activation("output_activation", output_activation)
        self._build_parts(encoder_layers, DenseEncoder, decoder_layers, DenseDecoder,
                          hidden_units=self.hidden_units, activation=activation, code_activation=code_activation,
                          output_activation=output_activation)

    @staticmethod
    def _check_hidden_units(hidden_units):
        return check_units("hidden_units", hidden_units, allow_empty=True)

    def _config(self):
        return {"input_shape": self.image_shape, "hidden_units": self.hidden_units, "latent_dim": self.latent_dim,
                "activation": self.activation, "code_activation": self.code_activation,
                "output_activation": self.output_activation}


@serializable
class StackedAutoencoder(DenseAutoencoder):
    """The deep, symmetric dense autoencoder: at least one hidden layer on each side of the code.

    Arguments as `DenseAutoencoder`; `hidden_units` must not be empty.
    """

    def __init__(self, input_shape=(28, 28, 1), hidden_units=(128, 64), latent_dim=32, activation="relu",
                 code_activation="relu", output_activation="sigmoid", style="functional",
                 name="stacked_autoencoder", **kwargs):
        super().__init__(input_shape=input_shape, hidden_units=hidden_units, latent_dim=latent_dim,
                         activation=activation, code_activation=code_activation,
                         output_activation=output_activation, style=style, name=name, **kwargs)

    @staticmethod
    def _check_hidden_units(hidden_units):
        if isinstance(hidden_units, (list, tuple)) and not hidden_units:
            raise ValueError("A stacked autoencoder needs at least one hidden layer on each side of the code. "
                             f"Received: hidden_units={hidden_units!r}")
        return check_units("hidden_units", hidden_units)


@serializable
class DenoisingAutoencoder(DenseAutoencoder):
    """A dense autoencoder trained to reconstruct clean images from corrupted ones.

    Args (besides `DenseAutoencoder`'s):
        corruption: "gaussian" (additive N(0, corruption_level^2) noise) or "dropout" (pixels zeroed with
            probability corruption_level, the others scaled by 1 / (1 - corruption_level)).
        corruption_level: the noise's standard deviation (> 0), or the dropout rate (in (0, 1)).
        seed: seed of the corruption noise (None: drawn from Keras' global seed).

    Example:
        >>> model = DenoisingAutoencoder(input_shape=(8, 8, 1), hidden_units=(64,), latent_dim=16,
        ...                              corruption="dropout", corruption_level=0.3)
        >>> model.compile(optimizer="adam", loss="binary_crossentropy")
        >>> model.fit(images, images, epochs=40)   # corrupts `images` itself, in training only
        >>> clean = model.predict(noisy_images)
    """

    def __init__(self, input_shape=(28, 28, 1), hidden_units=(128,), latent_dim=32, activation="relu",
                 code_activation="relu", output_activation="sigmoid", corruption="gaussian", corruption_level=0.3,
                 seed=None, style="functional", name="denoising_autoencoder", **kwargs):
        super().__init__(input_shape=input_shape, hidden_units=hidden_units, latent_dim=latent_dim,
                         activation=activation, code_activation=code_activation,
                         output_activation=output_activation, style=style, name=name, **kwargs)
        if corruption not in CORRUPTIONS:
            raise ValueError(f"`corruption` must be one of {', '.join(map(repr, CORRUPTIONS))}. "
                             f"Received: corruption={corruption!r}")
        self.corruption = corruption
        if corruption == "gaussian":
            self.corruption_level = check_number("corruption_level", corruption_level, low=0.0, low_open=True)
            self.corruption_layer = keras.layers.GaussianNoise(self.corruption_level, seed=check_seed(seed),
                                                               name="corruption")
        else:
            self.corruption_level = check_number("corruption_level", corruption_level, low=0.0, high=1.0,
                                                 low_open=True)
            self.corruption_layer = keras.layers.Dropout(self.corruption_level, seed=check_seed(seed),
                                                         name="corruption")
        self.seed = seed

    def call(self, inputs, training=None):
        # The corruption layers are the identity unless training.
        corrupted = self.corruption_layer(inputs, training=training)
        return self.decode(self.encode(corrupted, training=training), training=training)

    def _config(self):
        return {**super()._config(), "corruption": self.corruption, "corruption_level": self.corruption_level,
                "seed": self.seed}


@serializable
class SparseAutoencoder(DenseAutoencoder):
    """A dense autoencoder with an L1 penalty on its code.

    Args (besides `DenseAutoencoder`'s):
        l1_penalty: weight of the penalty `l1_penalty * mean over the batch of sum_j |code_j|`, added to the
            training loss (0 turns it off).

    Example:
        >>> model = SparseAutoencoder(input_shape=(8, 8, 1), latent_dim=32, l1_penalty=1e-3)
        >>> model.compile(optimizer="adam", loss="binary_crossentropy")
        >>> model.fit(images, images, epochs=40)   # loss = cross-entropy + the code's L1 penalty
    """

    def __init__(self, input_shape=(28, 28, 1), hidden_units=(), latent_dim=64, activation="relu",
                 code_activation="relu", output_activation="sigmoid", l1_penalty=3e-3, style="functional",
                 name="sparse_autoencoder", **kwargs):
        super().__init__(input_shape=input_shape, hidden_units=hidden_units, latent_dim=latent_dim,
                         activation=activation, code_activation=code_activation,
                         output_activation=output_activation, style=style, name=name, **kwargs)
        self.l1_penalty = check_number("l1_penalty", l1_penalty, low=0.0)

    def call(self, inputs, training=None):
        codes = self.encode(inputs, training=training)
        self.add_loss(self.l1_penalty * code_l1(codes))
        return self.decode(codes, training=training)

    def _config(self):
        return {**super()._config(), "l1_penalty": self.l1_penalty}


def code_l1(codes):
    """The L1 norm of each code, averaged over the batch: a float32 scalar."""
    codes = ops.cast(codes, "float32")
    return ops.mean(ops.sum(ops.abs(codes), axis=-1))


def corrupt(images, corruption: str, level: float, rng: np.random.Generator) -> np.ndarray:
    """The denoising autoencoder's training corruption, replayed with NumPy (the evaluation's corrupted inputs).

    Args:
        images: (batch, ...) clean images.
        corruption: "gaussian" or "dropout" (as `DenoisingAutoencoder`).
        level: the noise's standard deviation, or the dropout rate.
        rng: the NumPy generator; draws are element by element in order, so a seeded generator corrupts a
            stream of batches the same whatever the batch size.

    Returns:
        The corrupted images, float32, same shape.
    """
    images = np.asarray(images, dtype="float32")
    if corruption == "gaussian":
        return images + np.float32(level) * rng.standard_normal(images.shape, dtype=np.float32)
    if corruption == "dropout":
        kept = rng.random(images.shape) >= level
        return np.where(kept, images / np.float32(1.0 - level), np.float32(0.0)).astype("float32")
    raise ValueError(f"`corruption` must be one of {', '.join(map(repr, CORRUPTIONS))}. "
                     f"Received: corruption={corruption!r}")


AUTOENCODER = Styles.of(DenseAutoencoder, name="autoencoder")
STACKED_AUTOENCODER = Styles.of(StackedAutoencoder, name="stacked_autoencoder")
DENOISING_AUTOENCODER = Styles.of(DenoisingAutoencoder, name="denoising_autoencoder")
SPARSE_AUTOENCODER = Styles.of(SparseAutoencoder, name="sparse_autoencoder")
