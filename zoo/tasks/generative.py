"""Generative tasks: variational autoencoding (the VAE), adversarial generation (GANs) and its conditional kind.

The models own their training (their loss, or their own `train_step`). The VAE and the unconditional GANs
train on images alone (`example_map` drops the labels); a conditional GAN (`conditional_generation`: cgan,
acgan) trains on (image, label) pairs. They serve the part that generates, behind a seed:
`zoo.models.generative.sampling.seeded_generator` wraps the VAE's decoder or a GAN's generator so that a
request sends an integer seed per image (and a label, for a conditional model) and gets the image back,
the same image for the same seed. They differ in what they can measure:

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
- **conditional_generation** (the same task object) measures the same two distances between the real test
  images and images generated for the test images' own labels (so both sets have the test split's class
  frequencies), plus `label_accuracy`: the judge classifier's accuracy on `sample_quality.LABEL_SAMPLES_PER_CLASS`
  images generated for each class from fixed-seed noise (chance is 1 / classes).

Pictures: `pictures` draws sample grids from fixed-seed noise (one row per class for a conditional model;
for the VAE, also test images over their reconstructions) as PNG files, and `training_callbacks` draws the
same grid after every epoch (`zoo.pictures.SampleProgress`), from which the run shows the progression.
"""

from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from zoo.metrics import Metric, register_metric
from zoo.tasks.base import Evaluation, Task, batch_images, first_images, make_optimizer, random_inputs

#: code samples per image in the VAE's ELBO estimate
ELBO_SAMPLES = 4
#: images per sample grid (8 x 8)
GRID = 64
#: samples per row of a grid (a conditional model's grid has one row per class)
COLUMNS = 8

register_metric(Metric("neg_elbo", "min", None, paired_test="paired_t"))
register_metric(Metric("reconstruction_nll", "min", None, paired_test="paired_t"))
# Reported to watch the code (a KL near 0 means the decoder ignores it: posterior collapse); lower is
# better only at an equal reconstruction, so gate on neg_elbo, not on this.
register_metric(Metric("kl_divergence", "min", None, paired_test="paired_t"))
register_metric(Metric("frechet_distance", "min", None))
register_metric(Metric("kid", "min", None))
register_metric(Metric("label_accuracy", "max", None))


def images_only(x, y):
    """The per-example map of the generative tasks: the image, without its label."""
    return x




