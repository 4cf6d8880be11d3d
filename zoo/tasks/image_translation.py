"""Image-to-image translation (pix2pix): a source image in, the image of another domain out.

Data. A dataset of kind "image_pairs" holds x = {"image": source images} (optionally with "label", the class
of each pair, for the judge below) and y = the target images, all (N, H, W, C) float32 in [0, 1]
(`zoo.data.shapes`' "edges" target, `zoo.data.facades`). `adapt_image_pairs` resizes the sources to the
model's input and the targets to its output. `example_map` turns an example into Keras' (inputs, targets) form,
(source, target), which the model's own `train_step` trains on.

Evaluation streams the test pairs once, translating each source with the generator in inference mode:

- `l1`, the gate metric: per test image, the mean absolute error between translation and target over its
  pixels and channels (intensities in [0, 1]); the metric is their mean, and the per-image scores let the
  gate run a paired t-test against the deployed model on the same images. It is the paper's L1 term, a
  measure of fidelity, not of realism: a blurry average translation scores well.
- `frechet_distance` and `kid`, realism: the project's sample-quality measure (`zoo.sample_quality`)
  between the translations and the real targets of the test split, in the features of a zoo judge (a
  `simple_cnn`) trained on the labelled *target* images of the training split: `train_batches`, the
  training split unmapped, whose inputs carry the pairs' "label". The judge's fingerprint and the number of
  images go into `Evaluation.fingerprint`, so the gate compares only like with like. Data without labels
  (facades: photos of buildings have no classes) has no judge, so its evaluation reports `l1` alone: a
  judge trained on some other labelled data would describe other images, and its distances would mean
  nothing here. Both measures are deterministic (the generator in inference mode has no dropout).

Serving: the generator: images (batch, H, W, C) in [0, 1] in, translated images out. Pictures: a row of test
translations over their sources over the real targets; while training, the same grid for the first pairs of
the validation split after every epoch (`zoo.pictures.SampleProgress`, whose progression shows the
translation rows by epoch).
"""

from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from zoo.metrics import Metric, register_metric
from zoo.tasks.base import Evaluation, Task, make_optimizer, random_inputs

#: how many pairs the pictures show
PICTURES = 8
IMAGE_KEY = "image"
LABEL_KEY = "label"


def _l1_per_image(y_true, y_pred) -> np.ndarray:
    y_true = np.asarray(y_true, dtype="float64").reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype="float64").reshape(len(y_pred), -1)
    return np.mean(np.abs(y_pred - y_true), axis=1)


register_metric(Metric("l1", "min", _l1_per_image, paired_test="paired_t"))


def source_and_target(x, y):
    """The per-example map: (x, y) -> (source image, target image), dropping the pair's label."""
    return (x[IMAGE_KEY] if isinstance(x, dict) else x), y


def _sources(x) -> np.ndarray:
    return np.asarray(x[IMAGE_KEY] if isinstance(x, dict) else x, dtype="float32")


# ------------------------------------------------------------------------------------------------- data
def adapt_image_pairs(spec, hparams, splits):
    """The data adapter: sources resized to the model's `input_shape`, targets to its output, labels int32.

    Adds `info["image_shape"]` and `info["target_shape"]`.
    """
    from zoo.data.adapt import fit_images

    if splits.kind != "image_pairs":
        raise ValueError(f"{spec.name} translates image pairs; dataset {splits.name!r} holds {splits.kind} data.")
    shape = tuple(hparams["input_shape"])
    target_shape = (*shape[:2], int(hparams["output_channels"]))
    for _, split in splits.items():
        x = dict(split.x) if isinstance(split.x, dict) else {IMAGE_KEY: split.x}
        x[IMAGE_KEY] = fit_images(np.asarray(x[IMAGE_KEY], dtype="float32"), shape)
        if LABEL_KEY in x:
            x[LABEL_KEY] = np.asarray(x[LABEL_KEY]).astype("int32")
        split.x = x
        split.y = fit_images(np.asarray(split.y, dtype="float32"), target_shape)
    splits.info = {**splits.info, "image_shape": list(shape), "target_shape": list(target_shape)}
    return splits


def comparison(sources, translated, targets) -> np.ndarray:
    """Rows of translations, then their sources, then the real targets, as one (3N, H, W, 3) image list."""
    rgb = [np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a
           for a in (np.asarray(translated), np.asarray(sources), np.asarray(targets))]
    return np.concatenate(rgb).astype("float32")


