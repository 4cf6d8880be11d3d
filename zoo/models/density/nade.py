"""The neural autoregressive density estimator (Larochelle & Murray 2011, "The Neural Autoregressive
Distribution Estimator").

NADE models a binary vector x in {0, 1}^D (a binarised image, pixels in raster order) exactly, as a product
of conditionals, each a logistic regression on a hidden layer that sees only the pixels before it:

    p(x) = prod_d p(x_d | x_<d),      p(x_d = 1 | x_<d) = sigmoid(b_d + V_d . h_d),
    h_d = sigmoid(a_d),               a_d = c + W[:d] x_<d      (W: D x H shared by all the conditionals)

The hidden layers share the weights W, so a_{d+1} = a_d + W_d x_d: all D pre-activations come from one
cumulative sum over the pixels (an exclusive cumulative sum, so a_d sees pixels 0 .. d-1 only). That makes
the exact log-likelihood of an image a single O(D H) pass, the paper's point, instead of D networks:

    -log p(x) = sum_d BCE(x_d, logit_d)        (nats per image; `nll_nats`)

Parts: `model.conditionals` maps binary images (batch, H, W, C) to the D conditionals' logits in the
image's layout; it is a chain of four layers (flatten; `AutoregressiveHidden`, the cumulative sums and the
shared W, c; `AutoregressiveOutput`, the per-pixel V, b; reshape), so the zoo's three styles build it
(`keras.Sequential`, the functional API, a `keras.Model` subclass) with the same weights in the same order.

The model (`NADE`) owns its loss, portably across backends: `call` returns the conditional probabilities
p(x_d = 1 | x_<d) of the given image (float32, image layout) and adds the batch's mean exact NLL with
`add_loss`; `compute_loss` returns it (shared out over replicas). So `compile(optimizer)` with no loss is all
it needs, and `fit(images)` minimises the mean negative log-likelihood. `model.nll(images)` gives the exact
per-image NLL in nats (`bits_per_dim = nats / (D ln 2)`).

Sampling is ancestral: D sequential Bernoulli draws, pixel d drawn from p(x_d = 1 | x_<d) with the pixels
already drawn, the hidden pre-activation updated by one column of W per pixel. `model.sample(uniforms)`
takes the randomness as uniforms u (batch, D) in [0, 1) (pixel d is on when u_d < its probability), so
a sample is a deterministic function of its uniforms: the task draws them from a seeded NumPy generator,
the served model from the pixel's standard normal under `SeededNoise` (u = Phi(z)).

Data: binarised images (pixel > 0.5 -> 1), from `adapt_binary` (the spec's adapter).

Size: with the defaults (28x28x1, 500 hidden units) W and V have 784 x 500 weights each, c 500, b 784:
785,284 parameters.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from zoo.models.generative.common import Part, build_part, check_image_shape, check_style_argument, replica_share
from zoo.nn import Styles, check_positive_int, serializable

#: pixel intensities above this are 1 in the binarised data
BINARY_THRESHOLD = 0.5


# ------------------------------------------------------------------------------------------- the layers
@serializable
class AutoregressiveHidden(keras.layers.Layer):
    """NADE's hidden layers, all D at once: (batch, D) -> (batch, D, units), row d = sigmoid(c + W[:d] x_<d).

    Args:
        units: H, the hidden units of each conditional (shared weights W (D, H) and bias c (H,)).
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("hidden_units", units)

    def build(self, input_shape):
        dimensions = input_shape[-1]
        self.kernel = self.add_weight(shape=(dimensions, self.units), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        contributions = x[:, :, None] * self.kernel[None, :, :]  # pixel d's term W_d x_d, (batch, D, H)
        running = ops.cumsum(contributions, axis=1)
        # Shift by one pixel: conditional d sees the pixels before it, never its own.
        before = ops.concatenate([ops.zeros_like(running[:, :1]), running[:, :-1]], axis=1)
        return ops.sigmoid(before + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@serializable
class AutoregressiveOutput(keras.layers.Layer):
    """NADE's per-pixel logistic regressions: (batch, D, H) -> (batch, D) logits, logit_d = b_d + V_d . h_d."""

    def build(self, input_shape):
        dimensions, units = input_shape[-2], input_shape[-1]
        self.kernel = self.add_weight(shape=(dimensions, units), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(dimensions,), initializer="zeros", name="bias")

    def call(self, inputs):
        hidden = ops.cast(inputs, self.compute_dtype)
        return ops.sum(hidden * self.kernel[None], axis=-1) + self.bias

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1])


