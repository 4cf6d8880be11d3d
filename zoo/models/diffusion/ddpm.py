"""The denoising diffusion probabilistic model (Ho, Jain & Abbeel 2020, "Denoising Diffusion Probabilistic
Models").

**Forward process.** T steps of Gaussian noise, with a linear variance schedule beta_1 .. beta_T
(`beta_start` .. `beta_end`), turn an image x_0 into (almost) pure noise x_T. With alpha_t = 1 - beta_t and
alpha_bar_t = prod_{s<=t} alpha_s, any step is one draw away from the image:

    q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)        (`diffuse`)

**Training.** A denoiser eps_theta(x_t, t) learns to predict the noise that made x_t, by the paper's
simplified objective L_simple = E_{t, x_0, eps} ||eps - eps_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t)
eps, t)||^2 (here the mean over pixels), with t uniform over the T steps.

**Sampling** (the paper's Algorithm 2) runs the process backwards from x_T ~ N(0, I), one ancestral step
at a time (`reverse_step`), with sigma_t^2 = beta_t and no noise at the last step:

    x_{t-1} = (x_t - beta_t / sqrt(1 - alpha_bar_t) * eps_theta(x_t, t)) / sqrt(alpha_t) + sigma_t z

Steps are numbered 0 .. T-1 in the code (the paper's 1 .. T). Images are in [0, 1] outside the model and
in [-1, 1] inside (the paper's scaling): `diffuse` takes [0, 1] images, `sample` returns [0, 1] images.

**The denoiser** (`model.denoiser`, usable alone: `denoiser([x_t, steps])` -> predicted noise) is a small
U-Net: the step's sinusoidal embedding (the Transformer's, as in the paper) through two dense layers; an
input convolution; per resolution level a residual block (group norm, swish, 3x3 convolutions, the step's
embedding added as a per-channel bias) whose output is kept for the skip connection, then a stride-2
convolution down; a middle block; then back up, level by level, a stride-2 transposed convolution, the
level's skip concatenated, a residual block; group norm, swish and a 3x3 convolution to the image's
channels (float32). `filters` gives the width of each level (so len(filters) - 1 halvings: the image side
must be divisible by 2 ** (len(filters) - 1)). Two inputs and skip connections rule out `keras.Sequential`;
the functional and subclass styles build the same layers in the same order.

**The model** (`DDPM`) owns its loss, portably across backends (keras.random with a `SeedGenerator` it
owns; Keras' own train step and loss scaling). It takes either

- the denoiser's inputs, `[noisy_images, steps]` or `{"noisy_image": ..., "step": ...}` (noisy images in
  [-1, 1], int32 steps in [0, T)): it returns the predicted noise (what `predict` gives; the spec's
  signature). `fit([noisy_images, steps], noise)` trains the denoiser on given pairs (mean squared error);
- clean images alone, (batch, H, W, C) in [0, 1], the form the pipeline's `fit(images)` passes: it draws a
  step and noise per image, diffuses the images, predicts the noise and adds L_simple as the loss of the call
  (`add_loss`); `compute_loss` returns it. This is the training objective, random by design.

`model.sample(noise, seed=...)` draws images (python loop over the T steps, on any backend);
`model.sample(..., keep=8)` also returns 8 evenly spaced states of the reverse process (x_T first, x_0
last). The served model (`seeded_sampler`, TensorFlow) takes an int32 seed per instance and runs the same
steps in a `tf.while_loop`, its noise from `zoo.models.generative.sampling.SeededNoise`.

Size: with the defaults (28x28x1, filters (32, 64, 128), a 64-dimensional step embedding) the denoiser has
1,412,673 parameters; the small configuration (8x8x1, filters (32, 64), 32) 338,753.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import keras
import numpy as np
from keras import ops

from zoo.models.generative.common import check_image_shape, check_seed, check_style_argument, check_units, \
    replica_share
from zoo.nn import Styles, check_positive_int, serializable, uses_tensorflow, with_tuples

NOISY_INPUT = "noisy_image"
STEP_INPUT = "step"


# ------------------------------------------------------------------------------------------------- layers
@serializable
class SinusoidalEmbedding(keras.layers.Layer):
    """Integer steps (batch,) -> (batch, dim) float32: sines and cosines of the step at geometric frequencies
    from 1 to 1/10000 (Vaswani et al. 2017, the position encoding DDPM uses for its time step)."""

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = check_positive_int("embedding_dim", dim)
        if dim % 2:
            raise ValueError(f"`embedding_dim` must be even (sines and cosines). Received: embedding_dim={dim!r}")

    def call(self, steps):
        half = self.dim // 2
        frequencies = ops.exp(-math.log(10000.0) * ops.arange(half, dtype="float32") / max(half - 1, 1))
        angles = ops.cast(ops.reshape(steps, (-1, 1)), "float32") * frequencies[None, :]
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


@serializable
class DenoiserBlock(keras.layers.Layer):
    """[x (batch, H, W, C), step embedding (batch, E)] -> (batch, H, W, filters): two group-norm, swish, 3x3
    convolution stages, the embedding projected to a per-channel bias between them, plus a 1x1 projection of
    x as the residual when the channels change."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.conv_1 = keras.layers.Conv2D(filters, 3, padding="same", name="conv_1")
        self.step_bias = keras.layers.Dense(filters, name="step_bias")
        self.norm_2 = keras.layers.GroupNormalization(groups=math.gcd(8, filters), name="norm_2")
        self.conv_2 = keras.layers.Conv2D(filters, 3, padding="same", name="conv_2")
        self.norm_1 = self.residual = None  # made in build, when the input's channels are known

    def build(self, input_shape):
        image_shape, embedding_shape = input_shape
        channels = image_shape[-1]
        self.norm_1 = keras.layers.GroupNormalization(groups=math.gcd(8, channels), name="norm_1")
        self.norm_1.build(image_shape)
        self.conv_1.build(image_shape)
        self.step_bias.build(embedding_shape)
        inner = (*image_shape[:-1], self.filters)
        self.norm_2.build(inner)
        self.conv_2.build(inner)
        if channels != self.filters:
            self.residual = keras.layers.Conv2D(self.filters, 1, name="residual")
            self.residual.build(image_shape)

    def call(self, inputs, training=None):
        x, embedding = inputs
        h = self.conv_1(ops.silu(self.norm_1(x)))
        h = h + ops.cast(self.step_bias(embedding), h.dtype)[:, None, None, :]
        h = self.conv_2(ops.silu(self.norm_2(h)))
        return h + (x if self.residual is None else self.residual(x))

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


