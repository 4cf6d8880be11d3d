"""The project's measure of sample quality for image generators: Fréchet distance and KID in a zoo judge's features.

What it is. N generated images and N real test images are embedded by a *judge*, a zoo classifier
(`simple_cnn`) trained on the labelled training split of the same data, at the generator's image size; the
features are its penultimate layer (the ReLU dense layer `fc` before the classifier). Two distances between
the two sets of features are reported:

- the **Fréchet distance** (Heusel et al. 2017, the FID's formula with a zoo judge instead of Inception v3):
  the distance between Gaussians fitted to each set,
  ||mu_g - mu_r||^2 + tr(S_g + S_r - 2 (S_g S_r)^(1/2)), with the real part of `scipy.linalg.sqrtm`. Lower
  is better; 0 means equal means and covariances. It is a point estimate (it does not decompose over
  images), so the gate compares values, not paired scores. This is DCGAN's gate metric.
- the **kernel distance** KID (Bińkowski et al. 2018): the unbiased estimate of the squared maximum mean
  discrepancy with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3. Unlike the Fréchet distance it
  is unbiased in N, so it is comparable across sample sizes; it can be slightly negative when the sets
  match.

Conditional generators. A generator that draws a given class (cgan, acgan) is measured twice. Its Fréchet
distance and KID compare the real test images with images generated *for the test images' own labels*
(`measure(..., labels=test_labels)`: generated image i is drawn for label i, so both sets have the same class
frequencies, and a generator that ignores its label and draws the right mixture anyway still gets a fair
distance). And `label_accuracy` asks the judge's full classifier (`Judge.classify`) what the images generated
for each class show: `LABEL_SAMPLES_PER_CLASS` images per class from fixed-seed noise, scored as the fraction
classified as the class they were asked for (chance: 1 / classes).

Why not the discriminator's loss. A GAN's losses measure the two networks against each other, not the
samples against the data: the discriminator's loss stays near its equilibrium value whether the generator
draws good digits or one blurry blob (mode collapse), drifts as either network changes, and differs
between two runs of the same model. A classifier trained on the real data knows what digits look like;
distances in its features compare the generated distribution with the real one, and are the same for
the same generator whichever discriminator it was trained against.

Why a zoo judge, not Inception v3. Inception's ImageNet weights cannot be downloaded here, and its
features describe 299x299 photographs, not 8x8 digits. A judge trained on the model's own data, in the
zoo, offline, deterministically, is what the seed notes call "a classifier-based score"; its numbers are
comparable only with numbers from the same judge, hence the fingerprint below. (They are not FID values
comparable with the literature.)

Determinism. The judge trains with a fixed seed (`keras.utils.set_random_seed`, which reseeds Keras'
global random state), a seeded shuffle and TensorFlow's op determinism, for a fixed number of epochs, and
is cached on disk keyed by a hash of its recipe and its training data (`$ZOO_CACHE_DIR`, default
`~/.cache/keras-vertex-zoo`, folder `judges/`). Features are always computed by the judge loaded from the
cache file, so a run that trained it and a run that found it measure with identical weights. The generated
images come from noise drawn with `numpy.random.default_rng(seed)` and the generator in inference mode, and
N is fixed (all the real test images, at most `MAX_SAMPLES`): the same generator gets exactly the same
numbers twice. `Judge.fingerprint` (the judge's name and a hash of its weights) names the feature space;
tasks report it in `Evaluation.fingerprint` so the gate compares only measurements made with the same judge.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
import warnings
from typing import Any, Callable, Iterable

import numpy as np

#: the largest number of images compared (all the real test images up to this)
MAX_SAMPLES = 5000
#: images generated per class for a conditional generator's label accuracy
LABEL_SAMPLES_PER_CLASS = 100
#: the judge: a zoo classifier, its hyperparameters and training recipe (part of the cache key)
JUDGE = {
    "model": "simple_cnn",
    "hparams": {"filters": [32, 64], "dense_units": 64, "dropout": 0.25},
    "features": "fc",
    "epochs": 8,
    "batch_size": 64,
    "learning_rate": 1e-3,
    "seed": 1234,
    "version": 1,  # bump when the training code changes what a recipe produces
}
CACHE_ENV = "ZOO_CACHE_DIR"
BATCH = 256


# ------------------------------------------------------------------------------------------- the distances
def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of feature vectors (rows).

    ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), with sample covariances and the real part of
    the matrix square root (round-off leaves tiny imaginary parts). Needs at least two rows per set.
    """
    from scipy import linalg

    a = _rows(features_a, "features_a")
    b = _rows(features_b, "features_b")
    # A feature that is the same constant in both sets (a judge's dead ReLU unit) adds exactly nothing to
    # any term, but makes both covariances singular; leave it out.
    constant = (np.ptp(a, axis=0) == 0) & (np.ptp(b, axis=0) == 0) & (a[0] == b[0])
    a, b = a[:, ~constant], b[:, ~constant]
    if a.shape[1] == 0:
        return 0.0
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():
        # A generator that collapsed onto a few modes has a singular covariance; the square root of the
        # singular product is still accurate (checked against a symmetric eigenvalue form in the tests).
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b)
        if not np.all(np.isfinite(root)):
            # Should the square root fail outright, the usual remedy: a tiny ridge on both covariances.
            ridge = np.eye(len(cov_a)) * 1e-6
            root = linalg.sqrtm((cov_a + ridge) @ (cov_b + ridge))
    root = np.real(root)
    distance = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(root)
    return float(distance)


