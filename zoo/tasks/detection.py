"""Object detection: boxes, classes and scores for the objects in an image (YOLO, Faster R-CNN).

Data (kind "detection"). x: images float32 (N, H, W, 3) in [0, 1]; y: float32 (N, MAX, 5), one row
`[ymin, xmin, ymax, xmax, class]` per object in Keras' "rel_yxyx" format (relative to the image; TFDS'
`BBoxFeature`), class 0..C-1, padding rows all -1 (`zoo.models.detection.boxes`). Streamed examples
(`voc/2007`) come with any number of rows. `adapt_detection` resizes offline images to the model's input
(relative boxes need no change); streamed images are resized by the reader's `prepare` map.

`example_map` pads or truncates each example's rows to the model's `max_boxes` hyperparameter and calls the
model module's `target_encoder(hparams)` on them (anchors, grid cells: per example, inside `tf.data`), and
gives Keras `(image, {"boxes": (max_boxes, 5), "encoded": <the model's targets>})`: the model's
`compute_loss` trains on "encoded" (and may read "boxes"), evaluation reads the truth from "boxes".

Training: the detector owns its loss (`compute_loss`); `compile` gives it the recipe's optimizer only.

Evaluation streams the test batches once, calls `model.detect` (non-maximum suppression inside) with a low
score threshold, as COCO's protocol wants every ranked detection, and scores the detections with COCO's own
evaluator, `pycocotools.cocoeval.COCOeval` (bbox), over every test image:
- "map_50": mean over classes of the average precision at IoU 0.5 (PASCAL VOC's measure; the gate);
- "map_50_95": COCO's primary measure, AP averaged over IoU 0.5:0.05:0.95;
- "map_75", "recall_50" (the share of true boxes found at IoU 0.5 within 100 detections, averaged over
  classes) and "ap50_<class name>" per class with truth in the test split.
mAP does not decompose over images, so the gate compares point estimates (no per-example scores).

Serving: an image of any size (float32 [0, 1], (batch, H, W, 3)) is resized to the model's input, detected,
and answered with boxes in the *request's* pixels, "yxyx" `[ymin, xmin, ymax, xmax]`, with scores and
classes (`DetectionServing`). Pictures: test images with their true boxes (dashed) and the detections
(solid, with class and score), drawn with matplotlib (Keras' `keras.visualization.draw_bounding_boxes`
needs OpenCV, which the project does not install).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
from typing import Iterable

import numpy as np

from zoo.metrics import Metric, register_metric
from zoo.tasks.base import Evaluation, Task, make_optimizer, random_inputs

#: COCO's protocol ranks every detection: evaluation keeps those scoring above this, up to COCO's 100 an image
EVAL_SCORE_THRESHOLD = 0.01
EVAL_MAX_DETECTIONS = 100
EVAL_IOU_THRESHOLD = 0.5
#: pictures: how many test images, and the least score of a drawn detection
PICTURES = 8
PICTURE_SCORE = 0.2

register_metric(Metric("map_50", "max", per_example=None, paired_test=None))
register_metric(Metric("map_50_95", "max", per_example=None, paired_test=None))
register_metric(Metric("map_75", "max", per_example=None, paired_test=None))
register_metric(Metric("recall_50", "max", per_example=None, paired_test=None))


def target_encoder_of(spec):
    """The model module's `target_encoder` (the module part of `spec.impl`)."""
    module = importlib.import_module(spec.impl.partition(":")[0])
    encoder = getattr(module, "target_encoder", None)
    if encoder is None:
        raise ValueError(f"{spec.impl.partition(':')[0]} defines no target_encoder(hparams), which the "
                         f"object_detection task needs to train {spec.name}.")
    return encoder


def check_max_boxes(hparams) -> int:
    value = hparams.get("max_boxes")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`max_boxes` must be a positive integer. Received: max_boxes={value!r}")
    return value


def image_size(spec, hparams) -> tuple[int, int]:
    """(height, width) of the model's image input."""
    (sig,) = spec.inputs(hparams).values()
    return int(sig.shape[0]), int(sig.shape[1])


