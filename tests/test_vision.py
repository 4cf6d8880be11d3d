"""Catalog section D beyond the standard model test: the shapes data and the pet masks, FCN's architecture
and sizes, the segmentation task's metrics (mean IoU by hand), what it serves and draws, and (slow) the
learning check that sets fcn's gate floor.
"""

from __future__ import annotations

import numpy as np
import pytest

import zoo

SMALL = {**zoo.get_spec("fcn").defaults, **zoo.get_spec("fcn").small}


def _shapes(n=40, **options):
    from zoo.data import load_dataset

    return load_dataset("synthetic_shapes", n=n, **options)


def _task():
    from zoo.tasks import get_task

    return get_task(zoo.get_spec("fcn").task)


# ------------------------------------------------------------------------------------------------ data
def test_shapes_are_deterministic_per_seed_and_shaped_as_documented():
    first, again, other = _shapes(seed=3), _shapes(seed=3), _shapes(seed=4)
    for (_, a), (_, b) in zip(first.items(), again.items()):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(first.train.x, other.train.x)
    assert first.kind == "segmentation" and first.classes == 4
    assert first.info["class_names"] == ["background", "rectangle", "ellipse", "triangle"]
    assert [len(s) for _, s in first.items()] == [28, 6, 6]
    x, y = first.train.x, first.train.y
    assert x.shape == (28, 32, 32, 3) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert y.shape == (28, 32, 32) and y.dtype == np.int32 and set(np.unique(y)) <= {0, 1, 2, 3}
    # Every image shows at least one shape, and the background dominates without filling everything.
    assert all((m > 0).any() for m in y)
    assert 0.5 < float(np.mean(y == 0)) < 0.95


def test_masks_mark_exactly_the_pixels_painted_in_each_shapes_colour():
    from zoo.data.shapes import PALETTE, draw_scene

    rng = np.random.default_rng(0)
    for _ in range(20):
        scene = draw_scene(rng, size=32, max_shapes=3, noise=0.0)
        painted = np.zeros(scene.mask.shape, dtype=bool)
        for shape in scene.shapes:
            colour = np.asarray(PALETTE[shape.colour])
            painted |= np.all(np.abs(scene.image - colour) <= 0.05 + 1e-6, axis=-1)
            y0, x0, y1, x1 = shape.box
            assert 1 <= shape.label <= 3 and 0 <= y0 < y1 <= 32 and 0 <= x0 < x1 <= 32
        # Without noise, the shape pixels are the pixels in some shape's colour, and nothing else is.
        np.testing.assert_array_equal(scene.mask > 0, painted)
        # The last shape drawn is on top: its label is in the mask.
        assert (scene.mask == scene.shapes[-1].label).any()


def test_shapes_reject_unknown_targets_and_bad_sizes():
    with pytest.raises(ValueError, match="Unknown synthetic_shapes target 'outlines'"):
        _shapes(target="outlines")
    with pytest.raises(ValueError, match="size"):
        _shapes(size=8)


def test_the_adapter_resizes_images_bilinearly_and_masks_to_existing_classes_only():
    from zoo.data import adapt

    spec = zoo.get_spec("fcn")
    splits = adapt(spec, {**SMALL, "input_shape": (64, 64, 3)}, _shapes())
    assert splits.train.x.shape[1:] == (64, 64, 3) and splits.train.x.dtype == np.float32
    assert splits.train.y.shape[1:] == (64, 64) and splits.train.y.dtype == np.int32
    assert set(np.unique(splits.train.y)) <= {0, 1, 2, 3}
    with pytest.raises(ValueError, match="has 4 classes but the model predicts 2; set --hparam classes=4"):
        adapt(spec, {**SMALL, "classes": 2}, _shapes())
    digits = _shapes()
    digits.kind = "image"
    with pytest.raises(ValueError, match="segmentation data"):
        adapt(spec, SMALL, digits)


