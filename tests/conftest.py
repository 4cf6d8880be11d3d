import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Every test starts from the default dtype policy and a fixed seed, and leaves them so."""
    import keras

    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture(scope="module")
def judge_cache(tmp_path_factory):
    """A private cache of sample-quality judges for one test module (the user's ~/.cache is left alone)."""
    from zoo import sample_quality

    folder = str(tmp_path_factory.mktemp("zoo-cache"))
    previous = os.environ.get(sample_quality.CACHE_ENV)
    os.environ[sample_quality.CACHE_ENV] = folder
    yield folder
    if previous is None:
        del os.environ[sample_quality.CACHE_ENV]
    else:
        os.environ[sample_quality.CACHE_ENV] = previous


# The longest tests (whole kfp.local pipeline runs, notebooks) start first, so that `make test`'s two workers
# finish together instead of one running them at the end while the other waits (the order is otherwise kept).
LONG_MODULES = ("test_pipeline_tasks", "test_pipeline_tasks_sequences", "test_pipeline_tasks_generative",
                "test_pipeline_local", "test_notebooks",
                "test_release", "test_end_to_end")


def pytest_collection_modifyitems(config, items):
    def rank(item):
        name = item.module.__name__ if item.module else ""
        return LONG_MODULES.index(name) if name in LONG_MODULES else len(LONG_MODULES)

    items.sort(key=rank)


def mock_tfds_examples(make_split, num_examples: int = 12):
    """`tfds.testing.mock_data` with examples the test writes, for datasets whose random mocks are invalid.

    TFDS' random mocks give each feature of a sequence its own length (VOC's `objects/bbox` 15 rows beside
    `objects/label` 8), which the dataset's decoder then refuses. `make_split(split, count)` returns a dict of
    feature -> list of per-example values (any shapes); images are uint8 arrays and are
    PNG-encoded when the reader asks to skip their decoding. The dataset has a known cardinality.
    """
    import numpy as np
    import tensorflow as tf
    import tensorflow_datasets as tfds

    def as_dataset(self, split, decoders=None, **kwargs):
        features = make_split(str(split), num_examples)
        rows = [{} for _ in range(num_examples)]
        for key, values in features.items():
            for i in range(num_examples):
                if isinstance(values, dict):
                    rows[i][key] = {k: _array(v[i]) for k, v in values.items()}
                elif decoders and key in decoders:  # SkipDecoding: the encoded bytes
                    rows[i][key] = np.asarray(_png(values[i]))
                else:
                    rows[i][key] = _array(values[i])
        signature = tf.nest.map_structure(lambda a: tf.TensorSpec([None] * a.ndim, tf.as_dtype(a.dtype)), rows[0])
        return tf.data.Dataset.from_generator(lambda: iter(rows), output_signature=signature).apply(
            tf.data.experimental.assert_cardinality(num_examples))

    return tfds.testing.mock_data(num_examples=num_examples, as_dataset_fn=as_dataset)


def _png(image) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype="uint8")).save(buffer, format="PNG")
    return buffer.getvalue()


def _array(value):
    """A feature's value as NumPy, texts as bytes (what tf.string holds)."""
    import numpy as np

    value = np.asarray(value)
    return np.char.encode(value, "utf-8") if value.dtype.kind == "U" else value