class DetectionTask(Task):
    """Detectors that own their loss; mAP from COCOeval (the gate: mAP@0.5), boxes drawn over test images."""

    names = ("object_detection",)
    metric_names = ("map_50", "map_50_95", "map_75", "recall_50")

    # ---------------------------------------------------------------------------------------------- data
    def example_map(self, spec, hparams, info, outputs: int = 1):
        """(image, y (M, 5)) -> (image, {"boxes": (max_boxes, 5), "encoded": target_encoder(hparams)(boxes)})."""
        from zoo.models.detection.boxes import pad_boxes

        max_boxes = check_max_boxes(hparams)
        encode = target_encoder_of(spec)(hparams)

        def detection_example(image, y):
            boxes = pad_boxes(y, max_boxes)
            return image, {"boxes": boxes, "encoded": encode(boxes)}

        return detection_example

    # ------------------------------------------------------------------------------------------ training
    def compile(self, model, spec, hparams, *, learning_rate: float, outputs: int = 1, phase=None):
        """The recipe's optimizer; the detector's own `compute_loss` is its loss."""
        model.compile(optimizer=make_optimizer(spec.recipe, learning_rate))
        return model

    # ---------------------------------------------------------------------------------------- evaluation
    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0) -> Evaluation:
        from zoo.models.detection.boxes import CocoRecords

        records = CocoRecords(_classes(model, hparams, info), info.get("class_names"))
        detect = compiled_detect(model, score_threshold=EVAL_SCORE_THRESHOLD, iou_threshold=EVAL_IOU_THRESHOLD,
                                 max_detections=EVAL_MAX_DETECTIONS)
        for x, targets in batches:
            images = np.asarray(x, dtype="float32")
            found = detect(images)
            records.add(np.asarray(targets["boxes"]), {k: np.asarray(v) for k, v in found.items()},
                        height=images.shape[1], width=images.shape[2])
        return Evaluation(metrics=coco_metrics(records))

    # ------------------------------------------------------------------------------------------- serving
    def serving_model(self, model, spec, hparams, info):
        """Images of any size -> boxes in their own pixels ("yxyx"), scores and classes (`DetectionServing`)."""
        from zoo.models.detection.boxes import detection_serving_model

        return detection_serving_model(model, image_size(spec, hparams))

    # ------------------------------------------------------------------------------------------ pictures
    def pictures(self, model, batches: Iterable, spec, hparams, info, out_dir: str, *, seed: int = 0,
                 count: int = PICTURES) -> dict[str, str]:
        """The first `count` test images with their true boxes and the model's detections."""
        images, truths = [], []
        for x, targets in batches:
            images.append(np.asarray(x)[:count - sum(len(i) for i in images)])
            truths.append(np.asarray(targets["boxes"])[:len(images[-1])])
            if sum(len(i) for i in images) >= count:
                break
        if not images:
            return {}
        images, truths = np.concatenate(images), np.concatenate(truths)
        found = {k: np.asarray(v) for k, v in model.detect(images, score_threshold=PICTURE_SCORE).items()}
        names = list(info.get("class_names") or [])
        path = os.path.join(out_dir, "detections.png")
        draw_detections(images, truths, found, names, path)
        return {"Test images: true boxes (dashed) and detections (solid, class and score)": path}

    # ------------------------------------------------------------------------------- standard model test
    def random_batch(self, spec, hparams, model, batch, rng):
        """Random images and 1-3 random boxes each, mapped as `example_map` maps streamed examples."""
        import keras

        images = random_inputs(spec, hparams, batch, rng)
        classes = _classes(model, hparams, {})
        mapped = self.example_map(spec, hparams, {})
        targets = [mapped(images[i], random_boxes(rng, int(rng.integers(1, 4)), classes))[1] for i in range(batch)]
        stacked = keras.tree.map_structure(lambda *parts: np.stack([np.asarray(p) for p in parts]), *targets)
        return images, stacked


def compiled_detect(model, **thresholds):
    """`images -> model.detect(images, **thresholds)`, traced once into a graph for a Keras model under the
    TensorFlow backend (a third faster than eager here, and the same trace the serving export makes); eager
    elsewhere."""
    import keras

    def detect(images):
        return model.detect(images, **thresholds)

    if keras.backend.backend() != "tensorflow" or not isinstance(model, keras.Model):
        return detect
    import tensorflow as tf

    return tf.function(detect, reduce_retracing=True)


def random_boxes(rng: np.random.Generator, count: int, classes: int) -> np.ndarray:
    """`count` random rel_yxyx boxes with random classes, float32 (count, 5)."""
    corners = np.sort(rng.uniform(0.0, 1.0, size=(count, 2, 2)), axis=1)
    rows = np.concatenate([corners[:, 0], corners[:, 1], rng.integers(0, classes, (count, 1))], axis=1)
    return rows.astype("float32")


