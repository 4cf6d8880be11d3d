"""Datasets by name: deterministic splits, adaptation to a model, TFDS through its mock data."""

import numpy as np
import pytest

import zoo
from zoo.data import adapt, list_datasets, load_dataset


def test_digits_splits_are_deterministic_disjoint_and_stratified():
    a, b = load_dataset("digits", seed=0), load_dataset("digits", seed=0)
    np.testing.assert_array_equal(a.test.x, b.test.x)
    assert (len(a.train), len(a.val), len(a.test)) == (1257, 270, 270)
    assert a.train.x.shape[1:] == (8, 8, 1) and 0 <= a.train.x.min() and a.train.x.max() <= 1
    assert set(np.unique(a.test.y)) == set(range(10))
    c = load_dataset("digits", seed=1)
    assert not np.array_equal(a.test.y, c.test.y)


def test_logic_gates_and_xor():
    gates = load_dataset("synthetic_logic_gates", gate="nand")
    x, y = gates.train.x, gates.train.y
    assert set(map(tuple, x.astype(int))) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert all(yy == (0 if tuple(xx) == (1, 1) else 1) for xx, yy in zip(x.astype(int), y))
    xor = load_dataset("synthetic_xor")
    assert all(yy == (xx[0] ^ xx[1]) for xx, yy in zip(xor.test.x.astype(int), xor.test.y))
    with pytest.raises(ValueError, match="Unknown logic gate 'xnor'"):
        load_dataset("synthetic_logic_gates", gate="xnor")


def test_adapt_resizes_digits_to_the_models_input_and_encodes_labels():
    spec = zoo.get_spec("lenet5")
    splits = adapt(spec, spec.defaults, load_dataset("digits"))
    assert splits.train.x.shape == (1257, 32, 32, 1) and splits.train.y.dtype == np.int32
    rgb = adapt(spec, {**spec.defaults, "input_shape": (16, 16, 3)}, load_dataset("digits"))
    assert rgb.test.x.shape == (270, 16, 16, 3)
    onehot = adapt(zoo.get_spec("dnn_categorical"), zoo.get_spec("dnn_categorical").defaults, load_dataset("digits"))
    assert onehot.val.x.shape == (270, 784) and onehot.val.y.shape == (270, 10)
    np.testing.assert_array_equal(onehot.val.y.sum(axis=1), 1)


def test_unknown_dataset_names_close_matches():
    with pytest.raises(ValueError, match="Unknown dataset 'digit'. Did you mean 'digits'"):
        load_dataset("digit")
    assert {"digits", "iris", "breast_cancer", "diabetes", "mnist", "synthetic_xor"} <= set(list_datasets())


def test_mnist_streams_through_tfds_with_its_mock_data_at_the_models_input_size(tmp_path):
    import tensorflow_datasets as tfds

    from zoo.data.stream import TfdsSplit, read
    from zoo.pipeline import steps

    with tfds.testing.mock_data(num_examples=12):
        splits = load_dataset("mnist", data_dir=str(tmp_path))
        assert splits.kind == "image" and splits.classes == 10 and splits.streamed
        assert isinstance(splits.train, TfdsSplit) and splits.test.split == "test"
        meta = steps.preprocess("lenet5", "mnist", str(tmp_path / "prepared"), data_dir=str(tmp_path / "tfds"))
        assert meta["format"] == "tfds" and meta["sizes"]["test"] == 12
        assert meta["splits"]["train"]["split"] == "train[:90%]" and meta["splits"]["test"]["data_dir"]
        x, y = next(iter(read(str(tmp_path / "prepared"), "test", batch_size=12)))
    assert tuple(x.shape) == (12, 32, 32, 1) and x.dtype.name == "float32" and float(x.numpy().max()) <= 1.0
    assert y.dtype.name == "int32"


def test_generators_stream_mnist_at_the_size_they_learn_and_nade_binarises_it(tmp_path):
    import tensorflow_datasets as tfds

    from zoo.data.stream import read
    from zoo.pipeline import steps
    from zoo.tasks import get_task

    with tfds.testing.mock_data(num_examples=12):
        for name, shape in (("dcgan", (28, 28, 1)), ("nade", (28, 28, 1))):
            spec = zoo.get_spec(name)
            hparams = {**spec.defaults}
            prepared = str(tmp_path / name)
            meta = steps.preprocess(name, "mnist", prepared, data_dir=str(tmp_path / "tfds"))
            assert meta["format"] == "tfds" and meta["prepare"]["image_shape"] == list(shape)
            example_map = get_task(spec.task).example_map(spec, hparams, meta.get("info", {}))
            batch = next(iter(read(prepared, "test", batch_size=12, example_map=example_map)))
            images = batch[0] if isinstance(batch, tuple) else batch
            assert tuple(images.shape) == (12, *shape), name
            if name == "nade":
                assert set(np.unique(images.numpy())) <= {0.0, 1.0}
        # sgan keeps a label budget over whole arrays: it says so in one line rather than streaming.
        with pytest.raises(ValueError, match="sgan's data adapter works on whole arrays"):
            steps.preprocess("sgan", "mnist", str(tmp_path / "sgan"), data_dir=str(tmp_path / "tfds"))
