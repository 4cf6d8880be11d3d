"""Density estimation: a model of binary images with an exact likelihood (NADE), gated on it.

A density estimator is judged by the probability it gives to images it has not seen. `evaluate` computes,
per test image, the exact negative log-likelihood in nats (`nll_nats`, the gate metric: a mean over
images, so the gate can run a paired t-test against the deployed model's scores on the same images) and
the same in bits per pixel (`bits_per_dim` = nats / (D ln 2), the unit the literature reports).

The yardstick is the **independent-pixel baseline**: a Bernoulli per pixel with the pixel's frequency on
the binarised training split (add-one smoothed, so a pixel never on in training has a finite cost), which
knows each pixel's ink rate but nothing of strokes. Its test NLL is reported as `baseline_nll_nats` (and
`baseline_bits_per_dim`) and the spec's gate names it as its floor (`Gate.floor_metric`): the first
deployment must beat it, which a model that learnt no dependency between pixels cannot. `evaluate` needs
the training split for it (`train_batches`, `uses_train_split`).

Data: images binarised at 0.5 (the spec's adapter `zoo.models.density.nade:adapt_binary` binarises the
prepared arrays; `example_map` binarises streamed images, and is a no-op on binary ones) without labels.

Pictures: samples drawn by ancestral sampling from fixed uniforms (seeded), and test images beside the
model's conditional probabilities p(x_d = 1 | x_<d); `training_callbacks` draws the same samples after every
epoch (`zoo.pictures.SampleProgress`). Serving: the deployed model takes an int32 "seed" per instance and
returns one sampled binary image, the same for the same seed (see `serving_model`).
"""

from __future__ import annotations

import math
import os
from typing import Iterable

import numpy as np

from zoo.metrics import Metric, register_metric
from zoo.tasks.base import Evaluation, Task, first_images

#: images per sample grid (8 x 8)
GRID = 64
#: samples per epoch in the training progression (four rows)
PROGRESS_SAMPLES = 32

register_metric(Metric("nll_nats", "min", None, paired_test="paired_t"))
register_metric(Metric("bits_per_dim", "min", None, paired_test="paired_t"))
# The independent-pixel baseline's: the floor the gate asks the model to beat, not a model's score.
register_metric(Metric("baseline_nll_nats", "min", None))
register_metric(Metric("baseline_bits_per_dim", "min", None))


def binary_images(x, y):
    """The per-example map: the image binarised at 0.5 (`tf.data`), without its label."""
    import tensorflow as tf

    from zoo.models.density.nade import BINARY_THRESHOLD

    return tf.cast(x > BINARY_THRESHOLD, tf.float32)


def _images(batch) -> np.ndarray:
    """The images of a batch that may be (images, labels) or images alone, binarised."""
    from zoo.models.density.nade import binarise

    if isinstance(batch, (tuple, list)):
        batch = batch[0]
    return binarise(batch)


def independent_pixels(train_batches: Iterable) -> np.ndarray:
    """Each pixel's probability of being on in the binarised training images, add-one smoothed: (D,) float64."""
    on, count = 0.0, 0
    for batch in train_batches:
        images = _images(batch)
        on = on + images.reshape(len(images), -1).sum(axis=0, dtype="float64")
        count += len(images)
    if count == 0:
        raise ValueError("The independent-pixel baseline needs training images; the training split is empty.")
    return (on + 1.0) / (count + 2.0)


