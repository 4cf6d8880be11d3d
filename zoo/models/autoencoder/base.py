"""What the zoo's autoencoders share: the top model over an encoder and a decoder, and argument checks.

An autoencoder learns a code of its input by reconstructing the input from it: an encoder maps an image x
to a code z = f(x) of `latent_dim` numbers, a decoder maps the code back to an image g(z), and training
minimises a reconstruction loss between x and g(f(x)) (Rumelhart, Hinton & Williams 1986; Hinton &
Salakhutdinov 2006). What keeps it from learning the identity is a constraint: a code narrower than the
input (undercomplete), noise on the input (denoising), or a penalty on the code (sparse).

The top model is a `keras.Model` subclass holding the two parts as `encoder` and `decoder`, each usable
alone (the seed notes: "after training, the encoder and the decoder are used separately, like three
models"), with `encode`/`decode` helpers and `latent_dim`. The zoo's `style` chooses how the parts are built
(`keras.Sequential`, the functional API or a `keras.Model` subclass, through `generative.common.build_part`);
every style builds the same layers in the same order, so weights move between styles, and the top model's
config names its style so it reloads as it was built.

Training is ordinary Keras: `compile(optimizer, loss="binary_crossentropy")` and `fit(images, images)`; a
model's own training terms (a sparsity penalty) are added with `add_loss`, which Keras sums into the loss on
every backend. Inference (`model(x)`, `predict`) returns the reconstruction, float32.
"""

from __future__ import annotations

import math
from typing import Any

import keras

from zoo.models.generative.common import build_part, check_image_shape, check_style_argument
from zoo.nn import check_positive_int, with_tuples

#: hyperparameters that are tuples in Python and lists in JSON
TUPLE_HPARAMS = ("input_shape", "hidden_units", "filters")


def check_activation(name: str, value: Any) -> str:
    """`value` if it names a Keras activation ("relu", "sigmoid", "linear", ...); else a one-line ValueError."""
    if isinstance(value, str):
        try:
            keras.activations.get(value)
            return value
        except (ValueError, TypeError):
            pass
    raise ValueError(f"`{name}` must name a Keras activation such as 'relu', 'sigmoid' or 'linear'. "
                     f"Received: {name}={value!r}")


def check_number(name: str, value: Any, *, low: float, high: float = math.inf, low_open: bool = False,
                 high_open: bool = True) -> float:
    """`value` as a float if it is a finite number in the given interval; else a one-line ValueError."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"`{name}` must be a number in {interval}. Received: {name}={value!r}")
    return float(value)


class Autoencoder(keras.Model):
    """Base of the zoo's autoencoders: an encoder and a decoder built in a style, trained to reconstruct.

    Subclasses check their hyperparameters, call `_build_parts` with their layer factories and `Part`
    classes, and return every constructor argument from `get_config` (`_config`).

    Attributes:
        encoder: image (batch, *input_shape) -> code (batch, latent_dim), float32.
        decoder: code (batch, latent_dim) -> image (batch, *input_shape), float32.
        latent_dim: the code's size.
        image_shape: the images' (height, width, channels).
        style: how the parts were built.
    """

    def __init__(self, *, input_shape, latent_dim, style, name, **kwargs):
        super().__init__(name=name, **kwargs)
        self.image_shape = check_image_shape("input_shape", input_shape)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.style = check_style_argument(style)

    def _build_parts(self, encoder_layers, encoder_class, decoder_layers, decoder_class, **hparams) -> None:
        """Build `encoder` and `decoder` in this model's style from their factories and `Part` classes."""
        hparams = {"input_shape": self.image_shape, "latent_dim": self.latent_dim, **hparams}
        self.encoder = build_part(self.style, encoder_layers, encoder_class, "encoder", "image", **hparams)
        self.decoder = build_part(self.style, decoder_layers, decoder_class, "decoder", "code", **hparams)
        self.built = True  # the parts are built; the top model has no weights of its own

    def encode(self, images, training=None):
        """The code of `images` (batch, *input_shape): (batch, latent_dim), float32."""
        return self.encoder(images, training=training)

    def decode(self, codes, training=None):
        """The images that `codes` (batch, latent_dim) decode to: (batch, *input_shape), float32."""
        return self.decoder(codes, training=training)

    def call(self, inputs, training=None):
        return self.decode(self.encode(inputs, training=training), training=training)

    def _config(self) -> dict:
        """The subclass's hyperparameters (everything its constructor takes but `name` and `style`)."""
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **self._config(), "style": self.style}

    @classmethod
    def from_config(cls, config):
        return cls(**with_tuples(config, TUPLE_HPARAMS))
