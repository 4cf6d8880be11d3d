"""Catalog section G's generative models beyond the standard model test: the VAE's bound and its parts, DCGAN's
training and parts, the sample-quality measure (Fréchet distance, KID, the cached judge), the generative
tasks (evaluation, serving, pictures), and (slow) learning checks on digits.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import zoo
from zoo import sample_quality
from zoo.tasks import get_task

# Its module-scoped fixtures are expensive: `make test` keeps the module on one worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("generative")

VAE_SMALL = dict(zoo.get_spec("vae").small)
DCGAN_SMALL = dict(zoo.get_spec("dcgan").small)


def _hparams(name):
    spec = zoo.get_spec(name)
    return {**spec.defaults, **spec.small}


@pytest.fixture(scope="module")
def digits16():
    """Digits prepared as the DCGAN pipeline prepares them: 16x16x1 images in [0, 1] and int labels."""
    from zoo.data import load_dataset
    from zoo.data.adapt import adapt

    spec = zoo.get_spec("dcgan")
    return adapt(spec, _hparams("dcgan"), load_dataset("digits", seed=0))


@pytest.fixture(scope="module")
def digits8():
    from zoo.data import load_dataset
    from zoo.data.adapt import adapt

    return adapt(zoo.get_spec("vae"), _hparams("vae"), load_dataset("digits", seed=0))


def _batches(x, y=None, size=256):
    """Batches as the evaluate step streams them: images alone, or (images, labels)."""
    for i in range(0, len(x), size):
        yield x[i:i + size] if y is None else (x[i:i + size], y[i:i + size])


# --------------------------------------------------------------------------------------- sample quality
def _exact_gaussian_sample(mean, cov, n, seed):
    """n points whose sample mean and sample covariance are exactly `mean` and `cov`."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(mean)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # sample covariance exactly I
    return np.asarray(mean) + z @ np.linalg.cholesky(cov).T


def test_frechet_distance_matches_the_formula_for_known_gaussians():
    # mu_a - mu_b = (1, 2); S_a = diag(1, 4), S_b = diag(4, 9): (S_a S_b)^(1/2) = diag(2, 6), so
    # FD = 1 + 4 + (1 + 4) + (4 + 9) - 2 * (2 + 6) = 7.
    a = _exact_gaussian_sample([1.0, 2.0], np.diag([1.0, 4.0]), 200, seed=0)
    b = _exact_gaussian_sample([0.0, 0.0], np.diag([4.0, 9.0]), 300, seed=1)
    assert sample_quality.frechet_distance(a, b) == pytest.approx(7.0, abs=1e-9)
    assert sample_quality.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_with_covariances_that_do_not_commute():
    from scipy import linalg

    cov_a = np.array([[2.0, 0.8, 0.0], [0.8, 1.0, 0.3], [0.0, 0.3, 0.5]])
    cov_b = np.array([[1.0, -0.4, 0.2], [-0.4, 3.0, 0.0], [0.2, 0.0, 1.5]])
    a = _exact_gaussian_sample([0.0, 1.0, 0.0], cov_a, 400, seed=2)
    b = _exact_gaussian_sample([0.5, 0.0, 0.0], cov_b, 400, seed=3)
    # tr((S_a S_b)^(1/2)) = tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)), a symmetric form computed independently.
    root_a = linalg.sqrtm(cov_a).real
    cross = np.sqrt(np.linalg.eigvalsh(root_a @ cov_b @ root_a)).sum()
    expected = 0.25 + 1.0 + np.trace(cov_a) + np.trace(cov_b) - 2 * cross
    assert sample_quality.frechet_distance(a, b) == pytest.approx(expected, abs=1e-8)
    # A collapsed generator: its features span a plane only, so its covariance (and the product) is singular.
    collapsed = np.concatenate([b[:, :2], b[:, :1] - b[:, 1:2]], axis=1)
    cov_c = np.cov(collapsed, rowvar=False)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_c @ root_a), 0, None)).sum()
    expected = (np.sum((a.mean(axis=0) - collapsed.mean(axis=0)) ** 2) + np.trace(cov_a) + np.trace(cov_c)
                - 2 * cross)
    assert sample_quality.frechet_distance(a, collapsed) == pytest.approx(expected, abs=1e-6)


