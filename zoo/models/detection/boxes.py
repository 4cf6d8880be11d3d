"""Boxes as every zoo detector holds them: padding, COCO records, pixel coordinates and non-maximum suppression.

One box format everywhere: Keras' "rel_yxyx", `[ymin, xmin, ymax, xmax]` relative to the image's height and
width (what TFDS' `BBoxFeature` stores). A detection example's labels are one float32 array (MAX, 5) whose
rows are `[ymin, xmin, ymax, xmax, class]`, class in 0..C-1, the real boxes first and padding rows all -1
(`PADDING`). Format conversions and IoU come from `keras.utils.bounding_boxes`; non-maximum suppression from
KerasHub's `NonMaxSuppression` layer (`keras.ops` throughout, so it runs on every backend and traces into the
serving export); COCO's own evaluator (`pycocotools`) scores the detections, from the records `CocoRecords`
builds batch by batch.

`DetectionServing` is what a deployed detector serves: images of any size in, boxes in their own pixels out.

What is TensorFlow here: `pad_boxes` runs inside the `tf.data` map (data code); everything else is NumPy or
`keras.ops`.
"""

from __future__ import annotations

from typing import Mapping

import keras
import numpy as np

from zoo.nn import serializable, uses_tensorflow

BOX_FORMAT = "rel_yxyx"
PADDING = -1.0
COLUMNS = 5  # ymin, xmin, ymax, xmax, class


# --------------------------------------------------------------------------------------------- padding
@uses_tensorflow("data code: pads one example's boxes inside the tf.data map")
def pad_boxes(y, max_boxes: int):
    """One example's boxes (M, 5), any M, as a fixed (max_boxes, 5) float32 tensor, for the `tf.data` map.

    Padding rows (class < 0) are dropped, the real rows keep their order, the first `max_boxes` are kept
    and the rest is filled with -1 rows. TensorFlow ops: it runs inside `tf.data`.
    """
    import tensorflow as tf

    y = tf.reshape(tf.cast(y, tf.float32), (-1, COLUMNS))
    y = tf.boolean_mask(y, y[:, 4] >= 0)[:max_boxes]
    y = tf.pad(y, [[0, max_boxes - tf.shape(y)[0]], [0, 0]], constant_values=PADDING)
    return tf.ensure_shape(y, (max_boxes, COLUMNS))


def pad_array(rows, max_boxes: int) -> np.ndarray:
    """NumPy's `pad_boxes`: rows (M, 5) -> float32 (max_boxes, 5), padded with -1 rows (for data generators)."""
    rows = np.asarray(rows, dtype="float32").reshape(-1, COLUMNS)
    rows = rows[rows[:, 4] >= 0][:max_boxes]
    out = np.full((max_boxes, COLUMNS), PADDING, dtype="float32")
    out[:len(rows)] = rows
    return out


def real_rows(y) -> np.ndarray:
    """The real boxes of one example's (MAX, 5) labels (padding rows dropped), as float32 NumPy."""
    y = np.asarray(y, dtype="float32").reshape(-1, COLUMNS)
    return y[y[:, 4] >= 0]


# ------------------------------------------------------------------------------------- pixel coordinates
def convert(boxes, target: str, height, width, source: str = BOX_FORMAT):
    """`keras.utils.bounding_boxes.convert_format` from `source` (default "rel_yxyx") to `target` for an image
    of `height` x `width` pixels; boxes (..., 4), NumPy or tensors in, the backend's tensor out."""
    return keras.utils.bounding_boxes.convert_format(boxes, source=source, target=target, height=height, width=width)


def to_pixels(boxes, height, width):
    """rel_yxyx boxes (..., 4) -> "yxyx" pixel coordinates of an image of `height` x `width` (keras.ops)."""
    from keras import ops

    scale = ops.cast(ops.stack([height, width, height, width]), "float32")
    return ops.cast(boxes, "float32") * scale


