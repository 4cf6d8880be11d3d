"""Data that streams: TFDS references and TFRecord shards, the one reader, epoch-keyed shuffles, preemption."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from zoo.data.stream import EpochSeed, read
from zoo.pipeline import steps

# Its module-scoped fixtures are expensive: `make test` keeps the module on one worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("stream")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
SMALL_IMAGES = {"input_shape": (32, 32, 3), "classes": 4}
OPTIONS = {"n": 120, "classes": 4, "size": 40}


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("shards") / "data")
    steps.preprocess("simple_cnn", "synthetic_imagenet", folder, hparams=SMALL_IMAGES, dataset_options=OPTIONS)
    return folder


def test_generated_photos_are_written_as_jpeg_shards_with_a_stable_fingerprint(shards, tmp_path):
    meta = steps.read_meta(shards)
    assert meta["format"] == "tfrecord" and meta["sizes"] == {"train": 96, "val": 12, "test": 12}
    train = meta["splits"]["train"]
    assert train["encoding"] == "jpeg" and train["shards"] == 1
    assert sorted(os.listdir(shards)) == ["meta.json", "test-00000-of-00001.tfrecord",
                                          "train-00000-of-00001.tfrecord", "val-00000-of-00001.tfrecord"]
    again = steps.preprocess("simple_cnn", "synthetic_imagenet", str(tmp_path / "again"), hparams=SMALL_IMAGES,
                             dataset_options=OPTIONS)
    other = steps.preprocess("simple_cnn", "synthetic_imagenet", str(tmp_path / "other"), hparams=SMALL_IMAGES,
                             dataset_options=OPTIONS, seed=1)
    assert again["test_fingerprint"] == meta["test_fingerprint"] != other["test_fingerprint"]
    with pytest.raises(ValueError, match="load_prepared|streamed"):
        steps.load_prepared(shards, "test")


def test_the_reader_decodes_and_resizes_natural_sizes_per_example(shards):
    x, y = next(iter(read(shards, "test", batch_size=12)))
    assert tuple(x.shape) == (12, 32, 32, 3) and x.dtype.name == "float32"
    assert 0.0 <= float(x.numpy().min()) and float(x.numpy().max()) <= 1.0
    assert y.dtype.name == "int32" and set(y.numpy().tolist()) <= set(range(4))


def _order(folder, epoch, seed=0, **kwargs):
    epoch_seed = EpochSeed(seed)
    epoch_seed.set_epoch(epoch)
    labels, sums = [], []
    for x, y in read(folder, "train", batch_size=16, shuffle=True, seed=epoch_seed, **kwargs):
        labels += y.numpy().tolist()
        sums += np.round(x.numpy().reshape(len(y), -1).sum(axis=1), 3).tolist()
    return list(zip(labels, sums))


def test_each_epochs_order_depends_on_the_seed_and_the_epoch_only(shards):
    first, again, second = _order(shards, 0), _order(shards, 0), _order(shards, 1)
    assert first == again  # a fresh reader (a resumed process) rebuilds epoch 0's order exactly
    assert first != second and sorted(first) == sorted(second)  # another permutation of the same examples
    assert _order(shards, 0, seed=5) != first
    # A bounded buffer still visits every example once.
    assert sorted(_order(shards, 3, shuffle_buffer=8)) == sorted(first)


def test_evaluation_reads_in_a_fixed_order(shards):
    def labels():
        return np.concatenate([y.numpy() for _, y in read(shards, "test", batch_size=5)]).tolist()

    assert labels() == labels()


@pytest.mark.parametrize("model,dataset,hparams", [
    ("transfer_learning", "cats_vs_dogs", {"backbone": "resnet18", "input_shape": (48, 48, 3), "classes": 2,
                                           "trainable_from": 0}),
    ("alexnet", "imagenet2012", {"input_shape": (64, 64, 3), "classes": 1000, "fc_units": 32}),
])
def test_real_datasets_stream_through_tfds_at_natural_sizes_and_train_a_step(model, dataset, hparams, tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=16):  # TFDS' mock images have random sides of 5 to 50 pixels
        meta = steps.preprocess(model, dataset, str(tmp_path / "data"), hparams=hparams,
                                data_dir=str(tmp_path / "tfds"))
        assert meta["format"] == "tfds" and meta["splits"]["train"]["name"] == dataset
        trained = steps.train(model, str(tmp_path / "data"), str(tmp_path / "model"), hparams=hparams, epochs=1,
                              batch_size=8)
        evaluation = steps.evaluate(model, str(tmp_path / "data"), str(tmp_path / "model"))
    assert trained["epochs_run"] == 1 and np.isfinite(trained["history"]["loss"]).all()
    assert evaluation["examples"] == 16 and np.isfinite(evaluation["value"])
    if dataset == "imagenet2012":  # TFDS cannot download it: the archives' folder is recorded
        assert meta["splits"]["train"]["manual_dir"].endswith(os.path.join("downloads", "manual"))
        assert meta["splits"]["test"]["split"] == "validation"


def _train_code(data, model_dir, backup, log, kill_at=-1):
    return textwrap.dedent(f"""
    import json, os, signal
    import keras

    class Logged(keras.callbacks.TerminateOnNaN):
        # Takes TerminateOnNaN's place among train's callbacks: logs each epoch, and dies as a preempted VM.
        def on_epoch_end(self, epoch, logs=None):
            with open({log!r}, "a") as f:
                f.write(json.dumps({{"epoch": epoch, "loss": float(logs["loss"])}}) + "\\n")

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == {kill_at}:
                os.kill(os.getpid(), signal.SIGKILL)

    keras.callbacks.TerminateOnNaN = Logged
    from zoo.pipeline import steps
    # No dropout: Keras' random state is not part of a backup, so only the data order can differ here.
    steps.train("simple_cnn", {data!r}, {model_dir!r}, hparams={{**{SMALL_IMAGES!r}, "dropout": 0.0}}, epochs=3,
                batch_size=16,
                backup_dir={backup!r})
    """)


def _run(code):
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": ROOT, "TF_DETERMINISTIC_OPS": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_a_preempted_run_on_shards_resumes_with_the_same_epoch_orders(shards, tmp_path):
    """Killed as epoch 2 begins and retried, training on shards ends exactly as a run that never stopped."""
    straight_log, resumed_log = str(tmp_path / "straight.jsonl"), str(tmp_path / "resumed.jsonl")
    straight = _run(_train_code(shards, str(tmp_path / "m1"), str(tmp_path / "b1"), straight_log))
    assert straight.returncode == 0, straight.stderr[-3000:]
    killed = _run(_train_code(shards, str(tmp_path / "m2"), str(tmp_path / "b2"), resumed_log, kill_at=2))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    resumed = _run(_train_code(shards, str(tmp_path / "m2"), str(tmp_path / "b2"), resumed_log))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    reference = [json.loads(line) for line in open(straight_log)]
    attempts = [json.loads(line) for line in open(resumed_log)]
    assert [e["epoch"] for e in attempts] == [0, 1, 2]  # epochs 0-1, killed, then epoch 2 of the retry
    # Same weights and the same epoch-2 order give the same epoch-2 loss as the uninterrupted run.
    np.testing.assert_allclose([e["loss"] for e in attempts], [e["loss"] for e in reference], rtol=1e-5)


def test_a_prepared_dataset_missing_a_shard_or_of_an_unknown_format_is_a_one_line_error(shards, tmp_path):
    import json
    import shutil

    broken = str(tmp_path / "broken")
    shutil.copytree(shards, broken)
    os.remove(os.path.join(broken, "train-00000-of-00001.tfrecord"))
    with pytest.raises(ValueError, match=r"should have 1 shards; found 0\. Run preprocess again\."):
        read(broken, "train", batch_size=4)
    meta = steps.read_meta(shards)
    with open(os.path.join(broken, "meta.json"), "w") as f:
        json.dump({**meta, "format": "parquet"}, f)
    with pytest.raises(ValueError, match="Unknown dataset format 'parquet'.*Allowed: arrays, tfds, tfrecord"):
        read(broken, "test", batch_size=4)


def boxes_of(example):
    """A TFDS VOC example as (encoded image, (M, 5) [ymin, xmin, ymax, xmax, class]): a structured label."""
    import tensorflow as tf

    objects = example["objects"]
    label = tf.cast(objects["label"], tf.float32)[:, None]
    return example["image"], tf.concat([tf.cast(objects["bbox"], tf.float32), label], axis=1)


def test_structured_labels_stream_through_an_example_fn_with_varying_sizes(tmp_path):
    """A TfdsSplit with `example_fn` streams (image, boxes) pairs whose box counts differ between examples: the
    reader decodes and resizes the image to the model's input, keeps the label as it is ("keep"), and the
    bounded shuffle (ragged blocks) gives each example back whole and unchanged."""
    import tensorflow as tf
    from conftest import mock_tfds_examples

    from zoo.data.stream import TfdsSplit, write_tfds_reference

    def voc_like(split, count):
        rng = np.random.default_rng(0)
        sizes = [int(rng.integers(1, 5)) for _ in range(count)]
        corners = [np.sort(rng.uniform(0, 1, (n, 2, 2)), axis=1).reshape(n, 4)[:, [0, 2, 1, 3]] for n in sizes]
        return {"image": [rng.integers(0, 256, (int(rng.integers(20, 50)), 37, 3), dtype="uint8") for _ in sizes],
                "objects": {"bbox": [c.astype("float32").tolist() for c in corners],
                            "label": [rng.integers(0, 20, n).tolist() for n in sizes]}}

    source = TfdsSplit("voc/2007", "train", example_fn=f"{__name__}:boxes_of")
    with mock_tfds_examples(voc_like, num_examples=12):
        described = write_tfds_reference(str(tmp_path), "train", source, str(tmp_path / "tfds"))
        meta = {"format": "tfds", "splits": {"train": described}, "sizes": {"train": described["examples"]},
                "classes": 20, "prepare": {"image_shape": [24, 24, 3], "target": "keep"}}
        pad = lambda image, y: (image, tf.pad(y, [[0, 64 - tf.shape(y)[0]], [0, 0]], constant_values=-1.0))  # noqa: E731
        ordered = [(x, y) for x, y in read(str(tmp_path), "train", batch_size=1, meta=meta, example_map=pad)
                   .unbatch().as_numpy_iterator()]
        shuffled = [(x, y) for x, y in read(str(tmp_path), "train", batch_size=4, meta=meta, example_map=pad,
                                             shuffle=True, seed=3).unbatch().as_numpy_iterator()]
    assert described["example_fn"] == f"{__name__}:boxes_of" and len(ordered) == 12
    counts = {int((y[:, 4] >= 0).sum()) for _, y in ordered}
    assert len(counts) > 1  # the mock examples hold different numbers of objects
    assert all(x.shape == (24, 24, 3) and 0.0 <= x.min() and x.max() <= 1.0 for x, _ in ordered)
    key = lambda pair: pair[1].tobytes()  # noqa: E731
    assert [key(p) for p in shuffled] != [key(p) for p in ordered]
    assert sorted(map(key, shuffled)) == sorted(map(key, ordered))
