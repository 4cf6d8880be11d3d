"""Catalog section I, recommendation: matrix factorisation and NMF, their id checks, adapter and serving
model. Learning checks are marked slow."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from recipes import fit_by_recipe
from zoo.data import Split, Splits, adapt, load_dataset
from zoo.models.recommenders.factorization import IdRange, adapt_ratings, id_checked_serving

RECOMMENDERS = ["matrix_factorization", "nmf"]
STYLES = ["functional", "subclass"]


def _ids(users, items):
    return {"user": np.asarray(users, "int32"), "item": np.asarray(items, "int32")}


def _rating_splits(n_users=6, n_items=4, name="handmade"):
    rng = np.random.default_rng(0)

    def split(n):
        return Split(_ids(rng.integers(0, n_users, n), rng.integers(0, n_items, n)), rng.uniform(1, 5, n))

    return Splits(name, "ids", split(30), split(6), split(6), info={"n_users": n_users, "n_items": n_items})


def _invalid_argument():
    import tensorflow as tf

    return tf.errors.InvalidArgumentError


# ------------------------------------------------------------------------------------------------ id checks


def test_id_range_passes_known_ids_through_unchanged():
    ids = np.array([0, 3, 4], "int32")
    np.testing.assert_array_equal(np.asarray(IdRange(5, "user")(ids)), ids)


@pytest.mark.parametrize("bad", [5, -1])
def test_id_range_rejects_unknown_ids_naming_their_kind(bad):
    with pytest.raises(_invalid_argument(), match=r"Unknown item id: item ids must be in \[0, 5\)"):
        IdRange(5, "item")(np.array([1, bad], "int32"))


@pytest.mark.parametrize("name", RECOMMENDERS)
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("kind", ["user", "item"])
def test_the_models_reject_unknown_ids_at_prediction_time(name, style, kind):
    model = zoo.build(name, style=style, n_users=5, n_items=3)
    ok = _ids([0, 4], [0, 2])
    assert model.predict(ok, verbose=0).shape == (2, 1)
    bad = dict(ok, **{kind: np.array([1, 5 if kind == "user" else 3], "int32")})
    with pytest.raises(_invalid_argument(), match=f"Unknown {kind} id"):
        model.predict(bad, verbose=0)


@pytest.mark.parametrize("name", RECOMMENDERS)
def test_models_with_id_checks_are_never_jit_compiled(name):
    # XLA would compile the assertions away. Keras's jit_compile="auto" consults this on accelerators
    # (on a CPU-only machine it is off anyway, so the test asks Keras's own rule directly).
    from keras.src.trainers.trainer import model_supports_jit

    assert not model_supports_jit(zoo.build(name, n_users=5, n_items=3))
    assert model_supports_jit(zoo.build("dnn_regression"))


def test_sequential_is_impossible_and_says_why():
    for name in RECOMMENDERS:
        with pytest.raises(ValueError, match="exactly one input tensor"):
            zoo.build(name, style="sequential")


# ------------------------------------------------------------------------------------------------ the models


@pytest.mark.parametrize("style", STYLES)
def test_matrix_factorization_predicts_mu_plus_biases_plus_the_factor_dot_product(style):
    model = zoo.build("matrix_factorization", style=style, n_users=4, n_items=3, factors=2, mean_rating=3.0)
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    users, items = np.array([0, 1, 3, 3]), np.array([2, 0, 1, 2])
    p, q, b_user, b_item, mu = weights
    expected = mu + b_user[users, 0] + b_item[items, 0] + np.sum(p[users] * q[items], axis=1)
    np.testing.assert_allclose(model.predict(_ids(users, items), verbose=0)[:, 0], expected, rtol=1e-5)
    assert [w.path.split("/")[-2] for w in model.weights] == [
        "user_factors", "item_factors", "user_bias", "item_bias", "rating"]


@pytest.mark.parametrize("style", STYLES)
def test_nmf_factors_start_and_stay_non_negative(style):
    import keras

    model = zoo.build("nmf", style=style, n_users=6, n_items=4, factors=3)
    assert all(np.asarray(w).min() >= 0 for w in model.get_weights())
    # Targets far below what non-negative factors can reach push the factors towards negative values.
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    splits = _rating_splits()
    model.fit(splits.train.x, np.full((30, 1), -5.0, "float32"), batch_size=10, epochs=3, verbose=0)
    assert all(np.asarray(w).min() >= 0 for w in model.get_weights())
    assert model.predict(splits.test.x, verbose=0).min() >= 0


def test_nmf_initial_predictions_start_near_the_mean_rating():
    model = zoo.build("nmf", n_users=200, n_items=200, factors=8, mean_rating=3.5)
    rng = np.random.default_rng(0)
    predictions = model.predict(_ids(rng.integers(0, 200, 2000), rng.integers(0, 200, 2000)), verbose=0)
    assert 3.0 < predictions.mean() < 4.0


def test_bad_hyperparameters_are_one_line_errors():
    for call, fragment in [
        (lambda: zoo.build("matrix_factorization", factors=0), "Received: factors=0"),
        (lambda: zoo.build("nmf", l2=-1.0), "Received: l2=-1.0"),
        (lambda: zoo.build("nmf", n_users=2.5), "Received: n_users=2.5"),
        (lambda: zoo.build("matrix_factorization", mean_rating="3.5"), "Received: mean_rating='3.5'"),
    ]:
        with pytest.raises(ValueError) as caught:
            call()
        assert fragment in str(caught.value) and "\n" not in str(caught.value)


# ----------------------------------------------------------------------------------------- adapter and serving


def test_the_adapter_records_id_counts_and_shapes_the_ratings():
    spec = zoo.get_spec("matrix_factorization")
    splits = adapt(spec, spec.defaults, load_dataset("synthetic_ratings"))
    assert (splits.info["n_users"], splits.info["n_items"]) == (300, 200)
    assert splits.train.y.shape == (len(splits.train), 1) and splits.train.y.dtype == np.float32
    assert splits.train.x["user"].dtype == np.int32


def test_the_adapter_refuses_data_with_more_ids_than_the_model_holds():
    spec = zoo.get_spec("nmf")
    with pytest.raises(ValueError) as caught:
        adapt_ratings(spec, {**spec.defaults, "n_users": 5}, _rating_splits(n_users=6))
    message = str(caught.value)
    assert "handmade has 6 user ids but nmf was configured with n_users=5; pass n_users=6" in message
    assert "\n" not in message


def test_the_adapter_refuses_data_that_is_not_user_item_ids():
    with pytest.raises(ValueError, match="Received: synthetic_linear of kind 'tabular'"):
        adapt(zoo.get_spec("matrix_factorization"), zoo.get_spec("matrix_factorization").defaults,
              load_dataset("synthetic_linear"))


@pytest.mark.parametrize("name", RECOMMENDERS)
def test_the_serving_model_accepts_only_the_ids_the_training_data_defined(name):
    # The model's tables hold 10 users and 8 items; the data defined 6 and 4: ids 6..9 have untrained factors.
    model = zoo.build(name, n_users=10, n_items=8)
    serving = id_checked_serving(model, {"n_users": 6, "n_items": 4})
    ok = _ids([0, 5], [0, 3])
    np.testing.assert_allclose(serving.predict(ok, verbose=0), model.predict(ok, verbose=0), rtol=1e-6)
    with pytest.raises(_invalid_argument(), match=r"Unknown user id: user ids must be in \[0, 6\)"):
        serving.predict(_ids([7], [0]), verbose=0)
    with pytest.raises(_invalid_argument(), match=r"Unknown item id: item ids must be in \[0, 4\)"):
        serving.predict(_ids([0], [5]), verbose=0)


def test_the_exported_serving_model_rejects_unknown_ids_after_reloading(tmp_path):
    import tensorflow as tf

    model = zoo.build("matrix_factorization", style="subclass", n_users=10, n_items=8)
    serving = id_checked_serving(model, {"n_users": 6, "n_items": 4})
    serving.export(str(tmp_path / "saved_model"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    known = reloaded.serve({"user": tf.constant([1, 2]), "item": tf.constant([3, 0])})
    np.testing.assert_allclose(np.asarray(known), model.predict(_ids([1, 2], [3, 0]), verbose=0), rtol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown user id"):
        reloaded.serve({"user": tf.constant([6]), "item": tf.constant([0])})
    with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown item id"):
        reloaded.serve({"user": tf.constant([0]), "item": tf.constant([-1])})


def test_the_serving_wrapper_needs_the_recorded_counts():
    with pytest.raises(ValueError, match="info lacks"):
        id_checked_serving(zoo.build("nmf", n_users=4, n_items=4), {"n_users": 4})


def test_movielens_ratings_flow_through_the_adapter_and_train(tmp_path):
    import keras
    import tensorflow_datasets as tfds

    spec = zoo.get_spec("matrix_factorization")
    with tfds.testing.mock_data(num_examples=40):
        splits = adapt(spec, spec.defaults, load_dataset("movielens/100k-ratings", data_dir=str(tmp_path)))
    model = zoo.build("matrix_factorization")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    history = model.fit(splits.train.x, splits.train.y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    serving = id_checked_serving(model, splits.info)
    assert serving.predict(splits.test.x, verbose=0).shape == (len(splits.test), 1)


def test_every_recommender_spec_is_complete():
    from zoo.data import list_datasets

    for name in RECOMMENDERS:
        spec = zoo.get_spec(name)
        assert spec.family == "recommenders" and spec.target == "regression"
        assert (spec.gate.metric, spec.gate.direction) == ("rmse", "min")
        assert set(spec.datasets) <= set(list_datasets())
        # The defaults hold every id of every catalog dataset: MovieLens 100k has 943 users and 1,682 items.
        assert spec.defaults["n_users"] >= 943 and spec.defaults["n_items"] >= 1682


# ------------------------------------------------------------------------------------ learning (slow, seeded)


@pytest.mark.slow
@pytest.mark.parametrize("name", RECOMMENDERS)
def test_factorisation_beats_the_global_mean_on_held_out_ratings(name):
    spec = zoo.get_spec(name)
    splits = adapt(spec, spec.defaults, load_dataset("synthetic_ratings"))
    model = fit_by_recipe(name, splits)
    rmse = float(np.sqrt(np.mean((model.predict(splits.test.x, verbose=0) - splits.test.y) ** 2)))
    baseline = float(np.sqrt(np.mean((splits.train.y.mean() - splits.test.y) ** 2)))
    assert rmse < 0.7 * baseline
    assert rmse <= spec.gate.floor
