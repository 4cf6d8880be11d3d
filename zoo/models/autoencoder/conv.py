"""The convolutional autoencoder: strided Conv2D encoder, Conv2DTranspose decoder.

The encoder halves the image once per entry of `filters` with stride-2 3x3 convolutions (ReLU), flattens
the last feature map and maps it to a dense code of `latent_dim` units; the decoder mirrors it: a dense
layer back to the last feature map's size, a stride-2 transposed convolution per entry of `filters` in
reverse (each doubles the map: the "deconvolution" upsampling of the seed notes, Chollet's "Deep Learning
with Python" p. 337), and a stride-1 transposed convolution to the image's channels with sigmoid pixels
(float32). No pooling: the strides downsample and upsample, as in Masci et al. 2011's convolutional
autoencoders without max-pooling and in Radford et al. 2015's networks. The code is a vector like the dense
autoencoders', so `encoder`, `decoder`, `latent_dim` and the served code mean the same for all five.

Size: with the defaults (28x28x1, filters (32, 64), 3x3 kernels, 32-unit code) the encoder has 320 + 18,496 +
100,384 = 119,200 parameters and the decoder 103,488 + 36,928 + 18,464 + 289 = 159,169: 278,369 in all.
"""

from __future__ import annotations

import keras

from zoo.models.autoencoder.base import Autoencoder, check_activation
from zoo.models.generative.common import Part, check_units
from zoo.nn import Styles, check_positive_int, serializable

_CONV_TUPLES = ("input_shape", "filters")


def feature_map_shape(input_shape, filters) -> tuple[int, int]:
    """(height, width) of the encoder's last feature map: the image's halved once per entry of `filters`."""
    height, width, _ = input_shape
    factor = 2 ** len(filters)
    if height % factor or width % factor:
        raise ValueError(
            f"`input_shape`'s height and width must be divisible by 2**len(filters) = {factor} (the encoder halves "
            f"them {len(filters)} times and the decoder doubles them back). "
            f"Received: input_shape={tuple(input_shape)!r}"
        )
    return height // factor, width // factor


# -------------------------------------------------------------------------------------------------- parts
def encoder_layers(*, filters=(32, 64), kernel_size=3, latent_dim=32, activation="relu", code_activation="relu",
                   **_):
    """A stride-2 convolution per entry of `filters`, flatten, then the dense code (float32)."""
    return [
        *[keras.layers.Conv2D(depth, kernel_size, strides=2, padding="same", activation=activation,
                              name=f"encoder_conv_{i}") for i, depth in enumerate(filters, start=1)],
        keras.layers.Flatten(name="encoder_flatten"),
        keras.layers.Dense(latent_dim, activation=code_activation, dtype="float32", name="encoder_code"),
    ]


def decoder_layers(*, input_shape=(28, 28, 1), filters=(32, 64), kernel_size=3, activation="relu",
                   output_activation="sigmoid", **_):
    """Dense to the last feature map, a stride-2 transposed convolution per entry of `filters` in reverse, then
    a stride-1 transposed convolution to the image's channels (float32)."""
    height, width = feature_map_shape(input_shape, filters)
    return [
        keras.layers.Dense(height * width * filters[-1], activation=activation, name="decoder_project"),
        keras.layers.Reshape((height, width, filters[-1]), name="decoder_reshape"),
        *[keras.layers.Conv2DTranspose(depth, kernel_size, strides=2, padding="same", activation=activation,
                                       name=f"decoder_deconv_{i}")
          for i, depth in enumerate(reversed(filters), start=1)],
        keras.layers.Conv2DTranspose(input_shape[-1], kernel_size, padding="same", activation=output_activation,
                                     dtype="float32", name="decoder_image"),
    ]


@serializable
class ConvEncoder(Part):
    """The convolutional autoencoder's encoder as a `keras.Model` subclass: image -> code (batch, latent_dim)."""

    default_name = "encoder"
    tuple_hparams = _CONV_TUPLES
    make_layers = staticmethod(encoder_layers)

    def __init__(self, input_shape=(28, 28, 1), filters=(32, 64), kernel_size=3, latent_dim=32, activation="relu",
                 code_activation="relu", output_activation="sigmoid", name=None):
        super().__init__(name=name, input_shape=input_shape, filters=filters, kernel_size=kernel_size,
                         latent_dim=latent_dim, activation=activation, code_activation=code_activation,
                         output_activation=output_activation)


@serializable
class ConvDecoder(Part):
    """The convolutional autoencoder's decoder as a `keras.Model` subclass: code (batch, latent_dim) -> image."""

    default_name = "decoder"
    tuple_hparams = _CONV_TUPLES
    make_layers = staticmethod(decoder_layers)

    def __init__(self, input_shape=(28, 28, 1), filters=(32, 64), kernel_size=3, latent_dim=32, activation="relu",
                 code_activation="relu", output_activation="sigmoid", name=None):
        super().__init__(name=name, input_shape=input_shape, filters=filters, kernel_size=kernel_size,
                         latent_dim=latent_dim, activation=activation, code_activation=code_activation,
                         output_activation=output_activation)

    @staticmethod
    def input_shape_of(hparams):
        return (hparams["latent_dim"],)


# -------------------------------------------------------------------------------------------------- model
@serializable
class ConvAutoencoder(Autoencoder):
    """The convolutional autoencoder; arguments as `zoo.build("conv_autoencoder", ...)`.

    Args:
        input_shape: (height, width, channels) of the images, pixel intensities in [0, 1]; height and width
            divisible by 2 ** len(filters).
        filters: depth of each stride-2 convolution of the encoder (the decoder's transposed convolutions
            mirror them).
        kernel_size: the (transposed) convolutions' kernel size.
        latent_dim: units of the code.
        activation: activation of the hidden layers.
        code_activation: activation of the code layer.
        output_activation: activation of the pixels.
        style: how the encoder and decoder are built: "sequential", "functional" or "subclass".
        name: the model's name.

    Example:
        >>> model = ConvAutoencoder(input_shape=(8, 8, 1), filters=(16, 32), latent_dim=16)
        >>> model.compile(optimizer="adam", loss="binary_crossentropy")
        >>> model.fit(images, images, epochs=20)
    """

    def __init__(self, input_shape=(28, 28, 1), filters=(32, 64), kernel_size=3, latent_dim=32, activation="relu",
                 code_activation="relu", output_activation="sigmoid", style="functional", name="conv_autoencoder",
                 **kwargs):
        super().__init__(input_shape=input_shape, latent_dim=latent_dim, style=style, name=name, **kwargs)
        self.filters = check_units("filters", filters)
        feature_map_shape(self.image_shape, self.filters)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.activation = check_activation("activation", activation)
        self.code_activation = check_activation("code_activation", code_activation)
        self.output_activation = check_activation("output_activation", output_activation)
        self._build_parts(encoder_layers, ConvEncoder, decoder_layers, ConvDecoder, filters=self.filters,
                          kernel_size=kernel_size, activation=activation, code_activation=code_activation,
                          output_activation=output_activation)

    def _config(self):
        return {"input_shape": self.image_shape, "filters": self.filters, "kernel_size": self.kernel_size,
                "latent_dim": self.latent_dim, "activation": self.activation,
                "code_activation": self.code_activation, "output_activation": self.output_activation}


CONV_AUTOENCODER = Styles.of(ConvAutoencoder, name="conv_autoencoder")