def denoiser_layers(*, image_shape=(28, 28, 1), filters=(32, 64), embedding_dim=64, **_) -> list[keras.layers.Layer]:
    """The U-Net's layers, in the order the network applies them (the weights' order in every style)."""
    check_unet_shape(image_shape, filters)
    levels = len(filters)
    layers = [
        SinusoidalEmbedding(embedding_dim, name="step_sinusoid"),
        keras.layers.Dense(embedding_dim, activation="silu", name="step_dense_1"),
        keras.layers.Dense(embedding_dim, name="step_dense_2"),
        keras.layers.Conv2D(filters[0], 3, padding="same", name="input_conv"),
    ]
    for level, width in enumerate(filters):
        layers.append(DenoiserBlock(width, name=f"down_block_{level}"))
        if level < levels - 1:
            layers.append(keras.layers.Conv2D(width, 3, strides=2, padding="same", name=f"downsample_{level}"))
    layers.append(DenoiserBlock(filters[-1], name="middle_block"))
    for level in reversed(range(levels)):
        if level < levels - 1:
            layers.append(keras.layers.Conv2DTranspose(filters[level], 3, strides=2, padding="same",
                                                       name=f"upsample_{level}"))
        layers.append(DenoiserBlock(filters[level], name=f"up_block_{level}"))
    return layers + [
        keras.layers.GroupNormalization(groups=math.gcd(8, filters[0]), name="output_norm"),
        keras.layers.Conv2D(image_shape[-1], 3, padding="same", dtype="float32", name="output_conv"),
    ]


