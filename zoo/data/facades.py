"""The CMP Facades pairs in the pix2pix authors' archive (Tyleček & Šára 2013; Isola et al. 2017): online.

The archive `facades.tar.gz` from the pix2pix site holds `facades/{train,val,test}/*.jpg`: 400, 100 and 106
JPEGs of 256x512 pixels, each a side-by-side pair: the photo of a building's front on the left, its
architectural label map (windows, doors, balconies... as colour regions) on the right. TensorFlow Datasets
does not have it, so it is downloaded with `keras.utils.get_file` (once; later runs read the extracted
folder) unless `data_dir` already holds the extracted folder.

The pairs become `Splits` of kind "image_pairs" (see `zoo.data.shapes`' "edges" target): x = {"image": the
source half}, y = the target half, float32 in [0, 1], resized to `size` (bilinear, with Pillow) while read.
The paper translates labels to photos (`direction="labels_to_photo"`, the default); "photo_to_labels"
swaps the halves. The pairs have no class labels, so no sample-quality judge can be trained on them (the
image_translation task then reports L1 alone). 606 pairs at 256x256 take 0.9 GB as float32, so they are held
as arrays like the other small sets (`size` keeps it down for small models: 64x64 takes 60 MB).
"""

from __future__ import annotations

import os

import numpy as np

from zoo.data import Split, Splits, dataset
from zoo.data.generated import _check_choice, _check_positive_int

FACADES_URL = "https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"
DIRECTIONS = ("labels_to_photo", "photo_to_labels")
SPLITS = {"train": "train", "val": "val", "test": "test"}


def find_facades(data_dir: str | None) -> str | None:
    """The extracted facades folder (the one holding train/, val/ and test/) under `data_dir`, or None.

    Looks at `data_dir` itself, `data_dir/facades` and `data_dir/facades/facades` (where `get_file` extracts
    the archive, whose members start with `facades/`).
    """
    if not data_dir:
        return None
    for folder in (data_dir, os.path.join(data_dir, "facades"), os.path.join(data_dir, "facades", "facades"),
                   os.path.join(data_dir, "datasets", "facades", "facades")):
        if all(os.path.isdir(os.path.join(folder, split)) for split in SPLITS.values()):
            return folder
    return None


def download_facades(data_dir: str | None) -> str:
    """The extracted facades folder: found under `data_dir`, else downloaded there (or to Keras' cache)."""
    found = find_facades(data_dir)
    if found:
        return found
    import keras

    cache_dir = os.path.abspath(data_dir) if data_dir and "://" not in data_dir else None
    extracted = keras.utils.get_file("facades", origin=FACADES_URL, extract=True, cache_dir=cache_dir)
    found = find_facades(extracted) or find_facades(os.path.dirname(extracted))
    if not found:
        raise ValueError(f"The facades archive from {FACADES_URL} extracted to {extracted} has no train/, val/ and "
                         "test/ folders.")
    return found


def read_pairs(folder: str, *, size: int, direction: str = "labels_to_photo") -> tuple[np.ndarray, np.ndarray]:
    """The side-by-side JPEGs of `folder` (sorted by name) as (sources, targets), each float32 (N, size, size, 3).

    Raises:
        ValueError: if the folder has no JPEG, or an image is not twice as wide as it is high.
    """
    from PIL import Image

    names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".jpeg")))
    if not names:
        raise ValueError(f"{folder} holds no .jpg pair images.")
    sources, targets = np.empty((2, len(names), size, size, 3), dtype="float32")
    for i, name in enumerate(names):
        with Image.open(os.path.join(folder, name)) as image:
            image = image.convert("RGB")
            width, height = image.size
            if width != 2 * height:
                raise ValueError(f"{os.path.join(folder, name)} is {width}x{height}; a facades pair is two square "
                                 "images side by side (twice as wide as high).")
            left, right = (image.crop(box).resize((size, size), Image.BILINEAR)
                           for box in ((0, 0, height, height), (height, 0, width, height)))
        photo, labels = (np.asarray(half, dtype="float32") / 255.0 for half in (left, right))
        sources[i], targets[i] = (labels, photo) if direction == "labels_to_photo" else (photo, labels)
    return sources, targets


@dataset("facades", offline=False,
         summary="CMP Facades from the pix2pix authors' archive: 606 pairs of a building photo and its label map "
                 "(downloads on first use; image-to-image translation).")
def facades(*, seed: int = 0, data_dir: str | None = None, size: int = 256,
            direction: str = "labels_to_photo") -> Splits:
    """The facades pairs with the archive's own train/val/test split (the seed changes nothing).

    Args:
        data_dir: a folder holding the extracted archive (or where to download it); None: Keras' cache.
        size: height and width every half is resized to (the archive's 256 keeps them as they are).
        direction: "labels_to_photo" (x the label map, y the photo: the paper's direction) or
            "photo_to_labels".

    Returns:
        `Splits` of kind "image_pairs": x {"image": (N, size, size, 3)}, y (N, size, size, 3), float32 in
        [0, 1]; 400 / 100 / 106 pairs; no classes.
    """
    _check_choice("facades direction", direction, DIRECTIONS)
    size = _check_positive_int("size", size, minimum=16)
    folder = download_facades(data_dir)
    splits = {}
    for key, sub in SPLITS.items():
        sources, targets = read_pairs(os.path.join(folder, sub), size=size, direction=direction)
        splits[key] = Split({"image": sources}, targets)
    info = {"source": FACADES_URL, "direction": direction, "size": size,
            "input": "label map" if direction == "labels_to_photo" else "photo",
            "output": "photo" if direction == "labels_to_photo" else "label map"}
    return Splits("facades", "image_pairs", splits["train"], splits["val"], splits["test"], info=info)