def kernel_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """KID: the unbiased squared MMD between two sets of features with the kernel (x.y / d + 1)^3."""
    a = _rows(features_a, "features_a")
    b = _rows(features_b, "features_b")
    d = a.shape[1]
    k_aa = (a @ a.T / d + 1.0) ** 3
    k_bb = (b @ b.T / d + 1.0) ** 3
    k_ab = (a @ b.T / d + 1.0) ** 3
    m, n = len(a), len(b)
    within_a = (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
    within_b = (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
    return float(within_a + within_b - 2.0 * k_ab.mean())


def _rows(features, name: str) -> np.ndarray:
    features = np.asarray(features, dtype="float64")
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"`{name}` must be a (samples, features) array with at least 2 samples. "
                         f"Received shape {features.shape}.")
    return features


# ------------------------------------------------------------------------------------------------- the judge
@dataclasses.dataclass
class Judge:
    """A trained classifier's feature extractor, the classifier itself, and the fingerprint of its weights."""

    features_model: Any
    fingerprint: str
    classifier: Any = None

    def classify(self, images: np.ndarray) -> np.ndarray:
        """The judge's class probabilities for `images` (N, H, W, C) in [0, 1]: (N, classes), float64."""
        if self.classifier is None:
            raise ValueError("This judge was made without its classifier; get it from judge_for().")
        images = np.asarray(images, dtype="float32")
        parts = [np.asarray(self.classifier.predict_on_batch(images[i:i + BATCH]))
                 for i in range(0, len(images), BATCH)]
        return np.concatenate(parts).astype("float64")

    def features(self, images: np.ndarray) -> np.ndarray:
        """Penultimate-layer features of `images` (N, H, W, C) in [0, 1], float64, in fixed-size batches."""
        images = np.asarray(images, dtype="float32")
        parts = [np.asarray(self.features_model.predict_on_batch(images[i:i + BATCH]))
                 for i in range(0, len(images), BATCH)]
        return np.concatenate(parts).astype("float64")


def cache_dir() -> str:
    """Where trained judges are kept: `$ZOO_CACHE_DIR`, else `~/.cache/keras-vertex-zoo`."""
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "keras-vertex-zoo")