def test_oxford_pets_stream_through_tfds_with_its_mock_data_and_train_a_step(tmp_path):
    """The pets stream (never loaded whole): images and masks at unrelated natural sizes are each resized to
    the model's input by the reader, the mask by nearest neighbour into the three classes; FCN trains a step."""
    from conftest import mock_tfds_examples

    from zoo.data import load_dataset
    from zoo.data.stream import read
    from zoo.pipeline import steps

    def pets(split, count):  # TFDS' random mocks draw invalid head boxes (ymin > ymax) now and then
        rng = np.random.default_rng(len(split))
        sides = [tuple(int(v) for v in rng.integers(20, 60, 2)) for _ in range(count)]
        return {"image": [rng.integers(0, 256, (*side, 3), dtype="uint8") for side in sides],
                "segmentation_mask": [rng.integers(1, 4, (side[0] // 2, side[1], 1), dtype="uint8") for side in sides]}

    hparams = {**SMALL, "classes": 3}
    with mock_tfds_examples(pets, num_examples=6):
        splits = load_dataset("oxford_iiit_pet", data_dir=str(tmp_path / "tfds"))
        assert splits.kind == "segmentation" and splits.classes == 3 and splits.streamed
        assert splits.info["class_names"] == ["pet", "background", "outline"]
        data = str(tmp_path / "data")
        meta = steps.preprocess("fcn", "oxford_iiit_pet", data, hparams=hparams, data_dir=str(tmp_path / "tfds"))
        assert meta["format"] == "tfds" and meta["prepare"]["target"] == "mask"
        x, y = (t.numpy() for t in next(iter(read(data, "test", batch_size=6))))
        trained = steps.train("fcn", data, str(tmp_path / "model"), hparams=hparams, epochs=1, batch_size=3)
    size = tuple(zoo.get_spec("fcn").inputs(hparams)["image"].shape[:2])
    assert x.shape[1:3] == size and y.shape[1:] == size and y.dtype == np.int32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(np.unique(y)) <= {0, 1, 2}
    assert trained["epochs_run"] == 1 and np.isfinite(trained["history"]["loss"]).all()


# ----------------------------------------------------------------------------------------------- model
@pytest.mark.slow
def test_canonical_sizes_are_the_papers_vgg16_networks():
    # Built layer by layer without a model: the counts of the 224x224 VGG-16 networks, cheaply.
    import keras

    from zoo.models.vision.fcn import fcn_forward, fcn_layers

    for skips, expected in ((0, 136_152_917), (2, 134_489_759)):
        layers = fcn_layers(skips=skips)
        fcn_forward(layers, keras.KerasTensor((None, 224, 224, 3)))
        assert sum(layer.count_params() for layer in layers.in_call_order()) == expected, skips


@pytest.mark.parametrize("style", ["functional", "subclass"])
@pytest.mark.parametrize("skips", [1, 2])
def test_skip_connections_fuse_finer_pooling_outputs_at_the_input_size(style, skips):
    three_blocks = {**SMALL, "block_filters": (8, 16, 32), "block_convs": (1, 1, 1), "fc_units": 16}
    model = zoo.build("fcn", style=style, **{**three_blocks, "skips": skips})
    names = {layer.name for layer in (model.layers if style == "functional" else model.stack)}
    fused = {f"score_pool{level}" for level in range(1, 3)} & names
    assert fused == {f"score_pool{3 - i}" for i in range(1, skips + 1)}
    assert f"upscore{2 ** (3 - skips)}" in names
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    y = model.predict(x, verbose=0)
    assert y.shape == (2, 32, 32, 4)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-5)
    # The skip scores start at zero (the paper's initialisation): training starts from the coarser network.
    for layer in fused:
        assert not np.any(model.get_layer(layer).get_weights()[0])


def test_with_skips_the_functional_and_subclass_styles_hold_the_same_weights_and_function():
    config = {**SMALL, "block_filters": (8, 16, 32), "block_convs": (1, 1, 1), "fc_units": 16, "skips": 2}
    functional, subclass = zoo.build("fcn", **config), zoo.build("fcn", style="subclass", **config)
    rng = np.random.default_rng(0)
    # Random weights everywhere, so the zero-initialised skip scores take part.
    weights = [rng.normal(scale=0.2, size=w.shape).astype("float32") for w in functional.get_weights()]
    functional.set_weights(weights)
    assert [w.shape for w in subclass.get_weights()] == [w.shape for w in weights]
    subclass.set_weights(weights)
    x = rng.uniform(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(subclass.predict(x, verbose=0), functional.predict(x, verbose=0), atol=1e-6)


def test_the_sequential_style_and_bad_arguments_fail_with_one_actionable_line():
    with pytest.raises(ValueError, match="use style='functional' or 'subclass', or skips=0"):
        zoo.build("fcn", style="sequential", **{**SMALL, "skips": 1})
    with pytest.raises(ValueError, match="multiples of the encoder's stride 4"):
        zoo.build("fcn", **{**SMALL, "input_shape": (30, 32, 3)})
    with pytest.raises(ValueError, match="`skips` must be an integer from 0 to 1"):
        zoo.build("fcn", **{**SMALL, "skips": 2})
    with pytest.raises(ValueError, match="one entry per encoder block each"):
        zoo.build("fcn", **{**SMALL, "block_convs": (2,)})


def test_transposed_convolutions_start_as_bilinear_upsampling():
    from zoo.models.vision.fcn import BilinearUpsampling

    kernel = np.asarray(BilinearUpsampling()((4, 4, 2, 2)))
    profile = np.array([0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(kernel[:, :, 0, 0], np.outer(profile, profile))
    assert not kernel[:, :, 0, 1].any() and not kernel[:, :, 1, 0].any()


def test_fully_convolutional_with_an_open_input_size():
    model = zoo.build("fcn", style="subclass", **{**SMALL, "input_shape": (None, None, 3)})
    assert model.predict(np.zeros((1, 24, 40, 3), "float32"), verbose=0).shape == (1, 24, 40, 4)


# ------------------------------------------------------------------------------------------------ task
class _FixedModel:
    """Stands in for a segmenter: returns the given probabilities for the examples whose ids it receives."""

    def __init__(self, probabilities):
        self.probabilities = probabilities
        self.output_shape = (None, *probabilities.shape[1:])

    def predict_on_batch(self, ids):
        return self.probabilities[np.asarray(ids)]


def test_mean_iou_is_the_confusion_matrix_iou_over_the_classes_seen():
    truth = np.array([[[0, 0, 1], [1, 2, 2]],
                      [[0, 0, 0], [2, 2, 1]]], dtype="int32")
    guess = np.array([[[0, 1, 1], [1, 2, 0]],
                      [[0, 0, 0], [2, 1, 1]]])
    classes = 4  # class 3 is neither true nor predicted anywhere: it has no IoU and does not count
    # Probabilities, not one-hot: 0.55 on the guessed class, the rest spread (MeanIoU must take the argmax).
    probabilities = np.full((*guess.shape, classes), 0.15, dtype="float32")
    np.put_along_axis(probabilities, guess[..., None], 0.55, axis=-1)
    # By hand: class 0: TP 4, FP 1 (truth 2 at [0,1,2]), FN 1 ([0,0,1]) -> 4/6
    #          class 1: TP 3, FP 2 ([0,0,1], [1,1,1]), FN 0 -> 3/5
    #          class 2: TP 2, FP 0, FN 2 ([0,1,2], [1,1,1]) -> 2/4
    expected = {"iou_class_0": 4 / 6, "iou_class_1": 3 / 5, "iou_class_2": 2 / 4}
    batches = [(np.array([0]), truth[:1]), (np.array([1]), truth[1:])]
    spec = zoo.get_spec("fcn")
    result = _task().evaluate(_FixedModel(probabilities), batches, spec, {**SMALL, "classes": classes}, {})
    for name, value in expected.items():
        assert result.metrics[name] == pytest.approx(value, rel=1e-6)
    assert "iou_class_3" not in result.metrics
    assert result.metrics["mean_iou"] == pytest.approx(np.mean(list(expected.values())), rel=1e-6)
    assert result.metrics["pixel_accuracy"] == pytest.approx((4 / 6 + 5 / 6) / 2)
    assert result.metrics["loss"] == pytest.approx(
        np.mean(np.where(truth == guess, -np.log(0.55), -np.log(0.15))), rel=1e-5)
    assert np.asarray(result.confusion_matrix).sum() == truth.size
    # Mean IoU is one matrix over all pixels: a point estimate, no per-example scores for the gate.
    assert result.scores is None and result.paired_test is None
    assert spec.gate.metric == "mean_iou" and spec.gate.metric in _task().metric_names


def test_pixel_accuracy_is_a_per_image_mean_the_gate_can_pair():
    from zoo.metrics import get_metric

    metric = get_metric("pixel_accuracy")
    truth = np.array([[[1, 0], [0, 0]], [[1, 1], [1, 1]]])
    guess = np.eye(2, dtype="float32")[np.array([[[1, 0], [0, 1]], [[0, 0], [1, 1]]])]
    np.testing.assert_allclose(metric.per_example(truth, guess), [0.75, 0.5])
    assert metric.direction == "max" and metric.paired_test == "paired_t"
    assert get_metric("mean_iou").per_example is None


def test_training_through_the_task_tracks_mean_iou_and_evaluates_and_draws(tmp_path):
    import tensorflow as tf

    spec = zoo.get_spec("fcn")
    task = _task()
    splits = _shapes(n=24)
    model = zoo.build("fcn", **SMALL)
    task.compile(model, spec, SMALL, learning_rate=1e-3)
    history = model.fit(splits.train.x, splits.train.y, validation_data=(splits.val.x, splits.val.y),
                        batch_size=8, epochs=1, verbose=0)
    assert {"mean_iou", "val_mean_iou", "accuracy"} <= set(history.history)
    batches = tf.data.Dataset.from_tensor_slices((splits.test.x, splits.test.y)).batch(2)
    result = task.evaluate(model, batches, spec, SMALL, {"classes": 4})
    assert 0.0 <= result.metrics["mean_iou"] <= 1.0 and 0.0 <= result.metrics["pixel_accuracy"] <= 1.0
    drawn = task.pictures(model, batches, spec, SMALL, splits.info, str(tmp_path))
    (path,) = drawn.values()
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_served_model_returns_int_masks_at_the_requests_size(tmp_path):
    import keras
    import tensorflow as tf

    spec = zoo.get_spec("fcn")
    model = zoo.build("fcn", **SMALL)
    serving = _task().serving_model(model, spec, SMALL, {"classes": 4})
    export = str(tmp_path / "saved_model")
    serving.export(export, verbose=False)
    served = tf.saved_model.load(export).signatures["serving_default"]
    images = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    (mask,) = served(image=tf.constant(images)).values()
    assert mask.dtype == tf.int32 and tuple(mask.shape) == (2, 32, 32)
    # At the model's own size the mask is the argmax of its probabilities.
    np.testing.assert_array_equal(mask.numpy(), np.argmax(model.predict(images, verbose=0), axis=-1))
    (other,) = served(image=tf.constant(np.zeros((1, 48, 40, 3), "float32"))).values()
    assert tuple(other.shape) == (1, 48, 40)
    assert set(np.unique(other.numpy())) <= {0, 1, 2, 3}
    # The serving model is made of registered layers only: it reloads in safe mode.
    path = str(tmp_path / "serving.keras")
    serving.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(np.asarray(reloaded.predict(images, verbose=0)), mask.numpy())


# ----------------------------------------------------------------------------------------------- learning
def test_fcn_learns_to_segment_shapes_in_a_few_epochs():
    """The segmentation kind's learning check in the fast suite (its pipeline run trains one epoch): six
    epochs of the recipe take the test mean IoU from about 0.03 to about 0.72, far above the 0.23 of a model
    that calls every pixel background (about 10 s)."""
    import keras
    import tensorflow as tf

    from zoo.data import adapt, load_dataset

    keras.utils.set_random_seed(0)
    spec = zoo.get_spec("fcn")
    splits = adapt(spec, SMALL, load_dataset("synthetic_shapes"))
    model = zoo.build("fcn", **spec.small)
    _task().compile(model, spec, SMALL, learning_rate=spec.recipe.learning_rate)
    model.fit(splits.train.x, splits.train.y, batch_size=spec.recipe.batch_size, epochs=6, verbose=0)
    batches = tf.data.Dataset.from_tensor_slices((splits.test.x, splits.test.y)).batch(256)
    result = _task().evaluate(model, batches, spec, SMALL, {"classes": splits.classes})
    assert result.metrics["mean_iou"] > 0.55 and result.metrics["pixel_accuracy"] > 0.93, result.metrics


@pytest.mark.slow
def test_fcn_learns_to_segment_shapes_by_its_recipe():
    """The small FCN, trained as the pipeline trains it, clears the gate floor on unseen scenes."""
    import tensorflow as tf

    from tests.recipes import fit_by_recipe
    from zoo.data import adapt, load_dataset

    spec = zoo.get_spec("fcn")
    splits = adapt(spec, SMALL, load_dataset("synthetic_shapes"))
    model = fit_by_recipe("fcn", splits, **spec.small)
    batches = tf.data.Dataset.from_tensor_slices((splits.test.x, splits.test.y)).batch(256)
    result = _task().evaluate(model, batches, spec, SMALL, {"classes": splits.classes})
    assert result.metrics["mean_iou"] >= spec.gate.floor + 0.05
    assert result.metrics["pixel_accuracy"] >= 0.95
