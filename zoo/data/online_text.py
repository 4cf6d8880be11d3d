"""Online datasets of catalog sections B and I: IMDB reviews and MovieLens ratings (TensorFlow Datasets),
and Boston housing (`keras.datasets`).

They download on first use (or read `data_dir`). IMDB streams (its splits are TFDS references that the
reader reads in place); MovieLens 100k and Boston housing are small and held whole. Tests run the same code
offline with `tfds.testing.mock_data` and with a Boston housing file the test writes.
"""

from __future__ import annotations

import os

import numpy as np

from zoo.data import Split, Splits, dataset, split_arrays, standardise
from zoo.data.online import VAL_FRACTION
from zoo.data.stream import TfdsSplit


@dataset("imdb_reviews", offline=False,
         summary="TensorFlow Datasets 'imdb_reviews': 50,000 movie reviews, positive or negative "
                 "(downloads on first use; streamed).")
def imdb_reviews(*, seed: int = 0, data_dir: str | None = None) -> Splits:
    """IMDB reviews by reference: TFDS prepares them in `data_dir` and the reader streams them; nothing is
    loaded here.

    The published 25,000/25,000 train/test split is kept; the last 10% of the training split validates (TFDS
    slicing keeps it deterministic; the seed does not change a published split). A text model's adapter fits
    its vectorisation on the streamed training texts, and the reader turns each review into the model's
    input after the shuffle.

    Returns:
        `Splits` of kind "text" whose splits are `TfdsSplit`s yielding (review, label): UTF-8 strings, labels
        1 (positive) and 0 (negative), 2 classes; `info["tfds_data_dir"]` tells the adapter where they are.
    """
    parts = {"train": f"train[:{100 - VAL_FRACTION}%]", "val": f"train[{100 - VAL_FRACTION}%:]", "test": "test"}
    splits = {key: TfdsSplit("imdb_reviews", split, image_key="text", label_key="label")
              for key, split in parts.items()}
    return Splits("imdb_reviews", "text", splits["train"], splits["val"], splits["test"], classes=2,
                  info={"source": "tfds:imdb_reviews", "labels": {"0": "negative", "1": "positive"},
                        "tfds_data_dir": data_dir})


MOVIELENS = "movielens/100k-ratings"


def _index(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Dense int32 ids 0..n-1 for string ids, in sorted order of the strings (deterministic)."""
    names, ids = np.unique(values, return_inverse=True)
    return ids.astype("int32"), [n.decode("utf-8", errors="replace") for n in names]


@dataset(MOVIELENS, offline=False,
         summary="TensorFlow Datasets 'movielens/100k-ratings': 100,000 ratings (1-5) of 1,682 movies by 943 "
                 "users (downloads on first use).")
def movielens_100k(*, seed: int = 0, data_dir: str | None = None) -> Splits:
    """MovieLens 100k ratings as (user id, item id) -> rating.

    TFDS gives string ids and a single "train" split; users and movies get dense int32 ids in sorted order
    of their string ids (`info["user_ids"][k]` is the MovieLens id of user k), and the ratings are split at
    random, reproducibly for a `seed`, into 70/15/15.

    Returns:
        `Splits` of kind "ids": x a dict {"user": int32 (N,), "item": int32 (N,)}, y float32 ratings;
        `info` holds n_users, n_items and the id mappings.
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    ds = tfds.load(MOVIELENS, split="train", data_dir=data_dir, shuffle_files=False)
    ds = ds.map(lambda ex: (ex["user_id"], ex["movie_id"], ex["user_rating"]), num_parallel_calls=tf.data.AUTOTUNE)
    users, movies, ratings = [], [], []
    for user, movie, rating in tfds.as_numpy(ds.batch(8192)):
        users.append(user)
        movies.append(movie)
        ratings.append(rating)
    user_ids, user_names = _index(np.concatenate(users))
    item_ids, item_names = _index(np.concatenate(movies))
    y = np.concatenate(ratings).astype("float32")
    train, val, test = split_arrays({"user": user_ids, "item": item_ids}, y, seed=seed, stratify=False)
    info = {"source": f"tfds:{MOVIELENS}", "n_users": len(user_names), "n_items": len(item_names),
            "user_ids": user_names, "item_ids": item_names, "rating_range": [1.0, 5.0]}
    return Splits(MOVIELENS, "ids", train, val, test, info=info)


@dataset("boston_housing", offline=False,
         summary="Boston housing prices (keras.datasets): 506 suburbs, 13 features, median value in k$ "
                 "(downloads on first use).")
def boston_housing(*, seed: int = 0, data_dir: str | None = None) -> Splits:
    """The seed notes' regression data: `keras.datasets.boston_housing` with its published 80/20 split.

    15% of the training part validates (chosen by `seed`); features are standardised with the training
    split's statistics. `data_dir` (a local folder) holds the downloaded file; Keras's cache otherwise.

    Returns:
        `Splits` of kind "tabular": x float32 (N, 13), y float32 (N,) prices in thousands of dollars.
    """
    import keras

    path = os.path.join(os.path.abspath(data_dir), "boston_housing.npz") if data_dir else "boston_housing.npz"
    (x, y), (x_test, y_test) = keras.datasets.boston_housing.load_data(path=path)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    n_val = int(round(0.15 * len(y)))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    train = Split(x[train_idx].astype("float32"), y[train_idx].astype("float32"))
    val = Split(x[val_idx].astype("float32"), y[val_idx].astype("float32"))
    test = Split(x_test.astype("float32"), y_test.astype("float32"))
    scaling = standardise(train, val, test)
    return Splits("boston_housing", "tabular", train, val, test, info={"source": "keras.datasets", "scaling": scaling})
