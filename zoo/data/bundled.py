"""Datasets bundled inside scikit-learn: real data, no download."""

from __future__ import annotations

import numpy as np

from zoo.data import Splits, dataset, split_arrays, standardise


@dataset("digits", offline=True, summary="8x8 handwritten digits, 1,797 images, 10 classes (scikit-learn).")
def digits(*, seed: int = 0, data_dir=None) -> Splits:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype("float32")[..., None]
    train, val, test = split_arrays(images, bunch.target.astype("int32"), seed=seed)
    return Splits("digits", "image", train, val, test, classes=10)


def _tabular(name, bunch, *, seed, classification):
    x = bunch.data.astype("float32")
    y = bunch.target.astype("int32" if classification else "float32")
    train, val, test = split_arrays(x, y, seed=seed, stratify=classification)
    scaling = standardise(train, val, test)
    classes = int(len(np.unique(y))) if classification else None
    return Splits(name, "tabular", train, val, test, classes=classes,
                  info={"features": list(getattr(bunch, "feature_names", [])), "scaling": scaling})


@dataset("iris", offline=True, summary="Iris flowers: 150 examples, 4 features, 3 classes (scikit-learn).")
def iris(*, seed: int = 0, data_dir=None) -> Splits:
    from sklearn.datasets import load_iris

    return _tabular("iris", load_iris(), seed=seed, classification=True)


@dataset("breast_cancer", offline=True,
         summary="Wisconsin breast cancer: 569 examples, 30 features, 2 classes (scikit-learn).")
def breast_cancer(*, seed: int = 0, data_dir=None) -> Splits:
    from sklearn.datasets import load_breast_cancer

    return _tabular("breast_cancer", load_breast_cancer(), seed=seed, classification=True)


@dataset("diabetes", offline=True,
         summary="Diabetes progression: 442 examples, 10 features, a real-valued target (scikit-learn).")
def diabetes(*, seed: int = 0, data_dir=None) -> Splits:
    from sklearn.datasets import load_diabetes

    return _tabular("diabetes", load_diabetes(), seed=seed, classification=False)
