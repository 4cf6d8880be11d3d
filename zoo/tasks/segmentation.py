"""Semantic segmentation: a class for every pixel (FCN and its successors).

The data are images (N, H, W, C) in [0, 1] with integer masks (N, H, W); `adapt_segmentation` shapes both
to the model (bilinear for images, nearest-neighbour for masks, so no in-between class is invented). The
model outputs per-pixel probabilities and trains on the per-pixel sparse cross-entropy, tracking mean IoU.

Evaluation streams the test batches once and reports:
- "mean_iou": Keras' `MeanIoU` over every test pixel (one confusion matrix for the whole split, so it does
  not decompose over images; the gate compares point estimates). The model outputs probabilities, so it
  needs `sparse_y_pred=False` (with the default `True` Keras would read the probabilities as class ids).
- "iou_class_<k>": each class's IoU from the same matrix, for the classes present in the truth or the
  predictions;
- "pixel_accuracy": the share of an image's pixels labelled right, a mean over images with per-image
  scores (a paired t-test can compare two models on them);
- "loss": the per-image mean cross-entropy.

Served: images of any size in, int32 masks of the same size out (`zoo.models.vision.common`).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from zoo.metrics import Metric, get_metric, register_metric
from zoo.tasks.base import Evaluation, Task, first_output, make_optimizer, random_inputs


def _pixel_accuracy(y_true, y_pred) -> np.ndarray:
    """Per image: the share of its pixels whose most probable class is the true one."""
    y_true = np.asarray(y_true)
    hits = np.argmax(np.asarray(y_pred), axis=-1) == y_true.reshape(np.asarray(y_pred).shape[:-1])
    return hits.reshape(len(hits), -1).mean(axis=1).astype("float64")


register_metric(Metric("mean_iou", "max", per_example=None, paired_test=None))
register_metric(Metric("pixel_accuracy", "max", _pixel_accuracy, paired_test="paired_t"))


def iou_from_confusion(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class IoU from a confusion matrix (rows true, columns predicted), and which classes are defined.

    IoU_c = TP_c / (TP_c + FP_c + FN_c); a class absent from both truth and predictions has no IoU (and, as
    in Keras' `MeanIoU`, does not count in the mean).
    """
    matrix = np.asarray(matrix, dtype="float64")
    true_positives = np.diag(matrix)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - true_positives
    defined = union > 0
    return np.where(defined, true_positives / np.where(defined, union, 1.0), 0.0), defined


class SegmentationTask(Task):
    """Per-pixel classification against integer masks; mean IoU (the gate), per-class IoU, pixel accuracy."""

    names = ("semantic_segmentation",)
    metric_names = ("mean_iou", "pixel_accuracy", "loss")

    # ------------------------------------------------------------------------------------------ training
    def compile(self, model, spec, hparams, *, learning_rate: float, outputs: int = 1, phase=None):
        """The recipe's optimizer and loss, with mean IoU tracked in training (logged as `mean_iou`)."""
        import keras

        recipe = spec.recipe
        metrics = [*recipe.metrics,
                   keras.metrics.MeanIoU(num_classes=_classes(model, hparams), sparse_y_pred=False, name="mean_iou")]
        model.compile(optimizer=make_optimizer(recipe, learning_rate), loss=recipe.loss, metrics=metrics)
        return model

    # ---------------------------------------------------------------------------------------- evaluation
    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0) -> Evaluation:
        import keras

        classes = _classes(model, hparams)
        mean_iou = keras.metrics.MeanIoU(num_classes=classes, sparse_y_pred=False)
        accuracy, losses = [], []
        for x, y in batches:
            y = first_output(y)
            probabilities = first_output(model.predict_on_batch(x))
            mean_iou.update_state(y, probabilities)
            y_np, p_np = np.asarray(y), np.asarray(probabilities)
            accuracy.append(_pixel_accuracy(y_np, p_np))
            loss = keras.losses.sparse_categorical_crossentropy(y_np, p_np)
            losses.append(np.asarray(keras.ops.convert_to_numpy(loss), dtype="float64").reshape(len(y_np), -1)
                          .mean(axis=1))
        matrix = np.asarray(keras.ops.convert_to_numpy(mean_iou.total_cm)).astype("int64")
        per_image = {"pixel_accuracy": np.concatenate(accuracy), "loss": np.concatenate(losses)}
        metrics = {"mean_iou": float(keras.ops.convert_to_numpy(mean_iou.result()))}
        metrics.update({name: get_metric(name).aggregate(scores) for name, scores in per_image.items()})
        iou, defined = iou_from_confusion(matrix)
        metrics.update({f"iou_class_{c}": float(iou[c]) for c in range(classes) if defined[c]})
        # Per-image scores go to the gate only when its metric is a mean over images (not mean IoU).
        scores = per_image.get(spec.gate.metric)
        return Evaluation(metrics=metrics, scores=scores,
                          paired_test=get_metric(spec.gate.metric).paired_test if scores is not None else None,
                          confusion_matrix=matrix.tolist())

    # ------------------------------------------------------------------------------------------- serving
    def serving_model(self, model, spec, hparams, info):
        """Images of any size -> int32 masks of the same size (resized to the model's input and back)."""
        from zoo.models.vision.common import segmentation_serving_model

        (name, sig), = spec.inputs(hparams).items()
        return segmentation_serving_model(model, sig.shape, input_name=name)

    # ------------------------------------------------------------------------------------------ pictures
    def pictures(self, model, batches: Iterable, spec, hparams, info, out_dir: str, *, seed: int = 0,
                 count: int = 6) -> dict[str, str]:
        """A grid of the first `count` test images with their true and predicted masks."""
        import os

        import matplotlib
        import matplotlib.patches
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure  # its own canvas: a notebook's pyplot backend is left alone

        images, truths = [], []
        for x, y in batches:
            images.append(np.asarray(x)[:count - sum(len(i) for i in images)])
            truths.append(np.asarray(first_output(y))[:len(images[-1])])
            if sum(len(i) for i in images) >= count:
                break
        if not images:
            return {}
        images, truths = np.concatenate(images), np.concatenate(truths)
        predicted = np.argmax(np.asarray(first_output(model.predict_on_batch(images))), axis=-1)
        classes = _classes(model, hparams)
        names = list(info.get("class_names") or [str(c) for c in range(classes)])
        colours = ListedColormap(matplotlib.colormaps["tab10" if classes <= 10 else "tab20"].colors[:classes])
        figure = Figure(figsize=(6, 2 * len(images)))
        axes = figure.subplots(len(images), 3, squeeze=False)
        for row, (image, truth, guess) in enumerate(zip(images, truths, predicted)):
            shown = image[..., 0] if image.shape[-1] == 1 else image
            panels = ((shown, "image"), (truth, "true mask"), (guess, "predicted mask"))
            for col, (panel, title) in enumerate(panels):
                axis = axes[row, col]
                if col == 0:
                    axis.imshow(np.clip(panel, 0, 1), cmap="gray" if panel.ndim == 2 else None)
                else:
                    axis.imshow(panel, cmap=colours, vmin=-0.5, vmax=classes - 0.5, interpolation="nearest")
                axis.set_xticks([])
                axis.set_yticks([])
                if row == 0:
                    axis.set_title(title, fontsize=9)
        handles = [matplotlib.patches.Patch(color=colours(c), label=names[c] if c < len(names) else str(c))
                   for c in range(classes)]
        figure.legend(handles=handles, loc="lower center", ncol=min(classes, 4), fontsize=8)
        figure.tight_layout(rect=(0, 0.06, 1, 1))
        path = os.path.join(out_dir, "segmentation_masks.png")
        figure.savefig(path, dpi=80)
        return {"Test images, true and predicted masks": path}

    # ------------------------------------------------------------------------------- standard model test
    def random_batch(self, spec, hparams, model, batch, rng):
        x = random_inputs(spec, hparams, batch, rng)
        shape = np.asarray(first_output(model.predict(x, verbose=0))).shape
        return x, rng.integers(0, shape[-1], size=shape[:-1]).astype("int32")


