"""TensorFlow Datasets: the real, online datasets, loaded through one code path.

`data_dir` may be a local folder or a `gs://` bucket (TFDS reads both). Image datasets are not loaded
here: their splits are references (`TfdsSplit`) that the preprocess step describes and the one reader
(`zoo.data.stream`) streams, decoding and resizing each image to the model's input on the fly. Tests run
this path offline with `tfds.testing.mock_data`, which generates examples from the dataset's own feature
specification (images at random natural sizes).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from zoo.data import Splits, dataset
from zoo.data.stream import TfdsSplit

VAL_FRACTION = 10  # percent of the training split kept for validation


@dataclasses.dataclass(frozen=True)
class ImageSource:
    """How a TFDS image-classification dataset maps onto train/val/test.

    Attributes:
        classes: number of classes.
        train, val, test: TFDS split strings (slices where the dataset publishes fewer splits).
        manual: TFDS cannot download it; its archives must be in `manual_dir` (imagenet2012).
    """

    classes: int
    train: str = f"train[:{100 - VAL_FRACTION}%]"
    val: str = f"train[{100 - VAL_FRACTION}%:]"
    test: str = "test"
    manual: bool = False


IMAGE_DATASETS = {
    "mnist": ImageSource(10),
    "cifar10": ImageSource(10),
    # One published split of 23,262 photos at natural sizes: 80/10/10.
    "cats_vs_dogs": ImageSource(2, train="train[:80%]", val="train[80%:90%]", test="train[90%:]"),
    # ILSVRC 2012: the test split has no labels, so the published validation split (50,000) is the test set.
    "imagenet2012": ImageSource(1000, train="train[:98%]", val="train[98%:]", test="validation", manual=True),
}


def load_tfds_arrays(name: str, split: str, *, data_dir: str | None, as_supervised=True):
    """All examples of one TFDS split as NumPy arrays (features, labels): for small datasets only."""
    import tensorflow_datasets as tfds

    ds = tfds.load(name, split=split, data_dir=data_dir, as_supervised=as_supervised, shuffle_files=False)
    xs, ys = [], []
    for x, y in tfds.as_numpy(ds.batch(4096)):
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def _image_dataset(name: str, source: ImageSource):
    def load(*, seed: int = 0, data_dir: str | None = None, manual_dir: str | None = None) -> Splits:
        """The splits as references into TFDS: nothing is read here; the reader streams them.

        TFDS slicing keeps the split deterministic; the seed does not change a published split.
        """
        if source.manual and manual_dir is None and data_dir:
            manual_dir = os.path.join(data_dir, "downloads", "manual")  # TFDS' own default
        refs = [TfdsSplit(name, split, manual_dir=manual_dir if source.manual else None)
                for split in (source.train, source.val, source.test)]
        return Splits(name, "image", *refs, classes=source.classes, info={"source": f"tfds:{name}"})

    return load


_SUMMARIES = {
    "mnist": "70,000 28x28 handwritten digits",
    "cifar10": "60,000 32x32 colour images in 10 classes",
    "cats_vs_dogs": "23,262 photos of cats and dogs at natural sizes",
    "imagenet2012": "ILSVRC 2012, 1.28 million photos in 1,000 classes at natural sizes; TFDS needs the archives "
                    "in manual_dir (default DATA_DIR/downloads/manual)",
}
for _name, _source in IMAGE_DATASETS.items():
    dataset(_name, offline=False, summary=f"TensorFlow Datasets '{_name}': {_SUMMARIES[_name]} (streamed).")(
        _image_dataset(_name, _source)
    )