def test_frechet_distance_ignores_dead_features_and_rejects_too_few_samples():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 3)), rng.normal(1.0, size=(60, 3))
    dead = lambda x: np.concatenate([x, np.zeros((len(x), 2))], axis=1)  # noqa: E731
    assert sample_quality.frechet_distance(dead(a), dead(b)) == pytest.approx(sample_quality.frechet_distance(a, b))
    with pytest.raises(ValueError, match="at least 2 samples"):
        sample_quality.frechet_distance(a[:1], b)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    same = sample_quality.kernel_distance(rng.normal(size=(500, 8)), rng.normal(size=(500, 8)))
    shifted = sample_quality.kernel_distance(rng.normal(size=(500, 8)), rng.normal(0.5, size=(500, 8)))
    further = sample_quality.kernel_distance(rng.normal(size=(500, 8)), rng.normal(1.0, size=(500, 8)))
    assert abs(same) < 0.01
    assert shifted > 10 * max(abs(same), 1e-3)
    assert further > shifted


def test_the_judge_is_cached_by_its_training_data(judge_cache, digits16, monkeypatch):
    train = digits16.train
    first = sample_quality.judge_for(_batches(train.x, train.y), classes=10)
    files = os.listdir(os.path.join(judge_cache, "judges"))
    assert len(files) == 1 and files[0].endswith(".keras")

    def no_training(*args, **kwargs):
        raise AssertionError("the cached judge should have been used")

    monkeypatch.setattr(sample_quality, "_train", no_training)
    again = sample_quality.judge_for(_batches(train.x, train.y, size=100), classes=10)
    assert again.fingerprint == first.fingerprint
    # Other training data is another judge.
    with pytest.raises(AssertionError, match="cached judge"):
        sample_quality.judge_for(_batches(train.x[:-1], train.y[:-1]), classes=10)
    with pytest.raises(ValueError, match="labelled"):
        sample_quality.judge_for(_batches(train.x), classes=10)


# ------------------------------------------------------------------------------------------------- DCGAN
def test_dcgan_parts_work_alone_and_follow_the_papers_guidelines():
    import keras

    gan = zoo.build("dcgan", **DCGAN_SMALL)
    noise = np.random.default_rng(0).normal(size=(3, DCGAN_SMALL["latent_dim"])).astype("float32")
    images = np.asarray(gan.generator(noise, training=False))
    assert images.shape == (3, 16, 16, 1) and images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_allclose(np.asarray(gan.predict(noise, verbose=0)), images, atol=1e-6)
    assert tuple(gan.discriminator(images).shape) == (3, 1)
    generator, discriminator = (
        [type(layer) for layer in part.layers if not isinstance(layer, keras.layers.InputLayer)]
        for part in (gan.generator, gan.discriminator)
    )
    assert not {keras.layers.MaxPooling2D, keras.layers.AveragePooling2D} & set(generator + discriminator)
    # No batch normalisation on G's output layer or D's input layer.
    assert generator[-2:] == [keras.layers.Conv2DTranspose, keras.layers.Rescaling]
    assert discriminator[:3] == [keras.layers.Rescaling, keras.layers.Conv2D, keras.layers.LeakyReLU]


def test_dcgan_rejects_bad_arguments_with_what_it_received():
    with pytest.raises(ValueError, match=r"divisible by 2\*\*len\(generator_filters\) = 4"):
        zoo.build("dcgan", **{**DCGAN_SMALL, "image_shape": (18, 18, 1)})
    with pytest.raises(ValueError, match="style"):
        from zoo.models.generative.dcgan import DCGAN

        DCGAN(style="keras")
    gan = zoo.build("dcgan", **DCGAN_SMALL)
    with pytest.raises(ValueError, match="d_optimizer and g_optimizer"):
        gan.compile(optimizer="adam")


