"""Autoencoding: a model learns to reconstruct its input through a code (the five autoencoders of catalog G).

- **data**: `example_map` pairs each image with itself, `(image, image)`, so an autoencoder trains with an
  ordinary `compile(optimizer, loss)` (the recipe's binary cross-entropy on [0, 1] pixels) and `fit`; the
  labels are dropped. A denoising autoencoder corrupts its input itself, in training only, and the target
  stays the clean image.
- **evaluation**: `evaluate` streams the test batches once and scores each image by its reconstruction
  error: `reconstruction_mse`, the mean squared error over the image's pixels (the gate metric; per-image
  scores, so the gate can run a paired t-test against the deployed model on the same images) and
  `reconstruction_bce`, the mean binary cross-entropy over the pixels (the training loss). It also reports
  the code: `code_l1`, the mean L1 norm of an image's code, and `code_zero_fraction`, the fraction of code
  units below `ZERO_CODE` in magnitude (a sparse autoencoder's should be high; the others' show how many
  ReLU code units are dead). A **denoising** autoencoder (a model with a `corruption` attribute) is gated
  on what it is for: the test images are corrupted with its own corruption kind and level, from
  `numpy.random.default_rng(seed)` (the same corrupted images on every evaluation and for every model with
  the same corruption), and the error is that of its reconstruction against the *clean* image; it also
  reports `clean_input_mse` (the error on uncorrupted inputs) and `corrupted_input_mse` (the corrupted
  input's own error: what doing nothing would score); its evaluation's fingerprint names the corruption, so
  the gate compares it only with a model measured on the same corrupted images.
- **serving**: a deployed autoencoder encodes and decodes: the served model takes an image and returns
  `{"code": (latent_dim,), "reconstruction": image}`.
- **pictures**: test images over their reconstructions (a denoising model: corrupted input, reconstruction,
  clean image), and while training a per-epoch progression of held-out images beside their reconstructions.
"""

from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from zoo.metrics import Metric, register_metric
from zoo.tasks.base import Evaluation, Task, batch_images, first_images, random_inputs

#: a code unit whose magnitude is below this counts as inactive in `code_zero_fraction`
ZERO_CODE = 1e-2
#: images per picture row, and rows of each kind in the pictures
ROW = 8
PICTURE_GROUPS = 4
#: held-out images in each epoch's progression grid
PROGRESS_IMAGES = 12
#: Keras' clipping of probabilities inside its cross-entropy
EPSILON = 1e-7

register_metric(Metric("reconstruction_mse", "min", None, paired_test="paired_t"))
register_metric(Metric("reconstruction_bce", "min", None, paired_test="paired_t"))
register_metric(Metric("clean_input_mse", "min", None, paired_test="paired_t"))
register_metric(Metric("corrupted_input_mse", "min", None, paired_test="paired_t"))
# Descriptions of the code, not measures of quality (a code of zeros is perfectly sparse): never gate on them.
register_metric(Metric("code_l1", "min", None))
register_metric(Metric("code_zero_fraction", "max", None))


def image_to_itself(x, y):
    """The per-example map: the image as input and as target; the label is dropped."""
    return x, x




def _numpy(tensor) -> np.ndarray:
    from keras import ops

    return np.asarray(ops.convert_to_numpy(tensor), dtype="float32")


