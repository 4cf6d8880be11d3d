"""Denoising diffusion: a DDPM, trained on its noise-prediction loss, gated on the quality of its samples.

The training loss (L_simple, the error of the predicted noise) says how well the denoiser does one step, not
how good the images of T chained steps are, so the gate is the project's sample-quality measure
(`zoo.sample_quality`), as for the GANs: the Fréchet distance (`frechet_distance`, the gate metric, a point
estimate) and KID (`kid`) between generated images and the real test images in the features of a zoo
classifier (the judge) trained on the labelled training split (`train_batches`, hence
`uses_train_split`). The count is fixed (all the test images, at most `sample_quality.MAX_SAMPLES`), and so
is the randomness: x_T from `numpy.random.default_rng(seed)`, the per-step noise from Keras seeded by
`seed` and the batch's index. The judge's fingerprint goes into `Evaluation.fingerprint`. The test split's
denoising loss (`denoising_loss`, L_simple at steps and noise drawn from the same seed) is reported too.

Pictures: the reverse process of the images the endpoint serves for seeds 0 .. 7 (one row per seed, x_T to
x_0 at 8 evenly spaced steps) and a grid of samples; `training_callbacks` draws fixed samples
(`zoo.pictures.SampleProgress`) after every epoch, or every few epochs where T steps a grid add up
(`progress_every`). Serving: an int32 "seed" per instance
-> one image, the same for the same seed (`zoo.models.diffusion.ddpm.seeded_sampler`).
"""

from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from zoo.metrics import Metric, register_metric
from zoo.tasks.base import Evaluation, Task, batch_images, random_inputs
from zoo.tasks.generative import images_only

#: images per sample grid (8 x 8)
GRID = 64
#: seeds (rows) and states (columns) of the reverse-process picture
REVERSE_ROWS = 8
REVERSE_STATES = 8
#: samples per epoch in the training progression (two rows)
PROGRESS_SAMPLES = 16
#: a progression grid costs T denoiser passes; draw it every few epochs when that adds up (see progress_every)
PROGRESS_STEP_BUDGET = 20_000

register_metric(Metric("denoising_loss", "min", None, paired_test="paired_t"))




def progress_every(timesteps: int, epochs: int) -> int:
    """Draw the progression every this many epochs: every epoch while the run's grids cost at most
    `PROGRESS_STEP_BUDGET` denoiser passes in all (T = 100, 100 epochs: every epoch), else spaced out so they do."""
    return max(1, -(-timesteps * epochs // PROGRESS_STEP_BUDGET))


class DenoisingDiffusionTask(Task):
    """A diffusion model (`zoo.models.diffusion.ddpm.DDPM`, or any model with `sample`, `denoising_errors`,
    `image_shape` and `timesteps`): trained on its own loss, gated on the Fréchet distance of its samples."""

    names = ("denoising_diffusion",)
    endpoint_takes_image = False
    metric_names = ("frechet_distance", "kid", "denoising_loss")
    #: `evaluate` needs `train_batches`, the labelled training split (the judge trains on it)
    uses_train_split = True

    def example_map(self, spec, hparams, info, outputs: int = 1):
        return images_only

    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0,
                 train_batches: Iterable | None = None) -> Evaluation:
        """Sample quality against the test images (`batches`), and the test denoising loss.

        Args:
            train_batches: (images, labels) batches of the prepared training split (not mapped by
                `example_map`); the judge classifier trains on them (or comes from the cache).
        """
        from keras import ops

        from zoo import sample_quality

        judge = sample_quality.judge_for_training_split(train_batches, info, spec.name)
        shape = tuple(model.image_shape)
        test = [batch_images(batch) for batch in batches]
        rng = np.random.default_rng(seed)
        errors = [ops.convert_to_numpy(model.denoising_errors(
            images, rng.integers(0, model.timesteps, size=len(images)).astype("int32"),
            rng.standard_normal(images.shape).astype("float32"))) for images in test]
        drawn = iter(range(1 << 30))

        def generate(noise):
            # Each batch's step noise from its own seed: the same images on every evaluation.
            batch_seed = seed * 100_003 + next(drawn)
            return ops.convert_to_numpy(model.sample(noise.reshape(len(noise), *shape), seed=batch_seed))

        metrics, count = sample_quality.measure(generate, test, judge, latent_dim=int(np.prod(shape)), seed=seed)
        errors = np.concatenate(errors).astype("float64")
        return Evaluation(metrics={**metrics, "denoising_loss": float(errors.mean())},
                          fingerprint=f"{judge.fingerprint}-n{count}-seed{seed}")

    def serving_model(self, model, spec, hparams, info):
        from zoo.models.diffusion.ddpm import seeded_sampler

        return seeded_sampler(model)

    def training_callbacks(self, model, spec, hparams, info, out_dir, *, seed: int = 0) -> list:
        from zoo.pictures import SampleProgress

        noise = np.random.default_rng(seed).standard_normal((PROGRESS_SAMPLES, *model.image_shape)).astype("float32")
        every = progress_every(model.timesteps, spec.recipe.epochs)
        return [SampleProgress(lambda m: _numpy(m.sample(noise, seed=seed)), out_dir, name=spec.name, every=every)]

    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0) -> dict[str, str]:
        from zoo.pictures import save_png

        noise = np.random.default_rng(seed).standard_normal((GRID, *model.image_shape)).astype("float32")
        samples = _numpy(model.sample(noise, seed=seed))
        rows = reverse_process(model, range(REVERSE_ROWS), REVERSE_STATES)
        return {
            f"Samples (seed {seed})": save_png(samples, os.path.join(out_dir, f"{spec.name}_samples.png")),
            "Reverse process of the served seeds 0-7 (rows), x_T to x_0 (columns)":
                save_png(rows.reshape(-1, *model.image_shape), os.path.join(out_dir, f"{spec.name}_reverse.png"),
                         columns=REVERSE_STATES),
        }

    def random_batch(self, spec, hparams, model, batch, rng):
        """([noisy images, steps], noise): the denoiser's inputs and targets, so `predict` takes the same inputs."""
        inputs = random_inputs(spec, hparams, batch, rng)
        return inputs, rng.standard_normal(inputs["noisy_image"].shape).astype("float32")


def reverse_process(model, seeds, states: int) -> np.ndarray:
    """The reverse process of the images the endpoint serves for `seeds`: (len(seeds), states, H, W, C) in
    [0, 1], x_T first and x_0 last, with the served model's seeded noise (TensorFlow)."""
    from zoo.models.generative.sampling import SeededNoise

    seeds = np.asarray(list(seeds), dtype="int32")
    noise = SeededNoise(model.image_shape)
    _, kept = model.sample(noise(seeds), step_noise=lambda t: noise.step_noise(seeds, t), keep=states)
    return np.stack([_numpy(state) for _, state in kept], axis=1)


def _numpy(tensor) -> np.ndarray:
    from keras import ops

    return np.asarray(ops.convert_to_numpy(tensor), dtype="float32")