def test_dcgan_trains_on_images_alone_with_two_optimizers(digits16):
    import keras

    spec = zoo.get_spec("dcgan")
    gan = zoo.build("dcgan", **DCGAN_SMALL)
    get_task(spec.task).compile(gan, spec, _hparams("dcgan"), learning_rate=2e-4)
    assert gan.d_optimizer is not gan.g_optimizer
    assert gan.d_optimizer.beta_1 == 0.5 and float(gan.g_optimizer.learning_rate) == pytest.approx(2e-4)
    before = [np.array(w) for w in gan.generator.get_weights()]
    history = gan.fit(digits16.train.x[:64], batch_size=32, epochs=1, verbose=0).history
    assert set(history) == {"d_loss", "g_loss"} and all(np.isfinite(v[0]) for v in history.values())
    assert int(gan.d_optimizer.iterations) == int(gan.g_optimizer.iterations) == 2
    assert any(not np.allclose(a, b) for a, b in zip(before, gan.generator.get_weights()))
    assert isinstance(gan.d_optimizer, keras.optimizers.Adam)


def test_dcgan_wraps_both_optimizers_for_loss_scaling_under_mixed_float16():
    import keras

    keras.config.set_dtype_policy("mixed_float16")
    gan = zoo.build("dcgan", **DCGAN_SMALL)
    gan.compile()
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    images = np.random.default_rng(0).uniform(size=(8, 16, 16, 1)).astype("float32")
    history = gan.fit(images, batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["d_loss"][0]) and np.isfinite(history["g_loss"][0])


def test_a_trained_dcgan_has_a_lower_frechet_distance_the_same_on_every_evaluation(judge_cache, digits16,
                                                                                    tmp_path):
    spec = zoo.get_spec("dcgan")
    task = get_task(spec.task)
    hparams = _hparams("dcgan")
    train, test = digits16.train, digits16.test

    def evaluate(model):
        return task.evaluate(model, _batches(test.x), spec, hparams, {"classes": 10}, seed=0,
                             train_batches=_batches(train.x, train.y))

    # A judge of this test's own (trained in its first evaluation below): the module's cached one may have
    # been trained while the process was in another state (other tests run on the same pytest worker).
    os.environ[sample_quality.CACHE_ENV] = str(tmp_path / "own-cache")
    untrained = zoo.build("dcgan", **DCGAN_SMALL)
    trained = zoo.build("dcgan", **DCGAN_SMALL)
    task.compile(trained, spec, hparams, learning_rate=spec.recipe.learning_rate)
    trained.fit(train.x, batch_size=spec.recipe.batch_size, epochs=12, verbose=0)
    path = str(tmp_path / "dcgan.keras")
    trained.save(path)

    first = evaluate(trained)
    assert set(first.metrics) == {"frechet_distance", "kid"} and first.scores is None
    assert first.metrics["frechet_distance"] < evaluate(untrained).metrics["frechet_distance"] / 2
    # The same generator, reloaded as the evaluate step loads it, scores exactly the same...
    again = evaluate(zoo.load_model(path))
    assert again.metrics == first.metrics and again.fingerprint == first.fingerprint
    # ...and so it does with a judge trained afresh (no cache): the judge's training is deterministic.
    os.environ[sample_quality.CACHE_ENV] = str(tmp_path / "fresh-cache")
    try:
        fresh = evaluate(zoo.load_model(path))
    finally:
        os.environ[sample_quality.CACHE_ENV] = judge_cache  # the module's fixture restores the user's value
    assert fresh.metrics == first.metrics and fresh.fingerprint == first.fingerprint


def test_adversarial_evaluation_needs_the_labelled_training_split(digits16):
    spec = zoo.get_spec("dcgan")
    with pytest.raises(ValueError, match="train_batches"):
        get_task(spec.task).evaluate(zoo.build("dcgan", **DCGAN_SMALL), _batches(digits16.test.x), spec,
                                     _hparams("dcgan"), {}, seed=0)


def test_the_dcgan_adapter_shapes_images_to_the_generator_not_to_the_noise(digits16):
    assert digits16.train.x.shape[1:] == (16, 16, 1) and digits16.train.x.dtype == np.float32
    assert 0.0 <= digits16.train.x.min() and digits16.train.x.max() <= 1.0
    assert digits16.train.y.dtype == np.int32
    assert zoo.get_spec("dcgan").inputs(_hparams("dcgan"))["noise"].shape == (DCGAN_SMALL["latent_dim"],)


