"""`synthetic_shapes/captions`: the scenes of `zoo.data.shapes` with reference captions (image captioning).

Each image is a `draw_scene` scene; its captions name the scene's *visible* shapes (those that still show
at least `MIN_VISIBLE` pixels once later shapes are drawn over them), the largest first, by size, colour,
class and place: "a small red ellipse on the left and a blue triangle at the bottom right". Every image has
`references` captions, one per phrasing (`PHRASINGS`: with or without places, "there is" or "with" joins)
with class synonyms ("oval" for an ellipse, "box" for a rectangle) drawn from the seeded generator, so a
captioner has several right answers per image, as COCO's five human captions give it, and corpus BLEU
against all of them rewards any of them.

Words: a vocabulary of about 30 lowercased words, no punctuation; the longest caption (two shapes, with
places) has 20 words. Size words compare a shape's visible area with the image's: "small" below 4%,
"large" above 15%, none between. Places are the thirds of the image the box's centre falls in.
"""

from __future__ import annotations

import numpy as np

from zoo.data import Splits, dataset, split_arrays
from zoo.data.generated import _check_fraction, _check_positive_int
from zoo.data.shapes import SHAPE_CLASSES, Scene, draw_scene

DATASET = "synthetic_shapes/captions"
MIN_VISIBLE = 6  # pixels a shape must still show to be named
SMALL_AREA, LARGE_AREA = 0.04, 0.15  # visible share of the image below which a shape is "small", above "large"
# Words for each class (rectangle, ellipse, triangle): a phrasing picks one per shape.
CLASS_WORDS = {1: ("rectangle", "box"), 2: ("ellipse", "oval"), 3: ("triangle",)}
# (opening words, word joining two shapes, whether places are said)
PHRASINGS = (
    ("", "and", True),
    ("there is", "and", True),
    ("", "and", False),
    ("", "with", True),
    ("there is", "next to", False),
)
ROWS, COLUMNS = ("top", "", "bottom"), ("left", "", "right")


def place(box, size: int) -> str:
    """Where a box's centre lies, by thirds of the image: "at the top left", "on the right", "in the middle"."""
    y0, x0, y1, x1 = box
    row = ROWS[min(int(3 * (y0 + y1) / (2 * size)), 2)]
    column = COLUMNS[min(int(3 * (x0 + x1) / (2 * size)), 2)]
    if row and column:
        return f"at the {row} {column}"
    if row:
        return f"at the {row}"
    if column:
        return f"on the {column}"
    return "in the middle"


def visible_shapes(scene: Scene) -> list[tuple[int, int]]:
    """(index into `scene.shapes`, visible pixels) of the shapes that show at least `MIN_VISIBLE` pixels,
    largest first (ties: drawn later first, as it is on top)."""
    counts = np.bincount(scene.instances.reshape(-1), minlength=len(scene.shapes) + 1)[1:]
    shown = [(i, int(c)) for i, c in enumerate(counts) if c >= MIN_VISIBLE]
    return sorted(shown, key=lambda item: (-item[1], -item[0]))


def shape_phrase(scene: Scene, index: int, pixels: int, class_word: str, with_place: bool) -> str:
    """"a small red ellipse on the left": article, size, colour, class and (optionally) place of one shape."""
    shape = scene.shapes[index]
    area = pixels / scene.mask.size
    size_word = "small " if area < SMALL_AREA else "large " if area > LARGE_AREA else ""
    words = f"a {size_word}{shape.colour} {class_word}"
    return f"{words} {place(shape.box, scene.mask.shape[0])}" if with_place else words


def captions(scene: Scene, rng: np.random.Generator, references: int) -> list[str]:
    """`references` captions of one scene, phrasing i for caption i (cycling through `PHRASINGS`)."""
    shown = visible_shapes(scene)
    out = []
    for r in range(references):
        opening, join, with_place = PHRASINGS[r % len(PHRASINGS)]
        phrases = []
        for index, pixels in shown:
            words = CLASS_WORDS[scene.shapes[index].label]
            phrases.append(shape_phrase(scene, index, pixels, words[int(rng.integers(len(words)))], with_place))
        out.append(" ".join(filter(None, [opening, f" {join} ".join(phrases)])))
    return out


@dataset(DATASET, offline=True,
         summary="32x32 RGB scenes of 1-2 coloured rectangles, ellipses and triangles with 5 reference captions "
                 "each, naming the visible shapes by size, colour, class and place (image captioning).")
def synthetic_shape_captions(*, seed: int = 0, data_dir=None, n: int = 3000, size: int = 32, max_shapes: int = 2,
                             noise: float = 0.05, references: int = 5) -> Splits:
    """Scenes of coloured shapes with several reference captions each, seeded and deterministic.

    Args:
        n: number of images (split 70/15/15).
        size: height and width of the images (at least 16).
        max_shapes: most shapes drawn per image (1..max_shapes; covered shapes are not named).
        noise: standard deviation of the pixel noise, in [0, 0.5].
        references: captions per image.

    Returns:
        `Splits` of kind "captioning": x float32 (N, size, size, 3) in [0, 1]; y (N, references) str, the
        reference captions (lowercased words separated by single spaces). `info["references"]` is the
        number of captions per image; `info["class_names"]` names the shape classes.
    """
    n = _check_positive_int("n", n, minimum=20)
    size = _check_positive_int("size", size, minimum=16)
    max_shapes = _check_positive_int("max_shapes", max_shapes)
    noise = _check_fraction("noise", noise, high=0.5)
    references = _check_positive_int("references", references)
    rng = np.random.default_rng(seed)
    images, texts = [], []
    for _ in range(n):
        scene = draw_scene(rng, size=size, max_shapes=max_shapes, noise=noise)
        images.append(scene.image)
        texts.append(captions(scene, rng, references))
    x = np.stack(images).astype("float32")
    y = np.array(texts, dtype=str)
    train, val, test = split_arrays(x, y, seed=seed, stratify=False)
    info = {"references": references, "size": size, "max_shapes": max_shapes, "noise": noise,
            "class_names": list(SHAPE_CLASSES[1:])}
    return Splits(DATASET, "captioning", train, val, test, info=info)
