"""NADE beyond the standard model test: the exact likelihood against a brute-force sum on a tiny dimension, the
autoregressive structure, ancestral sampling, the density-estimation task (evaluation against the
independent-pixel baseline, pictures, the per-epoch progression, seeded serving), the binarising adapter, and
learning checks on binarised digits (a quick one here, the recipe's run in the slow tier).
"""

from __future__ import annotations

import itertools
import math
import os

import numpy as np
import pytest

import zoo
from zoo.tasks import get_task

pytestmark = pytest.mark.xdist_group("nade")

SMALL = dict(zoo.get_spec("nade").small)


def _hparams():
    spec = zoo.get_spec("nade")
    return {**spec.defaults, **spec.small}


def _batches(x, y=None, size=128):
    for i in range(0, len(x), size):
        yield x[i:i + size] if y is None else (x[i:i + size], y[i:i + size])


@pytest.fixture(scope="module")
def digits():
    """Digits prepared as the NADE pipeline prepares them: binarised 8x8x1 images and int labels."""
    from zoo.data import load_dataset
    from zoo.data.adapt import adapt

    return adapt(zoo.get_spec("nade"), _hparams(), load_dataset("digits", seed=0))


def _tiny_nade(seed=0, style="functional"):
    """A NADE on 2x2 binary images (D = 4) with random weights large enough to make the pixels depend."""
    nade = zoo.build("nade", style=style, input_shape=(2, 2, 1), hidden_units=3)
    rng = np.random.default_rng(seed)
    nade.set_weights([rng.normal(0.0, 1.5, size=w.shape).astype("float32") for w in nade.get_weights()])
    return nade


def _brute_force_nll(nade, x):
    """-log p(x) as the paper writes it: one hidden layer per conditional, computed pixel by pixel."""
    w, c, v, b = (np.asarray(a, dtype="float64") for a in nade.get_weights())
    sigmoid = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    log_p = 0.0
    for d in range(len(x)):
        h = sigmoid(c + x[:d] @ w[:d])
        p = sigmoid(b[d] + v[d] @ h)
        log_p += math.log(p if x[d] else 1.0 - p)
    return -log_p


ALL_4_PIXEL_IMAGES = np.array(list(itertools.product([0.0, 1.0], repeat=4)), dtype="float32")


# --------------------------------------------------------------------------------------------- likelihood
@pytest.mark.parametrize("style", ["sequential", "functional", "subclass"])
def test_the_exact_nll_is_the_brute_force_product_of_conditionals_and_sums_to_one(style):
    nade = _tiny_nade(style=style)
    nll = np.asarray(nade.nll(ALL_4_PIXEL_IMAGES.reshape(16, 2, 2, 1)), dtype="float64")
    assert nll.shape == (16,)
    np.testing.assert_allclose(nll, [_brute_force_nll(nade, x) for x in ALL_4_PIXEL_IMAGES], rtol=1e-5, atol=1e-5)
    assert np.exp(-nll).sum() == pytest.approx(1.0, abs=1e-5)


def test_the_papers_mnist_model_has_its_parameter_count():
    # W and V (D x H each), c (H), b (D) with D = 784 pixels and H = 500 hidden units.
    assert zoo.build("nade").count_params() == 2 * 784 * 500 + 500 + 784 == 785_284


def test_bits_per_dim_is_nats_over_d_ln_2():
    from zoo.models.density.nade import bits_per_dim

    assert bits_per_dim(4 * math.log(2.0), 4) == pytest.approx(1.0)
    assert bits_per_dim(64 * 0.5 * math.log(2.0), 64) == pytest.approx(0.5)


def test_each_conditional_sees_only_the_pixels_before_it():
    nade = zoo.build("nade", **SMALL)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 2, size=(1, 8, 8, 1)).astype("float32")
    base = np.asarray(nade.logits(images)).reshape(-1)
    for d in (0, 17, 63):
        flipped = images.reshape(-1).copy()
        flipped[d] = 1.0 - flipped[d]
        changed = np.asarray(nade.logits(flipped.reshape(1, 8, 8, 1))).reshape(-1) != base
        assert not changed[:d + 1].any(), d  # pixel d and those before it do not see pixel d
        assert d == 63 or changed[d + 1:].all(), d


