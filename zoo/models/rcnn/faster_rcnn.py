"""Faster R-CNN: a two-stage object detector (Ren, He, Girshick & Sun 2015, "Faster R-CNN: Towards Real-Time
Object Detection with Region Proposal Networks").

Stage one, the **region proposal network** (RPN), slides a small network over the backbone's feature map: a
3x3 convolution, then for each of the A anchors at every position an objectness logit and four box deltas
(1x1 convolutions). Decoded, clipped to the image and thinned by non-maximum suppression, the best
`proposals` boxes are the regions stage two looks at. Stage two, Fast R-CNN's **box head**, cuts a fixed
`roi_size` x `roi_size` grid of features out of each region (**RoI align**, He et al. 2017: bilinear samples,
no rounding of the region to the feature grid, averaged over `sampling_ratio`**2 points per cell; the
paper's RoI max-pooling rounds), then two fully connected layers score the C classes plus background and
refine the region into a box per class. The parts are separate and replaceable, as in torchvision's
design (backbone, `rpn_head`, `box_head`); the non-trainable steps between them (anchors, proposals, RoI
align, matching, sampling, post-processing) are functions of this module.

Boxes are relative `[ymin, xmin, ymax, xmax]` ("rel_yxyx", what TFDS stores); box maths (IoU, format
conversion, delta encoding and decoding) is `keras.utils.bounding_boxes`'. IoU and the centre/size deltas
do not change when an axis is rescaled, so relative coordinates need no image size.

Backbone: any zoo image classifier without its top (`backbone`, a registry name; `backbone_options` are its
own hyperparameters, `backbone_weights` a weights file saved from it); its last feature map feeds both
stages. The defaults take VGG-16, as the paper does; unlike the paper they keep VGG's fifth pooling (stride
32 instead of 16), because the zoo's VGG-16 ends there.

Anchors: `anchor_scales` (side as a fraction of the image's) times `anchor_ratios` (height / width) at the
centre of every feature cell; the defaults, (0.2, 0.4, 0.8) x (0.5, 1, 2), are the paper's 128, 256 and
512 pixels relative to its ~600-pixel images.

Training (`compute_loss`, backend-agnostic `keras.ops`; the model owns its loss, the recipe's is None):
- RPN targets are built per example in the `tf.data` map by `target_encoder(hparams)`: an anchor is
  positive (1) at IoU >= 0.7 with a box or when it is a box's best anchor, negative (0) below 0.3,
  ignored (-1) in between; positives carry the deltas to their box. The loss samples `rpn_batch` anchors
  per image, at most half positive, with the model's seed generator: binary cross-entropy on their
  objectness plus smooth L1 on the positives' deltas.
- Second-stage targets depend on the proposals, so they are built in the training step (as torchvision
  does): the proposals (no gradient) and the true boxes are matched by IoU (>= 0.5: that box's class,
  else background), `roi_batch` regions per image are sampled with at most a quarter foreground, and the
  box head learns their class (cross-entropy) and, for the foreground, the deltas of the true box for the
  true class (smooth L1; deltas scaled by 1 / (0.1, 0.1, 0.2, 0.2), the usual weights).
The four terms are summed with equal weights, as in the paper's approximate joint training.

Inference: `detect(images)` returns the padded detections after per-class non-maximum suppression
(`zoo.models.detection.boxes.non_max_suppression`, KerasHub's `NonMaxSuppression` with torchvision's
class-offset trick, shared with `yolo`; the RPN's proposals go through the same helper, class-agnostic).
`model(images)` (and `predict`) return the same detections packed as one float32 tensor (batch,
max_detections, 6): box, score, class (-1: none). In training mode (`model(images, training=True)`, what
`fit` calls) it returns the raw maps the loss needs instead, as torchvision's detectors return losses when
training; a validation step recomputes them from the images.

Styles: the functional and subclass styles build the backbone (in that style), the RPN head and the box
head as functional models or as `keras.Model` subclasses, with the same weights in the same order. A
`keras.Sequential` cannot hold it: the RPN has two outputs and the second stage takes regions that depend on
the first's output.
"""

from __future__ import annotations

import functools
import json
import math

import keras
import numpy as np
from keras import ops

from zoo.models.detection.boxes import non_max_suppression
from zoo.models.rcnn.spec import NOT_SEQUENTIAL
from zoo.nn import Styles, check_positive_int, serializable, uses_tensorflow, with_tuples

