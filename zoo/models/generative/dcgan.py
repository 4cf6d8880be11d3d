"""The deep convolutional GAN (Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks").

A generator G maps noise z ~ N(0, I) to images; a discriminator D scores images as real or generated. They
play the GAN game of Goodfellow et al. 2014 with the non-saturating generator loss:

    D minimises  BCE(1, D(x)) + BCE(0, D(G(z)))      G minimises  BCE(1, D(G(z)))

The paper's architecture guidelines, all followed here: no pooling (strided convolutions in D, fractionally
strided ones, Conv2DTranspose, in G); batch normalisation in both networks except G's output layer and D's
input layer; no hidden dense layers (G projects the noise with one dense layer and reshapes it, D flattens
its last feature map into one logit); ReLU in G with tanh on the output, LeakyReLU (slope 0.2) in D; weights
initialised from N(0, 0.02); Adam with learning rate 2e-4 and beta_1 = 0.5 for both networks.

Pixels: the model's images are in [0, 1] like the zoo's data. G's tanh output is rescaled from [-1, 1] to
[0, 1] by its last layer, and D's first layer rescales [0, 1] back to [-1, 1], so both networks work in the
paper's range while the model takes and returns images as the data holds them.

Training: `train_step` takes one discriminator step, then one generator step on fresh noise, with two
optimizers (`compile(d_optimizer=..., g_optimizer=...)`), and reports the trackers `d_loss` and `g_loss`.
It is written for the TensorFlow backend (`tf.GradientTape`); JAX and PyTorch would each need their own
`train_step` (stateless JAX updates, torch autograd), since Keras 3 has no backend-neutral custom step.
Under `mixed_float16` both optimizers are wrapped in `LossScaleOptimizer` (Keras only wraps the one
`compile` optimizer it knows of). The noise comes from a `keras.random.SeedGenerator` the model owns. Data:
`fit(images)` (real images alone, the pipeline's form), or `fit(noise, images)`: in Keras' (inputs, targets)
form the targets are the real images, and training draws its own noise in place of the inputs.

Inference: `model(z)` (and `predict`) returns generated images, float32, from noise of shape
(batch, latent_dim): the generator in inference mode (moving batch statistics). `model.generator` and
`model.discriminator` are usable alone; the generator is what a deployed DCGAN serves.

Size: with the defaults (28x28x1, 100-dimensional noise, generator filters (128, 64), discriminator filters
(64, 128), 5x5 kernels) the generator has 858,945 parameters and the discriminator 213,249 (1,072,194 in all,
batch-normalisation moving statistics included).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.models.generative.common import (
    Part, build_part, check_image_shape, check_seed, check_style_argument, check_units, replica_share,
)
from zoo.nn import Styles, check_positive_int, serializable

LEAKY_SLOPE = 0.2  # the paper's LeakyReLU slope
INIT_STDDEV = 0.02  # the paper's weight initialisation, N(0, 0.02)
RADFORD_ADAM = {"class_name": "adam", "config": {"learning_rate": 2e-4, "beta_1": 0.5}}


def _init():
    # A fresh initializer per layer: one seeded instance shared by layers would give them equal weights.
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
    """
    side = check_generator_shape(image_shape, generator_filters)
    first, *rest = generator_filters
    layers = [
        keras.layers.Dense(side * side * first, use_bias=False, kernel_initializer=_init(), name="generator_project"),
        keras.layers.BatchNormalization(momentum=batch_norm_momentum, name="generator_project_bn"),
        keras.layers.ReLU(name="generator_project_relu"),
        keras.layers.Reshape((side, side, first), name="generator_reshape"),
    ]
    for i, filters in enumerate(rest, start=1):
        layers += [
            keras.layers.Conv2DTranspose(filters, kernel_size, strides=2, padding="same", use_bias=False,
                                         kernel_initializer=_init(), name=f"generator_deconv_{i}"),
            keras.layers.BatchNormalization(momentum=batch_norm_momentum, name=f"generator_deconv_{i}_bn"),
            keras.layers.ReLU(name=f"generator_deconv_{i}_relu"),
        ]
    return layers + [
        keras.layers.Conv2DTranspose(image_shape[-1], kernel_size, strides=2, padding="same", activation="tanh",
                                     kernel_initializer=_init(), dtype="float32", name="generator_image"),
        keras.layers.Rescaling(0.5, offset=0.5, dtype="float32", name="generator_to_unit_range"),
    ]