def test_the_training_loss_is_the_mean_exact_nll():
    import keras

    nade = _tiny_nade()
    nade.compile(optimizer=keras.optimizers.SGD(0.0))
    images = ALL_4_PIXEL_IMAGES.reshape(16, 2, 2, 1)
    logs = nade.evaluate(images, batch_size=16, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(float(np.mean(nade.nll(images))), rel=1e-6)
    probabilities = np.asarray(nade.predict(images, verbose=0))
    assert probabilities.shape == (16, 2, 2, 1) and 0.0 < probabilities.min() and probabilities.max() < 1.0


def test_ancestral_samples_follow_the_models_distribution():
    nade = _tiny_nade(seed=3)
    uniforms = np.random.default_rng(0).uniform(size=(40000, 4)).astype("float32")
    samples = np.asarray(nade.sample(uniforms)).reshape(-1, 4)
    assert set(np.unique(samples)) <= {0.0, 1.0}
    codes = samples @ np.array([8.0, 4.0, 2.0, 1.0])
    frequencies = np.bincount(codes.astype("int64"), minlength=16) / len(codes)
    exact = np.exp(-np.asarray(nade.nll(ALL_4_PIXEL_IMAGES.reshape(16, 2, 2, 1)), dtype="float64"))
    np.testing.assert_allclose(frequencies, exact, atol=0.01)
    # The same uniforms give the same images.
    np.testing.assert_array_equal(np.asarray(nade.sample(uniforms[:5])), np.asarray(nade.sample(uniforms[:5])))


def test_nade_rejects_bad_arguments_with_what_it_received():
    from zoo.models.density.nade import NADE

    with pytest.raises(ValueError, match=r"`hidden_units` must be a positive integer. Received: hidden_units=0"):
        zoo.build("nade", **{**SMALL, "hidden_units": 0})
    with pytest.raises(ValueError, match=r"`input_shape` must be \(height, width, channels\)"):
        zoo.build("nade", **{**SMALL, "input_shape": (64,)})
    with pytest.raises(ValueError, match="`style` must be one of"):
        NADE(style="keras")


# ------------------------------------------------------------------------------------------------- data
def test_the_adapter_binarises_digits_and_keeps_the_labels(digits):
    from zoo.data import load_dataset
    from zoo.data.adapt import adapt

    assert digits.train.x.shape[1:] == (8, 8, 1) and digits.train.x.dtype == np.float32
    for _, split in digits.items():
        assert set(np.unique(split.x)) == {0.0, 1.0}
    raw = load_dataset("digits", seed=0).train.x
    np.testing.assert_array_equal(digits.train.x, (raw > 0.5).astype("float32"))
    assert digits.train.y.dtype == np.int32 and digits.info["binarised_above"] == 0.5
    with pytest.raises(ValueError, match="nade models binarised images; dataset 'iris' holds tabular data"):
        adapt(zoo.get_spec("nade"), _hparams(), load_dataset("iris", seed=0))


def test_streamed_images_are_binarised_by_the_example_map():
    import tensorflow as tf

    spec = zoo.get_spec("nade")
    example_map = get_task(spec.task).example_map(spec, _hparams(), {})
    image = tf.constant([[[0.2], [0.5]], [[0.51], [1.0]]])
    np.testing.assert_array_equal(example_map(image, tf.constant(3)).numpy().reshape(-1), [0, 0, 1, 1])


# ------------------------------------------------------------------------------------------------- task
def test_evaluation_scores_each_image_against_the_independent_pixel_baseline(digits):
    spec = zoo.get_spec("nade")
    task = get_task(spec.task)
    nade = zoo.build("nade", **SMALL)
    train, test = digits.train, digits.test
    result = task.evaluate(nade, _batches(test.x), spec, _hparams(), {}, seed=0,
                           train_batches=_batches(train.x, train.y))
    assert result.paired_test == "paired_t" and result.scores.shape == (len(test.x),)
    assert result.metrics["nll_nats"] == pytest.approx(result.scores.mean(), rel=1e-12)
    np.testing.assert_allclose(result.scores, np.asarray(nade.nll(test.x)), rtol=1e-6)
    assert result.metrics["bits_per_dim"] == pytest.approx(result.metrics["nll_nats"] / (64 * math.log(2)))
    # The baseline: independent Bernoulli pixels at their add-one smoothed training frequency.
    p = (train.x.reshape(len(train.x), -1).astype("float64").sum(axis=0) + 1.0) / (len(train.x) + 2.0)
    flat = test.x.reshape(len(test.x), -1).astype("float64")
    expected = -(flat * np.log(p) + (1 - flat) * np.log(1 - p)).sum(axis=1).mean()
    assert result.metrics["baseline_nll_nats"] == pytest.approx(expected, rel=1e-9)
    assert result.metrics["baseline_bits_per_dim"] == pytest.approx(expected / (64 * math.log(2)))
    with pytest.raises(ValueError, match="train_batches"):
        task.evaluate(nade, _batches(test.x), spec, _hparams(), {}, seed=0)


def test_a_few_epochs_beat_the_independent_pixel_baseline(digits):
    import keras

    spec = zoo.get_spec("nade")
    task = get_task(spec.task)
    keras.utils.set_random_seed(0)
    nade = zoo.build("nade", **SMALL)
    task.compile(nade, spec, _hparams(), learning_rate=spec.recipe.learning_rate)
    history = nade.fit(digits.train.x, batch_size=spec.recipe.batch_size, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    result = task.evaluate(nade, _batches(digits.test.x), spec, _hparams(), {}, seed=0,
                           train_batches=_batches(digits.train.x, digits.train.y))
    assert result.metrics["nll_nats"] < result.metrics["baseline_nll_nats"] - 1.0


def test_pictures_and_the_per_epoch_progression(digits, tmp_path):
    spec = zoo.get_spec("nade")
    task = get_task(spec.task)
    nade = zoo.build("nade", **SMALL)
    drawn = task.pictures(nade, _batches(digits.test.x), spec, _hparams(), {}, str(tmp_path), seed=0)
    assert len(drawn) == 2
    for path in drawn.values():
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    callbacks = task.training_callbacks(nade, spec, _hparams(), {}, str(tmp_path / "progress"), seed=0)
    task.compile(nade, spec, _hparams(), learning_rate=spec.recipe.learning_rate)
    nade.fit(digits.train.x[:64], batch_size=32, epochs=2, verbose=0, callbacks=callbacks)
    files = set(os.listdir(tmp_path / "progress"))
    assert {"nade_epoch_001.png", "nade_epoch_002.png", "nade_progression.png", "nade_progression.gif"} <= files


def test_the_endpoint_serves_seeded_samples(tmp_path):
    from zoo.pipeline.serving import Predictor

    spec = zoo.get_spec("nade")
    nade = zoo.build("nade", **SMALL)
    served = get_task(spec.task).serving_model(nade, spec, _hparams(), {})
    served.export(str(tmp_path / "saved_model"), verbose=False)
    predictor = Predictor(str(tmp_path / "saved_model"))
    assert set(predictor.inputs) == {"seed"}
    first = np.asarray(predictor.predict({"instances": [{"seed": 3}, {"seed": 1}, {"seed": 4}]})["predictions"])
    again = np.asarray(predictor.predict({"instances": [4, 3]})["predictions"])
    assert first.shape == (3, 8, 8, 1) and set(np.unique(first)) <= {0.0, 1.0}
    np.testing.assert_array_equal(again, first[[2, 0]])
    assert not np.array_equal(first[0], first[1])
    # The served sampler is the model's: seed s draws with the uniforms Phi(z) of its seeded noise.
    from scipy.stats import norm

    from zoo.models.generative.sampling import SeededNoise

    z = np.asarray(SeededNoise((64,))(np.array([3, 1, 4], "int32")), dtype="float64")
    np.testing.assert_array_equal(first, np.asarray(nade.sample(norm.cdf(z).astype("float32"))))


# ------------------------------------------------------------------------------------------ learning (slow)
@pytest.mark.slow
def test_nade_learns_binarised_digits_by_its_recipe(digits):
    import keras

    spec = zoo.get_spec("nade")
    task = get_task(spec.task)
    recipe = spec.recipe
    keras.utils.set_random_seed(0)
    nade = zoo.build("nade", **SMALL)
    task.compile(nade, spec, _hparams(), learning_rate=recipe.learning_rate)
    stop = keras.callbacks.EarlyStopping(monitor=recipe.monitor, patience=recipe.patience, restore_best_weights=True)
    nade.fit(digits.train.x, validation_data=(digits.val.x,), batch_size=recipe.batch_size, epochs=recipe.epochs,
             callbacks=[stop], verbose=0)
    result = task.evaluate(nade, _batches(digits.test.x), spec, _hparams(), {}, seed=0,
                           train_batches=_batches(digits.train.x, digits.train.y))
    # Measured: 17.8 nats (0.40 bits/dim) against the baseline's 24.6 (0.55).
    assert result.metrics["nll_nats"] < 19.0
    assert result.metrics["nll_nats"] < result.metrics["baseline_nll_nats"] - 5.0
