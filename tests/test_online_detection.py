"""voc/2007, streamed from TensorFlow Datasets: the per-example box map and the reader, on mocked TFDS data.

TFDS' automatic mock data cannot generate `voc` (its `objects` sequence gets a random length per feature), so
the mock here supplies VOC-shaped examples (`conftest.mock_tfds_examples`): images, encoded because the
reader skips decoding, and objects with boxes, labels and difficult flags.
"""

import numpy as np
import pytest

from zoo.data.online_detection import VOC, voc_example

MOCK_EXAMPLES = 6


def _jpeg(height=40, width=60):
    import tensorflow as tf

    pixels = np.random.default_rng(height).integers(0, 255, size=(height, width, 3)).astype("uint8")
    return tf.io.encode_jpeg(pixels).numpy()


def _objects(count, difficult):
    boxes = np.array([[0.1 * i, 0.05, 0.1 * i + 0.3, 0.5 + 0.05 * i] for i in range(count)], "float32")
    return {"bbox": boxes, "label": np.arange(count, dtype="int64") * 3, "is_difficult": np.array(difficult),
            "is_truncated": np.zeros(count, bool), "pose": np.zeros(count, "int64")}


def _example(count=3, difficult=(False, True, False)):
    import tensorflow as tf

    return {"image": tf.constant(_jpeg()), "image/filename": tf.constant("000001.jpg"),
            "objects": {k: tf.constant(v) for k, v in _objects(count, difficult).items()}}


def test_voc_example_keeps_the_encoded_image_and_the_boxes_and_classes_of_objects_not_marked_difficult():
    image, y = voc_example(_example())
    assert image.dtype.name == "string" and image.numpy() == _jpeg()
    boxes = _objects(3, (False, True, False))["bbox"]
    np.testing.assert_allclose(y.numpy(), np.concatenate([boxes[[0, 2]], [[0.0], [6.0]]], axis=1))
    assert y.dtype.name == "float32"
    _, none = voc_example(_example(2, (True, True)))
    assert none.shape == (0, 5)


def voc_split(split, count):
    """VOC-shaped examples for `mock_tfds_examples`: 1-3 objects each (the second one difficult)."""
    rng = np.random.default_rng(0)
    objects = [_objects(1 + i % 3, [j == 1 for j in range(1 + i % 3)]) for i in range(count)]
    return {"image": [rng.integers(0, 255, size=(30 + 4 * i, 50, 3)).astype("uint8") for i in range(count)],
            "objects": {key: [o[key] for o in objects] for key in objects[0]}}


def test_voc_streams_through_the_reader_into_fixed_shape_detection_targets(tmp_path):
    from conftest import mock_tfds_examples

    import zoo
    from zoo.data import load_dataset
    from zoo.data.stream import TfdsSplit, read
    from zoo.pipeline import steps
    from zoo.tasks import get_task

    spec = zoo.get_spec("faster_rcnn")
    hparams = {**spec.defaults, **spec.small, "classes": 20}
    with mock_tfds_examples(voc_split, num_examples=MOCK_EXAMPLES):
        splits = load_dataset(VOC, data_dir=str(tmp_path / "tfds"))
        assert splits.kind == "detection" and splits.classes == 20 and splits.streamed
        assert splits.info["class_names"][:2] == ["aeroplane", "bicycle"] and len(splits.info["class_names"]) == 20
        assert isinstance(splits.test, TfdsSplit) and splits.test.split == "test"
        assert splits.val.split == "validation" and splits.train.example_fn.endswith(":voc_example")
        meta = steps.preprocess("faster_rcnn", VOC, str(tmp_path / "prepared"), hparams=hparams,
                                data_dir=str(tmp_path / "tfds"))
        assert meta["format"] == "tfds" and meta["kind"] == "detection" and meta["sizes"]["test"] == MOCK_EXAMPLES
        example_map = get_task(spec.task).example_map(spec, hparams, meta.get("info", {}))
        x, y = next(iter(read(str(tmp_path / "prepared"), "test", batch_size=MOCK_EXAMPLES, example_map=example_map)))
    assert tuple(x.shape) == (MOCK_EXAMPLES, 48, 48, 3) and float(x.numpy().max()) <= 1.0
    boxes = y["boxes"].numpy()
    assert boxes.shape == (MOCK_EXAMPLES, hparams["max_boxes"], 5)
    # Examples with 1, 2, 3 objects, the second difficult (dropped): 1, 1, 2 boxes kept, then -1 padding.
    assert [(row[:, 4] >= 0).sum() for row in boxes] == [1, 1, 2] * 2
    assert set(boxes[..., 4].ravel()) <= {-1.0, 0.0, 6.0}
    assert y["encoded"]["rpn_labels"].shape[0] == MOCK_EXAMPLES