def discriminator_layers(*, image_shape=(28, 28, 1), discriminator_filters=(64, 128), kernel_size=5,
                         batch_norm_momentum=0.9, **_) -> list[keras.layers.Layer]:
    """D: a stride-2 convolution per entry of `discriminator_filters` (batch norm after all but the first),
    LeakyReLU, then one real-vs-generated logit (float32)."""
    layers = [keras.layers.Rescaling(2.0, offset=-1.0, name="discriminator_from_unit_range")]
    for i, filters in enumerate(discriminator_filters, start=1):
        layers.append(keras.layers.Conv2D(filters, kernel_size, strides=2, padding="same", use_bias=i == 1,
                                          kernel_initializer=_init(), name=f"discriminator_conv_{i}"))
        if i > 1:
            layers.append(keras.layers.BatchNormalization(momentum=batch_norm_momentum,
                                                          name=f"discriminator_conv_{i}_bn"))
        layers.append(keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"discriminator_conv_{i}_lrelu"))
    return layers + [
        keras.layers.Flatten(name="discriminator_flatten"),
        keras.layers.Dense(1, kernel_initializer=_init(), dtype="float32", name="discriminator_logit"),
    ]


_PART_TUPLES = ("image_shape", "generator_filters", "discriminator_filters")


@serializable
class Generator(Part):
    """DCGAN's generator as a `keras.Model` subclass: noise (batch, latent_dim) -> images in [0, 1]."""

    default_name = "generator"
    tuple_hparams = _PART_TUPLES
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
    tuple_hparams = _PART_TUPLES
    make_layers = staticmethod(discriminator_layers)

    def __init__(self, image_shape=(28, 28, 1), discriminator_filters=(64, 128), kernel_size=5,
                 batch_norm_momentum=0.9, name=None):
        super().__init__(name=name, image_shape=image_shape, discriminator_filters=discriminator_filters,
                         kernel_size=kernel_size, batch_norm_momentum=batch_norm_momentum)

    @staticmethod
    def input_shape_of(hparams):
        return tuple(hparams["image_shape"])


