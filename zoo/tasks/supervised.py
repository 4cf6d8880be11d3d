"""Supervised tasks: classification and regression, the first tasks of the contract.

Both compile the spec's recipe (several outputs: auxiliary heads on the same target, weighted by the
recipe's `loss_weights`) and score the main output on streamed test batches. Every metric they report is a
mean over examples, so the gate can pair a candidate's per-example scores with the deployed model's:
McNemar's exact test for 0/1 hits, a paired t-test for losses and errors.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np

from zoo.metrics import confusion_matrix, get_metric
from zoo.tasks.base import Evaluation, Task, first_output, random_inputs


class _Supervised(Task):
    #: metrics reported besides the per-example loss
    scored: tuple[str, ...] = ()

    @property
    def metric_names(self) -> tuple[str, ...]:
        return (*self.scored, "loss")

    def example_map(self, spec, hparams, info, outputs: int = 1):
        if outputs == 1:
            return None

        def duplicate_targets(x, y):
            return x, tuple(y for _ in range(outputs))

        return duplicate_targets

    def _loss_fn(self, spec):
        import keras

        loss = spec.recipe.loss
        return keras.losses.get(loss) if isinstance(loss, str) else None

    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0) -> Evaluation:
        import keras

        loss_fn = self._loss_fn(spec)
        threshold = spec.gate.decision_threshold
        scores: dict[str, list[np.ndarray]] = {name: [] for name in self.metric_names}
        classes = info.get("classes")
        width = max(int(classes), 2) if self.confusion and classes else 0
        matrix = np.zeros((width, width), dtype="int64") if width else None
        for x, y in batches:
            y = first_output(y)
            predictions = first_output(model.predict_on_batch(x))
            y_np, p_np = np.asarray(y), np.asarray(predictions)
            for name in self.scored:
                metric = get_metric(name)
                extra = {"threshold": threshold} if metric.uses_threshold else {}
                scores[name].append(metric.per_example(y_np, p_np, **extra))
            if loss_fn is not None:
                per_example = np.asarray(keras.ops.convert_to_numpy(loss_fn(y, predictions)), dtype="float64")
                scores["loss"].append(per_example.reshape(len(y_np), -1).mean(axis=1))
            if matrix is not None:
                matrix += confusion_matrix(y_np, p_np, width, threshold)
        per_example = {name: np.concatenate(parts) for name, parts in scores.items() if parts}
        metrics = {name: get_metric(name).aggregate(values) for name, values in per_example.items()}
        gate = get_metric(spec.gate.metric)
        return Evaluation(
            metrics=metrics, scores=per_example[gate.name], paired_test=gate.paired_test,
            confusion_matrix=matrix.tolist() if matrix is not None else None,
        )

    def serving_model(self, model, spec, hparams, info):
        from zoo.tasks.base import output_count

        if output_count(model, spec, hparams) > 1:
            model = serve_main_output(model, spec, hparams)
        return super().serving_model(model, spec, hparams, info)

    def random_batch(self, spec, hparams, model, batch, rng):
        x = random_inputs(spec, hparams, batch, rng)
        outputs = model.predict(x, verbose=0)
        y = random_targets(spec.target, np.asarray(first_output(outputs)).shape, rng)
        if isinstance(outputs, (list, tuple)):
            y = tuple(y for _ in outputs)
        return x, y


class ClassificationTask(_Supervised):
    """Class probabilities (or one score) against integer, one-hot or binary labels; accuracy and loss."""

    names = ("binary_classification", "multiclass_classification")
    scored = ("accuracy",)
    confusion = True


class RegressionTask(_Supervised):
    """Real-valued predictions (values, forecasts, ratings); MSE, MAE, RMSE and loss."""

    names = ("regression", "forecasting", "rating_prediction")
    scored = ("mse", "mae", "rmse")
    confusion = False


def random_targets(target: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Targets in the form a loss for `target` labels expects, shaped after the model's output."""
    if target == "sparse":
        return rng.integers(0, shape[-1], size=shape[:-1]).astype("int32")
    if target == "onehot":
        return np.eye(shape[-1], dtype="float32")[rng.integers(0, shape[-1], size=shape[:-1])]
    if target == "binary":
        return rng.integers(0, 2, size=shape).astype("float32")
    return rng.normal(size=shape).astype("float32")


def serve_main_output(model, spec, hparams: Mapping[str, Any]):
    """A model that returns only the main output of `model` (auxiliary heads are for training)."""
    import keras

    from zoo.tasks.base import _keras_dtype

    inputs = {name: keras.Input(sig.shape, dtype=_keras_dtype(sig.dtype), name=name)
              for name, sig in spec.inputs(hparams).items()}
    args = inputs if len(inputs) > 1 else next(iter(inputs.values()))
    return keras.Model(args, first_output(model(args, training=False)), name=f"{model.name}_serving")
