"""The task contract: what every kind of model needs from the pipeline, in one small public object.

A `Task` owns, for its kind of model (after TF Model Garden's `base_task.Task` and KerasHub's task
models):

- **data**: `example_map`, a per-example `tf.data` function `(x, y) -> (inputs, targets)` applied on the
  fly to streamed examples (teacher-forcing shifts, duplicated targets for auxiliary heads, ...);
- **training**: `compile` (per-output losses and weights, or none when the model owns its loss through
  `compute_loss`/`add_loss` or its own `train_step`; the optimizer from a config, not only a name) and
  `phases` (feature extraction then fine-tuning, ...);
- **evaluation**: `evaluate`, which streams the test batches once and returns an `Evaluation`: a dict of
  metrics computed by the field's libraries and, where the gate metric is a mean over examples, its
  per-example scores and the paired test the gate must use (declared, never guessed from a name);
- **serving**: `serving_model`, what the deployed model takes and returns;
- **pictures**: `pictures`, PNG files a run shows (sample grids, predicted masks), and
  `training_callbacks`, which may draw while training (a generator's samples after every epoch).

Tasks hold no state and import TensorFlow only inside their methods, so specs can name them cheaply.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Iterable, Mapping

import numpy as np

PAIRED_TESTS = ("mcnemar", "paired_t")


@dataclasses.dataclass(frozen=True)
class Phase:
    """One stage of training.

    Attributes:
        name: shown in logs and the training metadata ("train", "feature_extraction", "fine_tuning").
        epochs: epochs of this stage.
        learning_rate_scale: this stage's learning rate relative to the run's.
        prepare: called with the model before the stage is compiled (e.g. unfreeze the backbone's top).
    """

    name: str
    epochs: int
    learning_rate_scale: float = 1.0
    prepare: Callable[[Any], None] | None = None


@dataclasses.dataclass
class Evaluation:
    """What `Task.evaluate` found on the test split.

    Attributes:
        metrics: every reported metric by name; the spec's gate metric is one of them.
        scores: per-example scores of the gate metric, when it is a mean over examples (the gate can then
            run a paired test against the deployed model's scores on the same examples), else None.
        paired_test: the test that fits those scores: "mcnemar" (0/1 hits) or "paired_t" (real-valued).
        confusion_matrix: rows are true classes, columns predicted ones (classifiers only).
        fingerprint: extra identity of what was measured beyond the test set (e.g. the feature network of a
            Fréchet distance), folded into the evaluation's fingerprint so only like is compared with like.
    """

    metrics: dict[str, float]
    scores: np.ndarray | None = None
    paired_test: str | None = None
    confusion_matrix: list | None = None
    fingerprint: str | None = None

    def __post_init__(self):
        if self.paired_test is not None and self.paired_test not in PAIRED_TESTS:
            raise ValueError(f"Unknown paired test {self.paired_test!r}. Allowed: {', '.join(PAIRED_TESTS)}.")
        if self.scores is not None and self.paired_test is None:
            raise ValueError("Per-example scores need the paired test that fits them (paired_test).")


class Task:
    """The default behaviour, which subclasses override where their kind of model differs."""

    #: registry name(s) a spec's `task` field uses
    names: tuple[str, ...] = ()
    #: the metrics `evaluate` reports; a spec's gate metric must be one of them
    metric_names: tuple[str, ...] = ()
    #: `evaluate` also gets `train_batches`, the labelled training split unmapped (a judge fitted on it)
    uses_train_split: bool = False
    #: `training_callbacks` also gets `sample_batch`, the first validation batch (mapped by `example_map`)
    uses_sample_batch: bool = False
    #: whether the endpoint (`serving_model`) takes one image: None when it takes the trained model's own
    #: inputs (the spec's input signature then decides), False when it takes something else (seeds, an image
    #: pair), True when it takes one image although the trained model takes more (a captioner). Vertex batch
    #: prediction reads it offline to accept lists of image files (`pipelines.batch_predict.takes_images`).
    endpoint_takes_image: bool | None = None

    # ---------------------------------------------------------------------------------------------- data
    def example_map(self, spec, hparams: Mapping[str, Any], info: Mapping[str, Any], outputs: int = 1):
        """A per-example function `(x, y) -> (inputs, targets)` for `tf.data`, or None to keep examples as they are.

        `outputs` is how many outputs the built model has (a classifier with auxiliary heads has several).
        """
        return None

    # ------------------------------------------------------------------------------------------ training
    def phases(self, spec, hparams: Mapping[str, Any], epochs: int) -> list[Phase]:
        """The training stages: the recipe's `phases` function if it names one, else one stage of `epochs`."""
        if spec.recipe.phases:
            from zoo.data.adapt import resolve

            return list(resolve(spec.recipe.phases)(hparams, epochs))
        return [Phase("train", epochs)]

    def compile(self, model, spec, hparams: Mapping[str, Any], *, learning_rate: float, outputs: int = 1,
                phase: Phase | None = None):
        """Compile `model` with the spec's recipe: its optimizer config, loss(es), loss weights and metrics."""
        recipe = spec.recipe
        loss, loss_weights, metrics = recipe.loss, recipe.loss_weights, list(recipe.metrics) or None
        if outputs > 1 and isinstance(loss, str):
            # Extra outputs are auxiliary heads trained on the same target (GoogLeNet's, for instance).
            loss = [loss] * outputs
            weights = tuple(loss_weights or ())
            loss_weights = [*weights[:outputs], *[1.0] * (outputs - len(weights))]
            metrics = [metrics] + [None] * (outputs - 1) if metrics else None
        elif loss_weights is not None and not isinstance(loss_weights, Mapping) and outputs == 1:
            loss_weights = None
        model.compile(optimizer=make_optimizer(recipe, learning_rate), loss=loss, loss_weights=loss_weights,
                      metrics=metrics)
        return model

    def history_is_finite(self, history: Mapping[str, list[float]]) -> tuple[bool, str]:
        """Whether every training quantity stayed finite, and the first that did not."""
        train_keys = [k for k in history if not k.startswith("val_")]
        if not train_keys:
            return False, "the training logs"
        for key in train_keys:
            if not all(math.isfinite(v) for v in history[key]):
                return False, f"the training {key}"
        return True, ""

    # ---------------------------------------------------------------------------------------- evaluation
    def evaluate(self, model, batches: Iterable, spec, hparams: Mapping[str, Any], info: Mapping[str, Any], *,
                 seed: int = 0, train_batches: Iterable | None = None) -> Evaluation:
        """Score `model` on the test `batches` (mapped by `example_map`); seeded where it samples."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------- serving
    def serving_model(self, model, spec, hparams: Mapping[str, Any], info: Mapping[str, Any]):
        """The model the endpoint serves. Default: the spec's `serving` wrapper, or the model itself."""
        if spec.serving:
            from zoo.data.adapt import resolve

            return resolve(spec.serving)(model, info)
        return model

    def training_callbacks(self, model, spec, hparams: Mapping[str, Any], info: Mapping[str, Any], out_dir: str, *,
                           seed: int = 0) -> list:
        """Keras callbacks the train step adds for this kind of model; none by default.

        Generative tasks return a `zoo.pictures.SampleProgress` that writes a fixed-seed sample grid per epoch
        and the progression into `out_dir` (`<model_dir>/progress`); the evaluate step shows the progression.
        """
        return []

    # ------------------------------------------------------------------------------------------ pictures
    def pictures(self, model, batches: Iterable, spec, hparams: Mapping[str, Any], info: Mapping[str, Any],
                 out_dir: str, *, seed: int = 0) -> dict[str, str]:
        """PNG files that show what the model does ({title: path}); none by default."""
        return {}

    # ------------------------------------------------------------------------------- standard model test
    def random_batch(self, spec, hparams: Mapping[str, Any], model, batch: int, rng: np.random.Generator):
        """Random `(inputs, targets)` that fit the model, for the standard model test (targets may be None)."""
        inputs = random_inputs(spec, hparams, batch, rng)
        return inputs, None


def make_optimizer(recipe, learning_rate: float):
    """A fresh Keras optimizer from the recipe's optimizer (a name or a `{"class_name", "config"}` dict)."""
    import keras

    config = recipe.optimizer
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    config = {"class_name": config["class_name"], "config": {**config.get("config", {}), "learning_rate": learning_rate}}
    return keras.optimizers.get(config)


def output_count(model, spec, hparams: Mapping[str, Any]) -> int:
    """How many outputs `model` returns for the spec's inputs (computed symbolically, no data)."""
    import keras

    signature = spec.inputs(hparams)
    symbolic = {name: keras.KerasTensor((None, *sig.shape), dtype=_keras_dtype(sig.dtype))
                for name, sig in signature.items()}
    args = symbolic if len(symbolic) > 1 else next(iter(symbolic.values()))
    return len(keras.tree.flatten(model.compute_output_spec(args)))


def _keras_dtype(dtype: str) -> str:
    return "string" if dtype == "string" else dtype


def random_inputs(spec, hparams: Mapping[str, Any], batch: int, rng: np.random.Generator):
    """Random inputs that fit the model's signature: a single array, or a dict for several inputs."""
    arrays = {}
    for key, sig in spec.inputs(hparams).items():
        shape = (batch, *[d if d is not None else 8 for d in sig.shape])
        if sig.dtype.startswith("int"):
            arrays[key] = rng.integers(int(sig.low), int(sig.high), size=shape).astype(sig.dtype)
        elif sig.dtype == "string":
            words = ["a good film", "not a good film", "bad", "great"]
            arrays[key] = np.array([words[i % len(words)] for i in range(batch)], dtype=object)
        else:
            arrays[key] = rng.uniform(sig.low, sig.high, size=shape).astype(sig.dtype)
    return arrays if len(arrays) > 1 else next(iter(arrays.values()))


def first_output(outputs):
    """The main output of a model that may return several (auxiliary heads follow the main one)."""
    if isinstance(outputs, (list, tuple)):
        return outputs[0]
    if isinstance(outputs, Mapping):
        return next(iter(outputs.values()))
    return outputs


def batch_images(batch) -> np.ndarray:
    """The images of a batch that may be (images, targets), (images, labels) or images alone, float32."""
    if isinstance(batch, (tuple, list)):
        batch = batch[0]
    return np.asarray(batch, dtype="float32")


def first_images(batches: Iterable, count: int, images_of: Callable = batch_images) -> np.ndarray:
    """The first `count` images of a stream of batches (fewer if the stream is shorter), in order."""
    taken, total = [], 0
    for batch in batches:
        images = images_of(batch)[: count - total]
        taken.append(images)
        total += len(images)
        if total >= count:
            break
    return np.concatenate(taken)