RPN_POSITIVE_IOU = 0.7  # the paper's anchor labelling thresholds
RPN_NEGATIVE_IOU = 0.3
RPN_POSITIVE_FRACTION = 0.5
ROI_FOREGROUND_IOU = 0.5  # Fast R-CNN's: foreground at IoU >= 0.5 with a true box, background below
ROI_FOREGROUND_FRACTION = 0.25
BOX_VARIANCE = (0.1, 0.1, 0.2, 0.2)  # torchvision's box-coder weights (10, 10, 5, 5) for the box head
SMOOTH_L1_BETA = 1.0 / 9.0  # torchvision's
_TUPLES = ("input_shape", "anchor_scales", "anchor_ratios")


# --------------------------------------------------------------------------------------------------- checks
def _check_fractions(name, values, *, upper=None) -> tuple[float, ...]:
    ok = isinstance(values, (list, tuple)) and values and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 and (upper is None or v <= upper)
        for v in values)
    if not ok:
        bound = f" and at most {upper}" if upper is not None else ""
        raise ValueError(f"`{name}` must be a non-empty list of numbers above 0{bound}. Received: {name}={values!r}")
    return tuple(float(v) for v in values)


def _check_unit(name, value, *, low=0.0, high=1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"`{name}` must be a number in [{low}, {high}]. Received: {name}={value!r}")
    return float(value)


def check_hparams(hp: dict) -> dict:
    """Validate Faster R-CNN's hyperparameters (one-line ValueErrors naming the argument); return them normalised."""
    hp = dict(hp)
    shape = hp["input_shape"]
    if not isinstance(shape, (list, tuple)) or len(shape) != 3 or not all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        raise ValueError(f"`input_shape` must be (height, width, channels) of positive integers. "
                         f"Received: input_shape={shape!r}")
    hp["input_shape"] = tuple(shape)
    for key in ("classes", "rpn_filters", "proposals", "roi_size", "sampling_ratio", "head_units", "rpn_batch",
                "roi_batch", "max_boxes", "max_detections"):
        check_positive_int(key, hp[key])
    if not isinstance(hp["backbone"], str):
        raise ValueError(f"`backbone` must be a zoo image classifier's name. Received: backbone={hp['backbone']!r}")
    if not isinstance(hp["backbone_options"], dict):
        raise ValueError("`backbone_options` must be a dict of the backbone's hyperparameters. "
                         f"Received: backbone_options={hp['backbone_options']!r}")
    hp["backbone_options"] = dict(hp["backbone_options"])
    hp["anchor_scales"] = _check_fractions("anchor_scales", hp["anchor_scales"], upper=1.0)
    hp["anchor_ratios"] = _check_fractions("anchor_ratios", hp["anchor_ratios"])
    for key in ("proposal_iou", "iou_threshold", "score_threshold"):
        hp[key] = _check_unit(key, hp[key])
    if hp["seed"] is not None and (isinstance(hp["seed"], bool) or not isinstance(hp["seed"], int)):
        raise ValueError(f"`seed` must be None or an integer. Received: seed={hp['seed']!r}")
    return hp


# -------------------------------------------------------------------------------------------------- anchors
def make_anchors(feature_shape, scales, ratios) -> np.ndarray:
    """The anchors of a feature map, float32 (rows * columns * A, 4) relative yxyx, A = len(scales) * len(ratios).

    Anchor (i, j, a) is centred on feature cell (i, j) with height `scale * sqrt(ratio)` and width
    `scale / sqrt(ratio)` (fractions of the image's height and width); the order matches the RPN head's
    outputs reshaped to (batch, rows * columns * A).
    """
    rows, columns = feature_shape
    centre_y = (np.arange(rows) + 0.5) / rows
    centre_x = (np.arange(columns) + 0.5) / columns
    sizes = np.array([(s * math.sqrt(r), s / math.sqrt(r)) for s in scales for r in ratios])  # (A, 2): h, w
    cy, cx = np.meshgrid(centre_y, centre_x, indexing="ij")
    centres = np.stack([cy, cx], axis=-1)[:, :, None, :]  # (rows, columns, 1, 2)
    half = sizes[None, None] / 2.0
    anchors = np.concatenate([centres - half, centres + half], axis=-1)
    return anchors.reshape(-1, 4).astype("float32")


def anchors_per_cell(hp) -> int:
    return len(hp["anchor_scales"]) * len(hp["anchor_ratios"])


def _backbone_config(hp) -> dict:
    return {**hp["backbone_options"], "include_top": False, "pooling": None, "input_shape": tuple(hp["input_shape"])}


