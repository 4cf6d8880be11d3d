"""Catalog section G's autoencoders beyond the standard model test: their parts alone, the denoising
corruption (training only, replayed by the evaluation), the sparse penalty, argument errors, the autoencoding
task (per-image scores, the denoising gate on corrupted inputs, serving code and reconstruction, pictures and
the training progression), one quick learning check, and (slow) each model learning digits below its floor.
"""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.tasks import get_task

# Its module-scoped digits fixture is shared by most tests: `make test` keeps the module on one worker.
pytestmark = pytest.mark.xdist_group("autoencoders")

NAMES = ["autoencoder", "stacked_autoencoder", "conv_autoencoder", "denoising_autoencoder", "sparse_autoencoder"]


def _small(name, **extra):
    return {**zoo.get_spec(name).small, **extra}


def _hparams(name):
    spec = zoo.get_spec(name)
    return {**spec.defaults, **spec.small}


def _images(count=5, seed=0):
    return np.random.default_rng(seed).uniform(size=(count, 8, 8, 1)).astype("float32")


def _batches(x, size=256, pairs=True):
    """Test batches as the evaluate step streams them: (image, image) pairs from `example_map`, or images."""
    for i in range(0, len(x), size):
        yield (x[i:i + size], x[i:i + size]) if pairs else x[i:i + size]


@pytest.fixture(scope="module")
def digits8():
    """Digits prepared as the autoencoders' pipeline prepares them: 8x8x1 images in [0, 1]."""
    from zoo.data import load_dataset
    from zoo.data.adapt import adapt

    return adapt(zoo.get_spec("autoencoder"), _hparams("autoencoder"), load_dataset("digits", seed=0))


# ----------------------------------------------------------------------------------------------- models
@pytest.mark.parametrize("name", NAMES)
def test_the_encoder_and_decoder_work_alone(name):
    model = zoo.build(name, **_small(name))
    images = _images()
    codes = np.asarray(model.encoder(images))
    assert codes.shape == (5, model.latent_dim) == (5, _small(name)["latent_dim"]) and codes.dtype == np.float32
    decoded = np.asarray(model.decoder(codes))
    assert decoded.shape == images.shape and decoded.min() >= 0.0 and decoded.max() <= 1.0
    np.testing.assert_allclose(np.asarray(model.encode(images)), codes, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model.decode(codes)), decoded, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model(images, training=False)), decoded, atol=1e-6)


def test_the_sizes_in_the_docstrings():
    # The default (28x28x1) configurations, as the modules' docstrings count them.
    assert zoo.build("autoencoder").count_params() == 784 * 32 + 32 + 32 * 784 + 784 == 50_992
    assert zoo.build("stacked_autoencoder").count_params() == 222_384
    conv = zoo.build("conv_autoencoder")
    assert (conv.encoder.count_params(), conv.decoder.count_params()) == (119_200, 159_169)


@pytest.mark.parametrize("corruption,level", [("gaussian", 0.3), ("dropout", 0.4)])
def test_denoising_corrupts_only_in_training_and_the_evaluation_replays_the_corruption(corruption, level):
    from zoo.models.autoencoder.dense import corrupt

    model = zoo.build("denoising_autoencoder",
                      **_small("denoising_autoencoder", corruption=corruption, corruption_level=level, seed=1))
    images = _images(64)
    clean = np.asarray(model.decoder(model.encoder(images)))
    # Inference: no corruption, the same output every time.
    np.testing.assert_array_equal(np.asarray(model(images, training=False)), clean)
    np.testing.assert_allclose(np.asarray(model.predict(images, verbose=0)), clean, atol=1e-6)
    # Training: corrupted inputs, fresh noise on every call.
    first, second = (np.asarray(model(images, training=True)) for _ in range(2))
    assert not np.allclose(first, clean) and not np.allclose(first, second)
    seen = np.asarray(model.corruption_layer(images, training=True))
    replayed = corrupt(images, corruption, level, np.random.default_rng(0))
    for corrupted in (seen, replayed):  # Keras' layer and the NumPy replay corrupt alike
        if corruption == "gaussian":
            assert np.std(corrupted - images) == pytest.approx(level, rel=0.05)
        else:
            dropped = corrupted == 0
            assert dropped.mean() == pytest.approx(level, abs=0.03)
            np.testing.assert_allclose(corrupted[~dropped], images[~dropped] / (1 - level), rtol=1e-6)
    # The replay draws element by element: the same corruption however the stream is batched.
    rng = np.random.default_rng(0)
    batched = np.concatenate([corrupt(part, corruption, level, rng) for part in (images[:10], images[10:])])
    np.testing.assert_array_equal(batched, replayed)


