"""Generated photographs at ImageNet's shape, streamed: for scale tests and the memory benchmark.

`synthetic_imagenet` yields `n` RGB images of about 224x224 pixels (natural sizes vary around it, as real
photos do) one at a time, never as an array of the whole split: preprocess writes them to JPEG-encoded
TFRecord shards and the reader streams them back. Each class has its own colour and stripe direction
under noise, so a small CNN learns them; the seed fixes every pixel.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from zoo.data import Splits, dataset
from zoo.data.generated import _check_positive_int
from zoo.data.stream import ExampleStream

SPLIT_SHARES = (0.8, 0.1, 0.1)


def _images(seed: int, count: int, classes: int, size: int) -> Iterator[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    palette = np.random.default_rng(seed + 7919).integers(40, 216, size=(classes, 3))
    for _ in range(count):
        label = int(rng.integers(classes))
        height, width = (int(v) for v in rng.integers(size - size // 8, size + size // 8 + 1, size=2))
        rows, cols = np.mgrid[0:height, 0:width]
        stripes = np.sin((rows * np.cos(label) + cols * np.sin(label)) / 6.0)[..., None]
        image = palette[label] + 30.0 * stripes + rng.normal(0.0, 12.0, size=(height, width, 3))
        yield np.clip(image, 0, 255).astype("uint8"), label


@dataset("synthetic_imagenet", offline=True,
         summary="Generated ImageNet-shaped photos (~224x224x3, natural sizes), streamed to JPEG TFRecord shards; "
                 "option n sets the example count.")
def synthetic_imagenet(*, seed: int = 0, data_dir=None, n: int = 1000, classes: int = 10,
                       size: int = 224) -> Splits:
    """ImageNet-shaped generated photos, 80/10/10, streamed (see the module docstring).

    Args:
        n: examples in all (at least 10).
        classes: number of classes.
        size: the typical side in pixels (each image's sides vary by an eighth around it).
    """
    n = _check_positive_int("n", n, minimum=10)
    classes = _check_positive_int("classes", classes, minimum=2)
    size = _check_positive_int("size", size, minimum=16)
    counts = [int(n * share) for share in SPLIT_SHARES[:2]]
    counts.append(n - sum(counts))
    streams = [ExampleStream(lambda s=seed * 3 + i, c=c: _images(s, c, classes, size), c)
               for i, c in enumerate(counts)]
    return Splits("synthetic_imagenet", "image", *streams, classes=classes,
                  info={"source": "generated", "size": size})