@functools.lru_cache(maxsize=16)
def _feature_shape(backbone: str, config_json: str) -> tuple[int, int, int]:
    import zoo

    model = zoo.build(backbone, "functional", **json.loads(config_json))
    shape = tuple(model.output.shape[1:])
    if len(shape) != 3:
        raise ValueError(f"The backbone {backbone!r} must end in a feature map (height, width, channels) without its "
                         f"top; it gives {shape}.")
    return shape


def feature_shape(hp) -> tuple[int, int, int]:
    """(rows, columns, channels) of the backbone's feature map for these hyperparameters."""
    config = _backbone_config(hp)
    return _feature_shape(hp["backbone"], json.dumps(config, sort_keys=True, default=list))


def anchors_of(hp) -> np.ndarray:
    return make_anchors(feature_shape(hp)[:2], hp["anchor_scales"], hp["anchor_ratios"])


# -------------------------------------------------------------------------------------------- RPN targets
@uses_tensorflow("data code: builds the RPN's anchor targets inside the tf.data map")
def target_encoder(hparams):
    """The per-example `tf.data` map of the RPN's training targets (data code: TensorFlow ops run here).

    Args:
        hparams: the model's hyperparameters (the anchors depend on the input shape, the backbone's stride,
            `anchor_scales` and `anchor_ratios`).

    Returns:
        `fn(y)`, y float32 (max_boxes, 5) rows `[ymin, xmin, ymax, xmax, class]` (relative; padding rows -1),
        returning {"rpn_labels": float32 (anchors,) 1 positive, 0 negative, -1 ignored; "rpn_deltas":
        float32 (anchors, 4) centre/size deltas of each positive anchor's box (zero elsewhere)}. The task
        passes the padded boxes beside them, for the second stage: y = {"boxes": ..., "encoded": fn(boxes)}.
    """
    import tensorflow as tf

    anchors_np = anchors_of(hparams)

    def encode(y):
        anchors = tf.constant(anchors_np)
        y = tf.cast(tf.convert_to_tensor(y), tf.float32)
        valid = y[:, 4] >= 0
        iou = keras.utils.bounding_boxes.compute_iou(anchors, y[:, :4], "yxyx")  # (anchors, boxes)
        iou = tf.where(valid[None, :], iou, -1.0)
        best = tf.reduce_max(iou, axis=1)
        matched = tf.argmax(iou, axis=1)
        labels = tf.where(best >= RPN_POSITIVE_IOU, 1.0, tf.where(best < RPN_NEGATIVE_IOU, 0.0, -1.0))
        # Each box's best anchors are positive whatever their IoU (ties included), so every box has one.
        per_box_best = tf.reduce_max(iou, axis=0)
        is_best = tf.reduce_any((iou >= per_box_best[None, :]) & valid[None, :] & (per_box_best[None, :] > 0), axis=1)
        labels = tf.where(is_best, 1.0, labels)
        deltas = keras.utils.bounding_boxes.encode_box_to_deltas(
            anchors, tf.gather(y[:, :4], matched), anchor_format="yxyx", box_format="yxyx")
        deltas = tf.where((labels > 0)[:, None], deltas, 0.0)
        return {"rpn_labels": labels, "rpn_deltas": deltas}

    return encode


