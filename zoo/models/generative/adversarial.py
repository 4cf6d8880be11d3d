"""What the zoo's GANs share: two networks, two optimizers, one adversarial `train_step`, their trackers.

`AdversarialModel` is the base of `gan`, `dcgan`, `lsgan`, `cgan`, `acgan` and `sgan`. A subclass builds its
generator and discriminator (in the style asked for) and says what each network minimises; the base does the
rest, the same way for all of them:

- **Training** alternates, per batch, one discriminator step and one generator step (Goodfellow et al. 2014,
  Algorithm 1 with k = 1), each with its own optimizer (`compile(d_optimizer=..., g_optimizer=...)`) over
  its own network's trainable variables only. The generator's step draws fresh noise (`reuse_noise` keeps
  the discriminator step's, as the seed notes' GAN does). The losses are the subclass's
  `discriminator_objective` and `generator_objective`; the trackers `d_loss` and `g_loss` (and the
  subclass's `term_names`, e.g. ACGAN's class losses) are reported per epoch.
- **Mixed precision**: under `mixed_float16` both optimizers are wrapped in `LossScaleOptimizer` (Keras
  wraps only the one optimizer `compile` knows of), and each step scales its loss with its own optimizer.
- **Data**: `fit(images)` (real images alone, the pipeline's form for unconditional models),
  `fit(images, labels)` (conditional and semi-supervised models), or Keras' (inputs, targets) form
  `fit(model_inputs, images)`: the targets are the real images, and the label in the inputs (conditional
  models) is theirs; training draws its own noise in place of the noise input.
- **Saving**: the optimizers travel in the compile config, so a reloaded model trains on.

The step is written for the TensorFlow backend (`tf.GradientTape`): Keras 3 has no backend-neutral way to
write a custom step with two optimizers (JAX needs a stateless `train_step`, PyTorch its autograd), and the
zoo trains on TensorFlow. The networks themselves are plain Keras layers and run on any backend.

A GAN's losses are not supposed to go down: they oscillate as the two networks play, so its recipe has no
early stopping (`monitor=None`); a NaN still stops the run (Keras' `TerminateOnNaN` and the pipeline's
finite-history check see `d_loss` and `g_loss`).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.models.generative.common import (
    LABEL_INPUT, check_seed, check_style_argument, replica_share, split_conditional,
)
from zoo.nn import check_positive_int, uses_tensorflow

#: DCGAN's optimizer (Radford et al. 2015), which most GAN papers since have kept: Adam(2e-4, beta_1=0.5)
RADFORD_ADAM = {"class_name": "adam", "config": {"learning_rate": 2e-4, "beta_1": 0.5}}


def bce(target: float, logits):
    """Mean binary cross-entropy of logits against a constant target (1 real, 0 generated), float32."""
    logits = ops.cast(logits, "float32")
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


def class_cross_entropy(labels, logits):
    """Mean sparse categorical cross-entropy of class logits (batch, classes) against int labels, float32."""
    return ops.mean(ops.sparse_categorical_crossentropy(ops.cast(labels, "int32"), ops.cast(logits, "float32"),
                                                        from_logits=True))


class TwoOptimizerModel(keras.Model):
    """A model that trains two networks, `generator` and `discriminator`, each with its own optimizer.

    It owns the plumbing every such model needs: `compile(d_optimizer, g_optimizer)` (no `loss` or
    `optimizer`), loss-scaling wrappers for both optimizers under `mixed_float16` (Keras wraps only the one
    optimizer `compile` knows of), and the compile config that restores both optimizers with the model.
    Subclasses set `generator` and `discriminator` and write the training step.
    """

    #: the optimizer each network gets when `compile` is given none (a config, so each gets a fresh one)
    default_optimizer = RADFORD_ADAM

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Configure training with one optimizer per network (default: the class's `default_optimizer`).

        Args:
            d_optimizer: the discriminator's optimizer: an instance, a name or a config dict.
            g_optimizer: the generator's optimizer, likewise.
            **kwargs: passed to `keras.Model.compile` (e.g. `run_eagerly`, `steps_per_execution`); there is
                no `loss` or `optimizer`: the model computes both losses itself.
        """
        for key in ("optimizer", "loss", "loss_weights", "metrics"):
            if key in kwargs:
                raise ValueError(f"{type(self).__name__} computes its own losses with two optimizers; pass "
                                 f"d_optimizer and g_optimizer, not {key}. Received: {key}={kwargs[key]!r}")
        super().compile(optimizer=None, loss=None, **kwargs)
        self.d_optimizer = self._prepare_optimizer(d_optimizer, self.discriminator)
        self.g_optimizer = self._prepare_optimizer(g_optimizer, self.generator)

    def _prepare_optimizer(self, optimizer, part):
        optimizer = keras.optimizers.get(self.default_optimizer if optimizer is None else optimizer)
        if self.dtype_policy.name == "mixed_float16" and not isinstance(optimizer,
                                                                        keras.optimizers.LossScaleOptimizer):
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        if not optimizer.built:
            optimizer.build(part.trainable_variables)
        return optimizer

    def check_compiled(self) -> None:
        if getattr(self, "d_optimizer", None) is None:
            raise ValueError(f"Call compile() before fit(): {type(self).__name__} needs its two optimizers.")

    def get_compile_config(self):
        if not self.compiled or getattr(self, "d_optimizer", None) is None:
            return {}
        return {"d_optimizer": keras.optimizers.serialize(self.d_optimizer),
                "g_optimizer": keras.optimizers.serialize(self.g_optimizer)}

    def compile_from_config(self, config):
        self.compile(d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
                     g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]))


