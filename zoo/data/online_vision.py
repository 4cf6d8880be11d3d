"""Online datasets of catalog section D (vision applications), from TensorFlow Datasets.

They download on first use (or read `data_dir`, local or `gs://`); tests run the same code offline with
`tfds.testing.mock_data`. Images come at their natural sizes and are resized one by one in the `tf.data`
map (bilinear for images, nearest neighbour for masks), never in bulk.
"""

from __future__ import annotations

import numpy as np

from zoo.data import Split, Splits, dataset
from zoo.data.generated import _check_positive_int
from zoo.data.online import VAL_FRACTION

# The Oxford-IIIT Pet trimaps label pixels 1 (pet), 2 (background), 3 (outline, not classified); shifted to 0..2.
PET_CLASSES = ("pet", "background", "outline")


def load_tfds_segmentation(name: str, split: str, *, data_dir: str | None, size: int,
                           image_key: str = "image", mask_key: str = "segmentation_mask",
                           first_class: int = 1, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """One TFDS split as images (N, size, size, 3) float32 in [0, 1] and masks (N, size, size) int32.

    Mask values `first_class`..`first_class + classes - 1` become 0..classes - 1; values outside that range
    are clipped into it.
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    def resize(example):
        image = tf.image.resize(tf.cast(example[image_key], tf.float32) / 255.0, (size, size), method="bilinear")
        mask = tf.image.resize(example[mask_key], (size, size), method="nearest")[..., 0]
        mask = tf.clip_by_value(tf.cast(mask, tf.int32) - first_class, 0, classes - 1)
        return tf.clip_by_value(image, 0.0, 1.0), mask

    ds = tfds.load(name, split=split, data_dir=data_dir, shuffle_files=False)
    ds = ds.map(resize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(256)
    images, masks = [], []
    for x, y in tfds.as_numpy(ds):
        images.append(x)
        masks.append(y)
    return np.concatenate(images).astype("float32"), np.concatenate(masks).astype("int32")


@dataset("oxford_iiit_pet", offline=False,
         summary="TensorFlow Datasets 'oxford_iiit_pet': 7,349 pet photos with pet/background/outline masks "
                 "(downloads on first use).")
def oxford_iiit_pet(*, seed: int = 0, data_dir: str | None = None, size: int = 128) -> Splits:
    """The Oxford-IIIT Pet dataset (Parkhi et al. 2012) as images with 3-class masks.

    The published train/test split is kept (3,680 and 3,669 images); the last 10% of the training split
    validates. TFDS slicing keeps the split deterministic; the seed does not change a published split.

    Args:
        size: height and width every image and mask is resized to.

    Returns:
        `Splits` of kind "segmentation": x float32 (N, size, size, 3) in [0, 1], y int32 (N, size, size) with
        0 pet, 1 background, 2 outline; 3 classes; `info["class_names"]` names them.
    """
    size = _check_positive_int("size", size, minimum=16)
    parts = {"train": f"train[:{100 - VAL_FRACTION}%]", "val": f"train[{100 - VAL_FRACTION}%:]", "test": "test"}
    splits = {key: Split(*load_tfds_segmentation("oxford_iiit_pet", split, data_dir=data_dir, size=size))
              for key, split in parts.items()}
    info = {"source": "tfds:oxford_iiit_pet", "class_names": list(PET_CLASSES), "size": size}
    return Splits("oxford_iiit_pet", "segmentation", splits["train"], splits["val"], splits["test"],
                  classes=len(PET_CLASSES), info=info)