# --------------------------------------------------------------------------------------------------- RoI align
def roi_align(features, boxes, size: int, sampling_ratio: int = 2):
    """RoI align (He et al. 2017): a fixed grid of features for each box, by bilinear sampling.

    Each box is divided into `size` x `size` cells; each cell averages `sampling_ratio`**2 bilinear samples of
    the feature map at evenly spaced points (pixel centres at half-integers, torchvision's `aligned=True`).

    Args:
        features: (batch, height, width, channels).
        boxes: (batch, regions, 4) relative yxyx.
        size: cells per side of the output grid.
        sampling_ratio: samples per cell side.

    Returns:
        (batch, regions, size, size, channels), the features' dtype.
    """
    height, width, channels = features.shape[1], features.shape[2], features.shape[3]
    batch, regions = ops.shape(boxes)[0], ops.shape(boxes)[1]
    points = size * sampling_ratio
    grid = (ops.arange(points, dtype="float32") + 0.5) / points
    boxes = ops.cast(boxes, "float32")
    ymin, xmin, ymax, xmax = (boxes[..., i:i + 1] for i in range(4))
    ys = (ymin + (ymax - ymin) * grid) * height - 0.5  # (batch, regions, points), feature pixels
    xs = (xmin + (xmax - xmin) * grid) * width - 0.5
    ys = ops.clip(ys, 0.0, height - 1.0)
    xs = ops.clip(xs, 0.0, width - 1.0)
    y0, x0 = ops.floor(ys), ops.floor(xs)
    wy, wx = ys - y0, xs - x0
    y0, x0 = ops.cast(y0, "int32"), ops.cast(x0, "int32")
    y1, x1 = ops.minimum(y0 + 1, height - 1), ops.minimum(x0 + 1, width - 1)
    flat = ops.reshape(features, (-1, channels))
    base = ops.reshape(ops.arange(batch, dtype="int32") * (height * width), (-1, 1, 1, 1))

    def gather(yi, xi):  # (batch, regions, points, points, channels)
        index = base + yi[:, :, :, None] * width + xi[:, :, None, :]
        return ops.take(flat, ops.reshape(index, (-1,)), axis=0)

    wy = ops.cast(wy[:, :, :, None, None], features.dtype)
    wx = ops.cast(wx[:, :, None, :, None], features.dtype)
    top = gather(y0, x0), gather(y0, x1)
    bottom = gather(y1, x0), gather(y1, x1)
    shape = (batch, regions, points, points, channels)
    top = [ops.reshape(t, shape) for t in top]
    bottom = [ops.reshape(t, shape) for t in bottom]
    sampled = ((1 - wy) * ((1 - wx) * top[0] + wx * top[1]) + wy * ((1 - wx) * bottom[0] + wx * bottom[1]))
    cells = ops.reshape(sampled, (batch, regions, size, sampling_ratio, size, sampling_ratio, channels))
    return ops.mean(cells, axis=(3, 5))


# ------------------------------------------------------------------------------------------------------ parts
def rpn_layers(hp) -> list[keras.layers.Layer]:
    """The RPN head's layers: a 3x3 ReLU convolution, then A objectness logits and 4A deltas per position."""
    anchors = anchors_per_cell(hp)
    return [keras.layers.Conv2D(hp["rpn_filters"], 3, padding="same", activation="relu", name="rpn_conv"),
            keras.layers.Conv2D(anchors, 1, dtype="float32", name="rpn_objectness",
                                kernel_initializer=keras.initializers.RandomNormal(stddev=0.01)),
            keras.layers.Conv2D(4 * anchors, 1, dtype="float32", name="rpn_deltas",
                                kernel_initializer=keras.initializers.RandomNormal(stddev=0.01))]


def rpn_forward(layers, features, training=None):
    """(objectness (batch, rows, columns, A), deltas (batch, rows, columns, 4A)), float32."""
    conv, objectness, deltas = layers
    x = conv(features, training=training)
    return objectness(x, training=training), deltas(x, training=training)


def box_head_layers(hp) -> list[keras.layers.Layer]:
    """The box head's layers: flatten, two ReLU dense layers, class logits (C + 1, background first), deltas."""
    classes = hp["classes"] + 1
    return [keras.layers.Flatten(name="box_flatten"),
            keras.layers.Dense(hp["head_units"], activation="relu", name="box_fc6"),
            keras.layers.Dense(hp["head_units"], activation="relu", name="box_fc7"),
            keras.layers.Dense(classes, dtype="float32", name="box_class_logits",
                               kernel_initializer=keras.initializers.RandomNormal(stddev=0.01)),
            keras.layers.Dense(4 * classes, dtype="float32", name="box_deltas",
                               kernel_initializer=keras.initializers.RandomNormal(stddev=0.001))]


def box_head_forward(layers, regions, training=None):
    """(class logits (n, C + 1), deltas (n, 4 (C + 1))), float32, for pooled regions (n, size, size, channels)."""
    flatten, fc6, fc7, logits, deltas = layers
    x = fc7(fc6(flatten(regions), training=training), training=training)
    return logits(x, training=training), deltas(x, training=training)


class _Part(keras.Model):
    """A part of Faster R-CNN as a `keras.Model` subclass; its config is the detector's hyperparameters."""

    def __init__(self, hparams: dict, name: str, input_shape):
        super().__init__(name=name)
        self.hparams = dict(hparams)
        self.stack = self.make_layers(self.hparams)
        self(keras.KerasTensor((None, *input_shape)))

    def make_layers(self, hp):
        raise NotImplementedError

    def get_config(self):
        return {"hparams": self.hparams, "name": self.name}

    @classmethod
    def from_config(cls, config):
        hparams = {k: tuple(v) if k in _TUPLES else v for k, v in config["hparams"].items()}
        return cls(hparams, name=config["name"])


