"""Seeded sampling for deployed generators: an endpoint that takes a seed (and a label) and returns an image.

A generator maps noise to images, but noise is a poor thing to send over HTTP: a client would have to draw
128 normal numbers per image, and nobody could ask for "the same picture again" without keeping them. So a
deployed generator takes, per instance, an integer **seed** (and, for a conditional model, the **label**)
and draws its noise itself, inside the served graph, from a *stateless* random generator keyed by that seed
alone:

    {"instances": [{"seed": 0, "label": 3}, {"seed": 1, "label": 3}]}   ->   two images of a 3

The count of images is the number of instances; the same seed (and label) gives the same image on every
request, in any batch, on any replica, because the noise of row i depends only on seeds[i] (TensorFlow's
`stateless_random_normal` with the Philox algorithm, keyed by (seed, 0)). Samplers that need fresh noise at
every step (a diffusion model's reverse process) key it by (seed, step + 1) with `SeededNoise.step_noise`.

Like every serving wrapper in the zoo this is TensorFlow-only (the export is a TensorFlow SavedModel); the
generator it wraps stays backend-agnostic. Labels outside [0, classes) are rejected inside the graph with an
assertion, which the prediction server answers with a one-line 400 error.
"""

from __future__ import annotations

from typing import Sequence

import keras

from zoo.nn import serializable, uses_tensorflow

SEED_INPUT = "seed"
LABEL_INPUT = "label"


def _check_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, int):
        shape = (shape,)
    if not isinstance(shape, (list, tuple)) or not shape or any(
            isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape):
        raise ValueError(f"`shape` must be a non-empty tuple of positive integers (the noise of one sample). "
                         f"Received: shape={shape!r}")
    return tuple(shape)


@serializable
class SeededNoise(keras.layers.Layer):
    """int seeds (batch,) -> standard normal noise (batch, *shape), float32; row i depends on seeds[i] only.

    Args:
        shape: the noise of one sample, without the batch axis (a generator's `(latent_dim,)`, a diffusion
            model's image shape).
    """

    def __init__(self, shape: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.shape = _check_shape(shape)

    def call(self, seeds):
        return self.step_noise(seeds, -1)

    @uses_tensorflow("serving: stateless seeded noise inside the exported SavedModel")
    def step_noise(self, seeds, step):
        """Noise keyed by (seed, step + 1): `call` is step -1; a sampler's step t draws with `step=t`."""
        import tensorflow as tf

        seeds = tf.cast(tf.reshape(seeds, (-1,)), tf.int64)
        step = tf.cast(step, tf.int64) + 1
        keys = tf.stack([seeds, tf.fill(tf.shape(seeds), step)], axis=1)
        return tf.map_fn(lambda key: tf.random.stateless_normal(self.shape, seed=key, dtype=tf.float32,
                                                                alg="philox"),
                         keys, fn_output_signature=tf.TensorSpec(self.shape, tf.float32))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.shape)

    def get_config(self):
        return {**super().get_config(), "shape": list(self.shape)}


@serializable
class LabelRange(keras.layers.Layer):
    """Passes int labels through after asserting each is in [0, classes) (a bad request fails in the graph)."""

    def __init__(self, classes: int, **kwargs):
        super().__init__(**kwargs)
        if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
            raise ValueError(f"`classes` must be an integer of at least 2. Received: classes={classes!r}")
        self.classes = classes

    @uses_tensorflow("serving: checks the asked label inside the exported SavedModel")
    def call(self, labels):
        import tensorflow as tf

        labels = tf.cast(tf.reshape(labels, (-1,)), tf.int32)
        check = tf.debugging.assert_less(
            labels, self.classes, message=f"label must be an integer in [0, {self.classes})")
        with tf.control_dependencies([check, tf.debugging.assert_non_negative(
                labels, message=f"label must be an integer in [0, {self.classes})")]):
            return tf.identity(labels)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def get_config(self):
        return {**super().get_config(), "classes": self.classes}


def seeded_generator(generator: keras.Model, noise_shape: Sequence[int], *, classes: int | None = None,
                     name: str | None = None) -> keras.Model:
    """The served model of a generator: a seed (and a label) per instance in, the generated image out.

    Args:
        generator: noise (batch, *noise_shape) -> images, or `generator([noise, labels])` when `classes` is set
            (labels int32 of shape (batch,)).
        noise_shape: the noise of one sample, e.g. `(latent_dim,)`.
        classes: the number of classes of a conditional generator (adds the "label" input), or None.
        name: the served model's name (default: the generator's name + "_seeded").

    Returns:
        A functional `keras.Model` with inputs "seed" (int32, one per instance) and, conditional, "label".
    """
    seeds = keras.Input(shape=(), dtype="int32", name=SEED_INPUT)
    noise = SeededNoise(noise_shape, name="seeded_noise")(seeds)
    if classes is None:
        inputs, images = seeds, generator(noise)
    else:
        labels = keras.Input(shape=(), dtype="int32", name=LABEL_INPUT)
        checked = LabelRange(int(classes), name="label_range")(labels)
        inputs, images = {SEED_INPUT: seeds, LABEL_INPUT: labels}, generator([noise, checked])
    return keras.Model(inputs, images, name=name or f"{generator.name}_seeded")