def independent_nll(images: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """-log p(x) per image in nats under independent Bernoulli pixels: (batch,) float64."""
    x = images.reshape(len(images), -1).astype("float64")
    return -(x * np.log(probabilities) + (1.0 - x) * np.log1p(-probabilities)).sum(axis=1)


class DensityEstimationTask(Task):
    """A density estimator of binary images (`zoo.models.density.nade.NADE`, or any model with `nll`,
    `sample`, `dimensions` and `image_shape`): trained on its own loss, gated on the exact test NLL."""

    names = ("density_estimation",)
    endpoint_takes_image = False
    metric_names = ("nll_nats", "bits_per_dim", "baseline_nll_nats", "baseline_bits_per_dim")
    #: `evaluate` needs `train_batches`: the independent-pixel baseline is fitted on the training split
    uses_train_split = True

    def example_map(self, spec, hparams, info, outputs: int = 1):
        return binary_images

    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0,
                 train_batches: Iterable | None = None) -> Evaluation:
        """Exact NLL of every test image (`batches`), and the independent-pixel baseline's.

        Args:
            train_batches: (images, labels) batches of the prepared training split; the baseline's pixel
                probabilities are counted on them.
        """
        from keras import ops

        if train_batches is None:
            raise ValueError(f"{spec.name} is gated against an independent-pixel baseline fitted on the training "
                             "split: pass train_batches=(images, labels) batches of the prepared train split.")
        pixels = independent_pixels(train_batches)
        nll, baseline = [], []
        for batch in batches:
            images = _images(batch)
            nll.append(ops.convert_to_numpy(model.nll(images)).astype("float64"))
            baseline.append(independent_nll(images, pixels))
        nll, baseline = np.concatenate(nll), np.concatenate(baseline)
        per_bit = 1.0 / (model.dimensions * math.log(2.0))
        return Evaluation(
            metrics={"nll_nats": float(nll.mean()), "bits_per_dim": float(nll.mean() * per_bit),
                     "baseline_nll_nats": float(baseline.mean()),
                     "baseline_bits_per_dim": float(baseline.mean() * per_bit)},
            scores=nll, paired_test="paired_t",
        )

    def serving_model(self, model, spec, hparams, info):
        """An int32 "seed" per instance -> one binary image sampled by NADE, the same for the same seed.

        Why samples, not likelihoods: the deployed model of every generator in the zoo answers "draw me
        images", by seed, so a client can ask for the same picture again; scoring images is what
        `evaluate` does. Sampling is D sequential draws in one `while` loop of the exported graph (its size
        does not grow with D); the uniforms come from the seed's stateless noise (u = Phi(z)), so a seed's
        image does not depend on the rest of the request.
        """
        from zoo.models.density.nade import seeded_sampler

        return seeded_sampler(model)

    def training_callbacks(self, model, spec, hparams, info, out_dir, *, seed: int = 0) -> list:
        from zoo.pictures import SampleProgress

        uniforms = _uniforms(PROGRESS_SAMPLES, model.dimensions, seed)
        return [SampleProgress(lambda m: _numpy(m.sample(uniforms)), out_dir, name=spec.name)]

    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0) -> dict[str, str]:
        from zoo.pictures import save_png

        samples = _numpy(model.sample(_uniforms(GRID, model.dimensions, seed)))
        originals = first_images(batches, GRID // 2, _images)
        probabilities = _numpy(model.predict(originals, verbose=0))
        # Rows alternate: eight test images, then the model's p(x_d = 1 | x_<d) for each of their pixels.
        pairs = np.concatenate([np.concatenate([originals[i:i + 8], probabilities[i:i + 8]])
                                for i in range(0, len(originals), 8)])
        return {
            f"Samples (ancestral sampling, seed {seed})":
                save_png(samples, os.path.join(out_dir, f"{spec.name}_samples.png")),
            "Test images (odd rows) and p(pixel on | pixels before it) (even rows)":
                save_png(pairs, os.path.join(out_dir, f"{spec.name}_conditionals.png")),
        }

    def random_batch(self, spec, hparams, model, batch, rng):
        """Random binary images (NADE's inputs), no targets."""
        (signature,) = spec.inputs(hparams).values()
        return rng.integers(0, 2, size=(batch, *signature.shape)).astype("float32"), None


def _uniforms(count: int, dimensions: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(size=(count, dimensions)).astype("float32")


def _numpy(tensor) -> np.ndarray:
    from keras import ops

    return np.asarray(ops.convert_to_numpy(tensor), dtype="float32")
