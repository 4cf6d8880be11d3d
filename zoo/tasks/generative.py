"""Generative tasks: variational autoencoding (the VAE) and adversarial generation (GANs).

Both train on images alone (`example_map` drops the labels) with models that own their training, and both
serve the part that generates: the VAE's decoder (codes in, images out), a GAN's generator (noise in,
images out). They differ in what they can measure:

- **variational_autoencoding** has a likelihood bound. `evaluate` computes, per test image, the negative
  ELBO in nats (`neg_elbo`, the gate metric: a mean over images, so the gate can run a paired t-test
  against the deployed model's scores on the same images) and its two terms, `reconstruction_nll` (the
  Bernoulli negative log-likelihood of the image given a sampled code) and `kl_divergence` (KL of the
  code's posterior from the N(0, I) prior, in closed form). The code samples use noise drawn with
  `numpy.random.default_rng(seed)`, `ELBO_SAMPLES` per image, so a model scores the same twice, and two
  models with the same code size are scored with the same noise.
- **adversarial_generation** has none, and its losses are no measure of its samples; it is scored by the
  project's sample-quality measure (`zoo.sample_quality`): the Fréchet distance (`frechet_distance`, the
  gate metric, a point estimate) and KID (`kid`) between generated and real test images in the features of
  a zoo classifier (the judge) trained on the labelled training split. `evaluate` therefore needs that
  split: `train_batches`, (images, labels) batches of the prepared training data, not mapped by
  `example_map`. The judge's fingerprint goes into `Evaluation.fingerprint`.

`pictures` draws sample grids from fixed-seed noise (and, for the VAE, test images over their
reconstructions) as PNG files.
"""

from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from zoo.metrics import Metric, register_metric
from zoo.tasks.base import Evaluation, Task, make_optimizer, random_inputs

#: code samples per image in the VAE's ELBO estimate
ELBO_SAMPLES = 4
#: images per sample grid (8 x 8)
GRID = 64

register_metric(Metric("neg_elbo", "min", None, paired_test="paired_t"))
register_metric(Metric("reconstruction_nll", "min", None, paired_test="paired_t"))
# Reported to watch the code (a KL near 0 means the decoder ignores it: posterior collapse); lower is
# better only at an equal reconstruction, so gate on neg_elbo, not on this.
register_metric(Metric("kl_divergence", "min", None, paired_test="paired_t"))
register_metric(Metric("frechet_distance", "min", None))
register_metric(Metric("kid", "min", None))


def images_only(x, y):
    """The per-example map of the generative tasks: the image, without its label."""
    return x


def _images(batch) -> np.ndarray:
    """The images of a batch that may be (images, labels) or images alone."""
    if isinstance(batch, (tuple, list)):
        batch = batch[0]
    return np.asarray(batch, dtype="float32")


