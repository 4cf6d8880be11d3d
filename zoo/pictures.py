"""Image grids for run pictures: tiles, PNG and GIF files, and the per-epoch sample progression of a training run.

Generative models show what they make while they learn: `SampleProgress` draws a fixed set of samples (the
same noise, seeds or inputs every time) at the end of every epoch, writes each epoch's grid as a PNG, and at
the end of training the progression: a tiled PNG (one row per recorded epoch) and an animated GIF of every
epoch's grid. The pipeline's train step writes them into `<model_dir>/progress/`, and the evaluate step puts
the progressions on the run's pictures page (the HTML artifact the Vertex AI console shows, and the local
run's summary).

Grids are written with Pillow straight from the pixel arrays (milliseconds each, so a grid per epoch costs
the run nothing measurable); images are (N, H, W, C) floats in [0, 1] with 1 or 3 channels, tiled row-major
with a one-pixel gutter.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

import keras
import numpy as np

#: the folder of a model directory where the train step writes the sample progression
PROGRESS_DIR = "progress"
#: the most epochs the tiled progression shows (evenly spaced, first and last included)
PROGRESSION_ROWS = 10
GUTTER = 1


def tile(images, columns: int = 8, scale: int = 1) -> np.ndarray:
    """`images` (N, H, W, C) in [0, 1] as one uint8 grid (rows * H, columns * W, 3) with a gutter between tiles.

    Args:
        images: N images of one shape, 1 or 3 channels (or (N, H, W) grey images); values are clipped to [0, 1].
        columns: tiles per row; the last row is padded with the gutter colour.
        scale: each pixel becomes a `scale` x `scale` block (small digits are hard to see at 1).
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
        raise ValueError(f"Expected images (N, H, W, 1 or 3) with N > 0. Received shape {images.shape}.")
    if columns < 1 or scale < 1:
        raise ValueError(f"`columns` and `scale` must be positive. Received: columns={columns}, scale={scale}")
    images = np.clip(np.nan_to_num(images, nan=0.0), 0.0, 1.0)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    if scale > 1:
        images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    count, height, width, _ = images.shape
    columns = min(columns, count)
    rows = -(-count // columns)
    grid = np.full((rows * (height + GUTTER) + GUTTER, columns * (width + GUTTER) + GUTTER, 3), 0.5, "float32")
    for i, image in enumerate(images):
        top = GUTTER + (i // columns) * (height + GUTTER)
        left = GUTTER + (i % columns) * (width + GUTTER)
        grid[top:top + height, left:left + width] = image
    return np.round(grid * 255.0).astype("uint8")


def _scale_for(images) -> int:
    """Enough magnification that a tile is at least 48 pixels high (8x8 digits become 48x48)."""
    height = np.asarray(images).shape[1]
    return max(1, -(-48 // max(1, height)))


def save_png(images, path: str, columns: int = 8) -> str:
    """Write `images` (N, H, W, C) in [0, 1] as one PNG grid; returns `path`."""
    return _write_png(tile(images, columns, scale=_scale_for(images)), path)


def save_gif(grids: Sequence[np.ndarray], path: str, duration_ms: int = 300) -> str:
    """Write uint8 grids (from `tile`) as an animated GIF that loops, one frame per grid; returns `path`."""
    from PIL import Image

    if not grids:
        raise ValueError("save_gif needs at least one frame.")
    frames = [Image.fromarray(np.asarray(g, dtype="uint8")) for g in grids]
    _parent(path)
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=int(duration_ms), loop=0)
    return path


def progression_rows(epochs: int, rows: int = PROGRESSION_ROWS) -> list[int]:
    """Which of `epochs` recorded epochs (0-based) the tiled progression shows: evenly spaced, ends included."""
    if epochs <= rows:
        return list(range(epochs))
    return sorted({int(round(i * (epochs - 1) / (rows - 1))) for i in range(rows)})


def _parent(path: str) -> None:
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)


def _write_png(grid: np.ndarray, path: str) -> str:
    """Write a uint8 grid (from `tile`) as a PNG file, making its folder; returns `path`."""
    from PIL import Image

    _parent(path)
    Image.fromarray(grid).save(path, format="PNG")
    return path


class SampleProgress(keras.callbacks.Callback):
    """Draws fixed samples every `every` epochs; writes each grid and, at the end of training, the progression.

    Args:
        draw: `draw(model) -> images (N, H, W, C) in [0, 1]`, the same samples each time (fixed noise, seeds
            or inputs), with the model in inference mode.
        out_dir: where the PNG and GIF files go.
        name: file name prefix (the model's registry name).
        columns: tiles per row of each grid (a conditional model: one row per class).
        every: draw every this many epochs (and after the last one).

    Attributes:
        files: the files written so far.
    """

    def __init__(self, draw: Callable, out_dir: str, *, name: str, columns: int = 8, every: int = 1):
        super().__init__()
        if not callable(draw):
            raise ValueError(f"`draw` must be callable. Received: draw={draw!r}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"`every` must be a positive integer. Received: every={every!r}")
        self.draw, self.out_dir, self.name = draw, out_dir, name
        self.columns, self.every = int(columns), every
        self.grids: list[np.ndarray] = []
        self.files: list[str] = []
        self._tile_height = 0
        self._epoch = None
        self._drawn_epoch = None

    def _record(self, epoch: int) -> None:
        images = np.asarray(self.draw(self.model), dtype="float32")
        scale = _scale_for(images)
        grid = tile(images, self.columns, scale=scale)
        self.grids.append(grid)
        self.files.append(_write_png(grid, os.path.join(self.out_dir, f"{self.name}_epoch_{epoch + 1:03d}.png")))
        self._tile_height = images.shape[1] * scale
        self._drawn_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch
        if (epoch + 1) % self.every == 0:
            self._record(epoch)

    def on_train_end(self, logs=None):
        if self._epoch is not None and self._drawn_epoch != self._epoch:
            self._record(self._epoch)
        if not self.grids:
            return
        # The progression: the first row of samples of each chosen epoch, epochs going down.
        row = GUTTER + self._tile_height
        rows = [self.grids[i][:row] for i in progression_rows(len(self.grids))]
        stacked = np.concatenate(rows + [rows[-1][:GUTTER]])
        png = _write_png(stacked, os.path.join(self.out_dir, f"{self.name}_progression.png"))
        gif = save_gif(self.grids, os.path.join(self.out_dir, f"{self.name}_progression.gif"))
        self.files += [png, gif]
