"""`coco_captions` from TensorFlow Datasets: COCO 2014 images with their human captions, streamed.

TFDS' `coco_captions` (Karpathy & Fei-Fei's splits of COCO 2014: 82,783 train, 5,000 val, 5,000 test and
30,504 "restval" images, about 38 GiB) is never held in memory: preprocess describes each split by
reference (`zoo.data.stream.TfdsSplit`) and the reader streams it, decoding and resizing each image after
the shuffle. `coco_example` turns one TFDS example into `(encoded image, R captions)`: every image has
five captions or more (a few have six or seven); the first R are kept, and an image with fewer repeats
its last, so every example has the same number of references. Tests run it on `tfds.testing.mock_data`.
"""

from __future__ import annotations

from zoo.data import Splits, dataset
from zoo.data.stream import TfdsSplit

REFERENCES = 5
# Karpathy's splits as TFDS names them; "restval" joins the training images, as in Show and Tell's runs.
SPLITS = {"train": "train+restval", "val": "val", "test": "test"}


def coco_example(example, references: int = REFERENCES):
    """One TFDS `coco_captions` example -> (image bytes, captions (references,) strings).

    `example["captions"]["text"]` holds the image's captions; the first `references` are kept, the last
    repeated when there are fewer.
    """
    import tensorflow as tf

    texts = tf.reshape(example["captions"]["text"], [-1])
    count = tf.shape(texts)[0]
    positions = tf.minimum(tf.range(references), tf.maximum(count - 1, 0))
    return example["image"], tf.gather(texts, positions)


@dataset("coco_captions", offline=False,
         summary="TensorFlow Datasets 'coco_captions' (COCO 2014, Karpathy splits): ~123k photos with 5 human "
                 "captions each, streamed (downloads about 38 GiB on first use).")
def coco_captions(*, seed: int = 0, data_dir: str | None = None) -> Splits:
    """COCO captions (Lin et al. 2014; Karpathy & Fei-Fei's 2015 splits) as streamed TFDS splits.

    The published splits are kept (the seed changes nothing): train and restval train, val validates, the
    5,000 test images test.

    Returns:
        `Splits` of kind "captioning" whose splits are `TfdsSplit`s read through `coco_example`: x an encoded
        image, y (5,) caption strings. `info` records the references per image and the TFDS `data_dir`
        (where the caption adapter streams the training captions from to fit its vocabulary).
    """
    parts = {key: TfdsSplit("coco_captions", split, example_fn="zoo.data.online_captions:coco_example")
             for key, split in SPLITS.items()}
    info = {"source": "tfds:coco_captions", "references": REFERENCES, "data_dir": data_dir}
    return Splits("coco_captions", "captioning", parts["train"], parts["val"], parts["test"], info=info)