class AdversarialModel(TwoOptimizerModel):
    """Base of the zoo's GANs: a generator, a discriminator, two optimizers and the adversarial `train_step`.

    A subclass calls `super().__init__(latent_dim=..., style=..., seed=..., name=...)`, builds its parts and
    hands them to `set_parts(generator, discriminator)`, and implements `discriminator_objective` and
    `generator_objective`. It returns its hyperparameters from `get_config` (with `base_config()`).
    """

    #: the generator's step reuses the noise of the discriminator's step instead of drawing fresh noise
    reuse_noise = False
    #: the losses use the data's labels (conditional and semi-supervised models)
    uses_labels = False
    #: quantities the objectives report besides d_loss and g_loss (their `terms`), one tracker each
    term_names: tuple[str, ...] = ()

    def __init__(self, *, latent_dim, style, seed, name, **kwargs):
        super().__init__(name=name, **kwargs)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.style = check_style_argument(style)
        self.seed = check_seed(seed)
        self.d_optimizer = None
        self.g_optimizer = None

    def set_parts(self, generator: keras.Model, discriminator: keras.Model) -> None:
        """Attach the built parts, the noise's seed generator and the loss trackers."""
        self.generator = generator
        self.discriminator = discriminator
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.term_trackers = [keras.metrics.Mean(name=term) for term in self.term_names]
        self.built = True  # the parts are built; the top model has no weights of its own

    # ------------------------------------------------------------------------------------------ objectives
    def discriminator_objective(self, real, labels, noise, training):
        """(D's loss, {term: value}) for real images (and their labels) and generated ones from `noise`."""
        raise NotImplementedError

    def generator_objective(self, noise, labels, training):
        """(G's loss, {term: value}) for images generated from `noise` (for `labels`, if conditional)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------- training
    def unpack_batch(self, data):
        """(real images, labels or None) from a batch in any of the forms the class docstring lists."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not self.uses_labels:
            return ops.cast(x if y is None else y, self.compute_dtype), None
        if isinstance(x, dict):  # Keras' (inputs, targets) form: the inputs' label belongs to the target image
            x, labels = y, x[LABEL_INPUT]
        elif isinstance(x, (list, tuple)):
            x, labels = y, split_conditional(x)[1]
        else:
            labels = y
        if labels is None:
            raise ValueError(f"{type(self).__name__} trains on labelled images: fit(images, labels).")
        return ops.cast(x, self.compute_dtype), ops.cast(ops.reshape(labels, (-1,)), "int32")

    def noise(self, batch):
        """Standard normal noise (batch, latent_dim) from the model's seed generator."""
        return keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)

    @uses_tensorflow("training: two optimizers need tf.GradientTape (the GAN specs declare tensorflow_only)")
    def train_step(self, data):
        import tensorflow as tf

        self.check_compiled()
        real, labels = self.unpack_batch(data)
        batch = ops.shape(real)[0]
        noise = self.noise(batch)
        discriminator_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            d_loss, d_terms = self.discriminator_objective(real, labels, noise, training=True)
            scaled = self.d_optimizer.scale_loss(replica_share(d_loss))
        self.d_optimizer.apply(tape.gradient(scaled, discriminator_vars), discriminator_vars)

        if not self.reuse_noise:
            noise = self.noise(batch)
        generator_vars = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            g_loss, g_terms = self.generator_objective(noise, labels, training=True)
            scaled = self.g_optimizer.scale_loss(replica_share(g_loss))
        self.g_optimizer.apply(tape.gradient(scaled, generator_vars), generator_vars)
        return self._track(d_loss, g_loss, {**d_terms, **g_terms})

    def test_step(self, data):
        real, labels = self.unpack_batch(data)
        noise = self.noise(ops.shape(real)[0])
        d_loss, d_terms = self.discriminator_objective(real, labels, noise, training=False)
        g_loss, g_terms = self.generator_objective(noise, labels, training=False)
        return self._track(d_loss, g_loss, {**d_terms, **g_terms})

    def _track(self, d_loss, g_loss, terms):
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        for tracker in self.term_trackers:
            tracker.update_state(terms[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.metrics}

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, *self.term_trackers]

    # ------------------------------------------------------------------------------------------ saving
    def base_config(self) -> dict:
        """The config entries every GAN has; a subclass's `get_config` adds its hyperparameters."""
        return {"name": self.name, "trainable": self.trainable, "latent_dim": self.latent_dim, "style": self.style,
                "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key, value in config.items():
            if isinstance(value, list):  # JSON has no tuples: shapes and per-layer widths come back as lists
                config[key] = tuple(value)
        return cls(**config)