@serializable
class RPNHead(_Part):
    """The region proposal network's head as a subclass: features -> (objectness, deltas)."""

    def __init__(self, hparams: dict, name: str = "rpn_head"):
        super().__init__(hparams, name, feature_shape(hparams))

    def make_layers(self, hp):
        return rpn_layers(hp)

    def build(self, input_shape):
        rpn_forward(self.stack, keras.KerasTensor(tuple(input_shape)))
        self.built = True

    def call(self, features, training=None):
        return rpn_forward(self.stack, features, training=training)


@serializable
class BoxHead(_Part):
    """Fast R-CNN's box head as a subclass: pooled regions -> (class logits, deltas)."""

    def __init__(self, hparams: dict, name: str = "box_head"):
        super().__init__(hparams, name, _pooled_shape(hparams))

    def make_layers(self, hp):
        return box_head_layers(hp)

    def build(self, input_shape):
        box_head_forward(self.stack, keras.KerasTensor(tuple(input_shape)))
        self.built = True

    def call(self, regions, training=None):
        return box_head_forward(self.stack, regions, training=training)


def _pooled_shape(hp):
    return hp["roi_size"], hp["roi_size"], feature_shape(hp)[2]


def build_parts(style: str, hp: dict):
    """(backbone, rpn_head, box_head) in `style`: "functional" or "subclass"."""
    import zoo

    if style == "sequential":
        raise ValueError(f"faster_rcnn cannot be built as 'sequential': {NOT_SEQUENTIAL}. Received: style={style!r}")
    if style not in ("functional", "subclass"):
        raise ValueError(f"`style` must be 'functional' or 'subclass'. Received: style={style!r}")
    backbone = zoo.build(hp["backbone"], style, **_backbone_config(hp))
    if hp["backbone_weights"] is not None:
        from zoo.models.cnn.transfer import load_backbone_weights

        load_backbone_weights(backbone, hp["backbone"], hp["backbone_weights"], hp["input_shape"])
    if style == "subclass":
        return backbone, RPNHead(hp), BoxHead(hp)
    features = keras.Input(feature_shape(hp), name="features")
    rpn_head = keras.Model(features, list(rpn_forward(rpn_layers(hp), features)), name="rpn_head")
    regions = keras.Input(_pooled_shape(hp), name="regions")
    box_head = keras.Model(regions, list(box_head_forward(box_head_layers(hp), regions)), name="box_head")
    return backbone, rpn_head, box_head


# ---------------------------------------------------------------------------------------- non-trainable steps
def clip_boxes(boxes):
    return ops.clip(boxes, 0.0, 1.0)


def propose(anchors, objectness, deltas, *, proposals: int, iou_threshold: float, image_size=(1, 1)):
    """The RPN's proposals: decode every anchor's deltas, clip, keep the best before and after NMS.

    Args:
        anchors: (A, 4) relative yxyx; objectness: (B, A) logits; deltas: (B, A, 4).
        image_size: (height, width) in which NMS measures IoU.

    Returns:
        (boxes (B, proposals, 4), valid (B, proposals) bool): NMS may leave fewer than `proposals`.
    """
    boxes = decode(anchors, deltas)
    count = int(anchors.shape[0])
    # The paper keeps the best 6,000 before NMS for 2,000 after: a multiple of what is kept.
    keep = min(count, 4 * proposals)
    scores, index = ops.top_k(ops.cast(objectness, "float32"), keep)
    boxes = ops.take_along_axis(boxes, index[..., None], axis=1)
    result = non_max_suppression(boxes, ops.sigmoid(scores)[..., None], score_threshold=0.0,
                                 iou_threshold=iou_threshold, max_detections=proposals, image_size=image_size)
    return result["boxes"], result["classes"] >= 0


def sample_balanced(labels, count: int, positive_fraction: float, seed):
    """A random minibatch of positives (label > 0) and negatives (label == 0) per row; -1 is never chosen.

    At most `count * positive_fraction` positives; negatives fill the rest up to `count` where there are
    enough (Faster R-CNN's anchor sampling and Fast R-CNN's region sampling).

    Args:
        labels: (B, n) float or int; seed: a `keras.random.SeedGenerator`.

    Returns:
        float32 (B, n): 1 for the chosen entries.
    """
    labels = ops.cast(labels, "float32")
    noise = keras.random.uniform(ops.shape(labels), seed=seed)
    positive, negative = labels > 0, labels == 0

    def ranks(chosen):  # rank of each chosen entry in a random order (0 first); others rank last
        key = ops.where(chosen, noise, 2.0)
        return ops.argsort(ops.argsort(key, axis=1), axis=1)

    quota = int(count * positive_fraction)
    take_positive = positive & (ranks(positive) < quota)
    positives = ops.sum(ops.cast(take_positive, "int32"), axis=1, keepdims=True)
    take_negative = negative & (ranks(negative) < count - positives)
    return ops.cast(take_positive | take_negative, "float32")


