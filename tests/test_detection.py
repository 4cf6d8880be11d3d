"""The object-detection task: padding and target mapping, mAP against COCOeval run directly, NMS, the synthetic
boxes data, pictures and the serving wrapper (`zoo.tasks.detection`, `zoo.models.detection.boxes`)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

import zoo
from zoo.models.detection import boxes as B
from zoo.tasks import get_task

pytestmark = pytest.mark.xdist_group("detection")

SIZE = 32
CLASSES = 3


class FixedDetector:
    """A stand-in detector whose `detect` returns given detections batch after batch (and its config's classes)."""

    def __init__(self, detections):
        self.detections = list(detections)

    def get_config(self):
        return {"classes": CLASSES}

    def detect(self, images, **_):
        return self.detections.pop(0)


def _truth_and_detections(rng, images=12, per_image=3, k=6):
    truth = np.stack([B.pad_array(_boxes(rng, int(rng.integers(1, per_image + 1))), per_image)
                      for _ in range(images)])
    found = B.empty_detections(images, k)
    for i, rows in enumerate(truth):
        real = B.real_rows(rows)
        # Each true box jittered (some stay above IoU 0.5, some not), plus one random false positive.
        jitter = rng.normal(0.0, 0.04, size=(len(real), 4))
        guesses = np.clip(np.concatenate([real[:, :4] + jitter, _boxes(rng, 1)[:, :4]]), 0.0, 1.0)
        labels = np.concatenate([real[:, 4], rng.integers(0, CLASSES, 1)]).astype("int32")
        labels[rng.uniform(size=len(labels)) < 0.15] = (labels[0] + 1) % CLASSES  # some wrong classes
        count = len(guesses)
        found["boxes"][i, :count] = guesses
        found["scores"][i, :count] = rng.uniform(0.05, 1.0, count)
        found["classes"][i, :count] = labels
    return truth, found


def _boxes(rng, count):
    corners = np.sort(rng.uniform(0.0, 1.0, size=(count, 2, 2)), axis=1)
    labels = rng.integers(0, CLASSES, (count, 1))
    return np.concatenate([corners[:, 0], corners[:, 1], labels], axis=1).astype("float32")


def _cocoeval_directly(truth, found):
    """COCO's own evaluator on hand-built json (pixel xywh boxes written out here, not by zoo's code)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, results = [], [], []
    for i, (rows, boxes, scores, labels) in enumerate(zip(truth, found["boxes"], found["scores"], found["classes"])):
        images.append({"id": i + 1, "height": SIZE, "width": SIZE})
        for y0, x0, y1, x1, c in rows[rows[:, 4] >= 0]:
            w, h = (x1 - x0) * SIZE, (y1 - y0) * SIZE
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(c), "iscrowd": 0,
                                "bbox": [float(x0 * SIZE), float(y0 * SIZE), float(w), float(h)],
                                "area": float(w * h)})
        for (y0, x0, y1, x1), s, c in zip(boxes, scores, labels):
            if c >= 0:
                results.append({"image_id": i + 1, "category_id": int(c), "score": float(s),
                                "bbox": [float(x0 * SIZE), float(y0 * SIZE), float((x1 - x0) * SIZE),
                                         float((y1 - y0) * SIZE)]})
    with contextlib.redirect_stdout(io.StringIO()):
        ground = COCO()
        ground.dataset = {"images": images, "annotations": annotations,
                          "categories": [{"id": c, "name": str(c)} for c in range(CLASSES)]}
        ground.createIndex()
        evaluator = COCOeval(ground, ground.loadRes(results), iouType="bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats


def _evaluate(truth, found, batch=5):
    spec = zoo.get_spec("yolo")
    images = np.zeros((len(truth), SIZE, SIZE, 3), "float32")
    batches = [(images[i:i + batch], {"boxes": truth[i:i + batch]}) for i in range(0, len(truth), batch)]
    detector = FixedDetector({k: v[i:i + batch] for k, v in found.items()} for i in range(0, len(truth), batch))
    return get_task("object_detection").evaluate(detector, batches, spec, {}, {"class_names": ["a", "b", "c"]})


def test_the_tasks_map_is_cocoevals_on_the_same_predictions():
    truth, found = _truth_and_detections(np.random.default_rng(0))
    evaluation = _evaluate(truth, found)
    stats = _cocoeval_directly(truth, found)
    assert 0.05 < evaluation.metrics["map_50"] < 0.95  # a non-trivial case
    assert evaluation.metrics["map_50"] == pytest.approx(stats[1], abs=1e-9)
    assert evaluation.metrics["map_50_95"] == pytest.approx(stats[0], abs=1e-9)
    assert evaluation.metrics["map_75"] == pytest.approx(stats[2], abs=1e-9)
    assert {"recall_50", "ap50_a", "ap50_b", "ap50_c"} <= set(evaluation.metrics)
    assert evaluation.scores is None and evaluation.paired_test is None  # the gate compares point estimates


def test_perfect_detections_score_one_and_no_detections_zero():
    truth, _ = _truth_and_detections(np.random.default_rng(1))
    perfect = B.empty_detections(len(truth), truth.shape[1])
    valid = truth[..., 4] >= 0
    perfect["boxes"][valid] = truth[..., :4][valid]
    perfect["scores"][valid] = 0.9
    perfect["classes"][valid] = truth[..., 4][valid].astype("int32")
    metrics = _evaluate(truth, perfect).metrics
    assert metrics["map_50"] == pytest.approx(1.0) and metrics["map_50_95"] == pytest.approx(1.0)
    assert metrics["recall_50"] == pytest.approx(1.0)
    nothing = _evaluate(truth, B.empty_detections(len(truth), 4)).metrics
    assert nothing["map_50"] == 0.0 and nothing["recall_50"] == 0.0


def test_example_map_pads_truncates_and_encodes_and_max_boxes_is_checked():
    spec = zoo.get_spec("yolo")
    task = get_task("object_detection")
    hparams = {**spec.defaults, **spec.small, "max_boxes": 2}
    mapped = task.example_map(spec, hparams, {})
    rows = np.array([[0.1, 0.1, 0.4, 0.4, 2], [0.5, 0.5, 0.9, 0.9, 0], [0.0, 0.6, 0.3, 1.0, 1]], "float32")
    image, targets = mapped(np.zeros((48, 48, 3), "float32"), rows)
    np.testing.assert_allclose(targets["boxes"].numpy(), rows[:2])
    assert targets["encoded"].shape == (6, 6, 5 + 3)
    _, one = mapped(np.zeros((48, 48, 3), "float32"), rows[:1])
    np.testing.assert_allclose(one["boxes"].numpy()[1], [-1] * 5)
    with pytest.raises(ValueError, match="max_boxes"):
        task.example_map(spec, {**hparams, "max_boxes": 0}, {})


def test_nms_pads_keeps_the_best_and_separates_classes():
    boxes = np.array([[[0.1, 0.1, 0.5, 0.5], [0.12, 0.1, 0.5, 0.52], [0.6, 0.6, 0.9, 0.9]]], "float32")
    scores = np.array([[[0.9, 0.05], [0.1, 0.8], [0.7, 0.2]]], "float32")
    agnostic = {k: np.asarray(v) for k, v in B.non_max_suppression(boxes, scores, max_detections=4).items()}
    np.testing.assert_allclose(agnostic["scores"][0], [0.9, 0.7, 0.0, 0.0])
    np.testing.assert_array_equal(agnostic["classes"][0], [0, 0, -1, -1])
    np.testing.assert_allclose(agnostic["boxes"][0, 2:], 0.0)
    per_class = {k: np.asarray(v) for k, v in
                 B.non_max_suppression(boxes, scores, max_detections=4, per_class=True, score_threshold=0.3).items()}
    np.testing.assert_allclose(per_class["scores"][0], [0.9, 0.8, 0.7, 0.0])  # the overlapping class-1 box stays
    np.testing.assert_allclose(per_class["boxes"][0, 1], boxes[0, 1], atol=1e-5)
    assert per_class["classes"].dtype == np.int32


def test_synthetic_boxes_are_the_visible_shapes_relative_padded_and_seeded():
    from zoo.data.shapes import draw_scene, scene_boxes, synthetic_shapes

    splits = synthetic_shapes(n=40, size=SIZE, target="boxes", seed=3)
    assert splits.kind == "detection" and splits.classes == 3
    assert splits.info["class_names"] == ["rectangle", "ellipse", "triangle"]
    y = splits.train.y
    assert y.dtype == np.float32 and y.shape[1:] == (3, 5) and splits.train.x.shape[1:] == (SIZE, SIZE, 3)
    real = y[y[..., 4] >= 0]
    assert np.all((real[:, :4] >= 0) & (real[:, :4] <= 1)) and np.all(real[:, 2:4] > real[:, :2])
    assert np.all(y[y[..., 4] < 0] == -1)
    np.testing.assert_array_equal(y, synthetic_shapes(n=40, size=SIZE, target="boxes", seed=3).train.y)
    scene = draw_scene(np.random.default_rng(5), size=SIZE)
    for row in scene_boxes(scene):  # each box is the tight box of a shape's visible pixels
        y0, x0, y1, x1 = np.round(row[:4] * SIZE).astype(int)
        inside = scene.mask[y0:y1, x0:x1] == row[4] + 1
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()


def test_pictures_and_serving_answer_in_the_sent_images_pixels(tmp_path):
    spec = zoo.get_spec("yolo")
    task = get_task("object_detection")
    hparams = {**spec.defaults, **spec.small}
    model = zoo.build("yolo", **spec.small)
    # Confident everywhere, so the untrained model's detections are not all empty.
    model.network.get_layer("predictions").bias.assign(np.full(model.network.get_layer("predictions").bias.shape, 3.0))
    rng = np.random.default_rng(0)
    images, targets = task.random_batch(spec, hparams, model, 3, rng)
    drawn = task.pictures(model, [(images, targets)], spec, hparams, {"class_names": ["r", "e", "t"]}, str(tmp_path))
    (path,) = drawn.values()
    assert path.endswith(".png") and (tmp_path / "detections.png").stat().st_size > 1000
    served = task.serving_model(model, spec, hparams, {})
    raw = rng.uniform(0, 1, size=(2, 60, 90, 3)).astype("float32")
    answer = {k: np.asarray(v) for k, v in served(raw).items()}
    assert answer["boxes"].shape == (2, B.SERVING_MAX_DETECTIONS, 4) and answer["classes"].dtype == np.int32
    import keras

    resized = keras.ops.convert_to_numpy(keras.layers.Resizing(48, 48)(raw))
    expected = {k: np.asarray(v) for k, v in model.detect(resized, score_threshold=B.SERVING_SCORE_THRESHOLD,
                                                          max_detections=B.SERVING_MAX_DETECTIONS).items()}
    assert (expected["classes"] >= 0).sum() > 0
    np.testing.assert_allclose(answer["boxes"], expected["boxes"] * [60, 90, 60, 90], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(answer["scores"], expected["scores"], rtol=1e-5, atol=1e-6)


def test_yolo_streams_voc_through_preprocess_the_reader_and_the_task_map(tmp_path):
    # TFDS' mock data in place of VOC 2007 (the mock examples of the online loader's own test).
    from conftest import mock_tfds_examples
    from test_online_detection import MOCK_EXAMPLES, VOC, voc_split

    from zoo.data.stream import read
    from zoo.pipeline import steps

    spec = zoo.get_spec("yolo")
    hparams = {**spec.defaults, **spec.small, "classes": 20}
    with mock_tfds_examples(voc_split, num_examples=MOCK_EXAMPLES):
        meta = steps.preprocess("yolo", VOC, str(tmp_path / "prepared"), hparams=hparams,
                                data_dir=str(tmp_path / "tfds"))
        mapped = get_task(spec.task).example_map(spec, hparams, meta.get("info", {}))
        x, y = next(iter(read(str(tmp_path / "prepared"), "test", batch_size=MOCK_EXAMPLES, example_map=mapped)))
    assert meta["prepare"] == {"image_shape": [48, 48, 3], "target": "keep"}
    assert tuple(x.shape) == (MOCK_EXAMPLES, 48, 48, 3)
    assert y["boxes"].shape == (MOCK_EXAMPLES, 3, 5) and y["encoded"].shape == (MOCK_EXAMPLES, 6, 6, 5 + 20)
    # Each true box lands in exactly one grid cell (the mock's boxes do not share cells).
    assert y["encoded"].numpy()[..., 4].sum() == (y["boxes"].numpy()[..., 4] >= 0).sum()