def apply_denoiser(layers, noisy, steps, training=None):
    """Wire the U-Net's layers (from `denoiser_layers`) on (noisy images, steps); returns the predicted noise."""
    by_name = {layer.name: layer for layer in layers}
    levels = sum(name.startswith("down_block_") for name in by_name)
    embedding = by_name["step_dense_2"](by_name["step_dense_1"](by_name["step_sinusoid"](steps)))
    x = by_name["input_conv"](noisy)
    skips = []
    for level in range(levels):
        x = by_name[f"down_block_{level}"]([x, embedding], training=training)
        skips.append(x)
        if level < levels - 1:
            x = by_name[f"downsample_{level}"](x)
    x = by_name["middle_block"]([x, embedding], training=training)
    for level in reversed(range(levels)):
        if level < levels - 1:
            x = by_name[f"upsample_{level}"](x)
        x = by_name[f"up_block_{level}"]([ops.concatenate([x, skips[level]], axis=-1), embedding], training=training)
    return by_name["output_conv"](ops.silu(by_name["output_norm"](x)))


def check_unet_shape(image_shape, filters) -> None:
    halvings = len(filters) - 1
    height, width, _ = image_shape
    if height % 2 ** halvings or width % 2 ** halvings:
        raise ValueError(f"`image_shape` must have sides divisible by 2**(len(filters) - 1) = {2 ** halvings} (the "
                         f"U-Net halves the image {halvings} times). Received: image_shape={tuple(image_shape)!r}")


def split_denoiser_inputs(inputs):
    """(noisy images, steps) from `[noisy, steps]` or `{"noisy_image": ..., "step": ...}`."""
    if isinstance(inputs, dict):
        if set(inputs) != {NOISY_INPUT, STEP_INPUT}:
            raise ValueError(f"The denoiser takes the inputs {NOISY_INPUT!r} and {STEP_INPUT!r}. "
                             f"Received keys: {sorted(inputs)}")
        return inputs[NOISY_INPUT], inputs[STEP_INPUT]
    if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
        raise ValueError("The denoiser takes two inputs, [noisy_images, steps]. "
                         f"Received: {type(inputs).__name__}")
    return inputs[0], inputs[1]


@serializable
class Denoiser(keras.Model):
    """The DDPM's U-Net as a `keras.Model` subclass: [noisy images, int32 steps] -> predicted noise."""

    def __init__(self, image_shape=(28, 28, 1), filters=(32, 64), embedding_dim=64, name=None):
        super().__init__(name=name or "denoiser")
        self.hparams = {"image_shape": tuple(image_shape), "filters": tuple(filters), "embedding_dim": embedding_dim}
        # Wiring the layers as the functional style does builds them, and gives their order there (Keras
        # orders a functional model's layers by depth, not by use): tracked in that order, the weights line up.
        wired = _functional_denoiser(denoiser_layers(**self.hparams), self.hparams["image_shape"])
        self.stack = [layer for layer in wired.layers if not isinstance(layer, keras.layers.InputLayer)]
        self.built = True

    def call(self, inputs, training=None):
        noisy, steps = split_denoiser_inputs(inputs)
        return apply_denoiser(self.stack, noisy, steps, training=training)

    def get_config(self):
        return {"name": self.name, **self.hparams}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_denoiser(style: str, **hparams) -> keras.Model:
    """The denoiser in `style`: "functional" or "subclass" ("sequential" cannot take two inputs)."""
    check_style_argument(style)
    if style == "sequential":
        raise ValueError("The DDPM denoiser takes two inputs (noisy images and steps) and has skip connections, "
                         "which keras.Sequential cannot; use style='functional' or 'subclass'. "
                         "Received: style='sequential'")
    if style == "subclass":
        return Denoiser(name="denoiser", **hparams)
    return _functional_denoiser(denoiser_layers(**hparams), hparams["image_shape"])


def _functional_denoiser(layers, image_shape) -> keras.Model:
    noisy = keras.Input(shape=tuple(image_shape), name=NOISY_INPUT)
    steps = keras.Input(shape=(), dtype="int32", name=STEP_INPUT)
    return keras.Model([noisy, steps], apply_denoiser(layers, noisy, steps), name="denoiser")