# ------------------------------------------------------------------------------------------------- NMS
def non_max_suppression(boxes, class_scores, *, score_threshold: float = 0.05, iou_threshold: float = 0.5,
                        max_detections: int = 100, image_size=(1, 1), per_class: bool = False) -> dict:
    """Non-maximum suppression by KerasHub's `NonMaxSuppression` layer, padded as the detector contract says.

    KerasHub's layer is class-agnostic: each candidate box competes as its most probable class with every
    other box. With `per_class` (or class-specific boxes) each (box, class) pair becomes a candidate carrying
    that class's score alone, and the boxes of class c are shifted by c times twice the image's size before
    the suppression (and back after), so boxes of different classes never overlap and never suppress each
    other (the coordinate-offset trick of torchvision's `batched_nms`).

    IoU is measured in pixels of an image of `image_size` (height, width): boxes are scaled from relative
    coordinates first, so a non-square image measures overlap as its own pixels do.

    Args:
        boxes: rel_yxyx candidates, (batch, N, 4), or class-specific (batch, N, C, 4).
        class_scores: per-class probabilities (batch, N, C) (e.g. YOLO's confidence x class probability).
        score_threshold: candidates scoring below it are dropped.
        iou_threshold: a candidate overlapping a better one of its class by more than this is dropped.
        max_detections: K, the detections kept per image.
        image_size: (height, width) the IoU is measured in.
        per_class: suppress within each class only.

    Returns:
        {"boxes": (batch, K, 4) float32 rel_yxyx clipped to [0, 1], "scores": (batch, K) float32,
        "classes": (batch, K) int32}, best first; the slots after the last detection have box 0, score 0 and
        class -1.
    """
    from keras import ops
    from keras_hub.layers import NonMaxSuppression

    boxes = ops.cast(boxes, "float32")
    class_scores = ops.cast(class_scores, "float32")
    classes = int(class_scores.shape[-1])
    height, width = (float(v) for v in image_size)
    scale = ops.convert_to_tensor([height, width, height, width], "float32")
    separate = per_class or len(boxes.shape) == 4
    if separate:
        boxes, class_scores = _one_candidate_per_class(boxes, class_scores, classes)
    pixels = boxes * scale
    if separate:
        shift = 2.0 * max(height, width)
        offsets = ops.tile(ops.arange(classes, dtype="float32") * shift, (int(pixels.shape[1]) // classes,))
        pixels = pixels + offsets[None, :, None]
    suppress = NonMaxSuppression(bounding_box_format="yxyx", from_logits=False, iou_threshold=iou_threshold,
                                 confidence_threshold=score_threshold, max_detections=max_detections)
    if pixels.shape[0] is None:
        # KerasHub's layer needs a static batch size, which a traced serving signature lacks: one image at a
        # time (ops.map), each a batch of one.
        found = ops.map(lambda pair: _one_image(suppress, *pair), (pixels, class_scores))
    else:
        found = _found(suppress(pixels, class_scores))
    kept = ops.arange(max_detections)[None, :] < found["count"][:, None]
    labels = found["labels"]
    picked = found["boxes"]
    if separate:
        picked = picked - ops.cast(ops.maximum(labels, 0), "float32")[..., None] * shift
    picked = ops.clip(picked / scale, 0.0, 1.0)
    return {
        "boxes": ops.where(kept[..., None], picked, 0.0),
        "scores": ops.where(kept, found["scores"], 0.0),
        "classes": ops.where(kept, labels, -1),
    }


def _found(output) -> dict:
    """KerasHub's NMS output as {"boxes" float32, "scores" float32, "labels" int32, "count" int32}."""
    from keras import ops

    return {"boxes": ops.cast(output["boxes"], "float32"), "scores": ops.cast(output["confidence"], "float32"),
            "labels": ops.cast(output["labels"], "int32"), "count": ops.cast(output["num_detections"], "int32")}


def _one_image(suppress, boxes, scores) -> dict:
    """`suppress` on one image's (N, 4) boxes and (N, C) scores, as a batch of one; the batch axis dropped."""
    return {key: value[0] for key, value in _found(suppress(boxes[None], scores[None])).items()}


def _one_candidate_per_class(boxes, class_scores, classes: int):
    """(batch, N, [C,] 4) boxes and (batch, N, C) scores -> (batch, N*C, 4) and (batch, N*C, C) candidates, the
    candidate n*C + c holding box n's class-c box and only its class-c score."""
    from keras import ops

    if len(boxes.shape) == 3:
        boxes = ops.repeat(boxes[:, :, None, :], classes, axis=2)
    count = int(boxes.shape[1]) * classes
    scores = class_scores[..., None] * ops.eye(classes, dtype="float32")
    return ops.reshape(boxes, (-1, count, 4)), ops.reshape(scores, (-1, count, classes))


def empty_detections(batch: int, max_detections: int) -> dict:
    """Detections of nothing, as the detector contract pads them (NumPy)."""
    return {"boxes": np.zeros((batch, max_detections, 4), "float32"),
            "scores": np.zeros((batch, max_detections), "float32"),
            "classes": np.full((batch, max_detections), -1, "int32")}


# ------------------------------------------------------------------------------------------------ COCO
class CocoRecords:
    """Ground truth and detections gathered batch by batch into the json structures of COCO's API.

    `ground_truth` is a COCO dataset dict (images, annotations, categories) for `pycocotools.coco.COCO`;
    `detections` the result list for `COCO.loadRes`. Boxes become COCO's [x, y, width, height] in pixels of
    each image (its own height and width), class c becomes category id c, and every truth box counts
    (iscrowd 0, area = width x height). Images are numbered 1, 2, ... in the order they are added.

    Example:
        >>> records = CocoRecords(classes=3)
        >>> records.add(truth, model.detect(images), height=32, width=32)  # truth (B, MAX, 5)
        >>> coco = pycocotools.coco.COCO(); coco.dataset = records.ground_truth; coco.createIndex()
    """

    def __init__(self, classes: int, class_names=None):
        names = list(class_names or [])
        self.categories = [{"id": c, "name": str(names[c]) if c < len(names) else str(c)} for c in range(classes)]
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self.detections: list[dict] = []

    def add(self, truth, detections: Mapping, *, height: int, width: int) -> None:
        """Add a batch: truth (B, MAX, 5) labels and the detector's {"boxes", "scores", "classes"} for it."""
        boxes = np.asarray(detections["boxes"], dtype="float32")
        scores = np.asarray(detections["scores"], dtype="float32")
        classes = np.asarray(detections["classes"])
        for i, rows in enumerate(np.asarray(truth, dtype="float32")):
            image_id = len(self.images) + 1
            self.images.append({"id": image_id, "height": int(height), "width": int(width)})
            rows = real_rows(rows)
            for box, label in self._coco_boxes(rows[:, :4], height, width, rows[:, 4]):
                self.annotations.append({"id": len(self.annotations) + 1, "image_id": image_id,
                                         "category_id": int(label), "bbox": box,
                                         "area": box[2] * box[3], "iscrowd": 0})
            found = classes[i] >= 0
            for box, (label, score) in self._coco_boxes(boxes[i][found], height, width,
                                                        list(zip(classes[i][found], scores[i][found]))):
                self.detections.append({"image_id": image_id, "category_id": int(label), "bbox": box,
                                        "score": float(score)})

    @staticmethod
    def _coco_boxes(boxes, height, width, tags):
        if not len(boxes):
            return []
        xywh = keras.ops.convert_to_numpy(convert(boxes, "xywh", height, width)).astype("float64")
        return [([float(v) for v in box], tag) for box, tag in zip(xywh, tags)]

    @property
    def ground_truth(self) -> dict:
        return {"images": list(self.images), "annotations": list(self.annotations),
                "categories": list(self.categories)}


# --------------------------------------------------------------------------------------------- serving
#: what an endpoint answers: detections scoring at least this, at most this many an image
SERVING_SCORE_THRESHOLD = 0.2
SERVING_MAX_DETECTIONS = 20


@serializable
class DetectionServing(keras.layers.Layer):
    """A detector's answer for the images a caller sent: `detector.detect` on the resized images, its boxes
    scaled to the sent images' pixels.

    Called on `[resized, image]`: the images at the detector's input size, and the images as sent
    (batch, H, W, 3). Returns {"boxes": (batch, K, 4) float32 "yxyx" pixels of the sent image, `[ymin, xmin,
    ymax, xmax]`, "scores": (batch, K) float32, "classes": (batch, K) int32}, K = `max_detections`, padded
    with zero boxes, score 0 and class -1. A serving layer (the export traces it); it is not saved on its own.
    """

    def __init__(self, detector, score_threshold=SERVING_SCORE_THRESHOLD, iou_threshold=0.5,
                 max_detections=SERVING_MAX_DETECTIONS, **kwargs):
        super().__init__(**kwargs)
        self.detector = detector
        self.score_threshold = float(score_threshold)
        self.iou_threshold = float(iou_threshold)
        self.max_detections = int(max_detections)

    def call(self, inputs):
        resized, image = inputs
        found = self.detector.detect(resized, score_threshold=self.score_threshold, iou_threshold=self.iou_threshold,
                                     max_detections=self.max_detections)
        size = keras.ops.shape(image)
        return {"boxes": to_pixels(found["boxes"], size[1], size[2]), "scores": found["scores"],
                "classes": found["classes"]}

    def compute_output_spec(self, inputs):
        batch = inputs[1].shape[0]
        k = self.max_detections
        return {"boxes": keras.KerasTensor((batch, k, 4), dtype="float32"),
                "scores": keras.KerasTensor((batch, k), dtype="float32"),
                "classes": keras.KerasTensor((batch, k), dtype="int32")}


def detection_serving_model(detector, image_size, **thresholds) -> keras.Model:
    """The model a detector's endpoint serves: float32 images (batch, H, W, 3) in [0, 1], any H and W ->
    {"boxes" (batch, K, 4) "yxyx" pixels of the sent image, "scores", "classes"} (see `DetectionServing`).

    Args:
        detector: a trained zoo detector (it has `detect`).
        image_size: (height, width) the detector takes; every image is resized (bilinearly) to it.
        **thresholds: `DetectionServing`'s score_threshold, iou_threshold, max_detections.
    """
    height, width = image_size
    image = keras.Input((None, None, 3), name="image")
    resized = keras.layers.Resizing(height, width, interpolation="bilinear", name="resize_to_model")(image)
    outputs = DetectionServing(detector, name="detections", **thresholds)([resized, image])
    return keras.Model(image, outputs, name=f"{detector.name}_serving")