def conditional_layers(*, input_shape=(28, 28, 1), hidden_units=500, **_) -> list[keras.layers.Layer]:
    """The conditionals network: flatten (raster order), hidden layers, per-pixel logits (float32), reshape."""
    return [
        keras.layers.Flatten(name="nade_flatten"),
        AutoregressiveHidden(hidden_units, name="nade_hidden"),
        AutoregressiveOutput(dtype="float32", name="nade_logits"),
        keras.layers.Reshape(tuple(input_shape), dtype="float32", name="nade_image"),
    ]


@serializable
class NADEConditionals(Part):
    """NADE's conditionals as a `keras.Model` subclass: binary images -> the logits of p(x_d = 1 | x_<d)."""

    default_name = "conditionals"
    tuple_hparams = ("input_shape",)
    make_layers = staticmethod(conditional_layers)

    def __init__(self, input_shape=(28, 28, 1), hidden_units=500, name=None):
        super().__init__(name=name, input_shape=input_shape, hidden_units=hidden_units)


# ----------------------------------------------------------------------------------------- the likelihood
def nll_nats(images, logits):
    """-log p(x) per image in nats from the conditionals' logits: the summed binary cross-entropies.

    Args:
        images: (batch, ...) binary pixels (0 or 1).
        logits: (batch, ...) the logits of p(x_d = 1 | x_<d), same shape.

    Returns:
        (batch,) float32.
    """
    images = ops.cast(images, "float32")
    logits = ops.cast(logits, "float32")
    batch = ops.shape(images)[0]
    cross_entropy = ops.binary_crossentropy(ops.reshape(images, (batch, -1)), ops.reshape(logits, (batch, -1)),
                                            from_logits=True)
    return ops.sum(cross_entropy, axis=-1)


def bits_per_dim(nats, dimensions: int):
    """Nats per image as bits per pixel: nats / (D ln 2)."""
    return nats / (dimensions * math.log(2.0))


# -------------------------------------------------------------------------------------------------- model
@serializable
class NADE(keras.Model):
    """NADE that owns its loss (the exact negative log-likelihood); arguments as `zoo.build("nade", ...)`.

    Args:
        input_shape: (height, width, channels) of the binary images; D = height * width * channels.
        hidden_units: H, the hidden units shared by the D conditionals.
        style: how the conditionals network is built: "sequential", "functional" or "subclass".
        name: the model's name.

    Example:
        >>> nade = NADE(input_shape=(8, 8, 1), hidden_units=64)
        >>> nade.compile(optimizer="adam")
        >>> nade.fit(binary_images, epochs=20)
        >>> nade.nll(binary_images[:4])              # exact -log p(x), nats per image
        >>> nade.sample(np.random.default_rng(0).uniform(size=(16, 64)))   # 16 binary images
    """

    def __init__(self, input_shape=(28, 28, 1), hidden_units=500, style="functional", name="nade", **kwargs):
        super().__init__(name=name, **kwargs)
        self.image_shape = check_image_shape("input_shape", input_shape)
        self.hidden_units = check_positive_int("hidden_units", hidden_units)
        self.style = check_style_argument(style)
        self.dimensions = math.prod(self.image_shape)
        self.conditionals = build_part(style, conditional_layers, NADEConditionals, "conditionals", "image",
                                       input_shape=self.image_shape, hidden_units=self.hidden_units)
        self.built = True  # the part is built; the top model has no weights of its own

    def logits(self, images, training=None):
        """The logits of p(x_d = 1 | x_<d) for every pixel of `images`: (batch, *input_shape), float32."""
        return ops.cast(self.conditionals(images, training=training), "float32")

    def nll(self, images):
        """The exact -log p(x) of each binary image in nats: (batch,) float32."""
        return nll_nats(images, self.logits(images, training=False))

    def call(self, inputs, training=None):
        logits = self.logits(inputs, training=training)
        # The loss as a loss of this call (portable: Keras collects it on every backend).
        self.add_loss(ops.mean(nll_nats(inputs, logits)))
        return ops.sigmoid(logits)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The batch's mean exact NLL in nats (added by `call`); `y` is ignored: NADE models its inputs."""
        return replica_share(ops.sum(ops.stack([ops.cast(loss, "float32") for loss in self.losses])))

    # -------------------------------------------------------------------------------------- sampling
    def sample(self, uniforms):
        """Binary images by ancestral sampling, as a deterministic function of uniforms.

        Args:
            uniforms: (batch, D) values in [0, 1): pixel d (raster order) is 1 when its uniform is below
                p(x_d = 1 | the pixels drawn before it).

        Returns:
            (batch, *input_shape) float32 of 0s and 1s.
        """
        hidden, output = (_layer(self.conditionals, kind) for kind in (AutoregressiveHidden, AutoregressiveOutput))
        w, c = ops.cast(hidden.kernel, "float32"), ops.cast(hidden.bias, "float32")
        v, b = ops.cast(output.kernel, "float32"), ops.cast(output.bias, "float32")
        uniforms = ops.cast(ops.convert_to_tensor(uniforms), "float32")
        columns = self.dimensions

        def draw_pixel(d, state):
            pixels, activation = state
            logit = ops.sum(ops.sigmoid(activation) * ops.take(v, d, axis=0), axis=-1) + ops.take(b, d)
            pixel = ops.cast(ops.take(uniforms, d, axis=1) < ops.sigmoid(logit), "float32")
            pixels = pixels + pixel[:, None] * ops.one_hot(d, columns, dtype="float32")[None, :]
            return pixels, activation + pixel[:, None] * ops.take(w, d, axis=0)[None, :]

        start = (ops.zeros_like(uniforms), ops.zeros_like(uniforms[:, :1]) + c)
        pixels, _ = ops.fori_loop(0, columns, draw_pixel, start)
        return ops.reshape(pixels, (-1, *self.image_shape))

    # ---------------------------------------------------------------------------------------- saving
    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "input_shape": self.image_shape,
                "hidden_units": self.hidden_units, "style": self.style}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["input_shape"] = tuple(config["input_shape"])
        return cls(**config)


