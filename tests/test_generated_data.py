"""Datasets of catalog sections A, B and I: the generated ones (zoo/data/generated.py) and the online ones
(zoo/data/online_text.py, run offline on TFDS mock data and a Boston housing file the test writes)."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.data import list_datasets, load_dataset

GENERATED = ["synthetic_linear", "synthetic_series", "synthetic_two_source", "synthetic_sentiment",
             "synthetic_ratings"]


def _arrays(x):
    return [x[k] for k in sorted(x)] if isinstance(x, dict) else [x]


def _same(a, b) -> bool:
    return all(np.array_equal(p, q) for p, q in zip(_arrays(a), _arrays(b)))


def _rows(x) -> set:
    """Each example as a hashable value (a sentence, or the bytes of its feature row(s))."""
    arrays = _arrays(x)
    if arrays[0].dtype == object:
        return set(arrays[0].tolist())
    return {b"".join(np.ascontiguousarray(a[i]).tobytes() for a in arrays) for i in range(len(arrays[0]))}


def test_every_generated_dataset_is_registered_offline():
    from zoo.data import get_entry

    assert set(GENERATED) <= set(list_datasets())
    assert all(get_entry(name).offline for name in GENERATED)


@pytest.mark.parametrize("name", GENERATED)
def test_same_seed_same_splits_other_seed_other_examples(name):
    first, again, other = load_dataset(name, seed=0), load_dataset(name, seed=0), load_dataset(name, seed=1)
    for (_, a), (_, b), (_, c) in zip(first.items(), again.items(), other.items()):
        assert _same(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not _same(first.test.x, other.test.x)


@pytest.mark.parametrize("name", GENERATED)
def test_splits_are_disjoint_and_cover_the_data_about_70_15_15(name):
    splits = load_dataset(name)
    sizes = [len(split) for _, split in splits.items()]
    total = sum(sizes)
    assert abs(sizes[0] / total - 0.70) < 0.02 and abs(sizes[2] / total - 0.15) < 0.02
    rows = [_rows(split.x) for _, split in splits.items()]
    assert [len(r) for r in rows] == sizes, "an example appears twice within a split"
    assert not (rows[0] & rows[1]) and not (rows[0] & rows[2]) and not (rows[1] & rows[2])


def test_the_notes_example_is_exactly_the_five_points_of_y_equals_11x_plus_1():
    splits = load_dataset("synthetic_linear", variant="notes")
    x = np.concatenate([s.x[:, 0] for _, s in splits.items()])
    y = np.concatenate([s.y for _, s in splits.items()])
    order = np.argsort(x)
    assert x[order].tolist() == [1, 2, 3, 4, 5]
    assert y[order].tolist() == [12, 23, 34, 45, 56]
    assert [len(s) for _, s in splits.items()] == [3, 1, 1]
    assert (splits.info["slope"], splits.info["intercept"]) == (11.0, 1.0)


def test_the_noisy_line_is_the_known_line():
    splits = load_dataset("synthetic_linear")
    assert splits.kind == "tabular" and splits.train.x.shape == (700, 1) and splits.train.x.dtype == np.float32
    slope, intercept = np.polyfit(splits.train.x[:, 0], splits.train.y, 1)
    assert abs(slope - 11) < 0.2 and abs(intercept - 1) < 0.5
    residual = splits.test.y - (11 * splits.test.x[:, 0] + 1)
    assert 1.5 < residual.std() < 2.5  # the noise it promises (std 2)


def test_the_series_windows_are_chronological_and_hold_a_seasonal_signal():
    splits = load_dataset("synthetic_series", window=30)
    assert splits.kind == "sequence" and splits.train.x.shape[1] == 30
    # Consecutive windows overlap by one step, and the test split starts where validation ends.
    assert np.array_equal(splits.train.x[1, :-1], splits.train.x[0, 1:])
    assert splits.train.x[1, -1] == splits.train.y[0]
    assert np.array_equal(splits.test.x[0, 1:], np.append(splits.val.x[-1, 2:], splits.val.y[-1]))
    starts = splits.info["target_start"]
    assert starts["train"] < starts["val"] < starts["test"]
    # Least-squares AR(12) on training windows beats repeating the last value on the test split.
    design = lambda x: np.c_[x[:, -12:], np.ones(len(x))]  # noqa: E731
    coefficients, *_ = np.linalg.lstsq(design(splits.train.x), splits.train.y, rcond=None)
    ar_mae = np.mean(np.abs(design(splits.test.x) @ coefficients - splits.test.y))
    naive_mae = np.mean(np.abs(splits.test.x[:, -1] - splits.test.y))
    assert ar_mae < 0.7 * naive_mae


def test_two_source_labels_need_both_sources():
    from sklearn.linear_model import LogisticRegression

    splits = load_dataset("synthetic_two_source")
    assert set(splits.train.x) == {"source_a", "source_b"} and splits.classes == 2
    assert splits.train.x["source_a"].shape[1] == 4 and splits.train.x["source_b"].shape[1] == 6

    def score(keys):
        features = lambda s: np.concatenate([s.x[k] for k in keys], axis=1)  # noqa: E731
        model = LogisticRegression().fit(features(splits.train), splits.train.y)
        return model.score(features(splits.test), splits.test.y)

    both, only_a, only_b = score(["source_a", "source_b"]), score(["source_a"]), score(["source_b"])
    assert both > 0.88
    assert max(only_a, only_b) < both - 0.08


def test_sentiment_is_learnable_but_not_by_counting_words_linearly():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    splits = load_dataset("synthetic_sentiment")
    assert splits.kind == "text" and splits.classes == 2
    assert all(isinstance(t, str) and t == t.lower() for t in splits.train.x)
    assert 0.4 < splits.train.y.mean() < 0.6
    # Negation flips polarity: "not" appears in positive and in negative sentences.
    with_not = np.array([" not " in f" {t} " for t in splits.train.x])
    assert 0 < splits.train.y[with_not].mean() < 1
    words = CountVectorizer(binary=True).fit(splits.train.x)
    linear = LogisticRegression(max_iter=2000).fit(words.transform(splits.train.x), splits.train.y)
    accuracy = linear.score(words.transform(splits.test.x), splits.test.y)
    assert 0.6 < accuracy < 0.88


def test_but_sentences_mean_what_their_second_clause_says():
    splits = load_dataset("synthetic_sentiment", n=600)
    single = {t: y for _, s in splits.items() for t, y in zip(s.x, s.y) if " but " not in t}
    checked = 0
    for _, split in splits.items():
        for text, label in zip(split.x, split.y):
            if " but " in text:
                second = text.split(" but ", 1)[1]
                if second in single:
                    assert single[second] == label, text
                    checked += 1
    assert checked > 0


def test_ratings_come_from_the_promised_id_ranges_and_scale():
    splits = load_dataset("synthetic_ratings")
    info = splits.info
    assert splits.kind == "ids" and (info["n_users"], info["n_items"]) == (300, 200)
    for _, split in splits.items():
        assert split.x["user"].dtype == np.int32 and split.x["item"].dtype == np.int32
        assert 0 <= split.x["user"].min() and split.x["user"].max() < 300
        assert 0 <= split.x["item"].min() and split.x["item"].max() < 200
        assert 1.0 <= split.y.min() and split.y.max() <= 5.0
    total = sum(len(s) for _, s in splits.items())
    assert total == 6000  # density 0.1 of 300 x 200 pairs
    # The ratings are far from constant: predicting the mean leaves an RMSE near 1.
    rmse = np.sqrt(np.mean((splits.test.y - splits.train.y.mean()) ** 2))
    assert 0.8 < rmse < 1.2


@pytest.mark.parametrize("name,options,fragment", [
    ("synthetic_linear", {"variant": "exact"}, "Unknown synthetic_linear variant 'exact'. Allowed: 'noisy', 'notes'"),
    ("synthetic_linear", {"n": 3}, "`n` must be an integer of at least 20. Received: n=3"),
    ("synthetic_series", {"window": 0}, "Received: window=0"),
    ("synthetic_series", {"noise": -1.0}, "Received: noise=-1.0"),
    ("synthetic_two_source", {"n": "many"}, "Received: n='many'"),
    ("synthetic_ratings", {"density": 1.5}, "Received: density=1.5"),
    ("synthetic_ratings", {"n_users": 2, "n_items": 2}, "needs at least 20 ratings"),
    ("synthetic_sentiment", {"n": 10_000_000}, "Received: n=10000000"),
])
def test_bad_options_raise_one_line_value_errors(name, options, fragment):
    with pytest.raises(ValueError) as caught:
        load_dataset(name, **options)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------------------------------- online datasets


def test_imdb_reviews_streams_strings_and_labels_through_tfds(tmp_path):
    import tensorflow_datasets as tfds

    splits = load_dataset("imdb_reviews", data_dir=str(tmp_path))
    assert splits.kind == "text" and splits.classes == 2 and splits.streamed
    with tfds.testing.mock_data(num_examples=12):
        for _, ref in splits.items():  # references that the reader streams: (review, label) pairs
            rows = list(tfds.as_numpy(tfds.load(ref.name, split=ref.split, data_dir=str(tmp_path))))
            assert len(rows) == 12 and all(isinstance(r[ref.image_key], bytes) for r in rows)
            assert {int(r[ref.label_key]) for r in rows} <= {0, 1}


def test_movielens_ratings_get_dense_deterministic_ids(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=30):
        splits = load_dataset("movielens/100k-ratings", data_dir=str(tmp_path))
        again = load_dataset("movielens/100k-ratings", data_dir=str(tmp_path))
    info = splits.info
    assert splits.kind == "ids"
    assert sum(len(s) for _, s in splits.items()) == 30
    users = np.concatenate([s.x["user"] for _, s in splits.items()])
    items = np.concatenate([s.x["item"] for _, s in splits.items()])
    # Dense ids 0..n-1, each naming one MovieLens id.
    assert sorted(set(users.tolist())) == list(range(info["n_users"])) == list(range(len(info["user_ids"])))
    assert sorted(set(items.tolist())) == list(range(info["n_items"])) == list(range(len(info["item_ids"])))
    assert info["user_ids"] == sorted(info["user_ids"])
    assert _same(splits.test.x, again.test.x) and np.array_equal(splits.test.y, again.test.y)


def test_boston_housing_keeps_the_published_split_and_standardises(tmp_path, monkeypatch):
    from keras.src.datasets import boston_housing

    rng = np.random.default_rng(0)
    path = tmp_path / "boston_housing.npz"
    np.savez(path, x=rng.normal(5.0, 3.0, size=(506, 13)), y=rng.uniform(5, 50, size=506))
    requested = []

    def fake_get_file(fname, origin=None, file_hash=None, **_):
        requested.append(fname)
        return str(path)

    monkeypatch.setattr(boston_housing, "get_file", fake_get_file)
    splits = load_dataset("boston_housing", data_dir=str(tmp_path))
    assert requested == [str(tmp_path / "boston_housing.npz")]
    assert splits.kind == "tabular" and splits.train.x.shape[1] == 13
    assert len(splits.test) == 102 and len(splits.train) + len(splits.val) == 404
    np.testing.assert_allclose(splits.train.x.mean(axis=0), 0, atol=1e-5)
    assert not _rows(splits.train.x) & _rows(splits.val.x)