class VariationalAutoencodingTask(Task):
    """A VAE (`zoo.models.generative.vae.VariationalAutoencoder` or any model with `encode`, `decode`,
    `decoder` and `latent_dim`): trained on its own loss, gated on the negative ELBO, serving its decoder."""

    names = ("variational_autoencoding",)
    metric_names = ("neg_elbo", "reconstruction_nll", "kl_divergence")

    def example_map(self, spec, hparams, info, outputs: int = 1):
        return images_only

    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0, **_) -> Evaluation:
        from keras import ops

        from zoo.models.generative.vae import kl_nats, reconstruction_nats

        rng = np.random.default_rng(seed)
        reconstruction_parts, kl_parts = [], []
        for batch in batches:
            images = _images(batch)
            z_mean, z_log_var = model.encode(images, training=False)
            kl_parts.append(ops.convert_to_numpy(kl_nats(z_mean, z_log_var)))
            spread = ops.exp(0.5 * z_log_var)
            nats = np.zeros(len(images))
            for noise in rng.standard_normal((ELBO_SAMPLES, *z_mean.shape)).astype("float32"):
                reconstruction = model.decode(z_mean + spread * noise, training=False)
                nats += ops.convert_to_numpy(reconstruction_nats(images, reconstruction))
            reconstruction_parts.append(nats / ELBO_SAMPLES)
        reconstruction = np.concatenate(reconstruction_parts).astype("float64")
        kl = np.concatenate(kl_parts).astype("float64")
        neg_elbo = reconstruction + kl
        return Evaluation(
            metrics={"neg_elbo": float(neg_elbo.mean()), "reconstruction_nll": float(reconstruction.mean()),
                     "kl_divergence": float(kl.mean())},
            scores=neg_elbo, paired_test="paired_t",
        )

    def serving_model(self, model, spec, hparams, info):
        return model.decoder

    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0) -> dict[str, str]:
        rng = np.random.default_rng(seed)
        codes = rng.standard_normal((GRID, model.latent_dim)).astype("float32")
        samples = np.asarray(model.decoder.predict(codes, verbose=0))
        originals = _first_images(batches, GRID // 2)
        reconstructions = np.asarray(model.predict(originals, verbose=0))
        # Rows alternate: eight test images, then their eight reconstructions.
        pairs = np.concatenate([np.concatenate([originals[i:i + 8], reconstructions[i:i + 8]])
                                for i in range(0, len(originals), 8)])
        return {
            "Samples from the prior": save_image_grid(samples, os.path.join(out_dir, "vae_samples.png"),
                                                      "VAE: decoded codes z ~ N(0, I)"),
            "Reconstructions": save_image_grid(pairs, os.path.join(out_dir, "vae_reconstructions.png"),
                                               "VAE: test images (odd rows) and reconstructions (even rows)"),
        }


class AdversarialGenerationTask(Task):
    """An unconditional GAN (`zoo.models.generative.dcgan.DCGAN` or any model whose `compile` takes
    `d_optimizer` and `g_optimizer`, whose input is one noise vector and which has a `generator`): trained by
    its own `train_step`, gated on the Fréchet distance in a zoo judge's features, serving its generator."""

    names = ("adversarial_generation",)
    metric_names = ("frechet_distance", "kid")
    #: `evaluate` needs `train_batches`, the labelled training split (the judge trains on it)
    uses_train_split = True

    def example_map(self, spec, hparams, info, outputs: int = 1):
        return images_only

    def compile(self, model, spec, hparams, *, learning_rate: float, outputs: int = 1, phase=None):
        """Two fresh optimizers from the recipe's optimizer config, one per network."""
        model.compile(d_optimizer=make_optimizer(spec.recipe, learning_rate),
                      g_optimizer=make_optimizer(spec.recipe, learning_rate))
        return model

    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0,
                 train_batches: Iterable | None = None) -> Evaluation:
        """Sample quality of the generator against the test images (`batches`).

        Args:
            train_batches: (images, labels) batches of the prepared training split (not mapped by
                `example_map`); the judge classifier trains on them (or comes from the cache).
        """
        from zoo import sample_quality

        if train_batches is None:
            raise ValueError(
                f"{spec.name} is scored in the features of a classifier trained on the labelled training split: "
                "pass train_batches=(images, labels) batches of the prepared train split to evaluate.")
        judge = sample_quality.judge_for(train_batches, classes=(info or {}).get("classes"))
        metrics, count = sample_quality.measure(
            lambda noise: model.predict_on_batch(noise), (_images(b) for b in batches), judge,
            latent_dim=self._latent_dim(spec, hparams), seed=seed)
        return Evaluation(metrics=metrics, fingerprint=f"{judge.fingerprint}-n{count}-seed{seed}")

    def serving_model(self, model, spec, hparams, info):
        return model.generator

    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0) -> dict[str, str]:
        noise = np.random.default_rng(seed).standard_normal((GRID, self._latent_dim(spec, hparams)))
        samples = np.asarray(model.predict(noise.astype("float32"), verbose=0))
        path = save_image_grid(samples, os.path.join(out_dir, f"{spec.name}_samples.png"),
                               f"{spec.name}: generated from fixed noise (seed {seed})")
        return {"Generated samples": path}

    def random_batch(self, spec, hparams, model, batch, rng):
        """(noise, images): Keras' (inputs, targets) form of a GAN's data, so `predict` takes the same inputs."""
        noise = random_inputs(spec, hparams, batch, rng)
        shape = np.asarray(model.predict(noise, verbose=0)).shape
        return noise, rng.uniform(0.0, 1.0, size=shape).astype("float32")

    @staticmethod
    def _latent_dim(spec, hparams) -> int:
        (signature,) = spec.inputs(hparams).values()
        return int(signature.shape[0])


def _first_images(batches: Iterable, count: int) -> np.ndarray:
    taken, total = [], 0
    for batch in batches:
        images = _images(batch)[: count - total]
        taken.append(images)
        total += len(images)
        if total >= count:
            break
    return np.concatenate(taken)


def save_image_grid(images: np.ndarray, path: str, title: str, columns: int = 8) -> str:
    """Write images (N, H, W, C) in [0, 1] as one PNG grid of `columns` columns; returns `path`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    images = np.clip(np.asarray(images, dtype="float32"), 0.0, 1.0)
    rows = -(-len(images) // columns)
    figure = Figure(figsize=(columns, rows + 0.5))
    FigureCanvasAgg(figure)
    figure.suptitle(title, fontsize=9)
    for i in range(rows * columns):
        axes = figure.add_subplot(rows, columns, i + 1)
        axes.axis("off")
        if i < len(images):
            image = images[i]
            axes.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0.0, vmax=1.0)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    figure.savefig(path, dpi=60)
    return path