def _classes(model, hparams) -> int:
    """The number of classes: the model's output channels, else its `classes` setting, else the hyperparameter.

    The model's own answer comes first: the hyperparameters a caller passes may be the spec's defaults
    rather than those the model was built with (a subclassed model has no `output_shape`, but its config
    has `classes`).
    """
    shape = getattr(model, "output_shape", None)
    if isinstance(shape, list):
        shape = shape[0]
    if shape and shape[-1]:
        return int(shape[-1])
    try:
        return int(model.get_config()["classes"])
    except (AttributeError, KeyError, NotImplementedError, TypeError):
        return int(hparams["classes"])


def adapt_segmentation(spec, hparams, splits):
    """Shape segmentation `Splits` to the model: images to its input size, masks to the same size.

    Images are resized bilinearly (and given the model's channels); masks by nearest neighbour. A model with
    a None height or width keeps the data's. The model must have at least as many classes as the data.

    Returns:
        `splits`, with x float32 (N, H, W, C) and y int32 (N, H, W).
    """
    from zoo.data.adapt import fit_images

    if splits.kind != "segmentation":
        raise ValueError(f"{spec.name} trains on segmentation data (images with masks); dataset "
                         f"{splits.name!r} holds {splits.kind!r} data.")
    classes = int(hparams["classes"])
    if splits.classes is not None and splits.classes > classes:
        raise ValueError(f"Dataset {splits.name!r} has {splits.classes} classes but the model predicts {classes}; "
                         f"set --hparam classes={splits.classes}.")
    if splits.streamed:  # streamed masks are resized per example by the reader (prepare target "mask")
        return splits
    (sig,) = spec.inputs(hparams).values()
    height, width, channels = sig.shape
    for _, split in splits.items():
        size = (height or split.x.shape[1], width or split.x.shape[2])
        split.x = fit_images(split.x, (*size, channels))
        split.y = resize_masks(split.y, size)
    return splits


def resize_masks(masks: np.ndarray, size) -> np.ndarray:
    """Integer masks (N, H, W) resized to `size` by nearest neighbour, as int32."""
    masks = np.asarray(masks)
    if masks.shape[1:3] == tuple(size):
        return masks.astype("int32")
    import tensorflow as tf

    resized = [tf.image.resize(masks[i:i + 1024, ..., None], size, method="nearest").numpy()[..., 0]
               for i in range(0, len(masks), 1024)]
    return np.concatenate(resized).astype("int32")