# ------------------------------------------------------------------------------------------------ schedule
def linear_schedule(timesteps: int, beta_start: float, beta_end: float) -> dict[str, np.ndarray]:
    """The paper's linear variance schedule and the coefficients the forward and reverse steps use (float64)."""
    betas = np.linspace(beta_start, beta_end, timesteps, dtype="float64")
    alphas = 1.0 - betas
    alpha_bars = np.cumprod(alphas)
    return {
        "betas": betas,
        "alpha_bars": alpha_bars,
        "signal": np.sqrt(alpha_bars),                          # sqrt(alpha_bar_t): the image's weight in x_t
        "noise": np.sqrt(1.0 - alpha_bars),                     # sqrt(1 - alpha_bar_t): the noise's
        "inverse_sqrt_alpha": 1.0 / np.sqrt(alphas),
        "eps_weight": betas / np.sqrt(1.0 - alpha_bars),        # beta_t / sqrt(1 - alpha_bar_t)
        "sigma": np.concatenate([[0.0], np.sqrt(betas[1:])]),   # sigma_t; no noise added at the last step
    }


def _check_schedule(timesteps, beta_start, beta_end) -> tuple[int, float, float]:
    timesteps = check_positive_int("timesteps", timesteps)
    for name, value in (("beta_start", beta_start), ("beta_end", beta_end)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ValueError(f"`{name}` must be a number in (0, 1). Received: {name}={value!r}")
    if beta_end < beta_start:
        raise ValueError(f"`beta_end` must be at least `beta_start` (the noise grows). Received: "
                         f"beta_start={beta_start!r}, beta_end={beta_end!r}")
    return timesteps, float(beta_start), float(beta_end)


def to_model_range(images):
    """[0, 1] images -> [-1, 1], the range the diffusion works in."""
    return ops.cast(images, "float32") * 2.0 - 1.0


def to_unit_range(x):
    """[-1, 1] -> [0, 1] images, clipped."""
    return ops.clip((ops.cast(x, "float32") + 1.0) * 0.5, 0.0, 1.0)


# -------------------------------------------------------------------------------------------------- model
@serializable
class DDPM(keras.Model):
    """A DDPM that owns its loss (the noise-prediction MSE); arguments as `zoo.build("diffusion", ...)`.

    Args:
        image_shape: (height, width, channels) of the images, pixel intensities in [0, 1]; the sides must be
            divisible by 2 ** (len(filters) - 1).
        filters: the U-Net's width at each resolution level.
        embedding_dim: size of the step embedding (even).
        timesteps: T, the number of diffusion steps.
        beta_start: beta_1, the first step's noise variance.
        beta_end: beta_T, the last step's (the paper: 1e-4 and 0.02 for T = 1000; for fewer steps scale both
            by 1000 / T so that x_T is as close to pure noise).
        style: how the denoiser is built: "functional" or "subclass".
        seed: seed of the training noise (None: drawn from Keras' global seed).
        name: the model's name.

    Example:
        >>> ddpm = DDPM(image_shape=(8, 8, 1), filters=(32, 64), timesteps=100, beta_start=1e-3, beta_end=0.2)
        >>> ddpm.compile(optimizer="adam")
        >>> ddpm.fit(images, epochs=50)                             # images (N, 8, 8, 1) in [0, 1]
        >>> samples = ddpm.sample(np.random.default_rng(0).standard_normal((16, 8, 8, 1)), seed=0)
    """

    def __init__(self, image_shape=(28, 28, 1), filters=(32, 64), embedding_dim=64, timesteps=1000, beta_start=1e-4,
                 beta_end=0.02, style="functional", seed=None, name="ddpm", **kwargs):
        super().__init__(name=name, **kwargs)
        self.image_shape = check_image_shape("image_shape", image_shape)
        self.filters = check_units("filters", filters)
        check_unet_shape(self.image_shape, self.filters)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.timesteps, self.beta_start, self.beta_end = _check_schedule(timesteps, beta_start, beta_end)
        self.style = check_style_argument(style)
        self.seed = check_seed(seed)
        self.schedule = linear_schedule(self.timesteps, self.beta_start, self.beta_end)
        self.denoiser = build_denoiser(style, image_shape=self.image_shape, filters=self.filters,
                                       embedding_dim=self.embedding_dim)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True  # the denoiser is built; the top model has no weights of its own

    # ---------------------------------------------------------------------------------- the processes
    def _coefficient(self, name: str, steps):
        """The schedule's `name` at `steps` (an int, or int tensor (batch,)), float32."""
        return ops.take(ops.convert_to_tensor(self.schedule[name].astype("float32")), steps)

    def diffuse(self, images, steps, noise):
        """A draw from q(x_t | x_0): sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise, in [-1, 1] units.

        Args:
            images: (batch, H, W, C) clean images in [0, 1].
            steps: (batch,) int steps t in [0, T).
            noise: (batch, H, W, C) standard normal noise.
        """
        signal = ops.reshape(self._coefficient("signal", steps), (-1, 1, 1, 1))
        spread = ops.reshape(self._coefficient("noise", steps), (-1, 1, 1, 1))
        return signal * to_model_range(images) + spread * ops.cast(noise, "float32")

    def predict_noise(self, noisy, steps, training=None):
        """The denoiser's eps_theta(x_t, t), float32."""
        noisy, steps = ops.convert_to_tensor(noisy), ops.convert_to_tensor(steps, "int32")
        return ops.cast(self.denoiser([noisy, steps], training=training), "float32")

    def denoising_errors(self, images, steps, noise):
        """Per image: the mean squared error of the predicted noise of `images` diffused to `steps` with
        `noise` (L_simple, inference mode). Returns (batch,) float32."""
        predicted = self.predict_noise(self.diffuse(images, steps, noise), steps, training=False)
        return ops.mean(ops.square(ops.cast(noise, "float32") - predicted), axis=(1, 2, 3))

    def reverse_step(self, x, step, noise):
        """One ancestral step from x_t to x_{t-1}, every image at the same step.

        Args:
            x: (batch, H, W, C) the current state x_t, in [-1, 1] units.
            step: t, a Python int or an int scalar tensor in [0, T).
            noise: (batch, H, W, C) standard normal noise z (unused at t = 0, where sigma_0 = 0).
        """
        x = ops.cast(x, "float32")
        steps = ops.cast(ops.zeros_like(x[:, 0, 0, 0]), "int32") + ops.cast(step, "int32")
        eps = self.predict_noise(x, steps, training=False)
        mean = self._coefficient("inverse_sqrt_alpha", step) * (x - self._coefficient("eps_weight", step) * eps)
        return mean + self._coefficient("sigma", step) * ops.cast(noise, "float32")

    def sample(self, noise, *, seed=None, step_noise=None, keep: int = 0):
        """Images by ancestral sampling (the paper's Algorithm 2) from x_T = `noise`.

        Args:
            noise: (batch, H, W, C) x_T, standard normal.
            seed: seed of the per-step noise z (a `keras.random.SeedGenerator` of its own), when `step_noise`
                is None; the same noise and seed give the same images.
            step_noise: optional `fn(t) -> (batch, H, W, C)` standard normal noise for step t.
            keep: also return this many evenly spaced states of the reverse process (at least 2: x_T and x_0).

        Returns:
            (batch, H, W, C) images in [0, 1]; with `keep`, (images, [(t, states in [0, 1]) for each kept
            state, x_T first (t = T), x_0 last (t = 0)]).
        """
        if step_noise is None:
            generator = keras.random.SeedGenerator(check_seed(seed))
            step_noise = lambda t: keras.random.normal(ops.shape(x), seed=generator)  # noqa: E731
        if keep and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 2):
            raise ValueError(f"`keep` must be 0 or an integer of at least 2. Received: keep={keep!r}")
        kept_steps = set(np.linspace(self.timesteps, 0, keep).round().astype(int).tolist()) if keep else set()
        x = ops.cast(ops.convert_to_tensor(noise), "float32")
        states = [(self.timesteps, to_unit_range(x))] if self.timesteps in kept_steps else []
        reverse_step = _compiled_reverse_step(self)
        for t in reversed(range(self.timesteps)):
            x = reverse_step(x, ops.convert_to_tensor(t, "int32"), step_noise(t))
            if t in kept_steps:
                states.append((t, to_unit_range(x)))
        images = to_unit_range(x)
        return (images, states) if keep else images

    # ------------------------------------------------------------------------------------ training
    def call(self, inputs, training=None):
        if isinstance(inputs, (list, tuple, dict)):
            noisy, steps = split_denoiser_inputs(inputs)
            return self.denoiser([noisy, steps], training=training)
        # Clean images: the training objective, L_simple at a random step with random noise per image.
        images = inputs
        batch = ops.shape(images)[0]
        steps = keras.random.randint((batch,), 0, self.timesteps, dtype="int32", seed=self.seed_generator)
        noise = keras.random.normal(ops.shape(images), seed=self.seed_generator)
        predicted = self.predict_noise(self.diffuse(images, steps, noise), steps, training=training)
        self.add_loss(ops.mean(ops.square(noise - predicted)))
        return predicted

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """L_simple: added by `call` for clean images; for `fit([noisy, steps], noise)`, the MSE of y_pred."""
        if isinstance(x, (list, tuple, dict)):
            if y is None:
                raise ValueError("fit([noisy_images, steps], noise) needs the noise as targets; "
                                 "or fit(images) on clean images alone.")
            loss = ops.mean(ops.square(ops.cast(y, "float32") - ops.cast(y_pred, "float32")))
        else:
            loss = ops.sum(ops.stack([ops.cast(loss, "float32") for loss in self.losses]))
        return replica_share(loss)

    # -------------------------------------------------------------------------------------- saving
    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "image_shape": self.image_shape,
                "filters": self.filters, "embedding_dim": self.embedding_dim, "timesteps": self.timesteps,
                "beta_start": self.beta_start, "beta_end": self.beta_end, "style": self.style, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**with_tuples(config, ("image_shape", "filters")))


