"""YOLO: a single-stage grid detector (Redmon, Divvala, Girshick & Farhadi 2016, "You Only Look Once: Unified,
Real-Time Object Detection"; YOLOv1).

One network looks at the whole image once and answers for an S x S grid laid over it. The cell that holds an
object's centre is responsible for it. Each cell predicts B boxes, each with its centre inside the cell
(y, x as offsets from the cell's corner, in cell units), its size (the square roots of its height and width
relative to the image, so an error on a small box costs more than the same error on a big one) and a
confidence, Pr(object) x IoU(predicted box, truth); and one set of C class probabilities Pr(class | object)
shared by its B boxes. The output is an (S, S, B * 5 + C) tensor: per cell B blocks of
`[y, x, sqrt(h), sqrt(w), confidence]`, then the C class scores.

- **Network** (section 2.1, figure 3): 24 convolutions (the "darknet" body: 7x7/2 then 3x3 convolutions,
  1x1 reductions, four 2x2 max-poolings and one stride-2 convolution) with leaky ReLU (slope 0.1), then two
  fully connected layers: 4096 units with dropout 0.5, and the S * S * (B * 5 + C) outputs, reshaped to the
  grid. `conv_layers` lists the body: `(filters, kernel, stride)` per convolution and "M" per max-pooling.
- **Loss** (equation 3), summed over the grid and averaged over the batch: for the predictor j of cell i
  that is *responsible* for an object (the one of the cell's B boxes with the highest IoU with the truth),
  lambda_coord (5) x the squared errors of y, x, sqrt(h) and sqrt(w), plus the squared error of its
  confidence against the IoU it achieves (`rescore`; 1 without); for every other predictor lambda_noobj
  (0.5) x its squared confidence; and for each cell with an object the squared error of its C class
  probabilities against the one-hot class.
- **Targets** (`target_encoder`, run per example in the `tf.data` map): an (S, S, 5 + C) grid whose cell
  holds `[ymin, xmin, ymax, xmax, 1, one-hot class]` of the object centred in it (rel_yxyx) and zeros
  elsewhere. YOLOv1 can predict one object per cell: when several objects share a cell the largest is kept.
- **Detection** (`detect`): box confidence x class probability is each box's class-specific score (equation
  2); boxes become rel_yxyx, and per-class non-maximum suppression (KerasHub's `NonMaxSuppression` through
  `zoo.models.detection.boxes.non_max_suppression`) keeps the best `max_detections`.

Deviations from the paper, both for stable training from scratch in few steps: the network's outputs are
logits and the loss and decoding squash them: sigmoid for y, x, sqrt(h), sqrt(w) and confidence (all of
which live in [0, 1]), softmax for the class probabilities (the paper's outputs are linear, trained with a
learning-rate warm-up and ImageNet pre-training). `batch_norm` (off by default, as in the paper; YOLOv2
added it) puts batch normalisation after every convolution.

Size: the defaults (448x448x3, S=7, B=2, the 20 PASCAL VOC classes) have 271,703,550 parameters: the body's
24 convolutions 60,155,968 (with biases) and the fully connected layers 211,547,582 (the 7*7*1024 -> 4096
layer alone 205,524,992, the 4096 -> 7*7*30 output 6,022,590). The `small` configuration (374,596) learns the
synthetic shapes on a CPU.

Styles: the network (body and head, image -> grid) is built as a `keras.Sequential`, with the functional API,
or as a `keras.Model` subclass, from one list of layers; the `YOLO` model that owns the loss and `detect`
wraps it in every style, so all three hold the same weights in the same order.

Example:
    >>> model = zoo.build("yolo", input_shape=(32, 32, 3), classes=3, grid_size=4, conv_layers=((16, 3, 1), "M"),
    ...                   fc_units=64)
    >>> model.compile(optimizer="adam")
    >>> model.fit(dataset)  # (image, {"boxes": ..., "encoded": target_encoder(hparams)(boxes)}) pairs
    >>> model.detect(images)["boxes"]  # (batch, 100, 4) rel_yxyx
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from zoo.models.detection.boxes import COLUMNS, non_max_suppression
from zoo.models.detection.spec import DARKNET
from zoo.models.generative.common import check_style_argument, replica_share
from zoo.nn import ChainModel, Styles, check_positive_int, serializable, uses_tensorflow

POOL = "M"
LEAKY_SLOPE = 0.1
COORD_WEIGHT = 5.0  # the paper's lambda_coord
NO_OBJECT_WEIGHT = 0.5  # the paper's lambda_noobj
BOX_VALUES = 5  # y, x, sqrt(h), sqrt(w), confidence
_TUPLES = ("input_shape", "conv_layers")


# --------------------------------------------------------------------------------------------------- checks
def check_conv_layers(value) -> tuple:
    """`conv_layers` as a tuple of (filters, kernel, stride) triples and "M" entries; else a one-line error."""
    message = ("`conv_layers` must list (filters, kernel_size, strides) triples of positive integers and 'M' "
               f"for a 2x2 max-pooling. Received: conv_layers={value!r}")
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise ValueError(message)
    layers = []
    for entry in value:
        if entry == POOL:
            layers.append(POOL)
            continue
        if (isinstance(entry, str) or not isinstance(entry, (list, tuple)) or len(entry) != 3
                or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in entry)):
            raise ValueError(message)
        layers.append(tuple(entry))
    return tuple(layers)


def check_yolo_args(*, input_shape, classes, grid_size, boxes_per_cell, conv_layers, fc_units, dropout,
                    coord_weight, no_object_weight, max_boxes, **_) -> dict:
    """Validate YOLO's hyperparameters (one-line ValueErrors naming what was received); return them normalised."""
    shape = tuple(input_shape) if isinstance(input_shape, (list, tuple)) else input_shape
    if not isinstance(shape, tuple) or len(shape) != 3 or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape):
        raise ValueError(f"`input_shape` must be (height, width, channels) of positive integers. "
                         f"Received: input_shape={input_shape!r}")
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"`classes` must be a positive integer. Received: classes={classes!r}")
    for name, value in (("grid_size", grid_size), ("boxes_per_cell", boxes_per_cell), ("fc_units", fc_units),
                        ("max_boxes", max_boxes)):
        check_positive_int(name, value)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be a number in [0, 1). Received: dropout={dropout!r}")
    for name, value in (("coord_weight", coord_weight), ("no_object_weight", no_object_weight)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"`{name}` must be a non-negative number. Received: {name}={value!r}")
    return {"input_shape": shape, "conv_layers": check_conv_layers(conv_layers)}


