"""Faster R-CNN: anchors and RPN targets, RoI align, sampling, NMS, the loss, `detect`'s contract, a learning check."""

import numpy as np
import pytest

import zoo
from zoo.models.rcnn import faster_rcnn as rcnn

pytestmark = pytest.mark.xdist_group("faster_rcnn")

SMALL = dict(zoo.get_spec("faster_rcnn").small)


def _hparams(**changes):
    spec = zoo.get_spec("faster_rcnn")
    return rcnn.check_hparams({**spec.defaults, **spec.small, **changes})


# ------------------------------------------------------------------------------------------ anchors, targets
def test_anchors_are_centred_on_each_feature_cell_with_the_asked_sides_and_ratios():
    anchors = rcnn.make_anchors((2, 2), scales=(0.5,), ratios=(1.0, 4.0))
    assert anchors.shape == (2 * 2 * 2, 4) and anchors.dtype == np.float32
    np.testing.assert_allclose(anchors[0], [0.0, 0.0, 0.5, 0.5], atol=1e-6)  # cell (0, 0), square
    np.testing.assert_allclose(anchors[1], [-0.25, 0.125, 0.75, 0.375], atol=1e-6)  # height 1, width 0.25
    np.testing.assert_allclose(anchors[-2], [0.5, 0.5, 1.0, 1.0], atol=1e-6)  # cell (1, 1)


def test_rpn_targets_label_anchors_by_iou_give_every_box_an_anchor_and_ignore_padding():
    hp = _hparams()
    anchors = rcnn.anchors_of(hp)
    encode = rcnn.target_encoder(hp)
    inside = int(np.flatnonzero((anchors.min(axis=1) >= 0.05) & (anchors.max(axis=1) <= 0.9))[0])
    exact = anchors[inside]
    shifted = exact + np.array([0.03, 0.03, 0.03, 0.03], "float32")
    y = np.full((hp["max_boxes"], 5), -1.0, "float32")
    y[0] = [*exact, 2]
    targets = encode(y)
    labels, deltas = np.asarray(targets["rpn_labels"]), np.asarray(targets["rpn_deltas"])
    assert labels.shape == (len(anchors),) and deltas.shape == (len(anchors), 4)
    assert labels[inside] == 1 and np.allclose(deltas[inside], 0.0, atol=1e-5)
    iou = np.asarray(rcnn.keras.utils.bounding_boxes.compute_iou(anchors, exact[None], "yxyx"))[:, 0]
    np.testing.assert_array_equal(labels == 1, iou >= 0.7)
    np.testing.assert_array_equal(labels == 0, iou < 0.3)
    assert np.all(deltas[labels != 1] == 0)
    # A box no anchor overlaps by 0.7 still gets its best anchor; padding rows (-1) label nothing.
    small = np.array([0.40, 0.40, 0.47, 0.47], "float32")
    y[0] = [*small, 0]
    labels = np.asarray(encode(y)["rpn_labels"])
    iou = np.asarray(rcnn.keras.utils.bounding_boxes.compute_iou(anchors, small[None], "yxyx"))[:, 0]
    assert iou.max() < 0.7 and labels[np.argmax(iou)] == 1 and (labels == 1).sum() == (iou == iou.max()).sum()
    y[0] = -1.0
    assert set(np.asarray(encode(y)["rpn_labels"]).tolist()) == {0.0}
    # Deltas decode back to the box (Keras' encoder and decoder).
    y[0] = [*shifted, 1]
    targets = encode(y)
    positive = int(np.flatnonzero(np.asarray(targets["rpn_labels"]) == 1)[0])
    decoded = rcnn.decode(anchors[positive][None], np.asarray(targets["rpn_deltas"])[positive][None])
    np.testing.assert_allclose(np.asarray(decoded)[0], shifted, atol=1e-5)


def test_balanced_sampling_keeps_the_positive_quota_fills_with_negatives_and_never_takes_ignored():
    import keras

    labels = np.zeros((2, 120), "float32")
    labels[0, :10] = 1
    labels[1, :2] = 1
    labels[:, 100:] = -1
    chosen = np.asarray(rcnn.sample_balanced(labels, 16, 0.5, keras.random.SeedGenerator(0)))
    assert chosen.sum(axis=1).tolist() == [16, 16]
    assert chosen[0, :10].sum() == 8 and chosen[1, :2].sum() == 2  # at most half positive
    assert chosen[:, 100:].sum() == 0


# ------------------------------------------------------------------------------------------------ RoI align
def test_roi_align_interpolates_a_known_feature_map_exactly():
    height, width = 6, 8
    yy, xx = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    features = np.stack([10.0 * yy + xx, np.ones_like(yy)], axis=-1)[None].astype("float32")  # linear: exact
    whole = np.asarray(rcnn.roi_align(features, np.array([[[0.0, 0.0, 1.0, 1.0]]], "float32"), size=height,
                                      sampling_ratio=1))
    # One cell per row of the map; columns averaged in pairs of pixels (8 -> 6 cells is not exact, so check rows).
    assert whole.shape == (1, 1, height, height, 2)
    box = np.array([0.25, 0.25, 0.75, 0.625], "float32")  # rows 1.5-4.5, columns 2-5 in pixels
    pooled = np.asarray(rcnn.roi_align(features, box[None, None], size=3, sampling_ratio=2))[0, 0]
    centres_y = (box[0] + (np.arange(3) + 0.5) / 3 * (box[2] - box[0])) * height - 0.5
    centres_x = (box[1] + (np.arange(3) + 0.5) / 3 * (box[3] - box[1])) * width - 0.5
    np.testing.assert_allclose(pooled[..., 0], 10.0 * centres_y[:, None] + centres_x[None, :], atol=1e-4)
    np.testing.assert_allclose(pooled[..., 1], 1.0, atol=1e-6)
    np.testing.assert_allclose(whole[0, 0, :, :, 1], 1.0, atol=1e-6)


