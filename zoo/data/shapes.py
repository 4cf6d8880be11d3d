"""Synthetic scenes of coloured shapes for the vision applications (catalog D): seeded, no download.

Every image is drawn from a *scene*: a noisy background and one to `max_shapes` filled shapes (rectangle,
ellipse, triangle), each with a class, a named colour and a bounding box. Later shapes are drawn over
earlier ones. The scene is the single source of truth; a `target` turns it into labels:

- "mask": a per-pixel class map, 0 for the background and 1..3 for the shape classes (semantic
  segmentation, e.g. `fcn`).
- "edges": image pairs for image-to-image translation (`pix2pix`): the input is the scene's edge map, a
  clean line drawing (the shapes' one-pixel outlines in their own colours over the empty background, no
  pixel noise), and the target is the scene itself, so a translator must fill each outline with its
  colour and add the grain of the pixel noise, which the input does not tell (an L1 loss alone averages
  it away; the adversarial loss rewards it). Each pair also carries the class of its largest
  shape, for the sample-quality judge. Also registered as the dataset "synthetic_shapes/edges", the name a
  pipeline run chooses it by. (Outlines on black would leave the background's tone to chance: then no
  translator lowers the L1 error on unseen scenes, and a large one learns the training scenes' tones by
  heart instead.)

- "boxes": object detection (`yolo`, `faster_rcnn`): each visible shape's box and class (`scene_boxes`), as
  the rows `[ymin, xmin, ymax, xmax, class]` relative to the image (Keras' "rel_yxyx"), class 0..2
  (rectangle, ellipse, triangle), padded with -1 rows. The box is the tight box of the pixels the shape
  shows; a shape that later shapes mostly cover is no object (less than half of it, or fewer than 12 pixels,
  visible). Also registered as the dataset "synthetic_shapes/boxes", at 48x48 by default.

The scene also records each shape's colour name, so captions ("a red ellipse and a blue triangle") are a
further target over the same scenes.

A shape's colour is drawn from a named palette independently of its class, so a segmenter must tell the
classes apart by their geometry, not their colour.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from zoo.data import Splits, dataset, split_arrays
from zoo.data.generated import _check_choice, _check_positive_int, _check_fraction

SHAPE_CLASSES = ("background", "rectangle", "ellipse", "triangle")
TARGETS = ("mask", "edges", "boxes")
EDGES_DATASET = "synthetic_shapes/edges"
BOXES_DATASET = "synthetic_shapes/boxes"
# A shape is an object to detect only if later shapes leave at least this share of its pixels visible, and
# at least MIN_VISIBLE_PIXELS of them (a sliver nobody could classify is no object).
MIN_VISIBLE_SHARE = 0.5
MIN_VISIBLE_PIXELS = 12
# Named colours (RGB in [0, 1]); each shape takes one, jittered slightly, that stands out from its background.
PALETTE = {
    "red": (0.85, 0.15, 0.15),
    "green": (0.15, 0.7, 0.2),
    "blue": (0.15, 0.3, 0.9),
    "yellow": (0.95, 0.85, 0.15),
    "magenta": (0.85, 0.2, 0.8),
    "cyan": (0.2, 0.85, 0.9),
    "orange": (0.95, 0.55, 0.1),
    "white": (0.95, 0.95, 0.95),
    "black": (0.05, 0.05, 0.05),
}
MIN_CONTRAST = 0.35  # least Euclidean RGB distance between a shape's colour and the background's


@dataclasses.dataclass(frozen=True)
class Shape:
    """One shape of a scene: its class id (1..3), colour name, box (y0, x0, y1, x1) in pixels, end-exclusive,
    and `area`, the pixels it covered when it was drawn (before later shapes covered any)."""

    label: int
    colour: str
    box: tuple[int, int, int, int]
    area: int = 0


@dataclasses.dataclass(frozen=True)
class Scene:
    """One drawn image (H, W, 3 floats in [0, 1]), its per-pixel classes (H, W) and its shapes, in drawing order.

    `instances` (H, W int32) says which shape each pixel shows: 0 for the background, i for `shapes[i - 1]`.
    `clean` (H, W, 3) is the image before its pixel noise, `backdrop` (H, W, 3) the background alone before
    it (the scene without its shapes).
    """

    image: np.ndarray
    mask: np.ndarray
    shapes: tuple[Shape, ...]
    instances: np.ndarray | None = None
    clean: np.ndarray | None = None
    backdrop: np.ndarray | None = None


def _region(label: int, box, rng: np.random.Generator, size: int) -> np.ndarray:
    """The pixels (H, W bool) a shape of class `label` covers inside `box`."""
    y0, x0, y1, x1 = box
    yy, xx = np.mgrid[0:size, 0:size].astype("float64") + 0.5  # pixel centres
    if label == 1:  # rectangle: the box itself
        return (yy >= y0) & (yy < y1) & (xx >= x0) & (xx < x1)
    if label == 2:  # ellipse inscribed in the box
        cy, cx, ry, rx = (y0 + y1) / 2, (x0 + x1) / 2, (y1 - y0) / 2, (x1 - x0) / 2
        return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
    # Triangle: the apex on one side of the box (a random point of it), the base along the opposite side.
    side = rng.integers(4)
    t = rng.uniform(0.2, 0.8)
    if side == 0:  # apex on top
        corners = [(y0, x0 + t * (x1 - x0)), (y1, x0), (y1, x1)]
    elif side == 1:  # apex at the bottom
        corners = [(y1, x0 + t * (x1 - x0)), (y0, x0), (y0, x1)]
    elif side == 2:  # apex on the left
        corners = [(y0 + t * (y1 - y0), x0), (y0, x1), (y1, x1)]
    else:  # apex on the right
        corners = [(y0 + t * (y1 - y0), x1), (y0, x0), (y1, x0)]
    signs = []
    for (ay, ax), (by, bx) in zip(corners, corners[1:] + corners[:1]):
        signs.append((bx - ax) * (yy - ay) - (by - ay) * (xx - ax))
    signs = np.stack(signs)
    return np.all(signs >= 0, axis=0) | np.all(signs <= 0, axis=0)


def draw_scene(rng: np.random.Generator, *, size: int = 32, max_shapes: int = 3, noise: float = 0.05) -> Scene:
    """Draw one scene: a noisy background of a random tone and 1..`max_shapes` shapes over it.

    Args:
        rng: the only source of randomness (the same generator state draws the same scene).
        size: height and width in pixels.
        max_shapes: most shapes per image (at least one is drawn).
        noise: standard deviation of the Gaussian pixel noise added to the whole image.

    Returns:
        A `Scene`. A shape that later shapes cover completely keeps its entry (and box) but has no pixels in
        the mask.
    """
    background = rng.uniform(0.25, 0.75) + rng.uniform(-0.1, 0.1, size=3)
    # A gentle linear gradient so the background is not a single colour.
    ramp = np.linspace(-1.0, 1.0, size)
    gradient = rng.uniform(-0.08, 0.08) * ramp[:, None] + rng.uniform(-0.08, 0.08) * ramp[None, :]
    image = np.clip(background[None, None, :] + gradient[..., None], 0.0, 1.0)
    empty = image.copy()
    mask = np.zeros((size, size), dtype="int32")
    instances = np.zeros((size, size), dtype="int32")
    names = [n for n, rgb in PALETTE.items() if np.linalg.norm(np.asarray(rgb) - background) >= MIN_CONTRAST]
    shapes = []
    low, high = max(4, size // 5), max(5, size // 2)
    for _ in range(int(rng.integers(1, max_shapes + 1))):
        label = int(rng.integers(1, len(SHAPE_CLASSES)))
        height, width = (int(v) for v in rng.integers(low, high + 1, size=2))
        y0, x0 = int(rng.integers(0, size - height + 1)), int(rng.integers(0, size - width + 1))
        box = (y0, x0, y0 + height, x0 + width)
        region = _region(label, box, rng, size)
        colour = names[int(rng.integers(len(names)))]
        rgb = np.clip(np.asarray(PALETTE[colour]) + rng.uniform(-0.05, 0.05, size=3), 0.0, 1.0)
        image[region] = rgb
        mask[region] = label
        shapes.append(Shape(label, colour, box, int(region.sum())))
        instances[region] = len(shapes)
    clean = image.astype("float32")
    image = np.clip(image + rng.normal(0.0, noise, size=image.shape), 0.0, 1.0).astype("float32")
    return Scene(image, mask, tuple(shapes), instances, clean, empty.astype("float32"))


def edge_map(scene: Scene) -> np.ndarray:
    """The scene's outlines: bool (H, W), True where a pixel shows a shape drawn over one of its 4 neighbours.

    Every boundary between two regions (a shape and the background, or two overlapping shapes) is marked
    once, one pixel wide, on the side of the shape drawn later (the one on top); the image's border is not
    an outline.
    """
    ids = scene.instances
    edges = np.zeros(ids.shape, dtype=bool)
    edges[1:, :] |= ids[1:, :] > ids[:-1, :]
    edges[:-1, :] |= ids[:-1, :] > ids[1:, :]
    edges[:, 1:] |= ids[:, 1:] > ids[:, :-1]
    edges[:, :-1] |= ids[:, :-1] > ids[:, 1:]
    return edges


def scene_boxes(scene: Scene) -> np.ndarray:
    """The scene's objects: float32 (count, 5) rows `[ymin, xmin, ymax, xmax, class]`, rel_yxyx, class 0..2.

    Each row is the tight box of the pixels a shape shows (relative to the image's side; end-exclusive pixel
    edges, so a shape on pixels 3..8 spans 3/size to 9/size); shapes with less than MIN_VISIBLE_SHARE of
    their pixels, or fewer than MIN_VISIBLE_PIXELS, visible are left out. Drawing order is kept.
    """
    size = scene.instances.shape[0]
    rows = []
    for index, shape in enumerate(scene.shapes, start=1):
        ys, xs = np.nonzero(scene.instances == index)
        if len(ys) < max(MIN_VISIBLE_PIXELS, MIN_VISIBLE_SHARE * shape.area):
            continue
        rows.append([ys.min() / size, xs.min() / size, (ys.max() + 1) / size, (xs.max() + 1) / size, shape.label - 1])
    return np.asarray(rows, dtype="float32").reshape(-1, 5)


def largest_shape_class(scene: Scene) -> int:
    """The class (0 rectangle, 1 ellipse, 2 triangle) of the shape that shows the most pixels."""
    counts = np.bincount(scene.instances.reshape(-1), minlength=len(scene.shapes) + 1)[1:]
    return scene.shapes[int(np.argmax(counts))].label - 1


@dataset("synthetic_shapes", offline=True,
         summary="32x32 RGB scenes of 1-3 coloured rectangles, ellipses and triangles on a noisy background, "
                 "with per-pixel class masks (target='mask') or as edge-map -> scene pairs (target='edges').")
def synthetic_shapes(*, seed: int = 0, data_dir=None, n: int = 3000, size: int = 32, max_shapes: int = 3,
                     noise: float = 0.05, target: str = "mask") -> Splits:
    """Scenes of coloured shapes and their labels, for the vision applications.

    Args:
        n: number of images.
        size: height and width of the images (at least 16).
        max_shapes: most shapes per image; each image has 1..max_shapes.
        noise: standard deviation of the pixel noise, in [0, 0.5].
        target: which labels y holds: "mask" (per-pixel classes), "edges" (x becomes the edge map, y the
            scene) or "boxes" (the objects' boxes and classes).

    Returns:
        For "mask", `Splits` of kind "segmentation": x float32 (N, size, size, 3) in [0, 1], y int32
        (N, size, size) with 0 for the background and 1..3 for rectangle, ellipse, triangle; 4 classes,
        70/15/15 split. `info["class_names"]` names the classes.

        For "edges", `Splits` of kind "image_pairs" over the same scenes and split: x is a dict of "image",
        the edge maps float32 (N, size, size, 3) in [0, 1] (`edge_map`'s outline pixels hold the scene's
        `clean` pixels, every other pixel its `backdrop`), and "label", int32 (N,) the class of each scene's
        largest shape (0 rectangle, 1 ellipse, 2 triangle; 3 classes, named by `info["class_names"]`); y is
        the scenes, float32 (N, size, size, 3) in [0, 1].

        For "boxes", `Splits` of kind "detection" over the same scenes and split: x the images, y float32
        (N, max_shapes, 5) rows `[ymin, xmin, ymax, xmax, class]` (rel_yxyx, class 0 rectangle, 1 ellipse,
        2 triangle; `scene_boxes`) with -1 padding rows; 3 classes, named by `info["class_names"]`.
    """
    _check_choice("synthetic_shapes target", target, TARGETS)
    n = _check_positive_int("n", n, minimum=20)
    size = _check_positive_int("size", size, minimum=16)
    max_shapes = _check_positive_int("max_shapes", max_shapes)
    noise = _check_fraction("noise", noise, high=0.5)
    rng = np.random.default_rng(seed)
    scenes = [draw_scene(rng, size=size, max_shapes=max_shapes, noise=noise) for _ in range(n)]
    images = np.stack([s.image for s in scenes])
    info = {"target": target, "size": size, "max_shapes": max_shapes, "noise": noise}
    if target == "edges":
        drawings = [np.where(edge_map(s)[..., None], s.clean, s.backdrop) for s in scenes]
        x = {"image": np.stack(drawings).astype("float32"),
             "label": np.array([largest_shape_class(s) for s in scenes], dtype="int32")}
        train, val, test = split_arrays(x, images, seed=seed, stratify=False)
        info.update(class_names=list(SHAPE_CLASSES[1:]), label="the class of the shape that shows the most pixels",
                    input="edge map: the shapes' outlines in their colours over the empty background",
                    output="the scene")
        return Splits("synthetic_shapes", "image_pairs", train, val, test, classes=len(SHAPE_CLASSES) - 1,
                      info=info)
    if target == "boxes":
        y = np.full((n, max_shapes, 5), -1.0, dtype="float32")  # -1 rows pad (zoo.models.detection.boxes)
        for i, scene in enumerate(scenes):
            rows = scene_boxes(scene)
            y[i, :len(rows)] = rows
        train, val, test = split_arrays(images, y, seed=seed, stratify=False)
        info.update(class_names=list(SHAPE_CLASSES[1:]), box_format="rel_yxyx",
                    min_visible_share=MIN_VISIBLE_SHARE, min_visible_pixels=MIN_VISIBLE_PIXELS)
        return Splits("synthetic_shapes", "detection", train, val, test, classes=len(SHAPE_CLASSES) - 1, info=info)
    y = np.stack([s.mask for s in scenes])
    train, val, test = split_arrays(images, y, seed=seed, stratify=False)
    info = {"class_names": list(SHAPE_CLASSES), **info, "background_class": 0}
    return Splits("synthetic_shapes", "segmentation", train, val, test, classes=len(SHAPE_CLASSES), info=info)


@dataset(EDGES_DATASET, offline=True,
         summary="synthetic_shapes as image-to-image pairs: 32x32 edge maps (the shapes' outlines in their "
                 "colours over the empty background) -> the RGB scenes, with each scene's largest shape class "
                 "(pix2pix's offline data).")
def synthetic_shapes_edges(*, seed: int = 0, data_dir=None, n: int = 3000, size: int = 32, max_shapes: int = 3,
                           noise: float = 0.05) -> Splits:
    """`synthetic_shapes(target="edges")` under a dataset name of its own, which a pipeline run can choose
    (the dataset name is what `zoo run --dataset` and the pipeline pass); see `synthetic_shapes`."""
    return synthetic_shapes(seed=seed, data_dir=data_dir, n=n, size=size, max_shapes=max_shapes, noise=noise,
                            target="edges")


@dataset(BOXES_DATASET, offline=True,
         summary="synthetic_shapes for object detection: 6,000 48x48 RGB scenes of 1-3 coloured rectangles, "
                 "ellipses and triangles with each visible shape's box and class (rel_yxyx rows, -1 padding).")
def synthetic_shapes_boxes(*, seed: int = 0, data_dir=None, n: int = 6000, size: int = 48, max_shapes: int = 3,
                           noise: float = 0.05) -> Splits:
    """`synthetic_shapes(target="boxes")` under a dataset name of its own, at 48x48 by default: at 32x32 the
    smallest shapes (6 pixels) leave a box's IoU at the mercy of one pixel; see `synthetic_shapes`.

    6,000 scenes by default, twice the other targets': a detector's fully connected head learns the training
    scenes by heart on fewer (measured with yolo's small configuration, 8 epochs: test mAP@0.5 0.41 from 6,000
    scenes against 0.20 from 3,000)."""
    return synthetic_shapes(seed=seed, data_dir=data_dir, n=n, size=size, max_shapes=max_shapes, noise=noise,
                            target="boxes")