def judge_for(labelled_batches: Iterable, *, classes: int | None = None) -> Judge:
    """The judge for this training data: loaded from the cache, or trained (deterministically) and cached.

    Args:
        labelled_batches: (images, labels) batches of the training split: images (N, H, W, C) in [0, 1]
            at the generator's size, integer class labels.
        classes: the number of classes (default: the largest label + 1).

    Returns:
        The `Judge`.

    The training split is held in memory while it is hashed (and, on a cache miss, trained on): digits'
    1,257 images at 16x16 take 1.3 MB, MNIST's 60,000 at 28x28 188 MB.
    """
    images, labels = _collect(labelled_batches)
    classes = int(classes) if classes else int(labels.max()) + 1
    key = _data_key(images, labels, classes)
    folder = os.path.join(cache_dir(), "judges")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:  # a read-only home: train into a scratch folder, without caching
        folder = tempfile.mkdtemp(prefix="zoo-judge-")
    path = os.path.join(folder, f"{JUDGE['model']}-{key}.keras")
    model = _load(path)
    if model is None:
        _save_atomically(_train(images, labels, classes), path)
        model = _load(path)
        if model is None:
            raise RuntimeError(f"The judge classifier saved to {path} cannot be loaded back.")
    return _judge(model)


def judge_for_training_split(train_batches: Iterable | None, info, model_name: str) -> Judge:
    """`judge_for` the labelled training split a task's `evaluate` was given, or a one-line error if none was.

    Args:
        train_batches: (images, labels) batches of the prepared training split, or None.
        info: the task's data info (its "classes" is the judge's class count).
        model_name: named in the error.
    """
    if train_batches is None:
        raise ValueError(
            f"{model_name} is scored in the features of a classifier trained on the labelled training split: "
            "pass train_batches=(images, labels) batches of the prepared train split to evaluate.")
    return judge_for(train_batches, classes=(info or {}).get("classes"))


def _collect(batches: Iterable) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for batch in batches:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ValueError("The judge trains on labelled data: pass (images, labels) batches of the training split.")
        images.append(np.asarray(batch[0], dtype="float32"))
        labels.append(np.asarray(batch[1]).reshape(len(images[-1]), -1)[:, 0].astype("int64"))
    if not images:
        raise ValueError("The judge's training data is empty.")
    return np.concatenate(images), np.concatenate(labels)


def _data_key(images: np.ndarray, labels: np.ndarray, classes: int) -> str:
    h = hashlib.sha256(json.dumps({**JUDGE, "classes": classes}, sort_keys=True).encode())
    for array in (images, labels):
        array = np.ascontiguousarray(array)
        h.update(f"{array.dtype}{array.shape}".encode())
        h.update(array.tobytes())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _deterministic_ops():
    """TensorFlow's op determinism for the judge's training only (restored afterwards)."""
    from tensorflow.python.framework import config as tf_config  # the public API can enable it, not restore it

    was_enabled = tf_config.is_op_determinism_enabled()
    tf_config.enable_op_determinism()
    try:
        yield
    finally:
        if not was_enabled:
            tf_config.disable_op_determinism()


def _train(images: np.ndarray, labels: np.ndarray, classes: int):
    import keras
    import tensorflow as tf

    import zoo

    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        with _deterministic_ops():
            keras.utils.set_random_seed(JUDGE["seed"])
            hparams = {**JUDGE["hparams"], "filters": tuple(JUDGE["hparams"]["filters"])}
            model = zoo.build(JUDGE["model"], style="functional", input_shape=tuple(images.shape[1:]),
                              classes=classes, **hparams)
            model.compile(optimizer=keras.optimizers.Adam(JUDGE["learning_rate"]),
                          loss="sparse_categorical_crossentropy")
            data = (tf.data.Dataset.from_tensor_slices((images, labels))
                    .shuffle(len(labels), seed=JUDGE["seed"], reshuffle_each_iteration=True)
                    .batch(JUDGE["batch_size"]))
            model.fit(data, epochs=JUDGE["epochs"], verbose=0, shuffle=False)  # the dataset shuffles
    finally:
        keras.config.set_dtype_policy(policy)
    return model


def _save_atomically(model, path: str) -> None:
    # Keras insists on the `.keras` suffix; write beside the target, then rename over it in one step.
    handle, scratch = tempfile.mkstemp(suffix=".keras", dir=os.path.dirname(path))
    os.close(handle)
    try:
        model.save(scratch)
        os.chmod(scratch, 0o644)  # mkstemp makes it private; a shared cache is readable by all
        os.replace(scratch, path)
    finally:
        if os.path.exists(scratch):
            os.remove(scratch)


def _load(path: str):
    import zoo

    if not os.path.exists(path):
        return None
    try:
        return zoo.load_model(path)
    except Exception:  # a truncated or foreign file: train the judge again
        return None


