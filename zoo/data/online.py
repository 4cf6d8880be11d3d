"""TensorFlow Datasets: the real, online datasets, loaded through one code path.

`data_dir` may be a local folder or a `gs://` bucket (TFDS reads both). Tests run this path offline with
`tfds.testing.mock_data`, which generates examples from the dataset's own feature specification.
"""

from __future__ import annotations

import numpy as np

from zoo.data import Split, Splits, dataset

# TFDS name -> (split for train+val, split for test, classes)
IMAGE_DATASETS = {
    "mnist": ("train", "test", 10),
    "cifar10": ("train", "test", 10),
}
VAL_FRACTION = 10  # percent of the training split kept for validation


def load_tfds_arrays(name: str, split: str, *, data_dir: str | None, as_supervised=True):
    """All examples of one TFDS split as NumPy arrays (features, labels)."""
    import tensorflow_datasets as tfds

    ds = tfds.load(name, split=split, data_dir=data_dir, as_supervised=as_supervised, shuffle_files=False)
    xs, ys = [], []
    for x, y in tfds.as_numpy(ds.batch(4096)):
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def _image_dataset(name: str):
    train_split, test_split, classes = IMAGE_DATASETS[name]

    def load(*, seed: int = 0, data_dir: str | None = None) -> Splits:
        # TFDS slicing keeps the split deterministic; the seed does not change a published split.
        parts = {
            "train": f"{train_split}[:{100 - VAL_FRACTION}%]",
            "val": f"{train_split}[{100 - VAL_FRACTION}%:]",
            "test": test_split,
        }
        splits = {}
        for key, split in parts.items():
            x, y = load_tfds_arrays(name, split, data_dir=data_dir)
            splits[key] = Split((x.astype("float32") / 255.0), y.astype("int32"))
        return Splits(name, "image", splits["train"], splits["val"], splits["test"], classes=classes,
                      info={"source": f"tfds:{name}"})

    return load


for _name in IMAGE_DATASETS:
    dataset(_name, offline=False, summary=f"TensorFlow Datasets '{_name}' (downloads on first use).")(
        _image_dataset(_name)
    )