# ------------------------------------------------------------------------------------------- training, detect
@pytest.fixture(scope="module")
def trained():
    """A small Faster R-CNN fitted for a few epochs on 16 scenes, with its loss history."""
    import keras

    from zoo.data import load_dataset
    from zoo.tasks import get_task

    keras.utils.set_random_seed(0)
    spec = zoo.get_spec("faster_rcnn")
    hp = _hparams(seed=0)
    splits = load_dataset("synthetic_shapes/boxes", n=40, seed=0)
    images, boxes = splits.train.x[:16], splits.train.y[:16]
    mapped = get_task(spec.task).example_map(spec, hp, splits.info)
    targets = [mapped(images[i], boxes[i])[1] for i in range(len(images))]
    y = keras.tree.map_structure(lambda *parts: np.stack([np.asarray(p) for p in parts]), *targets)
    model = zoo.build("faster_rcnn", **{**SMALL, "seed": 0})
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(images, y, batch_size=8, epochs=12, verbose=0).history["loss"]
    return model, images, y, history


def test_the_four_losses_are_finite_and_training_lowers_their_sum(trained):
    model, images, y, history = trained
    assert history[-1] < 0.5 * history[0], history
    losses = model.detection_losses(model(images[:4], training=True), {"boxes": y["boxes"][:4],
                                                                         "encoded": {k: v[:4] for k, v in
                                                                                     y["encoded"].items()}})
    assert sorted(losses) == ["box_class_loss", "box_regression_loss", "rpn_box_loss", "rpn_objectness_loss"]
    assert all(np.isfinite(float(v)) and float(v) >= 0 for v in losses.values())


def test_detect_returns_the_padded_detector_contract_and_predict_packs_it(trained):
    model, images, _, _ = trained
    found = model.detect(images[:4], score_threshold=0.01, iou_threshold=0.5, max_detections=7)
    boxes, scores, classes = (np.asarray(found[k]) for k in ("boxes", "scores", "classes"))
    assert boxes.shape == (4, 7, 4) and scores.shape == (4, 7) and classes.shape == (4, 7)
    assert boxes.dtype == np.float32 and scores.dtype == np.float32 and classes.dtype == np.int32
    assert boxes.min() >= 0.0 and boxes.max() <= 1.0 and set(classes.ravel()) <= {-1, 0, 1, 2}
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    padded = classes == -1
    assert np.all(scores[padded] == 0) and np.all(boxes[padded] == 0) and np.all(scores[~padded] >= 0.01)
    assert (classes >= 0).any()
    none = model.detect(images[:4], score_threshold=1.0)
    assert np.all(np.asarray(none["classes"]) == -1)
    packed = model.predict(images[:4], verbose=0)
    default = model.detect(images[:4])
    assert packed.shape == (4, model.hparams["max_detections"], 6)
    np.testing.assert_allclose(packed[..., 4], np.asarray(default["scores"]), atol=1e-6)
    np.testing.assert_array_equal(packed[..., 5], np.asarray(default["classes"]))


# ------------------------------------------------------------------------------------------ arguments, styles
@pytest.mark.parametrize("argument,value", [("anchor_scales", ()), ("anchor_scales", (0.5, 2.0)), ("classes", 0),
                                            ("proposal_iou", 1.5), ("backbone_options", "filters=16"),
                                            ("input_shape", (48, 48)), ("seed", 1.5)])
def test_bad_hyperparameters_raise_one_line_naming_the_argument(argument, value):
    with pytest.raises(ValueError, match=f"`{argument}`.*Received: {argument}=") as raised:
        rcnn.FasterRCNN(**{**SMALL, argument: value})
    assert "\n" not in str(raised.value)


def test_the_sequential_style_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="cannot be built as 'sequential': the region proposal network"):
        rcnn.FasterRCNN(style="sequential", **SMALL)


# ------------------------------------------------------------------------------------------- learning check
@pytest.mark.slow
def test_learns_to_detect_synthetic_shapes_far_above_an_untrained_model(tmp_path):
    from zoo.data.stream import read, read_meta
    from zoo.pipeline import steps
    from zoo.tasks import get_task

    spec = zoo.get_spec("faster_rcnn")
    task = get_task(spec.task)
    hparams = {**spec.small, "seed": 0}
    data, model_dir = str(tmp_path / "data"), str(tmp_path / "model")
    steps.preprocess("faster_rcnn", "synthetic_shapes/boxes", data, hparams=hparams, seed=0)
    config = {**spec.defaults, **hparams}
    info = read_meta(data).get("info", {})
    test = read(data, "test", batch_size=64, example_map=task.example_map(spec, config, info))
    before = task.evaluate(zoo.build("faster_rcnn", **hparams), test, spec, config, info).metrics
    steps.train("faster_rcnn", data, model_dir, hparams=hparams, seed=0)
    after = steps.evaluate("faster_rcnn", data, model_dir)["metrics"]
    assert before["map_50"] < 0.05, before
    assert after["map_50"] >= spec.gate.floor and after["map_50_95"] > 0.3, after