def test_the_sparse_penalty_is_its_weight_times_the_codes_l1_norm():
    import keras

    images = _images(6)
    model = zoo.build("sparse_autoencoder", **_small("sparse_autoencoder", l1_penalty=0.01))
    model(images)
    codes = np.asarray(model.encoder(images))
    (penalty,) = model.losses
    assert float(penalty) == pytest.approx(0.01 * np.abs(codes).sum(axis=1).mean(), rel=1e-5)
    # The compiled loss is the cross-entropy plus the penalty.
    model.compile(optimizer="adam", loss="binary_crossentropy")
    loss = model.evaluate(images, images, verbose=0, batch_size=6)
    cross_entropy = float(np.mean(keras.losses.binary_crossentropy(images, model(images))))
    assert loss == pytest.approx(cross_entropy + float(penalty), rel=1e-5)


def test_the_sparse_penalty_makes_the_codes_sparser(digits8):
    import keras

    x = digits8.train.x

    def trained(l1_penalty):
        keras.utils.set_random_seed(0)
        model = zoo.build("sparse_autoencoder", **_small("sparse_autoencoder", l1_penalty=l1_penalty))
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
        model.fit(x, x, batch_size=64, epochs=4, verbose=0)
        return np.asarray(model.encoder(digits8.test.x))

    plain, sparse = trained(0.0), trained(0.01)
    assert np.abs(sparse).sum(axis=1).mean() < 0.5 * np.abs(plain).sum(axis=1).mean()
    assert (sparse < 1e-2).mean() > (plain < 1e-2).mean() + 0.2


@pytest.mark.parametrize("name,hparams,match", [
    ("autoencoder", {"latent_dim": 0}, r"`latent_dim` must be a positive integer. Received: latent_dim=0"),
    ("autoencoder", {"code_activation": "relu7"}, r"`code_activation` must name a Keras activation"),
    ("autoencoder", {"input_shape": (8, 8)}, r"`input_shape` must be \(height, width, channels\)"),
    ("stacked_autoencoder", {"hidden_units": ()}, r"at least one hidden layer.*Received: hidden_units=\(\)"),
    ("stacked_autoencoder", {"hidden_units": 64}, r"`hidden_units` must list positive integers"),
    ("conv_autoencoder", {"input_shape": (10, 10, 1)}, r"divisible by 2\*\*len\(filters\) = 4"),
    ("conv_autoencoder", {"kernel_size": 0}, r"`kernel_size` must be a positive integer"),
    ("denoising_autoencoder", {"corruption": "salt"}, r"`corruption` must be one of 'gaussian', 'dropout'"),
    ("denoising_autoencoder", {"corruption": "dropout", "corruption_level": 1.0},
     r"`corruption_level` must be a number in \(0, 1\). Received: corruption_level=1.0"),
    ("denoising_autoencoder", {"corruption_level": -0.1}, r"`corruption_level` must be a number in \(0, inf\)"),
    ("denoising_autoencoder", {"seed": "1"}, r"`seed` must be None or an integer"),
    ("sparse_autoencoder", {"l1_penalty": float("nan")}, r"`l1_penalty` must be a number in \[0, inf\)"),
])
def test_bad_arguments_raise_one_line_naming_what_was_received(name, hparams, match):
    with pytest.raises(ValueError, match=match) as raised:
        zoo.build(name, **_small(name, **hparams))
    assert "\n" not in str(raised.value)


def test_a_bad_style_names_the_styles():
    from zoo.models.autoencoder.conv import ConvAutoencoder

    with pytest.raises(ValueError, match="`style` must be one of sequential, functional, subclass"):
        ConvAutoencoder(style="keras")