def _layer(part, kind):
    return next(layer for layer in part.layers if isinstance(layer, kind))


# ---------------------------------------------------------------------------------------------- serving
class SeededSampler(keras.layers.Layer):
    """Serving: standard normal noise (batch, D) -> NADE samples; the uniforms are u = Phi(z) per pixel.

    Fed by `SeededNoise` (noise keyed by each instance's seed only), the sample of a seed is the same
    whatever else is in the request.
    """

    def __init__(self, nade, **kwargs):
        super().__init__(**kwargs)
        self.nade = nade

    def call(self, noise):
        uniforms = 0.5 * (1.0 + ops.erf(ops.cast(noise, "float32") / math.sqrt(2.0)))
        return self.nade.sample(uniforms)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.nade.image_shape)


def seeded_sampler(nade: NADE) -> keras.Model:
    """The served model: an int32 "seed" per instance -> one binary image sampled from NADE (TensorFlow)."""
    from zoo.models.generative.sampling import seeded_generator

    noise = keras.Input(shape=(nade.dimensions,), name="noise")
    sampler = keras.Model(noise, SeededSampler(nade, name="ancestral_sampling")(noise), name="nade_sampler")
    return seeded_generator(sampler, (nade.dimensions,), name="nade_seeded_sampler")


# ------------------------------------------------------------------------------------------------- data
def binarise(images):
    """Pixels above `BINARY_THRESHOLD` as 1.0, the others 0.0 (NumPy arrays, float32)."""
    import numpy as np

    return (np.asarray(images) > BINARY_THRESHOLD).astype("float32")


def adapt_binary(spec, hparams, splits):
    """The data adapter: images resized to the model's `input_shape`, then binarised (pixel > 0.5 -> 1).

    NADE is a distribution over binary vectors, so it trains and is scored on binary pixels, as the paper's
    binarised MNIST. Resizing comes first (on grey levels), so the threshold sees the resized intensities.
    """
    from zoo.data.adapt import fit_images

    if splits.kind != "image":
        raise ValueError(f"{spec.name} models binarised images; dataset {splits.name!r} holds {splits.kind} data.")
    shape = tuple(hparams["input_shape"])
    for _, split in splits.items():
        split.x = binarise(fit_images(split.x, shape))
        split.y = split.y.astype("int32")
    splits.info = {**splits.info, "binarised_above": BINARY_THRESHOLD}
    return splits


def _streamed_image_shape(hparams):
    return tuple(hparams["input_shape"])


# Streamed images (mnist through TFDS) are resized to the input by the reader and binarised by the task's
# `example_map`, per example, instead of by this adapter.
adapt_binary.streamed_image_shape = _streamed_image_shape


NADE_STYLES = Styles.of(NADE)
