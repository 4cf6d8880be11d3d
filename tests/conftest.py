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