# ---------------------------------------------------------------------------------------------------- parts
def yolo_layers(*, input_shape=(448, 448, 3), classes=20, grid_size=7, boxes_per_cell=2, conv_layers=DARKNET,
                fc_units=4096, dropout=0.5, batch_norm=False, **_) -> list[keras.layers.Layer]:
    """The network's layers, image -> (grid, grid, boxes_per_cell * 5 + classes) logits, in call order.

    Convolutions are `conv{i}` (with `conv{i}_bn` when `batch_norm`) and `conv{i}_leaky`; poolings `pool{j}`;
    the head `flatten`, `fc1`, `fc1_leaky`, `fc1_dropout`, `predictions` and `grid` (float32, so a
    mixed-precision model keeps a float32 output).
    """
    layers, conv, pool = [], 0, 0
    for entry in conv_layers:
        if entry == POOL:
            pool += 1
            layers.append(keras.layers.MaxPooling2D(2, padding="same", name=f"pool{pool}"))
            continue
        conv += 1
        filters, kernel, strides = entry
        layers.append(keras.layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=not batch_norm,
                                          name=f"conv{conv}"))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization(name=f"conv{conv}_bn"))
        layers.append(keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"conv{conv}_leaky"))
    depth = boxes_per_cell * BOX_VALUES + classes
    return layers + [
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(fc_units, name="fc1"),
        keras.layers.LeakyReLU(LEAKY_SLOPE, name="fc1_leaky"),
        keras.layers.Dropout(dropout, name="fc1_dropout"),
        keras.layers.Dense(grid_size * grid_size * depth, dtype="float32", name="predictions"),
        keras.layers.Reshape((grid_size, grid_size, depth), dtype="float32", name="grid"),
    ]