class VariationalAutoencodingTask(Task):
    """A VAE (`zoo.models.generative.vae.VariationalAutoencoder` or any model with `encode`, `decode`,
    `decoder` and `latent_dim`): trained on its own loss, gated on the negative ELBO, serving its decoder."""

    names = ("variational_autoencoding",)
    endpoint_takes_image = False
    metric_names = ("neg_elbo", "reconstruction_nll", "kl_divergence")

    def example_map(self, spec, hparams, info, outputs: int = 1):
        return images_only

    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0, **_) -> Evaluation:
        from keras import ops

        from zoo.models.generative.vae import kl_nats, reconstruction_nats

        rng = np.random.default_rng(seed)
        reconstruction_parts, kl_parts = [], []
        for batch in batches:
            images = batch_images(batch)
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
        """The decoder behind a seed: {"seed": s} -> the decoded prior sample z ~ N(0, I) drawn with seed s."""
        from zoo.models.generative.sampling import seeded_generator

        return seeded_generator(model.decoder, (int(hparams["latent_dim"]),))

    def training_callbacks(self, model, spec, hparams, info, out_dir, *, seed: int = 0) -> list:
        from zoo.pictures import SampleProgress

        return [SampleProgress(lambda m: self._prior_samples(m, hparams, seed), out_dir, name=spec.name,
                               columns=COLUMNS)]

    @staticmethod
    def _prior_samples(model, hparams, seed: int) -> np.ndarray:
        """The decoder's images of GRID fixed codes z ~ N(0, I) (numpy's generator seeded with `seed`)."""
        codes = np.random.default_rng(seed).standard_normal((GRID, int(hparams["latent_dim"]))).astype("float32")
        return np.asarray(model.decoder.predict(codes, verbose=0))

    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0) -> dict[str, str]:
        from zoo.pictures import save_png

        originals = first_images(batches, GRID // 2)
        reconstructions = np.asarray(model.predict(originals, verbose=0))
        # Rows alternate: eight test images, then their eight reconstructions.
        pairs = np.concatenate([np.concatenate([originals[i:i + COLUMNS], reconstructions[i:i + COLUMNS]])
                                for i in range(0, len(originals), COLUMNS)])
        return {
            "Samples from the prior (decoded codes z ~ N(0, I))": save_png(
                self._prior_samples(model, hparams, seed), os.path.join(out_dir, f"{spec.name}_samples.png"), COLUMNS),
            "Test images (odd rows) and their reconstructions (even rows)": save_png(
                pairs, os.path.join(out_dir, f"{spec.name}_reconstructions.png"), COLUMNS),
        }


class AdversarialGenerationTask(Task):
    """GANs (`zoo.models.generative.adversarial.AdversarialModel`, or any model whose `compile` takes
    `d_optimizer` and `g_optimizer` and which has a `generator`): trained by their own `train_step`, gated on
    the Fréchet distance in a zoo judge's features, serving their generator behind a seed.

    `adversarial_generation`: the model's input is one noise vector. `conditional_generation`: its inputs are
    {"noise", "label"}, it trains on (image, label) pairs, and `evaluate` also reports `label_accuracy`.
    """

    names = ("adversarial_generation", "conditional_generation")
    endpoint_takes_image = False
    metric_names = ("frechet_distance", "kid", "label_accuracy")
    #: `evaluate` needs `train_batches`, the labelled training split (the judge trains on it)
    uses_train_split = True

    @staticmethod
    def conditional(spec) -> bool:
        return spec.task == "conditional_generation"

    def example_map(self, spec, hparams, info, outputs: int = 1):
        return None if self.conditional(spec) else images_only

    def compile(self, model, spec, hparams, *, learning_rate: float, outputs: int = 1, phase=None):
        return compile_adversarial(model, spec, learning_rate)

    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0,
                 train_batches: Iterable | None = None) -> Evaluation:
        """Sample quality of the generator against the test images (`batches`), and for a conditional
        generator the judge's accuracy on images generated for each class.

        Args:
            train_batches: (images, labels) batches of the prepared training split (not mapped by
                `example_map`); the judge classifier trains on them (or comes from the cache).
        """
        from zoo import sample_quality

        judge = sample_quality.judge_for_training_split(train_batches, info, spec.name)
        latent_dim = latent_size(spec, hparams)
        if not self.conditional(spec):
            metrics, count = sample_quality.measure(
                lambda noise: model.predict_on_batch(noise), (batch_images(b) for b in batches), judge,
                latent_dim=latent_dim, seed=seed)
            return Evaluation(metrics=metrics, fingerprint=f"{judge.fingerprint}-n{count}-seed{seed}")

        def generate(noise, labels):
            return model.predict_on_batch({"noise": noise, "label": labels})

        images, labels = _labelled_images(batches, sample_quality.MAX_SAMPLES)
        metrics, count = sample_quality.measure(generate, [images], judge, latent_dim=latent_dim, seed=seed,
                                                labels=labels)
        metrics["label_accuracy"], _ = sample_quality.label_accuracy(
            generate, judge, classes=int(hparams["classes"]), latent_dim=latent_dim, seed=seed)
        per_class = sample_quality.LABEL_SAMPLES_PER_CLASS
        return Evaluation(metrics=metrics, fingerprint=f"{judge.fingerprint}-n{count}-per-class{per_class}-seed{seed}")

    def serving_model(self, model, spec, hparams, info):
        """The generator behind a seed: {"seed": s} (and "label": y) -> the image drawn from noise seeded by s."""
        from zoo.models.generative.sampling import seeded_generator

        classes = int(hparams["classes"]) if self.conditional(spec) else None
        return seeded_generator(model.generator, (latent_size(spec, hparams),), classes=classes)

    def training_callbacks(self, model, spec, hparams, info, out_dir, *, seed: int = 0) -> list:
        from zoo.pictures import SampleProgress

        return [SampleProgress(lambda m: self.samples(m, spec, hparams, seed), out_dir, name=spec.name,
                               columns=COLUMNS)]

    def samples(self, model, spec, hparams, seed: int = 0) -> np.ndarray:
        """The fixed sample grid: GRID images from noise seeded by `seed`; for a conditional model one row
        per class, column j drawn from the same noise in every row (so a column shows one style, every class)."""
        rng = np.random.default_rng(seed)
        latent_dim = latent_size(spec, hparams)
        if not self.conditional(spec):
            return np.asarray(model.predict(rng.standard_normal((GRID, latent_dim)).astype("float32"), verbose=0))
        classes = int(hparams["classes"])
        noise = np.tile(rng.standard_normal((COLUMNS, latent_dim)).astype("float32"), (classes, 1))
        labels = np.repeat(np.arange(classes, dtype="int32"), COLUMNS)
        return np.asarray(model.predict({"noise": noise, "label": labels}, verbose=0))

    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0) -> dict[str, str]:
        from zoo.pictures import save_png

        title = (f"Generated from fixed noise (seed {seed}), one row per class" if self.conditional(spec)
                 else f"Generated from fixed noise (seed {seed})")
        path = save_png(self.samples(model, spec, hparams, seed), os.path.join(out_dir, f"{spec.name}_samples.png"),
                        COLUMNS)
        return {title: path}

    def random_batch(self, spec, hparams, model, batch, rng):
        """(inputs, images): Keras' (inputs, targets) form of a GAN's data, so `predict` takes the same inputs
        (for a conditional model the inputs' labels are the target images' labels)."""
        inputs = random_inputs(spec, hparams, batch, rng)
        shape = np.asarray(model.predict(inputs, verbose=0)).shape
        return inputs, rng.uniform(0.0, 1.0, size=shape).astype("float32")


def compile_adversarial(model, spec, learning_rate: float):
    """Two fresh optimizers from the recipe's optimizer config, one per network."""
    model.compile(d_optimizer=make_optimizer(spec.recipe, learning_rate),
                  g_optimizer=make_optimizer(spec.recipe, learning_rate))
    return model


def latent_size(spec, hparams) -> int:
    """The size of a generator's noise: its "noise" input's."""
    return int(spec.inputs(hparams)["noise"].shape[0])


def _labelled_images(batches: Iterable, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` (images, labels) of (images, labels) batches."""
    images, labels, total = [], [], 0
    for batch in batches:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ValueError("A conditional generator is scored on labelled test images: pass (images, labels) "
                             "batches.")
        images.append(np.asarray(batch[0], dtype="float32")[: count - total])
        labels.append(np.asarray(batch[1]).reshape(-1)[: count - total].astype("int32"))
        total += len(images[-1])
        if total >= count:
            break
    return np.concatenate(images), np.concatenate(labels)
