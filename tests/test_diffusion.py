"""DDPM beyond the standard model test: the forward process's marginals, the schedule and the reverse step's
formula, training on clean images, ancestral sampling and the reverse process, the denoising-diffusion task
(sample quality in the judge's features, pictures, the per-epoch progression, seeded serving), and learning
on digits: here, that a few training steps cut the denoising error of held-out images; in the slow tier, that
the recipe's run cuts the Fréchet distance of the samples well below the untrained model's (the two sample-
quality evaluations and the training take about a minute on two CPU cores).

Most checks use a tiny model (T = 10 steps, narrow U-Net) so that sampling costs milliseconds.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import zoo
from zoo import sample_quality
from zoo.tasks import get_task

pytestmark = pytest.mark.xdist_group("diffusion")

SMALL = dict(zoo.get_spec("diffusion").small)
TINY = {**SMALL, "filters": (8, 16), "embedding_dim": 8, "timesteps": 10, "beta_start": 0.01, "beta_end": 0.9}


def _hparams(**extra):
    spec = zoo.get_spec("diffusion")
    return {**spec.defaults, **spec.small, **extra}


def _batches(x, y=None, size=256):
    for i in range(0, len(x), size):
        yield x[i:i + size] if y is None else (x[i:i + size], y[i:i + size])


@pytest.fixture(scope="module")
def digits():
    """Digits prepared as the diffusion pipeline prepares them: 8x8x1 images in [0, 1] and int labels."""
    from zoo.data import load_dataset
    from zoo.data.adapt import adapt

    return adapt(zoo.get_spec("diffusion"), _hparams(), load_dataset("digits", seed=0))


def _evaluate(model, digits, hparams=None):
    spec = zoo.get_spec("diffusion")
    return get_task(spec.task).evaluate(model, _batches(digits.test.x), spec, hparams or _hparams(),
                                        {"classes": 10}, seed=0,
                                        train_batches=_batches(digits.train.x, digits.train.y))


# ------------------------------------------------------------------------------------------- the processes
def test_the_forward_process_has_the_marginals_of_q():
    ddpm = zoo.build("diffusion", **SMALL)
    images = np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype("float32")
    draws = 4000
    for step in (0, 40, 99):
        noise = np.random.default_rng(step).standard_normal((draws * 3, 8, 8, 1)).astype("float32")
        x_t = np.asarray(ddpm.diffuse(np.repeat(images, draws, axis=0), np.full(draws * 3, step, "int32"), noise))
        x_t = x_t.reshape(3, draws, 8, 8, 1)
        alpha_bar = ddpm.schedule["alpha_bars"][step]
        np.testing.assert_allclose(x_t.mean(axis=1), np.sqrt(alpha_bar) * (2 * images - 1), atol=0.06)
        np.testing.assert_allclose(x_t.var(axis=1), np.full((3, 8, 8, 1), 1 - alpha_bar), atol=0.08, rtol=0.1)


def test_the_schedule_is_linear_and_ends_near_pure_noise():
    for hparams in (_hparams(), zoo.get_spec("diffusion").defaults):
        ddpm = zoo.build("diffusion", **{**hparams, "image_shape": (8, 8, 1), "filters": (8, 16)})
        betas = ddpm.schedule["betas"]
        assert len(betas) == hparams["timesteps"]
        np.testing.assert_allclose(np.diff(betas), np.diff(betas)[0], rtol=1e-9)
        assert betas[0] == pytest.approx(hparams["beta_start"]) and betas[-1] == pytest.approx(hparams["beta_end"])
        assert ddpm.schedule["alpha_bars"][-1] < 1e-4


def test_the_reverse_step_follows_the_papers_formula():
    ddpm = zoo.build("diffusion", **TINY)
    # A denoiser that predicts no noise: x_{t-1} = x_t / sqrt(alpha_t) + sigma_t z.
    output = ddpm.denoiser.get_layer("output_conv")
    output.set_weights([np.zeros_like(w) for w in output.get_weights()])
    rng = np.random.default_rng(0)
    x, z = rng.standard_normal((2, 2, 8, 8, 1)).astype("float32")
    betas = ddpm.schedule["betas"]
    for step in (9, 4, 0):
        expected = x / np.sqrt(1 - betas[step]) + (np.sqrt(betas[step]) if step else 0.0) * z
        np.testing.assert_allclose(np.asarray(ddpm.reverse_step(x, step, z)), expected, rtol=1e-5, atol=1e-5)
    # And with a predicted noise: subtract beta_t / sqrt(1 - alpha_bar_t) of it before rescaling.
    ddpm = zoo.build("diffusion", **TINY)
    eps = np.asarray(ddpm.predict_noise(x, np.full(2, 4, "int32")))
    alpha_bar = ddpm.schedule["alpha_bars"][4]
    expected = (x - betas[4] / np.sqrt(1 - alpha_bar) * eps) / np.sqrt(1 - betas[4]) + np.sqrt(betas[4]) * z
    np.testing.assert_allclose(np.asarray(ddpm.reverse_step(x, 4, z)), expected, rtol=1e-5, atol=1e-5)


def test_sampling_gives_images_in_the_unit_range_and_the_reverse_process():
    ddpm = zoo.build("diffusion", **TINY)
    noise = np.random.default_rng(0).standard_normal((3, 8, 8, 1)).astype("float32")
    images = np.asarray(ddpm.sample(noise, seed=1))
    assert images.shape == (3, 8, 8, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(np.asarray(ddpm.sample(noise, seed=1)), images)
    assert not np.array_equal(np.asarray(ddpm.sample(noise, seed=2)), images)
    final, kept = ddpm.sample(noise, seed=1, keep=4)
    assert [t for t, _ in kept] == [10, 7, 3, 0]
    np.testing.assert_allclose(np.asarray(kept[0][1]), np.clip((noise + 1) / 2, 0, 1), atol=1e-6)
    np.testing.assert_array_equal(np.asarray(kept[-1][1]), np.asarray(final))
    np.testing.assert_array_equal(np.asarray(final), images)


def test_training_on_clean_images_lowers_the_denoising_error_and_draws_the_progression(digits, tmp_path):
    import keras

    from zoo.tasks.diffusion import progress_every

    spec = zoo.get_spec("diffusion")
    task = get_task(spec.task)
    keras.utils.set_random_seed(0)
    ddpm = zoo.build("diffusion", **{**SMALL, "seed": 0})
    rng = np.random.default_rng(0)
    test = digits.test.x[:128]
    steps = rng.integers(0, ddpm.timesteps, size=len(test)).astype("int32")
    noise = rng.standard_normal(test.shape).astype("float32")
    before = float(np.mean(ddpm.denoising_errors(test, steps, noise)))
    callbacks = task.training_callbacks(ddpm, spec, _hparams(), {}, str(tmp_path), seed=0)
    task.compile(ddpm, spec, _hparams(), learning_rate=spec.recipe.learning_rate)
    history = ddpm.fit(digits.train.x[:512], batch_size=32, epochs=2, verbose=0, callbacks=callbacks).history
    assert set(history) == {"loss"} and all(np.isfinite(history["loss"]))
    after = float(np.mean(ddpm.denoising_errors(test, steps, noise)))
    # Measured: 1.8 before, about 0.25 after these 32 steps.
    assert after < 0.3 * before and history["loss"][-1] < history["loss"][0]
    files = set(os.listdir(tmp_path))
    assert {"diffusion_epoch_001.png", "diffusion_epoch_002.png", "diffusion_progression.png",
            "diffusion_progression.gif"} <= files
    # The small configuration draws after every epoch; the default T = 1000 every other epoch of 30.
    assert progress_every(SMALL["timesteps"], spec.recipe.epochs) == 1
    assert progress_every(1000, 30) == 2


def test_ddpm_rejects_bad_arguments_with_what_it_received():
    from zoo.models.diffusion.ddpm import DDPM

    with pytest.raises(ValueError, match=r"`timesteps` must be a positive integer. Received: timesteps=0"):
        zoo.build("diffusion", **{**SMALL, "timesteps": 0})
    with pytest.raises(ValueError, match=r"`beta_end` must be at least `beta_start`"):
        zoo.build("diffusion", **{**SMALL, "beta_start": 0.1, "beta_end": 0.01})
    with pytest.raises(ValueError, match=r"`beta_start` must be a number in \(0, 1\). Received: beta_start=1.5"):
        zoo.build("diffusion", **{**SMALL, "beta_start": 1.5})
    with pytest.raises(ValueError, match=r"divisible by 2\*\*\(len\(filters\) - 1\) = 4"):
        zoo.build("diffusion", **{**SMALL, "image_shape": (10, 10, 1), "filters": (8, 16, 32)})
    with pytest.raises(ValueError, match="`embedding_dim` must be even"):
        zoo.build("diffusion", **{**SMALL, "embedding_dim": 7})
    with pytest.raises(ValueError, match="diffusion cannot be built as 'sequential'"):
        zoo.build("diffusion", style="sequential", **SMALL)
    with pytest.raises(ValueError, match="keras.Sequential cannot"):
        DDPM(style="sequential")
    ddpm = zoo.build("diffusion", **TINY)
    with pytest.raises(ValueError, match="`keep` must be 0 or an integer of at least 2. Received: keep=1"):
        ddpm.sample(np.zeros((1, 8, 8, 1), "float32"), keep=1)
    with pytest.raises(ValueError, match="needs the noise as targets"):
        ddpm.compile(optimizer="adam")
        ddpm.fit([np.zeros((2, 8, 8, 1), "float32"), np.zeros(2, "int32")], epochs=1, verbose=0)


# ------------------------------------------------------------------------------------------------- task
def test_evaluation_measures_samples_in_the_judges_features_the_same_every_time(judge_cache, digits):
    tiny = zoo.build("diffusion", **TINY)
    first = _evaluate(tiny, digits, _hparams(**TINY))
    assert set(first.metrics) == {"frechet_distance", "kid", "denoising_loss"} and first.scores is None
    assert all(np.isfinite(v) for v in first.metrics.values())
    assert first.fingerprint.startswith("simple_cnn-") and f"-n{len(digits.test.x)}-seed0" in first.fingerprint
    again = _evaluate(tiny, digits, _hparams(**TINY))
    assert again.metrics == first.metrics and again.fingerprint == first.fingerprint
    spec = zoo.get_spec("diffusion")
    with pytest.raises(ValueError, match="train_batches"):
        get_task(spec.task).evaluate(tiny, _batches(digits.test.x), spec, _hparams(), {}, seed=0)


def test_pictures_show_the_reverse_process_of_the_served_seeds(digits, tmp_path):
    from PIL import Image

    from zoo.tasks.diffusion import REVERSE_ROWS, REVERSE_STATES, reverse_process

    spec = zoo.get_spec("diffusion")
    task = get_task(spec.task)
    tiny = zoo.build("diffusion", **TINY)
    drawn = task.pictures(tiny, _batches(digits.test.x), spec, _hparams(**TINY), {}, str(tmp_path), seed=0)
    assert len(drawn) == 2
    for path in drawn.values():
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    (reverse,) = [path for title, path in drawn.items() if title.startswith("Reverse process")]
    assert Image.open(reverse).size[0] > Image.open(reverse).size[1] * 0.9  # 8 states a row, 8 seeds
    rows = reverse_process(tiny, range(REVERSE_ROWS), REVERSE_STATES)
    assert rows.shape == (REVERSE_ROWS, REVERSE_STATES, 8, 8, 1)


def test_the_endpoint_serves_the_same_image_for_the_same_seed(tmp_path):
    from zoo.pipeline.serving import Predictor
    from zoo.tasks.diffusion import reverse_process

    spec = zoo.get_spec("diffusion")
    tiny = zoo.build("diffusion", **TINY)
    served = get_task(spec.task).serving_model(tiny, spec, _hparams(**TINY), {})
    served.export(str(tmp_path / "saved_model"), verbose=False)
    predictor = Predictor(str(tmp_path / "saved_model"))
    assert set(predictor.inputs) == {"seed"}
    first = np.asarray(predictor.predict({"instances": [{"seed": 3}, {"seed": 1}, {"seed": 4}]})["predictions"])
    again = np.asarray(predictor.predict({"instances": [4, 3]})["predictions"])
    assert first.shape == (3, 8, 8, 1) and first.min() >= 0.0 and first.max() <= 1.0
    # The same seed, the same image in another batch (up to the convolutions' batch-size-dependent round-off).
    np.testing.assert_allclose(again, first[[2, 0]], atol=1e-5)
    assert not np.allclose(first[0], first[1])
    # The served images are the last states of the reverse process the pictures show for those seeds.
    np.testing.assert_allclose(reverse_process(tiny, [3, 1, 4], 2)[:, -1], first, atol=1e-5)


# ------------------------------------------------------------------------------------------ learning (slow)
@pytest.mark.slow
def test_ddpm_learns_digits_by_its_recipe(judge_cache, digits):
    import keras

    spec = zoo.get_spec("diffusion")
    keras.utils.set_random_seed(0)
    ddpm = zoo.build("diffusion", **{**SMALL, "seed": 0})
    untrained = _evaluate(ddpm, digits).metrics
    get_task(spec.task).compile(ddpm, spec, _hparams(), learning_rate=spec.recipe.learning_rate)
    ddpm.fit(digits.train.x, batch_size=spec.recipe.batch_size, epochs=spec.recipe.epochs, verbose=0)
    result = _evaluate(ddpm, digits).metrics
    untrained, trained = untrained["frechet_distance"], result["frechet_distance"]
    judge = sample_quality.judge_for(_batches(digits.train.x, digits.train.y), classes=10)
    real = sample_quality.frechet_distance(judge.features(digits.train.x[:len(digits.test.x)]),
                                           judge.features(digits.test.x))
    # Measured: about 23 untrained, 4 to 5 trained, 1.0 for real images.
    assert trained < untrained / 3 and trained < spec.gate.floor
    assert trained < 8 * real
    assert result["denoising_loss"] < 0.15