# --------------------------------------------------------------------------------------------------- VAE
def test_vae_parts_and_deterministic_inference():
    vae = zoo.build("vae", **VAE_SMALL)
    images = np.random.default_rng(0).uniform(size=(5, 8, 8, 1)).astype("float32")
    z_mean, z_log_var = vae.encode(images)
    assert tuple(z_mean.shape) == tuple(z_log_var.shape) == (5, VAE_SMALL["latent_dim"])
    assert tuple(vae.encoder(images).shape) == (5, 2 * VAE_SMALL["latent_dim"])
    reconstruction = np.asarray(vae(images, training=False))
    np.testing.assert_allclose(reconstruction, np.asarray(vae.decoder(z_mean)), atol=1e-6)
    np.testing.assert_array_equal(reconstruction, np.asarray(vae(images, training=False)))
    # Training draws codes: two training calls differ.
    assert not np.allclose(np.asarray(vae(images, training=True)), np.asarray(vae(images, training=True)))


def test_vae_reports_its_loss_terms_and_the_total_is_their_sum(digits8):
    vae = zoo.build("vae", **VAE_SMALL)
    vae.compile(optimizer="adam")
    history = vae.fit(digits8.train.x[:128], batch_size=32, epochs=1, verbose=0).history
    assert {"loss", "reconstruction_loss", "kl_loss"} <= set(history)
    assert history["loss"][0] == pytest.approx(history["reconstruction_loss"][0] + history["kl_loss"][0], rel=1e-5)
    # With (images, labels) the labels are ignored.
    history = vae.fit(digits8.train.x[:64], digits8.train.y[:64], batch_size=32, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])


def test_vae_evaluation_scores_each_image_and_the_gate_metric_is_their_mean(digits8):
    spec = zoo.get_spec("vae")
    task = get_task(spec.task)
    vae = zoo.build("vae", **VAE_SMALL)
    test = digits8.test
    result = task.evaluate(vae, _batches(test.x, size=100), spec, _hparams("vae"), {}, seed=0)
    assert result.paired_test == "paired_t" and result.scores.shape == (len(test.x),)
    assert result.metrics["neg_elbo"] == pytest.approx(result.scores.mean(), rel=1e-12)
    assert result.metrics["neg_elbo"] == pytest.approx(
        result.metrics["reconstruction_nll"] + result.metrics["kl_divergence"], rel=1e-9)
    assert np.all(result.scores > 0)
    again = task.evaluate(vae, _batches(test.x, size=100), spec, _hparams("vae"), {}, seed=0)
    np.testing.assert_array_equal(again.scores, result.scores)


def test_vae_rejects_bad_arguments_with_what_it_received():
    with pytest.raises(ValueError, match="latent_dim"):
        zoo.build("vae", **{**VAE_SMALL, "latent_dim": 0})
    with pytest.raises(ValueError, match="hidden_units"):
        zoo.build("vae", **{**VAE_SMALL, "hidden_units": 64})


# ------------------------------------------------------------------------------------ serving, pictures
@pytest.mark.parametrize("name,part", [("vae", "decoder"), ("dcgan", "generator"), ("cgan", "generator")])
def test_a_deployed_generator_draws_the_same_image_for_the_same_seed(name, part, tmp_path):
    from zoo.models.generative.sampling import SeededNoise
    from zoo.pipeline.serving import BadRequest, Predictor

    spec = zoo.get_spec(name)
    hparams = _hparams(name)
    model = zoo.build(name, **spec.small)
    conditional = name == "cgan"
    get_task(spec.task).serving_model(model, spec, hparams, {}).export(str(tmp_path / "saved_model"), verbose=False)
    predictor = Predictor(str(tmp_path / "saved_model"))
    assert set(predictor.inputs) == ({"seed", "label"} if conditional else {"seed"})

    def instance(seed, label=3):
        return {"seed": seed, "label": label} if conditional else {"seed": seed}

    def draw(*instances):
        return np.asarray(predictor.predict({"instances": list(instances)})["predictions"], dtype="float32")

    images = draw(instance(1), instance(2), instance(1))
    assert images.shape == (3, *np.asarray(model.predict(_random_inputs(spec, hparams), verbose=0)).shape[1:])
    np.testing.assert_array_equal(images[0], images[2])  # one image per instance; the same seed, the same image
    assert not np.allclose(images[0], images[1])
    np.testing.assert_allclose(draw(instance(1))[0], images[0], atol=1e-6)  # whatever else the request holds
    # The image is the generating part's, for the seed's noise (and the label).
    noise = np.asarray(SeededNoise((hparams["latent_dim"],))(np.array([1], dtype="int32")))
    generating = getattr(model, part)
    expected = generating([noise, np.array([3], dtype="int32")] if conditional else noise, training=False)
    np.testing.assert_allclose(images[0], np.asarray(expected)[0], atol=1e-5)
    if conditional:
        assert not np.allclose(draw(instance(1, label=4))[0], images[0])  # the label changes the image
        for bad in (10, -1):
            with pytest.raises(BadRequest, match=r"label must be an integer in \[0, 10\)") as err:
                draw(instance(1, label=bad))
            assert "\n" not in str(err.value)