# ------------------------------------------------------------------------------------------------- task
class ImageTranslationTask(Task):
    """pix2pix-style translation (`zoo.models.pix2pix.Pix2Pix`, or any model whose `compile` takes
    `d_optimizer` and `g_optimizer` and that has a `generator`): trained by its own `train_step` on
    (source, target) pairs, gated on the test L1, with the Fréchet distance in a judge's features beside it."""

    names = ("image_translation",)
    metric_names = ("l1", "frechet_distance", "kid")
    #: `evaluate` reads the training split's labelled targets to fit the sample-quality judge
    uses_train_split = True
    uses_sample_batch = True

    def example_map(self, spec, hparams, info, outputs: int = 1):
        return source_and_target

    def compile(self, model, spec, hparams, *, learning_rate: float, outputs: int = 1, phase=None):
        """Two fresh optimizers from the recipe's optimizer config, one per network."""
        model.compile(d_optimizer=make_optimizer(spec.recipe, learning_rate),
                      g_optimizer=make_optimizer(spec.recipe, learning_rate))
        return model

    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0,
                 train_batches: Iterable | None = None) -> Evaluation:
        """L1 per test image (the gate) and, for labelled data, the Fréchet distance and KID.

        Args:
            batches: (source, target) batches of the test split (mapped by `example_map`; dict inputs also do).
            train_batches: the training split's batches unmapped, ({"image", "label"}, target): the judge
                trains on its targets and labels. None, or data without labels: no Fréchet distance or KID.
        """
        from zoo import sample_quality

        judge = self.judge(train_batches, info)
        scores, translated_features, target_features = [], [], []
        for x, y in batches:
            targets = np.asarray(y, dtype="float32")
            translated = np.asarray(model.predict_on_batch(_sources(x)), dtype="float32")
            scores.append(_l1_per_image(targets, translated))
            if judge is not None and sum(len(f) for f in target_features) < sample_quality.MAX_SAMPLES:
                translated_features.append(judge.features(translated))
                target_features.append(judge.features(targets))
        scores = np.concatenate(scores)
        metrics = {"l1": float(scores.mean())}
        fingerprint = None
        if judge is not None:
            count = min(sum(len(f) for f in target_features), sample_quality.MAX_SAMPLES)
            fake = np.concatenate(translated_features)[:count]
            real = np.concatenate(target_features)[:count]
            metrics["frechet_distance"] = sample_quality.frechet_distance(fake, real)
            metrics["kid"] = sample_quality.kernel_distance(fake, real)
            fingerprint = f"{judge.fingerprint}-n{count}"
        return Evaluation(metrics=metrics, scores=scores, paired_test="paired_t", fingerprint=fingerprint)

    @staticmethod
    def judge(train_batches: Iterable | None, info):
        """The sample-quality judge of the training targets, or None without labelled training pairs."""
        from zoo import sample_quality

        if train_batches is None:
            return None
        labelled = []
        for x, y in train_batches:
            if not isinstance(x, dict) or LABEL_KEY not in x:
                return None  # unlabelled pairs (facades): nothing to train a judge on
            labelled.append((np.asarray(y, dtype="float32"), np.asarray(x[LABEL_KEY])))
        return sample_quality.judge_for(labelled, classes=(info or {}).get("classes"))

    def serving_model(self, model, spec, hparams, info):
        return model.generator

    def training_callbacks(self, model, spec, hparams, info, out_dir, *, seed: int = 0, sample_batch=None) -> list:
        """Translations of held-out pairs after every epoch: one `SampleProgress` whose grids show translations
        over sources over targets, for the first `PICTURES` pairs of `sample_batch` (the train step's first
        validation batch, (sources, targets) as `example_map` makes them). None without a batch."""
        from zoo.pictures import SampleProgress

        if sample_batch is None:
            return []
        x, y = sample_batch
        sources, targets = _sources(x)[:PICTURES], np.asarray(y, dtype="float32")[:PICTURES]

        def draw(model):
            return comparison(sources, model(sources, training=False), targets)

        return [SampleProgress(draw, out_dir, name=spec.name, columns=len(sources))]

    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0) -> dict[str, str]:
        from zoo.pictures import save_png

        sources, targets = [], []
        for x, y in batches:
            sources.append(_sources(x)[:PICTURES])
            targets.append(np.asarray(y, dtype="float32")[:PICTURES])
            if sum(len(s) for s in sources) >= PICTURES:
                break
        sources, targets = np.concatenate(sources)[:PICTURES], np.concatenate(targets)[:PICTURES]
        translated = np.asarray(model.predict(sources, verbose=0))
        path = save_png(comparison(sources, translated, targets),
                        os.path.join(out_dir, f"{spec.name}_translations.png"), columns=len(sources))
        return {"Translations (top), sources (middle), targets (bottom)": path}

    def random_batch(self, spec, hparams, model, batch, rng):
        """(sources, targets): random images of the model's input and output shapes."""
        sources = random_inputs(spec, hparams, batch, rng)
        shape = np.asarray(model.predict(sources, verbose=0)).shape
        return sources, rng.uniform(0.0, 1.0, size=shape).astype("float32")