@serializable
class YOLONetwork(ChainModel):
    """YOLO's network (body and head) as a `keras.Model` subclass: image -> grid logits; arguments as `yolo_layers`."""

    default_name = "yolo_network"

    def make_layers(self, **hparams):
        return yolo_layers(**hparams)


def build_network(style: str, hparams: dict) -> keras.Model:
    """YOLO's network in `style`: a `keras.Sequential`, a functional model, or a `YOLONetwork`."""
    check_style_argument(style)
    if style == "subclass":
        return YOLONetwork(**hparams)
    layers = yolo_layers(**hparams)
    image = keras.Input(shape=tuple(hparams["input_shape"]), name="image")
    if style == "sequential":
        return keras.Sequential([image, *layers], name="yolo_network")
    x = image
    for layer in layers:
        x = layer(x)
    return keras.Model(image, x, name="yolo_network")


# -------------------------------------------------------------------------------------------------- targets
@uses_tensorflow("data code: encodes YOLO's grid targets inside the tf.data map")
def target_encoder(hparams):
    """YOLO's per-example target encoder for the `tf.data` map (TensorFlow ops: it is data code).

    Returns:
        fn(boxes) -> grid: boxes float32 (max_boxes, 5) rel_yxyx rows with class, -1 padding rows; grid float32
        (S, S, 5 + C), cell (row, column) holding `[ymin, xmin, ymax, xmax, 1, one-hot class]` of the largest
        object whose centre falls in it, zeros where none does.
    """
    import tensorflow as tf

    size, classes = int(hparams["grid_size"]), int(hparams["classes"])

    def encode(boxes):
        boxes = tf.reshape(tf.cast(boxes, tf.float32), (-1, COLUMNS))
        corners, labels = boxes[:, :4], tf.cast(boxes[:, 4], tf.int32)
        valid = labels >= 0
        centre = (corners[:, :2] + corners[:, 2:]) / 2.0
        cells = tf.clip_by_value(tf.cast(tf.floor(centre * size), tf.int32), 0, size - 1)
        index = tf.where(valid, cells[:, 0] * size + cells[:, 1], -1)
        area = tf.maximum(corners[:, 2] - corners[:, 0], 0.0) * tf.maximum(corners[:, 3] - corners[:, 1], 0.0)
        # claim[m, k]: object m's claim on cell k (its area, so the largest object of a cell wins).
        claim = tf.one_hot(index, size * size) * (area + 1e-6)[:, None]
        winner = tf.argmax(claim, axis=0)
        held = tf.reduce_max(claim, axis=0) > 0
        chosen = tf.gather(boxes, winner)
        mask = tf.cast(held, tf.float32)[:, None]
        one_hot = tf.one_hot(tf.cast(chosen[:, 4], tf.int32), classes)
        grid = tf.concat([chosen[:, :4], tf.ones_like(chosen[:, :1]), one_hot], axis=-1) * mask
        return tf.reshape(grid, (size, size, 5 + classes))

    return encode


def decode_targets(grid):
    """The objects an encoded target grid holds, as (count, 5) rel_yxyx rows with class (NumPy; for tests)."""
    import numpy as np

    grid = np.asarray(grid, dtype="float32").reshape(-1, grid.shape[-1])
    held = grid[grid[:, 4] > 0]
    return np.concatenate([held[:, :4], np.argmax(held[:, 5:], axis=-1)[:, None].astype("float32")], axis=1)


