"""Semi-supervised classification: a classifier that learns from a few labelled and many unlabelled examples.

The model (`zoo.models.generative.sgan.SGAN`) trains with its own two-optimizer `train_step` on the training
split its adapter prepared: `label_budget` examples keep their label and the rest are marked -1
(unlabelled). At serving time it is an ordinary classifier, image -> class probabilities, and it is scored
as the supervised classification task scores one (`zoo.tasks.supervised`): test accuracy with per-example
0/1 hits, so the gate compares a candidate with the deployed model by McNemar's exact test on the same
images, plus the confusion matrix. There is no test loss: the model has no single loss to report (its
discriminator's loss mixes labelled, unlabelled and generated terms).

The model has a generator too; `training_callbacks` and `pictures` show its fixed-seed samples, as the
generative tasks do.
"""

from __future__ import annotations

import os

import numpy as np

from zoo.tasks.generative import COLUMNS, GRID, compile_adversarial
from zoo.tasks.supervised import ClassificationTask


class SemiSupervisedClassificationTask(ClassificationTask):
    """A semi-supervised GAN's classifier: trained on partly labelled data (label -1: unlabelled), gated on
    test accuracy, serving image -> class probabilities."""

    names = ("semi_supervised_classification",)

    @property
    def metric_names(self) -> tuple[str, ...]:
        return self.scored

    def example_map(self, spec, hparams, info, outputs: int = 1):
        return None

    def compile(self, model, spec, hparams, *, learning_rate: float, outputs: int = 1, phase=None):
        return compile_adversarial(model, spec, learning_rate)

    def serving_model(self, model, spec, hparams, info):
        """The classifier alone (image -> p(y | x)), without the generator."""
        return model.classifier()

    def training_callbacks(self, model, spec, hparams, info, out_dir, *, seed: int = 0) -> list:
        from zoo.pictures import SampleProgress

        return [SampleProgress(lambda m: self._samples(m, spec, hparams, seed), out_dir, name=spec.name,
                               columns=COLUMNS)]

    @staticmethod
    def _samples(model, spec, hparams, seed: int) -> np.ndarray:
        noise = np.random.default_rng(seed).standard_normal((GRID, int(hparams["latent_dim"]))).astype("float32")
        return np.asarray(model.generator.predict(noise, verbose=0))

    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0) -> dict[str, str]:
        from zoo.pictures import save_png

        path = save_png(self._samples(model, spec, hparams, seed), os.path.join(out_dir, f"{spec.name}_samples.png"),
                        COLUMNS)
        return {f"The generator's samples from fixed noise (seed {seed})": path}

    def random_batch(self, spec, hparams, model, batch, rng):
        """(images, labels) with labels in [-1, classes): some unlabelled, as the training data holds them."""
        (signature,) = spec.inputs(hparams).values()
        images = rng.uniform(0.0, 1.0, size=(batch, *signature.shape)).astype("float32")
        return images, rng.integers(-1, int(hparams["classes"]), size=batch).astype("int32")