def _judge(model) -> Judge:
    import keras

    features = keras.Model(model.inputs, model.get_layer(JUDGE["features"]).output, name="judge_features")
    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    return Judge(features, f"{JUDGE['model']}-{digest.hexdigest()[:12]}", classifier=model)


# --------------------------------------------------------------------------------------------- the measure
def measure(generate: Callable[..., np.ndarray], reference_images: Iterable[np.ndarray], judge: Judge, *,
            latent_dim: int, seed: int = 0, max_samples: int = MAX_SAMPLES,
            labels: np.ndarray | None = None) -> tuple[dict[str, float], int]:
    """Fréchet distance and KID between generated and real images, in the judge's features.

    Args:
        generate: noise (n, latent_dim) float32 -> images (n, H, W, C) in [0, 1] (the generator, inference);
            with `labels`, `generate(noise, labels)` with int32 labels (n,).
        reference_images: batches of real test images (N, H, W, C).
        judge: the feature extractor.
        latent_dim: the noise's dimensions.
        seed: seed of the noise (numpy's default generator, standard normal).
        max_samples: at most this many real images are used; as many images are generated.
        labels: for a conditional generator, the labels of the real images in order (at least as many as
            are used): generated image i is drawn for labels[i].

    Returns:
        ({"frechet_distance": ..., "kid": ...}, the number of images compared on each side).
    """
    real, count, image_shape = [], 0, None
    for images in reference_images:
        images = np.asarray(images, dtype="float32")[: max_samples - count]
        image_shape = images.shape[1:]
        real.append(judge.features(images))
        count += len(images)
        if count >= max_samples:
            break
    if count < 2:
        raise ValueError("Sample quality needs at least 2 real test images.")
    noise = np.random.default_rng(seed).standard_normal((count, latent_dim)).astype("float32")
    if labels is not None:
        labels = np.asarray(labels).reshape(-1).astype("int32")
        if len(labels) < count:
            raise ValueError(f"`labels` must label every real image used ({count}). Received {len(labels)} labels.")
    generated = _generated(generate, noise, labels)
    if generated.shape[1:] != image_shape:
        raise ValueError(f"The generator makes images of shape {generated.shape[1:]} but the test images are "
                         f"{image_shape}; prepare the data at the generator's image size.")
    real_features, fake_features = np.concatenate(real), judge.features(generated)
    return {"frechet_distance": frechet_distance(fake_features, real_features),
            "kid": kernel_distance(fake_features, real_features)}, count


def label_accuracy(generate: Callable[[np.ndarray, np.ndarray], np.ndarray], judge: Judge, *, classes: int,
                   latent_dim: int, seed: int = 0,
                   per_class: int = LABEL_SAMPLES_PER_CLASS) -> tuple[float, np.ndarray]:
    """How often the judge classifies a conditional generator's images as the class they were drawn for.

    Args:
        generate: (noise (n, latent_dim) float32, labels (n,) int32) -> images (n, H, W, C) in [0, 1].
        judge: the judge (its classifier).
        classes: the number of classes; `per_class` images are drawn for each.
        latent_dim: the noise's dimensions.
        seed: seed of the noise (numpy's default generator, standard normal).
        per_class: images per class.

    Returns:
        (accuracy, hits): the fraction classified as asked, and the 0/1 hit of each image, class by class.
    """
    labels = np.repeat(np.arange(classes, dtype="int32"), per_class)
    noise = np.random.default_rng(seed).standard_normal((len(labels), latent_dim)).astype("float32")
    generated = _generated(generate, noise, labels)
    hits = (judge.classify(generated).argmax(axis=-1) == labels).astype("float64")
    return float(hits.mean()), hits


def _generated(generate: Callable[..., np.ndarray], noise: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """`generate(noise)` (or `generate(noise, labels)`) in batches of `BATCH`, float32."""
    parts = []
    for i in range(0, len(noise), BATCH):
        args = (noise[i:i + BATCH],) if labels is None else (noise[i:i + BATCH], labels[i:i + BATCH])
        parts.append(np.asarray(generate(*args), dtype="float32"))
    return np.concatenate(parts)