_COMPILED_STEPS: "weakref.WeakKeyDictionary[DDPM, Any]" = weakref.WeakKeyDictionary()


@uses_tensorflow("serving: the reverse process runs inside the exported SavedModel")
def _compiled_reverse_step(ddpm: DDPM):
    """`ddpm.reverse_step` as one TensorFlow graph (traced once per model): called eagerly, each step would
    run its dozens of layers op by op, tens of milliseconds a step. Other backends run it as it is.

    The compiled function is kept beside the model, not on it, so it never becomes part of the model's
    tracked state (or of a SavedModel export)."""
    if keras.backend.backend() != "tensorflow":
        return ddpm.reverse_step
    if ddpm not in _COMPILED_STEPS:
        import tensorflow as tf

        model = weakref.ref(ddpm)  # a bound method would keep the model alive through its own cache entry
        _COMPILED_STEPS[ddpm] = tf.function(lambda x, step, noise: model().reverse_step(x, step, noise),
                                            reduce_retracing=True)
    return _COMPILED_STEPS[ddpm]


# ---------------------------------------------------------------------------------------------- serving
class SeededReverseProcess(keras.layers.Layer):
    """Serving (TensorFlow): int32 seeds (batch,) -> images, the reverse process in one `tf.while_loop`.

    x_T is `SeededNoise(image_shape)(seeds)` and step t's noise `step_noise(seeds, t)`: both keyed by each
    instance's seed alone, so a seed's image does not depend on the rest of the request.
    """

    def __init__(self, ddpm: DDPM, **kwargs):
        super().__init__(**kwargs)
        from zoo.models.generative.sampling import SeededNoise

        self.ddpm = ddpm
        self.noise = SeededNoise(ddpm.image_shape, name="seeded_noise")

    @uses_tensorflow("serving: the reverse process runs inside the exported SavedModel")
    def call(self, seeds):
        import tensorflow as tf

        ddpm, noise = self.ddpm, self.noise

        def step(i, x):
            t = ddpm.timesteps - 1 - i
            return i + 1, ddpm.reverse_step(x, t, noise.step_noise(seeds, t))

        _, x = tf.while_loop(lambda i, x: i < ddpm.timesteps, step, (tf.constant(0), noise(seeds)))
        return to_unit_range(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.ddpm.image_shape)


def seeded_sampler(ddpm: DDPM) -> keras.Model:
    """The served model: an int32 "seed" per instance -> one image drawn by the reverse process."""
    from zoo.models.generative.sampling import SEED_INPUT

    seeds = keras.Input(shape=(), dtype="int32", name=SEED_INPUT)
    return keras.Model(seeds, SeededReverseProcess(ddpm, name="reverse_process")(seeds), name="ddpm_seeded_sampler")


DDPM_STYLES = Styles.of(DDPM, sequential=False)
