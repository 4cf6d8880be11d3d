"""Online detection data of catalog section D: PASCAL VOC 2007 from TensorFlow Datasets, streamed.

`voc/2007` is described by reference: its splits are `TfdsSplit`s that the preprocess step records and the
reader streams (images still JPEG-encoded through the shuffle, decoded and resized to the model's input per
example); nothing is read or held here. `voc_example` is the reader's per-example function: it turns one
TFDS example into `(encoded image, boxes)`, boxes float32 (M, 5) rows `[ymin, xmin, ymax, xmax, class]`
relative to the image (TFDS' `BBoxFeature` already stores "rel_yxyx") with classes 0..19. The detection task
pads them to the model's `max_boxes`.

Objects marked difficult are dropped from every split. Faster R-CNN's own training leaves them out
(py-faster-rcnn's `use_diff=False`), and the VOC devkit ignores them when it scores: neither a hit nor a
miss. The zoo scores with COCOeval on boxes without that flag, so a detection of a difficult object counts as
a false positive here, and our test mAP@0.5 is slightly below the devkit's for the same detections.

Splits: the published `train` (2,501 images) trains, `validation` (2,510) validates and `test` (4,952,
with labels in VOC 2007, unlike VOC 2012's) is where mAP is reported, as the paper reports VOC 2007 test.
"""

from __future__ import annotations

from zoo.data import Splits, dataset

VOC = "voc/2007"
VOC_SPLITS = {"train": "train", "val": "validation", "test": "test"}
EXAMPLE_FN = "zoo.data.online_detection:voc_example"


def voc_example(example):
    """One TFDS `voc` example -> (encoded image, float32 (M, 5) `[ymin, xmin, ymax, xmax, class]`), difficult
    objects dropped (runs in the reader's `tf.data` map).

    Args:
        example: the TFDS example dict: "image" (encoded bytes: the reader skips decoding), "objects" with
            "bbox" (M, 4) relative yxyx, "label" (M,) and "is_difficult" (M,).
    """
    import tensorflow as tf

    objects = example["objects"]
    kept = tf.logical_not(tf.cast(objects["is_difficult"], tf.bool))
    boxes = tf.boolean_mask(tf.cast(objects["bbox"], tf.float32), kept)
    labels = tf.boolean_mask(tf.cast(objects["label"], tf.float32), kept)
    return example["image"], tf.concat([boxes, labels[:, None]], axis=1)


def voc_class_names(data_dir: str | None = None) -> list[str]:
    """The 20 class names, from the TFDS features (known without downloading the data)."""
    import tensorflow_datasets as tfds

    return list(tfds.builder(VOC, data_dir=data_dir).info.features["objects"]["label"].names)


@dataset(VOC, offline=False,
         summary="TensorFlow Datasets 'voc/2007': PASCAL VOC 2007, 9,963 photos with boxes of 20 object classes; "
                 "mAP on its test split (streamed, downloads on first use).")
def voc_2007(*, seed: int = 0, data_dir: str | None = None) -> Splits:
    """PASCAL VOC 2007 (Everingham et al. 2010) as streamed detection data.

    The published splits are kept; the seed does not change them.

    Returns:
        `Splits` of kind "detection" whose splits are `TfdsSplit` references with `example_fn=voc_example`;
        20 classes, `info["class_names"]` from the TFDS features.
    """
    from zoo.data.stream import TfdsSplit

    parts = [TfdsSplit(VOC, split, example_fn=EXAMPLE_FN) for split in VOC_SPLITS.values()]
    names = voc_class_names(data_dir)
    info = {"source": f"tfds:{VOC}", "class_names": names, "difficult_objects": "dropped"}
    return Splits(VOC, "detection", *parts, classes=len(names), info=info)