def _random_inputs(spec, hparams):
    from zoo.tasks.base import random_inputs

    return random_inputs(spec, hparams, 2, np.random.default_rng(0))


@pytest.mark.parametrize("name", ["vae", "dcgan"])
def test_training_draws_the_same_samples_after_every_epoch(name, tmp_path):
    from zoo.pictures import SampleProgress

    spec = zoo.get_spec(name)
    model = zoo.build(name, **spec.small)
    (callback,) = get_task(spec.task).training_callbacks(model, spec, _hparams(name), {}, str(tmp_path), seed=0)
    assert isinstance(callback, SampleProgress) and callback.name == name
    samples = callback.draw(model)
    assert samples.shape[0] == 64 and samples.min() >= 0.0 and samples.max() <= 1.0
    np.testing.assert_array_equal(callback.draw(model), samples)


@pytest.mark.parametrize("name", ["vae", "dcgan"])
def test_pictures_are_png_sample_grids(name, tmp_path, digits8, digits16):
    spec = zoo.get_spec(name)
    data = digits8 if name == "vae" else digits16
    model = zoo.build(name, **spec.small)
    drawn = get_task(spec.task).pictures(model, _batches(data.test.x), spec, _hparams(name), {}, str(tmp_path),
                                         seed=0)
    assert drawn
    for path in drawn.values():
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------------------------ learning
def test_vae_learns_digits(digits8):
    """The VAE kind's learning check in the fast suite (its pipeline run trains one epoch): ten epochs."""
    spec = zoo.get_spec("vae")
    task = get_task(spec.task)
    vae = zoo.build("vae", **VAE_SMALL)
    before = task.evaluate(vae, _batches(digits8.test.x), spec, _hparams("vae"), {}, seed=0).metrics["neg_elbo"]
    task.compile(vae, spec, _hparams("vae"), learning_rate=spec.recipe.learning_rate)
    vae.fit(digits8.train.x, batch_size=spec.recipe.batch_size, epochs=10, verbose=0)
    after = task.evaluate(vae, _batches(digits8.test.x), spec, _hparams("vae"), {}, seed=0).metrics["neg_elbo"]
    assert after < 0.7 * before and after < spec.gate.floor


@pytest.mark.slow
def test_dcgan_learns_digits_by_its_recipe(judge_cache, digits16):
    spec = zoo.get_spec("dcgan")
    task = get_task(spec.task)
    train = digits16.train
    gan = zoo.build("dcgan", **DCGAN_SMALL)
    task.compile(gan, spec, _hparams("dcgan"), learning_rate=spec.recipe.learning_rate)
    gan.fit(train.x, batch_size=spec.recipe.batch_size, epochs=spec.recipe.epochs, verbose=0)
    result = task.evaluate(gan, _batches(digits16.test.x), spec, _hparams("dcgan"), {"classes": 10}, seed=0,
                           train_batches=_batches(train.x, train.y))
    # Real training images against the real test images, in the same judge's features: the floor of the scale.
    judge = sample_quality.judge_for(_batches(train.x, train.y), classes=10)
    real = sample_quality.frechet_distance(judge.features(train.x[:len(digits16.test.x)]),
                                           judge.features(digits16.test.x))
    assert result.metrics["frechet_distance"] < 4 * real
    assert result.metrics["frechet_distance"] < spec.gate.floor