def coco_metrics(records) -> dict[str, float]:
    """COCOeval (bbox) over `CocoRecords`: map_50, map_50_95, map_75, recall_50 and ap50 of each class.

    No detection at all scores 0 everywhere (COCO's `loadRes` refuses an empty result list).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    names = {c["id"]: c["name"] for c in records.categories}
    truth = records.ground_truth
    present = sorted({a["category_id"] for a in truth["annotations"]})
    if not records.detections:
        return {"map_50": 0.0, "map_50_95": 0.0, "map_75": 0.0, "recall_50": 0.0,
                **{f"ap50_{names[c]}": 0.0 for c in present}}
    with contextlib.redirect_stdout(io.StringIO()):  # COCO's API prints its progress
        ground = COCO()
        ground.dataset = truth
        ground.createIndex()
        evaluator = COCOeval(ground, ground.loadRes(list(records.detections)), iouType="bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = evaluator.stats
    # precision: (IoU thresholds, recall points, classes, area ranges, max detections); -1 where undefined.
    precision = evaluator.eval["precision"][0, :, :, 0, -1]
    recall = evaluator.eval["recall"][0, :, 0, -1]
    metrics = {"map_50": _clean(stats[1]), "map_50_95": _clean(stats[0]), "map_75": _clean(stats[2]),
               "recall_50": _mean_defined(recall)}
    cat_ids = list(evaluator.params.catIds)
    for c in present:
        metrics[f"ap50_{names[c]}"] = _mean_defined(precision[:, cat_ids.index(c)])
    return metrics


def _clean(value) -> float:
    return max(float(value), 0.0)  # COCO writes -1 where nothing is defined


def _mean_defined(values) -> float:
    values = np.asarray(values, dtype="float64")
    values = values[values > -1]
    return float(values.mean()) if len(values) else 0.0


def _classes(model, hparams, info) -> int:
    """The classes the detector predicts: its config's `classes`, else the hyperparameter, else the data's."""
    try:
        return int(model.get_config()["classes"])
    except (AttributeError, KeyError, NotImplementedError, TypeError):
        return int(hparams.get("classes") or info["classes"])


def draw_detections(images, truths, found, names, path: str) -> None:
    """Write a PNG grid: each image with its true boxes (dashed white) and detections (solid, labelled)."""
    import matplotlib
    import matplotlib.patches
    from matplotlib.figure import Figure  # its own canvas: a notebook's pyplot backend is left alone

    from zoo.models.detection.boxes import real_rows

    colours = matplotlib.colormaps["tab10"].colors
    columns = min(4, len(images))
    rows = -(-len(images) // columns)
    figure = Figure(figsize=(2.6 * columns, 2.6 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    for i, image in enumerate(images):
        axis = axes.flat[i]
        height, width = image.shape[:2]
        axis.imshow(np.clip(image, 0.0, 1.0))
        scale = np.array([height, width, height, width])
        for y0, x0, y1, x1 in real_rows(truths[i])[:, :4] * scale:
            axis.add_patch(matplotlib.patches.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                                        edgecolor="white", linestyle="--", linewidth=1))
        for box, score, label in zip(found["boxes"][i], found["scores"][i], found["classes"][i]):
            if label < 0:
                continue
            y0, x0, y1, x1 = box * scale
            colour = colours[int(label) % len(colours)]
            axis.add_patch(matplotlib.patches.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                                        edgecolor=colour, linewidth=1.5))
            name = names[label] if label < len(names) else str(label)
            axis.text(x0 - 0.5, y0 - 0.5, f"{name} {score:.2f}", color="black", fontsize=6,
                      bbox={"facecolor": colour, "pad": 1, "linewidth": 0})
    figure.tight_layout()
    figure.savefig(path, dpi=80)


def adapt_detection(spec, hparams, splits):
    """The data adapter: images resized to the model's input (relative boxes need no change), labels float32
    (N, MAX, 5) with -1 padding rows. Streamed splits are resized per example by the reader instead."""
    from zoo.data.adapt import fit_images

    if splits.kind != "detection":
        raise ValueError(f"{spec.name} detects objects; dataset {splits.name!r} holds {splits.kind!r} data.")
    classes = int(hparams["classes"])
    if splits.classes is not None and splits.classes > classes:
        raise ValueError(f"Dataset {splits.name!r} has {splits.classes} classes but the model predicts {classes}; "
                         f"set --hparam classes={splits.classes}.")
    if splits.streamed:  # the reader resizes streamed images per example; nothing to fit on them
        return splits
    (sig,) = spec.inputs(hparams).values()
    for _, split in splits.items():
        split.x = fit_images(np.asarray(split.x, dtype="float32"), tuple(sig.shape))
        split.y = np.asarray(split.y, dtype="float32")
    return splits


def _streamed_image_shape(hparams) -> tuple:
    """Streamed detection images are resized to the model's input: (height, width, 3)."""
    return tuple(hparams["input_shape"])


adapt_detection.streamed_image_shape = _streamed_image_shape
