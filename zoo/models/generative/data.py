"""Data adapters of the GANs: images at the generator's size, and for the semi-supervised GAN, a label budget.

This module does not import Keras. An adapter is the first zoo code a pipeline's preprocess step imports, and
the zoo registers its Keras classes when Keras is first imported (`zoo.register_all`), importing every model
module: a module that imported Keras at its top would be half-initialised at that moment.
"""

from __future__ import annotations

import numpy as np

#: the label of an unlabelled example
UNLABELLED = -1
#: the seed of the choice of labelled training examples (the same examples in every run)
LABEL_SEED = 0


def adapt_images(spec, hparams, splits):
    """The data adapter of the image GANs: images resized to the generator's `image_shape` (not to the noise
    input the model's signature names), integer labels kept (the judge trains on them; a conditional GAN
    trains on them)."""
    from zoo.data.adapt import fit_images

    if splits.kind != "image":
        raise ValueError(f"{spec.name} trains on images; dataset {splits.name!r} holds {splits.kind} data.")
    shape = tuple(hparams["image_shape"])
    for _, split in splits.items():
        split.x = fit_images(split.x, shape)
        split.y = split.y.astype("int32")
    splits.info = {**splits.info, "image_shape": list(shape)}
    return splits


def _streamed_image_shape(hparams):
    return tuple(hparams["image_shape"])


# Streamed images (mnist through TFDS) are resized by the reader to the images the model learns, not to its
# noise input (see zoo.pipeline.steps._streamed_image_shape).
adapt_images.streamed_image_shape = _streamed_image_shape


def keep_labels(labels: np.ndarray, budget: int, classes: int, seed: int = LABEL_SEED) -> np.ndarray:
    """`labels` with all but `budget` of them replaced by -1: `budget // classes` kept per class (the first
    `budget % classes` classes keep one more), chosen at random with `seed`.

    Raises:
        ValueError: the budget is below the number of classes, or a class has fewer examples than its share.
    """
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < classes:
        raise ValueError(f"`label_budget` must be an integer of at least the number of classes ({classes}). "
                         f"Received: label_budget={budget!r}")
    labels = np.asarray(labels).astype("int32").reshape(-1)
    rng = np.random.default_rng(seed)
    kept = np.full_like(labels, UNLABELLED)
    for label in range(classes):
        share = budget // classes + (1 if label < budget % classes else 0)
        members = np.flatnonzero(labels == label)
        if len(members) < share:
            raise ValueError(f"`label_budget` asks for {share} labelled examples of class {label}, but the training "
                             f"split has {len(members)}. Received: label_budget={budget}")
        kept[rng.choice(members, size=share, replace=False)] = label
    return kept


def adapt_semi_supervised(spec, hparams, splits):
    """The semi-supervised GAN's adapter: images at the generator's size; the training split keeps
    `label_budget` labels (balanced over the classes, seeded) and marks the rest -1. Validation and test keep
    their labels: the test labels score the classifier, and the validation labels are only reported (no early
    stopping, no model selection), so no label beyond the budget informs training."""
    classes = hparams["classes"]
    if splits.classes is not None and splits.classes != classes:
        raise ValueError(f"{spec.name} classifies {classes} classes but {splits.name!r} has {splits.classes}; pass "
                         f"--hparam classes={splits.classes}. Received: classes={classes}")
    splits = adapt_images(spec, hparams, splits)
    splits.train.y = keep_labels(splits.train.y, hparams["label_budget"], classes)
    splits.info = {**splits.info, "label_budget": int(hparams["label_budget"]),
                   "labelled_train_examples": int(np.sum(splits.train.y >= 0))}
    return splits