# ------------------------------------------------------------------------------------------------- task
def test_evaluation_scores_each_test_image_and_the_gate_metric_is_their_mean(digits8):
    from zoo.tasks.autoencoding import image_to_itself

    spec = zoo.get_spec("autoencoder")
    task = get_task(spec.task)
    assert task.example_map(spec, _hparams("autoencoder"), {}) is image_to_itself
    model = zoo.build("autoencoder", **spec.small)
    test = digits8.test.x
    result = task.evaluate(model, _batches(test), spec, _hparams("autoencoder"), {}, seed=0)
    assert result.paired_test == "paired_t" and result.scores.shape == (len(test),)
    assert result.metrics["reconstruction_mse"] == pytest.approx(result.scores.mean(), rel=1e-12)
    reconstructions = np.asarray(model(test, training=False))
    np.testing.assert_allclose(result.scores, ((reconstructions - test) ** 2).reshape(len(test), -1).mean(axis=1),
                               rtol=1e-5)
    assert {"reconstruction_bce", "code_l1", "code_zero_fraction"} <= set(result.metrics)
    assert "clean_input_mse" not in result.metrics and result.fingerprint is None
    # Images alone, in other batch sizes: the same scores.
    again = task.evaluate(model, _batches(test, size=100, pairs=False), spec, _hparams("autoencoder"), {}, seed=0)
    np.testing.assert_allclose(again.scores, result.scores, rtol=1e-6)


def test_the_denoising_gate_measures_clean_reconstructions_of_corrupted_images(digits8):
    from zoo.models.autoencoder.dense import corrupt

    spec = zoo.get_spec("denoising_autoencoder")
    task = get_task(spec.task)
    model = zoo.build("denoising_autoencoder", **spec.small)
    test = digits8.test.x
    result = task.evaluate(model, _batches(test, size=100), spec, _hparams("denoising_autoencoder"), {}, seed=3)
    corrupted = corrupt(test, "gaussian", 0.3, np.random.default_rng(3))
    expected = ((np.asarray(model(corrupted, training=False)) - test) ** 2).reshape(len(test), -1).mean(axis=1)
    np.testing.assert_allclose(result.scores, expected, rtol=1e-5)
    clean = ((np.asarray(model(test, training=False)) - test) ** 2).reshape(len(test), -1).mean(axis=1)
    assert result.metrics["clean_input_mse"] == pytest.approx(clean.mean(), rel=1e-5)
    assert result.metrics["corrupted_input_mse"] == pytest.approx(((corrupted - test) ** 2).mean(), rel=1e-5)
    assert result.metrics["reconstruction_mse"] != pytest.approx(result.metrics["clean_input_mse"], rel=1e-3)
    assert result.fingerprint == "gaussian-0.3-seed3"
    # The same seed, the same corrupted images; another seed, other ones.
    same = task.evaluate(model, _batches(test), spec, _hparams("denoising_autoencoder"), {}, seed=3)
    np.testing.assert_allclose(same.scores, result.scores, rtol=1e-6)
    other = task.evaluate(model, _batches(test), spec, _hparams("denoising_autoencoder"), {}, seed=4)
    assert not np.allclose(other.scores, result.scores)


def test_a_reloaded_denoising_model_is_measured_on_the_same_corrupted_images(digits8, tmp_path):
    spec = zoo.get_spec("denoising_autoencoder")
    task = get_task(spec.task)
    hparams = {**_hparams("denoising_autoencoder"), "corruption": "dropout", "corruption_level": 0.4}
    model = zoo.build("denoising_autoencoder", **_small("denoising_autoencoder", corruption="dropout",
                                                        corruption_level=0.4))
    model.save(str(tmp_path / "model.keras"))
    loaded = zoo.load_model(str(tmp_path / "model.keras"))  # as the evaluate step loads it
    assert (loaded.corruption, loaded.corruption_level) == ("dropout", 0.4)
    first, again = (task.evaluate(m, _batches(digits8.test.x), spec, hparams, {}, seed=0) for m in (model, loaded))
    np.testing.assert_allclose(again.scores, first.scores, rtol=1e-6)
    assert again.fingerprint == first.fingerprint == "dropout-0.4-seed0"