# ------------------------------------------------------------------------------------------------------ model
@serializable
class YOLO(keras.Model):
    """YOLOv1 with its own loss (`compute_loss`) and `detect`; arguments as `zoo.build("yolo", ...)`.

    Args:
        input_shape: (height, width, channels) of the images, pixel intensities in [0, 1].
        classes: C, the object classes (no background class).
        grid_size: S, the grid's rows and columns.
        boxes_per_cell: B, the boxes each cell predicts.
        conv_layers: the body: (filters, kernel, stride) per convolution, "M" per 2x2 max-pooling.
        fc_units: units of the first fully connected layer.
        dropout: dropout rate after it.
        batch_norm: batch normalisation after every convolution (YOLOv2's; the paper has none).
        coord_weight: lambda_coord, the weight of the responsible boxes' coordinate errors.
        no_object_weight: lambda_noobj, the weight of the confidence of boxes responsible for nothing.
        rescore: train the responsible box's confidence towards the IoU it achieves (the paper); else 1.
        max_boxes: the ground-truth rows each training example carries (the task pads to it).
        style: how the network is built: "sequential", "functional" or "subclass".
        name: the model's name.

    `model(images)` returns the grid logits, float32 (batch, S, S, B * 5 + C); `detect` returns boxes.
    """

    def __init__(self, input_shape=(448, 448, 3), classes=20, grid_size=7, boxes_per_cell=2, conv_layers=DARKNET,
                 fc_units=4096, dropout=0.5, batch_norm=False, coord_weight=COORD_WEIGHT,
                 no_object_weight=NO_OBJECT_WEIGHT, rescore=True, max_boxes=50, style="functional", name="yolo",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        hparams = dict(input_shape=input_shape, classes=classes, grid_size=grid_size, boxes_per_cell=boxes_per_cell,
                       conv_layers=conv_layers, fc_units=fc_units, dropout=dropout, batch_norm=bool(batch_norm),
                       coord_weight=coord_weight, no_object_weight=no_object_weight, max_boxes=max_boxes)
        hparams.update(check_yolo_args(**hparams))
        self.hparams = {**hparams, "rescore": bool(rescore)}
        self.style = check_style_argument(style)
        network_keys = ("input_shape", "classes", "grid_size", "boxes_per_cell", "conv_layers", "fc_units",
                        "dropout", "batch_norm")
        self.network = build_network(style, {key: hparams[key] for key in network_keys})
        self.trackers = {key: keras.metrics.Mean(name=key)
                         for key in ("coord_loss", "object_loss", "no_object_loss", "class_loss")}
        self.built = True  # the network is built; the top model has no weights of its own

    def call(self, inputs, training=None):
        return self.network(inputs, training=training)

    # ---------------------------------------------------------------------------------------- decoding
    def _split(self, grid):
        """Grid logits -> per-box values (batch, S, S, B, 5) through a sigmoid, class probabilities (batch, S, S, C)."""
        size, count = self.hparams["grid_size"], self.hparams["boxes_per_cell"]
        grid = ops.cast(grid, "float32")
        boxes = ops.sigmoid(ops.reshape(grid[..., :count * BOX_VALUES], (-1, size, size, count, BOX_VALUES)))
        return boxes, ops.softmax(grid[..., count * BOX_VALUES:], axis=-1)

    def _corners(self, values):
        """(…, S, S, B, >=4) [y, x, sqrt(h), sqrt(w)] in cell units -> rel_yxyx boxes (…, S, S, B, 4)."""
        size = self.hparams["grid_size"]
        offsets = ops.arange(size, dtype="float32")
        centre_y = (values[..., 0] + offsets[:, None, None]) / size
        centre_x = (values[..., 1] + offsets[None, :, None]) / size
        centre = ops.stack([centre_y, centre_x, ops.square(values[..., 2]), ops.square(values[..., 3])], axis=-1)
        flat = ops.reshape(centre, (-1, 4))
        corners = keras.utils.bounding_boxes.convert_format(flat, source="center_yxhw", target="yxyx")
        return ops.reshape(corners, ops.shape(centre))

    # ---------------------------------------------------------------------------------------- training
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """YOLOv1's sum-squared loss (equation 3), summed over the grid and averaged over the batch.

        `y` is the task's targets: {"boxes": (batch, max_boxes, 5), "encoded": (batch, S, S, 5 + C)}, or the
        encoded grid alone.
        """
        target = ops.cast(y["encoded"] if isinstance(y, dict) else y, "float32")
        size, count = self.hparams["grid_size"], self.hparams["boxes_per_cell"]
        values, probabilities = self._split(y_pred)
        held = target[..., 4]  # (batch, S, S): 1 where a cell holds an object
        truth = target[..., :4]
        predicted = self._corners(values)
        overlap = ops.reshape(keras.utils.bounding_boxes.compute_iou(
            ops.reshape(truth, (-1, 1, 4)), ops.reshape(predicted, (-1, count, 4)), "yxyx"), (-1, size, size, count))
        overlap = ops.stop_gradient(overlap)
        responsible = ops.one_hot(ops.argmax(overlap, axis=-1), count) * held[..., None]
        coordinates = self._cell_coordinates(truth)
        coord = ops.sum(responsible * ops.sum(ops.square(values[..., :4] - coordinates[..., None, :]), axis=-1))
        confidence_target = overlap if self.hparams["rescore"] else ops.ones_like(overlap)
        obj = ops.sum(responsible * ops.square(values[..., 4] - confidence_target))
        no_obj = ops.sum((1.0 - responsible) * ops.square(values[..., 4]))
        classes = ops.sum(held * ops.sum(ops.square(probabilities - target[..., 5:]), axis=-1))
        batch = ops.cast(ops.shape(target)[0], "float32")
        terms = {"coord_loss": self.hparams["coord_weight"] * coord / batch, "object_loss": obj / batch,
                 "no_object_loss": self.hparams["no_object_weight"] * no_obj / batch, "class_loss": classes / batch}
        for key, value in terms.items():
            self.trackers[key].update_state(value)
        return replica_share(sum(terms.values()))

    def _cell_coordinates(self, truth):
        """rel_yxyx truth (batch, S, S, 4) -> [y, x] offsets in its cell and [sqrt(h), sqrt(w)], (batch, S, S, 4)."""
        size = self.hparams["grid_size"]
        centre = keras.utils.bounding_boxes.convert_format(ops.reshape(truth, (-1, 4)), source="yxyx",
                                                           target="center_yxhw")
        centre = ops.reshape(centre, ops.shape(truth))
        scaled = centre[..., :2] * size
        offsets = scaled - ops.floor(ops.clip(scaled, 0.0, size - 1e-3))
        return ops.concatenate([offsets, ops.sqrt(ops.maximum(centre[..., 2:], 0.0))], axis=-1)

    # --------------------------------------------------------------------------------------- detection
    def detect(self, images, *, score_threshold: float = 0.25, iou_threshold: float = 0.5,
               max_detections: int = 100) -> dict:
        """Boxes, scores and classes of the objects in `images` (batch, H, W, C) in [0, 1], after per-class NMS.

        Each box's score for class c is its confidence times the cell's Pr(c | object) (equation 2).

        Returns:
            {"boxes": (batch, K, 4) float32 rel_yxyx in [0, 1], "scores": (batch, K) float32, "classes":
            (batch, K) int32}, K = max_detections, best first, padded with box 0, score 0 and class -1.
        """
        values, probabilities = self._split(self(images, training=False))
        size, count, classes = self.hparams["grid_size"], self.hparams["boxes_per_cell"], self.hparams["classes"]
        boxes = ops.clip(ops.reshape(self._corners(values), (-1, size * size * count, 4)), 0.0, 1.0)
        scores = values[..., 4:5] * probabilities[:, :, :, None, :]
        return non_max_suppression(boxes, ops.reshape(scores, (-1, size * size * count, classes)),
                                   score_threshold=score_threshold, iou_threshold=iou_threshold,
                                   max_detections=max_detections, image_size=self.hparams["input_shape"][:2],
                                   per_class=True)

    # ------------------------------------------------------------------------------------------ saving
    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **self.hparams, "style": self.style}

    @classmethod
    def from_config(cls, config):
        return cls(**_tuples(dict(config)))


def _tuples(config: dict[str, Any]) -> dict[str, Any]:
    """JSON gives lists back for tuples; give the tuple-valued hyperparameters their type."""
    for key in _TUPLES:
        value = config.get(key)
        if isinstance(value, list):
            config[key] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return config


YOLO_STYLES = Styles.of(YOLO)
