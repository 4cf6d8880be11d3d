"""imdb_reviews streams: TFDS references, vectorisations fitted on the streamed training texts, and the reader's
per-example maps, which give exactly the arrays that the same adapters make of the same texts held in memory.

TFDS' mock data stands in for IMDB, with reviews the test writes (`conftest.mock_tfds_examples`).
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import zoo
from zoo.data import Split, Splits, load_dataset
from zoo.data.adapt import adapt, resolve
from zoo.data.online import VAL_FRACTION
from zoo.data.stream import TfdsSplit, read
from zoo.pipeline import steps

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
EXAMPLES = 24
# One model per adapter that lists imdb_reviews (the recurrent classifiers and transformer_classifier share
# embedding_classifier's), at sizes that the mock data's few words fill.
CASES = {
    "embedding_classifier": {"vocab_size": 40, "sequence_length": 12, "embedding_dim": 4},
    "bow_classifier": {"max_tokens": 60, "mode": "tf_idf", "ngrams": 2},
    "dnn_binary": {"num_words": 30},
    "text_cnn": {"vocab_size": 40, "sequence_length": 8, "embedding_dim": 4, "filters": 2},
}


# Reviews written so that words differ in document frequency (tf-idf weights differ), one is empty (all padding:
# read as one unknown word), one repeats a word (counts) and some run past the sequence length.
WORDS = ("good bad not film plot actor great boring fun awful story music").split()


def _reviews(split: str, count: int) -> dict:
    offset = 7 if split.startswith("test") else 0
    texts = [" ".join(WORDS[(i + offset + k * k) % len(WORDS)] for k in range(1 + (i * 5 + offset) % 15))
             for i in range(count)]
    texts[1], texts[2] = "", "Good, GOOD good! not bad... " + "fun " * 20
    return {"text": texts, "label": [(i * 7 + offset) % 3 % 2 for i in range(count)]}


def _mock():
    from conftest import mock_tfds_examples

    return mock_tfds_examples(_reviews, num_examples=EXAMPLES)


def _in_memory(tfds_dir: str) -> Splits:
    """The same reviews as arrays, split as the streamed loader splits them: the adapters' array path."""
    import tensorflow_datasets as tfds

    splits = {}
    for name, ref in load_dataset("imdb_reviews").items():
        rows = list(tfds.as_numpy(tfds.load("imdb_reviews", split=ref.split, data_dir=tfds_dir)))
        splits[name] = Split(np.array([r["text"].decode("utf-8") for r in rows], dtype=object),
                             np.array([r["label"] for r in rows], dtype="int32"))
    return Splits("imdb_reviews", "text", splits["train"], splits["val"], splits["test"], classes=2)


def _read_all(data_dir: str, split: str):
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in read(data_dir, split, batch_size=10)))
    return np.concatenate(xs), np.concatenate(ys)


def test_imdb_reviews_are_tfds_references_split_as_before():
    splits = load_dataset("imdb_reviews", data_dir="/nonexistent/tfds")
    assert splits.streamed and splits.kind == "text" and splits.classes == 2
    assert [ref.split for _, ref in splits.items()] == [f"train[:{100 - VAL_FRACTION}%]",
                                                        f"train[{100 - VAL_FRACTION}%:]", "test"]
    assert all(isinstance(ref, TfdsSplit) and (ref.name, ref.image_key, ref.label_key) ==
               ("imdb_reviews", "text", "label") for _, ref in splits.items())
    assert splits.info["tfds_data_dir"] == "/nonexistent/tfds"  # nothing was read


@pytest.mark.parametrize("model,hparams", [*CASES.items(),
                                           ("bow_classifier", {"max_tokens": 30, "mode": "count", "ngrams": 1})])
def test_streamed_reviews_read_as_the_array_path_makes_them(model, hparams, tmp_path):
    """preprocess writes no arrays; the reader's batches equal the adapter's arrays of the same texts."""
    spec = zoo.get_spec(model)
    data, tfds_dir = str(tmp_path / "data"), str(tmp_path / "tfds")
    with _mock():
        meta = steps.preprocess(model, "imdb_reviews", data, hparams=hparams, data_dir=tfds_dir)
        streamed = {name: _read_all(data, name) for name in ("train", "test")}
        arrays = adapt(spec, {**spec.defaults, **hparams}, _in_memory(tfds_dir))
    assert sorted(os.listdir(data)) == ["meta.json"]
    with open(os.path.join(data, "meta.json")) as f:
        assert json.load(f) == meta
    assert meta["format"] == "tfds"
    assert meta["prepare"] == {"text": resolve(spec.adapter).streamed_text, "target": spec.target}
    test = meta["splits"]["test"]
    assert (test["name"], test["split"], test["image_key"], test["examples"]) == ("imdb_reviews", "test", "text",
                                                                                  EXAMPLES)
    assert meta["test_fingerprint"] == test["fingerprint"] and meta["sizes"]["train"] == EXAMPLES
    fitted = {k: v for k, v in arrays.info.items() if k not in ("source", "labels")}
    assert fitted and {k: meta["info"][k] for k in fitted} == fitted  # vocabulary, sizes, idf weights
    for name in ("train", "test"):
        x, y = streamed[name]
        expected = getattr(arrays, name)
        assert x.shape == expected.x.shape and y.dtype == expected.y.dtype
        np.testing.assert_array_equal(x, expected.x.astype(x.dtype))
        np.testing.assert_array_equal(y, expected.y)