def test_the_endpoint_encodes_and_decodes(tmp_path):
    from zoo.pipeline.serving import Predictor

    spec = zoo.get_spec("conv_autoencoder")
    model = zoo.build("conv_autoencoder", style="subclass", **spec.small)
    served = get_task(spec.task).serving_model(model, spec, _hparams("conv_autoencoder"), {})
    served.export(str(tmp_path / "saved_model"), verbose=False)
    predictor = Predictor(str(tmp_path / "saved_model"))
    assert list(predictor.inputs) == ["image"]
    images = _images(3)
    predictions = predictor.predict({"instances": images.tolist()})["predictions"]
    assert len(predictions) == 3 and all(set(p) == {"code", "reconstruction"} for p in predictions)
    np.testing.assert_allclose(np.array([p["code"] for p in predictions]), np.asarray(model.encoder(images)),
                               atol=1e-5)
    np.testing.assert_allclose(np.array([p["reconstruction"] for p in predictions]),
                               np.asarray(model(images, training=False)), atol=1e-5)


@pytest.mark.parametrize("name,panels", [("autoencoder", 2), ("denoising_autoencoder", 3)])
def test_pictures_are_pngs_of_inputs_over_reconstructions(name, panels, digits8, tmp_path):
    from PIL import Image

    spec = zoo.get_spec(name)
    drawn = get_task(spec.task).pictures(zoo.build(name, **spec.small), _batches(digits8.test.x), spec,
                                         _hparams(name), {}, str(tmp_path), seed=0)
    (path,) = drawn.values()
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # Four groups of rows of 8 images: (input, reconstruction), or (corrupted, reconstruction, clean).
    width, height = Image.open(path).size
    assert height / width == pytest.approx(4 * panels / 8, rel=0.02)


def test_a_trained_autoencoder_reconstructs_clearly_better_and_draws_its_progress(digits8, tmp_path):
    import os

    import keras

    spec = zoo.get_spec("autoencoder")
    task = get_task(spec.task)
    hparams = _hparams("autoencoder")
    train, val, test = digits8.train.x, digits8.val.x, digits8.test.x
    keras.utils.set_random_seed(0)
    model = zoo.build("autoencoder", **spec.small)
    before = task.evaluate(model, _batches(test), spec, hparams, {}, seed=0).metrics["reconstruction_mse"]
    assert task.training_callbacks(model, spec, hparams, {}, str(tmp_path)) == []
    (progress,) = task.training_callbacks(model, spec, hparams, {}, str(tmp_path), sample_batch=(val, val))
    task.compile(model, spec, hparams, learning_rate=3e-3)
    model.fit(train, train, batch_size=32, epochs=10, verbose=0, callbacks=[progress])
    after = task.evaluate(model, _batches(test), spec, hparams, {}, seed=0).metrics["reconstruction_mse"]
    assert after < 0.25 * before
    files = sorted(os.listdir(tmp_path))
    assert "autoencoder_progression.png" in files and "autoencoder_progression.gif" in files
    assert len([f for f in files if f.startswith("autoencoder_epoch_")]) == 10


# --------------------------------------------------------------------------------------- learning (slow)
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_each_autoencoder_learns_digits_below_its_floor_by_its_recipe(name, digits8):
    import keras

    spec = zoo.get_spec(name)
    task = get_task(spec.task)
    hparams = _hparams(name)
    recipe = spec.recipe
    keras.utils.set_random_seed(0)
    model = zoo.build(name, **spec.small)
    before = task.evaluate(model, _batches(digits8.test.x), spec, hparams, {}, seed=0).metrics
    task.compile(model, spec, hparams, learning_rate=recipe.learning_rate)
    stop = keras.callbacks.EarlyStopping(monitor=recipe.monitor, patience=recipe.patience, restore_best_weights=True)
    model.fit(digits8.train.x, digits8.train.x, validation_data=(digits8.val.x, digits8.val.x),
              batch_size=recipe.batch_size, epochs=recipe.epochs, callbacks=[stop], verbose=0)
    after = task.evaluate(model, _batches(digits8.test.x), spec, hparams, {}, seed=0).metrics
    assert after["reconstruction_mse"] < spec.gate.floor < before["reconstruction_mse"]
    if name == "denoising_autoencoder":
        # It removes most of the noise: far better than the corrupted input itself.
        assert after["reconstruction_mse"] < 0.5 * after["corrupted_input_mse"]
    if name == "sparse_autoencoder":
        assert after["code_zero_fraction"] > 0.5