def smooth_l1(difference, beta: float = SMOOTH_L1_BETA):
    """Elementwise smooth L1 (Huber divided by beta), as Fast R-CNN's box loss."""
    absolute = ops.abs(difference)
    return ops.where(absolute < beta, 0.5 * difference ** 2 / beta, absolute - 0.5 * beta)


MAX_SIZE_DELTA = math.log(1000.0 / 16)  # torchvision's bound on the size deltas, so exp() cannot overflow


def _bounded(deltas):
    return ops.concatenate([deltas[..., :2], ops.minimum(deltas[..., 2:], MAX_SIZE_DELTA)], axis=-1)


def decode(reference, deltas, variance=None):
    """Boxes from `deltas` relative to `reference` boxes (same shape), clipped to the image; Keras' decoder."""
    boxes = keras.utils.bounding_boxes.decode_deltas_to_boxes(
        reference, _bounded(ops.cast(deltas, "float32")), anchor_format="yxyx", box_format="yxyx", variance=variance)
    return clip_boxes(boxes)


def encode(reference, boxes, variance=None):
    """Deltas of `boxes` relative to `reference` boxes; Keras' encoder."""
    return keras.utils.bounding_boxes.encode_box_to_deltas(reference, boxes, anchor_format="yxyx", box_format="yxyx",
                                                           variance=variance)