# -------------------------------------------------------------------------------------------------- model
@serializable
class DCGAN(keras.Model):
    """A DCGAN that trains itself (two optimizers, its own `train_step`); arguments as `zoo.build("dcgan", ...)`.

    Args:
        latent_dim: dimensions of the noise.
        image_shape: (side, side, channels) of the images, pixel intensities in [0, 1]; the side must be
            divisible by 2 ** len(generator_filters).
        generator_filters: depth of G's projected feature map, then of each upsampled one.
        discriminator_filters: depth of each of D's strided convolutions.
        kernel_size: the convolutions' kernel size (the paper's 5).
        batch_norm_momentum: momentum of the batch-normalisation moving statistics.
        style: how the generator and discriminator are built: "sequential", "functional" or "subclass".
        seed: seed of the model's training noise (None: drawn from Keras' global seed).
        name: the model's name.

    Example:
        >>> gan = DCGAN(latent_dim=32, image_shape=(16, 16, 1), generator_filters=(64, 32),
        ...             discriminator_filters=(32, 64))
        >>> gan.compile()  # Adam(2e-4, beta_1=0.5) for both networks
        >>> gan.fit(images, epochs=50)
        >>> samples = gan.predict(np.random.normal(size=(16, 32)))
    """

    def __init__(self, latent_dim=100, image_shape=(28, 28, 1), generator_filters=(128, 64),
                 discriminator_filters=(64, 128), kernel_size=5, batch_norm_momentum=0.9, style="functional",
                 seed=None, name="dcgan", **kwargs):
        super().__init__(name=name, **kwargs)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.image_shape = check_image_shape("image_shape", image_shape)
        self.generator_filters = check_units("generator_filters", generator_filters)
        self.discriminator_filters = check_units("discriminator_filters", discriminator_filters)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        if isinstance(batch_norm_momentum, bool) or not isinstance(batch_norm_momentum, (int, float)) \
                or not 0 <= batch_norm_momentum < 1:
            raise ValueError(f"`batch_norm_momentum` must be a number in [0, 1). "
                             f"Received: batch_norm_momentum={batch_norm_momentum!r}")
        self.batch_norm_momentum = float(batch_norm_momentum)
        self.style = check_style_argument(style)
        self.seed = check_seed(seed)
        common = {"image_shape": self.image_shape, "kernel_size": kernel_size,
                  "batch_norm_momentum": self.batch_norm_momentum}
        self.generator = build_part(style, generator_layers, Generator, "generator", "noise",
                                    latent_dim=latent_dim, generator_filters=self.generator_filters, **common)
        self.discriminator = build_part(style, discriminator_layers, Discriminator, "discriminator", "image",
                                        discriminator_filters=self.discriminator_filters, **common)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_optimizer = None
        self.g_optimizer = None
        self.built = True  # the parts are built; the top model has no weights of its own

    def call(self, inputs, training=None):
        return self.generator(inputs, training=training)

    # ------------------------------------------------------------------------------------------- training
    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Configure training with one optimizer per network (default: the paper's Adam(2e-4, beta_1=0.5)).

        Args:
            d_optimizer: the discriminator's optimizer: an instance, a name or a config dict.
            g_optimizer: the generator's optimizer, likewise.
            **kwargs: passed to `keras.Model.compile` (e.g. `run_eagerly`, `steps_per_execution`); there is
                no `loss` or `optimizer`: the model computes both losses itself.
        """
        for key in ("optimizer", "loss", "loss_weights", "metrics"):
            if key in kwargs:
                raise ValueError(f"DCGAN computes its own losses with two optimizers; pass d_optimizer and "
                                 f"g_optimizer, not {key}. Received: {key}={kwargs[key]!r}")
        super().compile(optimizer=None, loss=None, **kwargs)
        self.d_optimizer = self._prepare_optimizer(d_optimizer, self.discriminator)
        self.g_optimizer = self._prepare_optimizer(g_optimizer, self.generator)

    def _prepare_optimizer(self, optimizer, part):
        optimizer = keras.optimizers.get(RADFORD_ADAM if optimizer is None else optimizer)
        if self.dtype_policy.name == "mixed_float16" and not isinstance(optimizer,
                                                                        keras.optimizers.LossScaleOptimizer):
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        if not optimizer.built:
            optimizer.build(part.trainable_variables)
        return optimizer

    def get_compile_config(self):
        if not self.compiled or self.d_optimizer is None:
            return {}
        return {"d_optimizer": keras.optimizers.serialize(self.d_optimizer),
                "g_optimizer": keras.optimizers.serialize(self.g_optimizer)}

    def compile_from_config(self, config):
        self.compile(d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
                     g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]))

    def _real_images(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return ops.cast(x if y is None else y, self.compute_dtype)

    def _noise(self, batch):
        return keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)

    def _adversarial_losses(self, real, noise, training):
        """(d_loss, g_loss) of one batch, float32; the generator's images are scored once for both."""
        real_logits = self.discriminator(real, training=training)
        fake_logits = self.discriminator(self.generator(noise, training=training), training=training)
        d_loss = _bce(1.0, real_logits) + _bce(0.0, fake_logits)
        return d_loss, _bce(1.0, fake_logits)

    def train_step(self, data):
        import tensorflow as tf

        if self.d_optimizer is None:
            raise ValueError("Call compile() before fit(): DCGAN needs its two optimizers.")
        real = self._real_images(data)
        batch = ops.shape(real)[0]
        discriminator_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            d_loss, _ = self._adversarial_losses(real, self._noise(batch), training=True)
            scaled = self.d_optimizer.scale_loss(replica_share(d_loss))
        self.d_optimizer.apply(tape.gradient(scaled, discriminator_vars), discriminator_vars)

        generator_vars = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(self._noise(batch), training=True), training=True)
            g_loss = _bce(1.0, fake_logits)
            scaled = self.g_optimizer.scale_loss(replica_share(g_loss))
        self.g_optimizer.apply(tape.gradient(scaled, generator_vars), generator_vars)

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    def test_step(self, data):
        real = self._real_images(data)
        d_loss, g_loss = self._adversarial_losses(real, self._noise(ops.shape(real)[0]), training=False)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    # ------------------------------------------------------------------------------------------ saving
    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "latent_dim": self.latent_dim,
                "image_shape": self.image_shape, "generator_filters": self.generator_filters,
                "discriminator_filters": self.discriminator_filters, "kernel_size": self.kernel_size,
                "batch_norm_momentum": self.batch_norm_momentum, "style": self.style, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in _PART_TUPLES:
            config[key] = tuple(config[key])
        return cls(**config)


def _bce(target: float, logits):
    """Mean binary cross-entropy of logits against a constant target, float32."""
    logits = ops.cast(logits, "float32")
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


def adapt_images(spec, hparams, splits):
    """The data adapter: images resized to the generator's `image_shape` (not to the model's noise input)."""
    from zoo.data.adapt import fit_images

    if splits.kind != "image":
        raise ValueError(f"dcgan trains on images; dataset {splits.name!r} holds {splits.kind} data.")
    shape = tuple(hparams["image_shape"])
    for _, split in splits.items():
        split.x = fit_images(split.x, shape)
        split.y = split.y.astype("int32")
    splits.info = {**splits.info, "image_shape": list(shape)}
    return splits


def _builder(style: str):
    def build(**hparams):
        return DCGAN(style=style, **hparams)

    return build


DCGAN_STYLES = Styles(sequential=_builder("sequential"), functional=_builder("functional"),
                      subclass=_builder("subclass"))
