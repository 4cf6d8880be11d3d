"""YOLOv1 (`zoo.models.detection.yolo`): target encoding, the loss, `detect`'s contract, argument errors and
learning checks (a quick memorisation check here, a seeded mAP@0.5 check on synthetic_shapes/boxes in the slow
tier). The standard model test covers the three styles, configs, `.keras` files and mixed precision."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.models.detection import yolo
from zoo.tasks import get_task

pytestmark = pytest.mark.xdist_group("yolo")

TINY = {"input_shape": (32, 32, 3), "classes": 3, "grid_size": 4, "max_boxes": 3, "batch_norm": True,
        "conv_layers": ((8, 3, 1), "M", (16, 3, 1), "M"), "fc_units": 32, "dropout": 0.0}


def _hparams(**extra):
    return {**zoo.get_spec("yolo").defaults, **TINY, **extra}


def test_targets_round_trip_and_a_shared_cell_keeps_its_largest_object():
    encode = yolo.target_encoder(_hparams())
    rows = np.array([[0.05, 0.05, 0.20, 0.30, 2], [0.55, 0.60, 0.95, 0.90, 0], [-1, -1, -1, -1, -1]], "float32")
    grid = encode(rows).numpy()
    assert grid.shape == (4, 4, 8) and grid[..., 4].sum() == 2
    assert grid[0, 0, 4] == 1 and grid[3, 3, 4] == 1  # the cells of the centres (0.125, 0.175), (0.75, 0.75)
    decoded = yolo.decode_targets(grid)
    np.testing.assert_allclose(decoded[np.argsort(decoded[:, 0])], rows[:2], atol=1e-6)
    shared = np.array([[0.02, 0.02, 0.22, 0.22, 1], [0.0, 0.0, 0.24, 0.24, 2]], "float32")  # same cell (0, 0)
    np.testing.assert_allclose(yolo.decode_targets(encode(shared).numpy()), shared[1:], atol=1e-6)


def _batch(seed=0, batch=8):
    spec = zoo.get_spec("yolo")
    model = zoo.build("yolo", **TINY)
    images, targets = get_task("object_detection").random_batch(spec, _hparams(), model, batch,
                                                                np.random.default_rng(seed))
    return model, images, targets


def test_loss_is_finite_has_its_four_terms_and_falls_with_training():
    import keras

    keras.utils.set_random_seed(0)
    model, images, targets = _batch()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(images, targets, epochs=15, batch_size=8, verbose=0).history
    assert {"coord_loss", "object_loss", "no_object_loss", "class_loss"} <= set(history)
    assert np.all(np.isfinite(history["loss"])) and history["loss"][-1] < 0.5 * history["loss"][0]


def test_detect_follows_the_detector_contract():
    model, images, _ = _batch(batch=3)
    found = model.detect(images, score_threshold=0.0, max_detections=7)
    boxes, scores, classes = (np.asarray(found[k]) for k in ("boxes", "scores", "classes"))
    assert boxes.shape == (3, 7, 4) and scores.shape == (3, 7) and classes.shape == (3, 7)
    assert boxes.dtype == np.float32 and scores.dtype == np.float32 and classes.dtype == np.int32
    assert np.all((boxes >= 0) & (boxes <= 1)) and np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    empty = {k: np.asarray(v) for k, v in model.detect(images, score_threshold=1.1, max_detections=2).items()}
    assert np.all(empty["classes"] == -1) and np.all(empty["scores"] == 0) and np.all(empty["boxes"] == 0)


@pytest.mark.parametrize("argument,value", [("grid_size", 0), ("classes", 0), ("conv_layers", ((8, 3),)),
                                            ("conv_layers", ()), ("dropout", 1.0), ("coord_weight", -1.0),
                                            ("input_shape", (32, 32)), ("max_boxes", 1.5)])
def test_bad_hyperparameters_raise_one_line_naming_the_argument(argument, value):
    with pytest.raises(ValueError, match=f"`{argument}`.*Received: {argument}="):
        zoo.build("yolo", **{**TINY, argument: value})


def test_the_paper_configuration_has_its_parameter_count_without_being_built():
    # Counted from the layers' shapes (building 271M parameters takes a gigabyte): 24 convolutions, two dense.
    channels, side, params, convolutions = 3, 448, 0, 0
    for entry in zoo.get_spec("yolo").defaults["conv_layers"]:
        if entry == yolo.POOL:
            side = -(-side // 2)
            continue
        filters, kernel, stride = entry
        params += kernel * kernel * channels * filters + filters
        channels, side, convolutions = filters, -(-side // stride), convolutions + 1
    params += side * side * channels * 4096 + 4096 + 4096 * 7 * 7 * 30 + 7 * 7 * 30
    assert (convolutions, side, params) == (24, 7, 271_703_550)


@pytest.mark.slow
def test_the_paper_configuration_builds_with_its_parameter_count():
    assert zoo.build("yolo").count_params() == 271_703_550


def _shapes_data(n=None, seed=0):
    from zoo.data import adapt, load_dataset

    spec = zoo.get_spec("yolo")
    hparams = {**spec.defaults, **spec.small}
    options = {} if n is None else {"n": n}
    return spec, hparams, adapt(spec, hparams, load_dataset("synthetic_shapes/boxes", seed=seed, **options))


def _mapped(spec, hparams, split, batch=32):
    import tensorflow as tf

    example_map = get_task("object_detection").example_map(spec, hparams, {})
    return tf.data.Dataset.from_tensor_slices((split.x, split.y)).map(example_map).batch(batch)


def test_quick_learning_check_it_learns_to_find_the_shapes_it_trains_on():
    import keras

    keras.utils.set_random_seed(0)
    spec, hparams, splits = _shapes_data(60)
    task = get_task("object_detection")
    # Without batch normalisation: its moving statistics need more steps than this check takes to settle.
    model = zoo.build("yolo", **{**spec.small, "batch_norm": False})
    data = _mapped(spec, hparams, splits.train, batch=6).cache()
    whole = data.unbatch().batch(64)  # one detect call for the whole split
    untrained = task.evaluate(model, whole, spec, hparams, splits.info).metrics["map_50"]
    task.compile(model, spec, hparams, learning_rate=3e-3)
    model.fit(data, epochs=25, verbose=0)
    trained = task.evaluate(model, whole, spec, hparams, splits.info).metrics["map_50"]
    assert untrained < 0.02 and trained > 0.5, (untrained, trained)


@pytest.mark.slow
def test_learning_check_reaches_a_clearly_non_trivial_map_on_unseen_synthetic_shapes():
    import keras

    keras.utils.set_random_seed(0)
    spec, hparams, splits = _shapes_data()
    task = get_task("object_detection")
    model = zoo.build("yolo", **spec.small)
    task.compile(model, spec, hparams, learning_rate=spec.recipe.learning_rate)
    model.fit(_mapped(spec, hparams, splits.train).shuffle(64, seed=0), epochs=spec.recipe.epochs, verbose=0)
    metrics = task.evaluate(model, _mapped(spec, hparams, splits.test), spec, hparams, splits.info).metrics
    assert metrics["map_50"] > spec.gate.floor, metrics