# ------------------------------------------------------------------------------------------------------ model
@serializable
class FasterRCNN(keras.Model):
    """Faster R-CNN, trained through its own `compute_loss`; arguments as `zoo.build("faster_rcnn", ...)`.

    Args:
        input_shape: (height, width, channels) of the images, pixel intensities in [0, 1].
        classes: object classes C (no background; the box head adds it as class 0 internally).
        backbone: a zoo image classifier's registry name; built without its top, in this model's style.
        backbone_options: that classifier's own hyperparameters (e.g. {"filters": (16, 32)}).
        backbone_weights: None, or the path of a weights file saved from that backbone.
        anchor_scales: anchor sides as fractions of the image's.
        anchor_ratios: anchor height / width ratios.
        rpn_filters: filters of the RPN's 3x3 convolution.
        proposals: regions kept per image after the RPN's NMS.
        proposal_iou: the IoU above which the RPN's NMS suppresses a proposal (the paper's 0.7).
        roi_size: cells per side of RoI align's grid (7 for VGG-16).
        sampling_ratio: bilinear samples per cell side in RoI align.
        head_units: units of the box head's two dense layers.
        rpn_batch: anchors sampled per image for the RPN loss (the paper's 256).
        roi_batch: regions sampled per image for the box head's loss.
        max_boxes: true boxes per image the targets hold (padded with -1 rows).
        score_threshold, iou_threshold, max_detections: `detect`'s defaults (per-class NMS at that IoU).
        style: "functional" or "subclass": how the backbone and heads are built.
        seed: seed of the loss's anchor and region sampling (None: random).
        name: the model's name.

    Example:
        >>> model = FasterRCNN(input_shape=(32, 32, 3), classes=3, backbone="simple_cnn",
        ...                    backbone_options={"filters": (16, 32)}, anchor_scales=(0.25, 0.5))
        >>> model.compile(optimizer="adam")
        >>> encode = target_encoder(model.hparams)  # per example in the tf.data map
        >>> detections = model.detect(images)  # {"boxes", "scores", "classes"}
    """

    def __init__(self, input_shape=(512, 512, 3), classes=20, backbone="vgg16", backbone_options=None,
                 backbone_weights=None, anchor_scales=(0.2, 0.4, 0.8), anchor_ratios=(0.5, 1.0, 2.0), rpn_filters=512,
                 proposals=300, proposal_iou=0.7, roi_size=7, sampling_ratio=2, head_units=1024, rpn_batch=256,
                 roi_batch=128, max_boxes=50, score_threshold=0.05, iou_threshold=0.5, max_detections=100,
                 style="functional", seed=None, name="faster_rcnn", **kwargs):
        super().__init__(name=name, **kwargs)
        self.hparams = check_hparams({
            "input_shape": input_shape, "classes": classes, "backbone": backbone,
            "backbone_options": {} if backbone_options is None else backbone_options,
            "backbone_weights": backbone_weights,
            "anchor_scales": anchor_scales, "anchor_ratios": anchor_ratios, "rpn_filters": rpn_filters,
            "proposals": proposals, "proposal_iou": proposal_iou, "roi_size": roi_size,
            "sampling_ratio": sampling_ratio, "head_units": head_units, "rpn_batch": rpn_batch,
            "roi_batch": roi_batch, "max_boxes": max_boxes, "score_threshold": score_threshold,
            "iou_threshold": iou_threshold, "max_detections": max_detections, "seed": seed})
        self.style = style
        self.backbone, self.rpn_head, self.box_head = build_parts(style, self.hparams)
        self.anchors = anchors_of(self.hparams)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    # ------------------------------------------------------------------------------------------- forward
    def first_stage(self, images, training=None):
        """Backbone features and the RPN's outputs per anchor: objectness (B, A) and deltas (B, A, 4)."""
        features = self.backbone(images, training=training)
        objectness, deltas = self.rpn_head(features, training=training)
        anchors = self.anchors.shape[0]
        return {"features": features, "rpn_objectness": ops.reshape(objectness, (-1, anchors)),
                "rpn_deltas": ops.reshape(deltas, (-1, anchors, 4))}

    def proposals_of(self, raw):
        """(boxes (B, proposals, 4), valid (B, proposals)) from the first stage's outputs, without gradient."""
        hp = self.hparams
        boxes, valid = propose(ops.convert_to_tensor(self.anchors), ops.stop_gradient(raw["rpn_objectness"]),
                               ops.stop_gradient(raw["rpn_deltas"]), proposals=hp["proposals"],
                               iou_threshold=hp["proposal_iou"], image_size=hp["input_shape"][:2])
        return ops.stop_gradient(boxes), valid

    def second_stage(self, features, regions, training=None):
        """The box head on `regions` (B, R, 4): class logits (B, R, C + 1) and deltas (B, R, C + 1, 4)."""
        hp = self.hparams
        count, size = regions.shape[1], hp["roi_size"]
        pooled = roi_align(features, regions, size, hp["sampling_ratio"])
        pooled = ops.reshape(pooled, (-1, size, size, features.shape[-1]))
        logits, deltas = self.box_head(pooled, training=training)
        classes = hp["classes"] + 1
        return ops.reshape(logits, (-1, count, classes)), ops.reshape(deltas, (-1, count, classes, 4))

    def detect(self, images, *, score_threshold=None, iou_threshold=None, max_detections=None):
        """Detections after per-class NMS: {"boxes" (B, K, 4) relative yxyx, "scores" (B, K), "classes" (B, K) int32}.

        K = max_detections; padding has score 0 and class -1. None takes the model's hyperparameter.
        """
        hp = self.hparams
        score_threshold = hp["score_threshold"] if score_threshold is None else score_threshold
        iou_threshold = hp["iou_threshold"] if iou_threshold is None else iou_threshold
        max_detections = hp["max_detections"] if max_detections is None else max_detections
        raw = self.first_stage(images, training=False)
        regions, valid = self.proposals_of(raw)
        logits, deltas = self.second_stage(raw["features"], regions, training=False)
        scores = ops.softmax(logits, axis=-1)[..., 1:] * ops.cast(valid, "float32")[..., None]  # (B, R, C)
        reference = ops.broadcast_to(regions[:, :, None, :], ops.shape(deltas[:, :, 1:, :]))
        boxes = decode(reference, deltas[:, :, 1:, :], BOX_VARIANCE)  # (B, R, C, 4): a box per class
        return non_max_suppression(boxes, scores, score_threshold=score_threshold, iou_threshold=iou_threshold,
                                   max_detections=max_detections, image_size=hp["input_shape"][:2], per_class=True)

    def call(self, images, training=None):
        """Detections packed as (B, max_detections, 6) float32 `[box, score, class]`; raw maps when training."""
        if training:
            return self.first_stage(images, training=True)
        found = self.detect(images)
        return ops.concatenate([found["boxes"], found["scores"][..., None],
                                ops.cast(found["classes"], "float32")[..., None]], axis=-1)

    def compute_output_spec(self, images, training=None):
        return keras.KerasTensor((images.shape[0], self.hparams["max_detections"], 6), dtype="float32")

    # ------------------------------------------------------------------------------------------ training
    def region_targets(self, regions, valid, truth):
        """Fast R-CNN's minibatch: `roi_batch` regions per image sampled from the proposals and true boxes.

        Returns:
            (regions (B, n, 4), labels (B, n) int32 with 0 background and c + 1 for class c, matched true boxes
            (B, n, 4), weights (B, n): 1 for a sampled region, 0 for filler), n = min(roi_batch, regions).
        """
        hp = self.hparams
        truth = ops.cast(truth, "float32")
        true_boxes, true_valid = truth[..., :4], truth[..., 4] >= 0
        regions = ops.concatenate([ops.cast(regions, "float32"), true_boxes], axis=1)
        valid = ops.concatenate([valid, true_valid], axis=1)
        iou = keras.utils.bounding_boxes.compute_iou(regions, true_boxes, "yxyx")  # (B, R, M)
        iou = ops.where(true_valid[:, None, :], iou, -1.0)
        best, matched = ops.max(iou, axis=2), ops.argmax(iou, axis=2)
        classes = ops.take_along_axis(ops.cast(truth[..., 4], "int32"), matched, axis=1) + 1
        labels = ops.where(valid, ops.where(best >= ROI_FOREGROUND_IOU, classes, 0), -1)
        chosen = sample_balanced(labels, hp["roi_batch"], ROI_FOREGROUND_FRACTION, self.seed_generator)
        _, index = ops.top_k(chosen, min(hp["roi_batch"], regions.shape[1]))
        take = functools.partial(ops.take_along_axis, indices=index, axis=1)
        matched_boxes = ops.take_along_axis(true_boxes, ops.take_along_axis(matched, index, axis=1)[..., None], axis=1)
        return (ops.take_along_axis(regions, index[..., None], axis=1), take(labels), matched_boxes, take(chosen))

    def detection_losses(self, raw, y):
        """The four terms of the loss: RPN objectness and box, box-head class and box (float32 scalars).

        Args:
            raw: `first_stage`'s outputs (what the model returns in training mode).
            y: {"boxes": (B, max_boxes, 5) padded true boxes, "encoded": `target_encoder`'s RPN targets}.
        """
        hp = self.hparams
        targets = y["encoded"]
        # RPN: a balanced sample of anchors, labels and deltas from the data map.
        anchor_labels = ops.cast(targets["rpn_labels"], "float32")
        chosen = sample_balanced(anchor_labels, hp["rpn_batch"], RPN_POSITIVE_FRACTION, self.seed_generator)
        sampled = ops.maximum(ops.sum(chosen), 1.0)
        objectness = ops.cast(raw["rpn_objectness"], "float32")
        bce = ops.binary_crossentropy(ops.maximum(anchor_labels, 0.0), objectness, from_logits=True)
        positive = chosen * ops.cast(anchor_labels > 0, "float32")
        rpn_box = smooth_l1(ops.cast(raw["rpn_deltas"], "float32") - ops.cast(targets["rpn_deltas"], "float32"))
        # Box head: regions sampled from the proposals, targets matched here (they depend on the proposals).
        regions, valid = self.proposals_of(raw)
        regions, labels, matched, weights = self.region_targets(regions, valid, y["boxes"])
        logits, deltas = self.second_stage(raw["features"], regions, training=True)
        count = ops.maximum(ops.sum(weights), 1.0)
        cross_entropy = ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        true_class_deltas = ops.take_along_axis(deltas, ops.maximum(labels, 0)[..., None, None], axis=2)[:, :, 0]
        foreground = weights * ops.cast(labels > 0, "float32")
        box_error = smooth_l1(true_class_deltas - encode(regions, matched, BOX_VARIANCE))
        return {"rpn_objectness_loss": ops.sum(bce * chosen) / sampled,
                "rpn_box_loss": ops.sum(rpn_box * positive[..., None]) / sampled,
                "box_class_loss": ops.sum(cross_entropy * weights) / count,
                "box_regression_loss": ops.sum(box_error * foreground[..., None]) / count}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y is None:
            raise ValueError("faster_rcnn trains on (images, targets) with targets from `target_encoder`. "
                             "Received: no targets.")
        raw = y_pred if isinstance(y_pred, dict) else self.first_stage(x, training=False)
        total = sum(self.detection_losses(raw, y).values())
        if self.losses:
            total = total + ops.sum(ops.stack([ops.cast(loss, "float32") for loss in self.losses]))
        return total

    # ------------------------------------------------------------------------------------------ saving
    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **self.hparams, "style": self.style}

    @classmethod
    def from_config(cls, config):
        return cls(**with_tuples(config, _TUPLES))


FASTER_RCNN_STYLES = Styles.of(FasterRCNN, sequential=False)