def pixel_mse(images: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Mean squared error over each image's pixels: (batch,) float64."""
    difference = np.asarray(reconstructions, "float64") - np.asarray(images, "float64")
    return np.mean(difference.reshape(len(difference), -1) ** 2, axis=1)


def pixel_bce(images: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Mean binary cross-entropy over each image's pixels, in nats, probabilities clipped as Keras does: (batch,)."""
    target = np.asarray(images, "float64").reshape(len(images), -1)
    p = np.clip(np.asarray(reconstructions, "float64").reshape(len(images), -1), EPSILON, 1.0 - EPSILON)
    return -np.mean(target * np.log(p) + (1.0 - target) * np.log(1.0 - p), axis=1)


def corrupted_inputs(model, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`images` corrupted as a denoising `model` corrupts its training inputs (unchanged for other models)."""
    if getattr(model, "corruption", None) is None:
        return images
    from zoo.models.autoencoder.dense import corrupt

    return corrupt(images, model.corruption, model.corruption_level, rng)


class AutoencodingTask(Task):
    """An autoencoder (`zoo.models.autoencoder`, or any model with `encode`, `decode`, `encoder`, `decoder`
    and `latent_dim`): trained on (image, image) pairs, gated on the per-image reconstruction error,
    serving its code and reconstruction."""

    names = ("autoencoding",)
    metric_names = ("reconstruction_mse", "reconstruction_bce", "clean_input_mse", "corrupted_input_mse",
                    "code_l1", "code_zero_fraction")
    #: `training_callbacks` draws held-out images it is given as `sample_batch`
    uses_sample_batch = True

    # ---------------------------------------------------------------------------------------------- data
    def example_map(self, spec, hparams, info, outputs: int = 1):
        return image_to_itself

    def random_batch(self, spec, hparams, model, batch, rng):
        """(images, images): an autoencoder's inputs are its targets."""
        images = random_inputs(spec, hparams, batch, rng)
        return images, images

    # ---------------------------------------------------------------------------------------- evaluation
    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0, **_) -> Evaluation:
        """Per-image reconstruction errors on the test `batches` (a denoising model's on corrupted inputs).

        Args:
            batches: test batches, (images, images) as `example_map` makes them, or images alone.
            seed: seed of the corruption of a denoising model's inputs.
        """
        rng = np.random.default_rng(seed)
        denoising = getattr(model, "corruption", None) is not None
        found: dict[str, list[np.ndarray]] = {}

        def record(name, values):
            found.setdefault(name, []).append(values)

        for batch in batches:
            images = batch_images(batch)
            inputs = corrupted_inputs(model, images, rng)
            codes = _numpy(model.encode(inputs, training=False))
            reconstructions = _numpy(model.decode(codes, training=False))
            record("reconstruction_mse", pixel_mse(images, reconstructions))
            record("reconstruction_bce", pixel_bce(images, reconstructions))
            record("code_l1", np.abs(codes).reshape(len(codes), -1).sum(axis=1))
            record("code_zero_fraction", (np.abs(codes) < ZERO_CODE).reshape(len(codes), -1).mean(axis=1))
            if denoising:
                record("clean_input_mse", pixel_mse(images, _numpy(model(images, training=False))))
                record("corrupted_input_mse", pixel_mse(images, inputs))
        if not found:
            raise ValueError(f"{spec.name}: the test split has no images to evaluate.")
        per_image = {name: np.concatenate(parts) for name, parts in found.items()}
        # A denoising model is measured on inputs corrupted by its own kind and level: only models corrupted
        # alike (and with the same seed) measured the same thing.
        fingerprint = f"{model.corruption}-{model.corruption_level:g}-seed{seed}" if denoising else None
        return Evaluation(metrics={name: float(values.mean()) for name, values in per_image.items()},
                          scores=per_image["reconstruction_mse"], paired_test="paired_t", fingerprint=fingerprint)

    # ------------------------------------------------------------------------------------------- serving
    def serving_model(self, model, spec, hparams, info):
        """Image in, `{"code": (batch, latent_dim), "reconstruction": (batch, *image_shape)}` out."""
        import keras

        image = keras.Input(shape=tuple(model.image_shape), name="image")
        code = model.encoder(image)
        reconstruction = model.decoder(code)
        return keras.Model(image, {"code": code, "reconstruction": reconstruction}, name=f"{model.name}_serving")

    # ------------------------------------------------------------------------------------------ pictures
    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0) -> dict[str, str]:
        """Test images over their reconstructions: rows of `ROW` images, `PICTURE_GROUPS` groups of rows."""
        from zoo.pictures import save_png

        images = first_images(batches, ROW * PICTURE_GROUPS)
        panels = reconstruction_panels(model, images, np.random.default_rng(seed))
        rows = [panel[i:i + ROW] for i in range(0, len(images), ROW) for panel in panels]
        path = save_png(np.concatenate(rows), os.path.join(out_dir, f"{spec.name}_reconstructions.png"), columns=ROW)
        if len(panels) == 3:
            return {"Corrupted test images (rows 1, 4, ...), their reconstructions and the clean images": path}
        return {"Test images (odd rows) and their reconstructions (even rows)": path}

    def training_callbacks(self, model, spec, hparams, info, out_dir, *, seed: int = 0, sample_batch=None) -> list:
        """A per-epoch grid of held-out images beside their reconstructions (`zoo.pictures.SampleProgress`).

        Args:
            sample_batch: a batch of held-out images (or (images, targets)), the first `PROGRESS_IMAGES` of
                which are drawn every epoch; without it there is nothing to reconstruct and no callback.
        """
        if sample_batch is None:
            return []
        from zoo.pictures import SampleProgress

        images = batch_images(sample_batch)[:PROGRESS_IMAGES]
        inputs = corrupted_inputs(model, images, np.random.default_rng(seed))
        denoising = inputs is not images

        def draw(trained):
            reconstructions = _numpy(trained(inputs, training=False))
            # Side by side, (input, reconstruction) or (corrupted, reconstruction, clean), so that the first
            # row of every epoch's grid, which the progression shows, has inputs and their reconstructions.
            tiles = (inputs, reconstructions, images) if denoising else (images, reconstructions)
            return np.stack(tiles, axis=1).reshape(-1, *images.shape[1:])

        columns = 9 if denoising else 8
        return [SampleProgress(draw, out_dir, name=spec.name, columns=columns)]


def reconstruction_panels(model, images: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """[images, reconstructions], or for a denoising model [corrupted inputs, reconstructions, clean images]."""
    inputs = corrupted_inputs(model, images, rng)
    reconstructions = _numpy(model(inputs, training=False))
    if inputs is images:
        return [images, reconstructions]
    return [inputs, reconstructions, images]