def _run_on_jax(code: str) -> str:
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
           "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=os.path.join(ROOT, "tests"), env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_text_maps_run_in_tf_data_under_the_jax_backend(tmp_path):
    """Fitted and read under JAX (TextVectorization in the reader's tf.data map, dense outputs): the same info and
    the same examples as under TensorFlow."""
    models = ["embedding_classifier", "bow_classifier"]
    out = _run_on_jax(f"""
        import json
        import keras
        import numpy as np
        from test_stream_text import CASES, _mock, _read_all
        from zoo.pipeline import steps

        with _mock():
            for model in {models!r}:
                data = {str(tmp_path / "jax")!r} + "-" + model
                meta = steps.preprocess(model, "imdb_reviews", data, hparams=CASES[model], data_dir={str(tmp_path)!r})
                x, y = _read_all(data, "train")
                np.savez(data + ".npz", x=x, y=y)
        print(json.dumps(keras.backend.backend()))
    """)
    assert json.loads(out.strip().splitlines()[-1]) == "jax"
    with _mock():
        for model in models:
            data = str(tmp_path / "tf") + "-" + model
            meta = steps.preprocess(model, "imdb_reviews", data, hparams=CASES[model], data_dir=str(tmp_path))
            x, y = _read_all(data, "train")
            assert meta["info"] == steps.read_meta(str(tmp_path / "jax") + "-" + model)["info"]
            on_jax = np.load(str(tmp_path / "jax") + "-" + model + ".npz")
            np.testing.assert_array_equal(on_jax["x"], x)
            np.testing.assert_array_equal(on_jax["y"], y)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["embedding_classifier", "dnn_binary"])
def test_a_streamed_text_model_trains_evaluates_and_serves_raw_strings(model, tmp_path):
    import tensorflow as tf

    data, model_dir = str(tmp_path / "data"), str(tmp_path / "model")
    with _mock():
        steps.preprocess(model, "imdb_reviews", data, hparams=CASES[model], data_dir=str(tmp_path / "tfds"))
        trained = steps.train(model, data, model_dir, hparams=CASES[model], epochs=2, batch_size=8)
        evaluation = steps.evaluate(model, data, model_dir)
        x, _ = _read_all(data, "test")
        texts = list(_in_memory(str(tmp_path / "tfds")).test.x[:4])
    assert trained["epochs_run"] == 2 and np.isfinite(trained["history"]["loss"]).all()
    assert evaluation["examples"] == EXAMPLES and 0.0 <= evaluation["value"] <= 1.0
    # The endpoint vectorises raw strings as the reader vectorised them for training.
    endpoint = tf.saved_model.load(os.path.join(model_dir, "saved_model"))  # held: its variables live with it
    served = endpoint.serve(tf.constant(texts))
    trained_model = zoo.load_model(os.path.join(model_dir, "model.keras"))
    np.testing.assert_allclose(np.asarray(served), trained_model.predict(x[:4], verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_a_streamed_text_model_trains_on_jax(tmp_path):
    out = _run_on_jax(f"""
        import json
        from test_stream_text import CASES, _mock
        from zoo.pipeline import steps

        with _mock():
            steps.preprocess("bow_classifier", "imdb_reviews", {str(tmp_path / "data")!r},
                             hparams=CASES["bow_classifier"], data_dir={str(tmp_path / "tfds")!r})
            trained = steps.train("bow_classifier", {str(tmp_path / "data")!r}, {str(tmp_path / "model")!r},
                                  hparams=CASES["bow_classifier"], epochs=1, batch_size=8)
        print(json.dumps([trained["backend"], trained["history"]["loss"]]))
    """)
    backend, loss = json.loads(out.strip().splitlines()[-1])
    assert backend == "jax" and np.isfinite(loss).all()


def test_a_model_whose_adapter_cannot_fit_on_a_stream_is_refused_in_one_line():
    splits = load_dataset("imdb_reviews")
    for model in ("simple_cnn", "word2vec_skipgram"):  # no adapter; an adapter without `streamed_text`
        with pytest.raises(ValueError, match=f"imdb_reviews streams its text examples, but {model} has no adapter "
                                             "that fits on a stream") as refused:
            steps._streamed_text_map(zoo.get_spec(model), splits)
        assert "\n" not in str(refused.value)
