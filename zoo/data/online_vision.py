"""Online datasets of catalog section D (vision applications), from TensorFlow Datasets.

They download on first use (or read `data_dir`, local or `gs://`) and stream: each split is a `TfdsSplit`
read in place, never loaded whole. Images come at their natural sizes; the reader decodes and resizes each
one to the model's input after the shuffle (bilinear for images, nearest neighbour for masks). Tests run the
same code offline with `tfds.testing.mock_data`.
"""

from __future__ import annotations

from zoo.data import Splits, dataset
from zoo.data.online import VAL_FRACTION
from zoo.data.stream import TfdsSplit

# The Oxford-IIIT Pet trimaps label pixels 1 (pet), 2 (background), 3 (outline, not classified); shifted to 0..2.
PET_CLASSES = ("pet", "background", "outline")


def pet_example(example):
    """One TFDS Oxford-IIIT Pet example as (encoded image, int32 mask (H, W) of 0 pet, 1 background, 2 outline)."""
    import tensorflow as tf

    mask = tf.cast(example["segmentation_mask"], tf.int32)
    mask = mask[..., 0] if mask.shape.rank == 3 else mask
    return example["image"], tf.clip_by_value(mask - 1, 0, len(PET_CLASSES) - 1)


@dataset("oxford_iiit_pet", offline=False,
         summary="TensorFlow Datasets 'oxford_iiit_pet': 7,349 pet photos with pet/background/outline masks "
                 "(downloads on first use; streamed).")
def oxford_iiit_pet(*, seed: int = 0, data_dir: str | None = None) -> Splits:
    """The Oxford-IIIT Pet dataset (Parkhi et al. 2012) as images with 3-class masks, streamed.

    The published train/test split is kept (3,680 and 3,669 images); the last 10% of the training split
    validates. TFDS slicing keeps the split deterministic; the seed does not change a published split.

    Returns:
        `Splits` of kind "segmentation" whose splits are `TfdsSplit`s mapped by `pet_example`: the reader gives
        float32 images (H, W, 3) in [0, 1] and int32 masks (H, W), both at the model's input size; 3 classes,
        named by `info["class_names"]`.
    """
    parts = {"train": f"train[:{100 - VAL_FRACTION}%]", "val": f"train[{100 - VAL_FRACTION}%:]", "test": "test"}
    splits = {key: TfdsSplit("oxford_iiit_pet", split, example_fn="zoo.data.online_vision:pet_example")
              for key, split in parts.items()}
    info = {"source": "tfds:oxford_iiit_pet", "class_names": list(PET_CLASSES)}
    return Splits("oxford_iiit_pet", "segmentation", splits["train"], splits["val"], splits["test"],
                  classes=len(PET_CLASSES), info=info)
