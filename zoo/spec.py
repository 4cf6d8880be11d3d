"""Model specifications: everything the zoo knows about a model without importing TensorFlow.

A `ModelSpec` is plain data. The CLI (`zoo list`, `zoo show`, `zoo compile`) and the pipeline compiler
read specs only, so they stay fast; `zoo.build` imports the Keras implementation named by `spec.impl`
when a model is actually built.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

STYLES = ("sequential", "functional", "subclass")
DIRECTIONS = ("max", "min")
# Hyperparameters of the recipe a search space may name besides the model's own (`ModelSpec.defaults`).
RECIPE_HPARAMS = ("learning_rate", "batch_size")
SCALES = ("linear", "log")


@dataclasses.dataclass(frozen=True)
class Range:
    """A numeric hyperparameter searched between `low` and `high` (both included).

    `scale="log"` samples evenly in log space (learning rates, widths); `integer=True` draws whole numbers.
    `zoo.tuning` maps it to KerasTuner's `Float`/`Int` and to Vertex AI's `DoubleParameterSpec`/
    `IntegerParameterSpec`.
    """

    low: float
    high: float
    scale: str = "linear"
    integer: bool = False

    def __post_init__(self):
        if self.scale not in SCALES:
            raise ValueError(f"Range scale must be one of {SCALES}. Received: scale={self.scale!r}")
        if not self.low < self.high or (self.scale == "log" and not self.low > 0):
            raise ValueError(f"Range needs low < high (and low > 0 on a log scale). Received: low={self.low!r}, "
                             f"high={self.high!r}, scale={self.scale!r}")
        if self.integer and not (float(self.low).is_integer() and float(self.high).is_integer()):
            raise ValueError(f"An integer Range needs whole bounds. Received: low={self.low!r}, high={self.high!r}")


@dataclasses.dataclass(frozen=True)
class Choice:
    """A hyperparameter searched among a few values of one plain type (str, int, float or bool).

    `zoo.tuning` maps it to KerasTuner's `Choice` and to Vertex AI's `DiscreteParameterSpec` (numbers) or
    `CategoricalParameterSpec` (strings, booleans).
    """

    values: tuple

    def __post_init__(self):
        values = tuple(self.values)
        object.__setattr__(self, "values", values)
        kinds = {type(v) for v in values}
        if len(values) < 2 or len(set(values)) != len(values) or len(kinds) != 1 or \
                not kinds <= {str, int, float, bool}:
            raise ValueError("A Choice needs two or more distinct values of one type (str, int, float or bool). "
                             f"Received: values={values!r}")


def default_search_space(recipe: "Recipe") -> dict[str, Range | Choice]:
    """What a model searches when its spec declares nothing: the learning rate a decade either side of the
    recipe's (log scale) and the batch size halved, kept or doubled."""
    rate, batch = recipe.learning_rate, recipe.batch_size
    return {"learning_rate": Range(rate / 10, min(rate * 10, 1.0), scale="log"),
            "batch_size": Choice(tuple(sorted({max(1, batch // 2), batch, batch * 2})))}


@dataclasses.dataclass(frozen=True)
class TensorSig:
    """One model input: shape without the batch axis, dtype, and for integer inputs the id range [low, high)."""

    shape: tuple[int | None, ...]
    dtype: str = "float32"
    low: float = 0.0
    high: float = 1.0


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How the model is compiled and trained by default (the pipeline's train step, through its task).

    Attributes:
        loss: a Keras loss name; a tuple (one per output) or a dict (per output name); or None when the
            model computes its own loss (`compute_loss`/`add_loss`, or its own `train_step`).
        loss_weights: per-output weights, a tuple or a dict like `loss` (auxiliary heads weigh less).
        metrics: Keras metrics `compile` tracks while training (evaluation is the task's).
        optimizer: a Keras optimizer name, or its config `{"class_name": "adam", "config": {"beta_1": 0.5}}`;
            the learning rate is set from `learning_rate`.
        monitor: the validation quantity early stopping watches, or None for no early stopping (a GAN's
            losses say nothing about its samples).
        phases: optional "module:function" giving the training stages, `fn(hparams, epochs) ->
            list[zoo.tasks.Phase]` (transfer learning: feature extraction, then fine-tuning). Default: one.
    """

    loss: str | tuple[str, ...] | Mapping[str, str] | None
    metrics: tuple[str, ...] = ()
    optimizer: str | Mapping[str, Any] = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 10
    monitor: str | None = "val_loss"
    patience: int = 3
    loss_weights: tuple[float, ...] | Mapping[str, float] | None = None
    phases: str | None = None

    def __post_init__(self):
        if self.loss == "" or self.loss == () or self.loss == {}:
            raise ValueError("Recipe.loss is empty: name a Keras loss (one per output for several outputs), "
                             "or use None for a model that computes its own loss.")
        if isinstance(self.optimizer, Mapping) and "class_name" not in self.optimizer:
            raise ValueError("Recipe.optimizer as a dict needs a 'class_name' (and optionally a 'config'). "
                             f"Received: optimizer={dict(self.optimizer)!r}")


@dataclasses.dataclass(frozen=True)
class Gate:
    """The latest-metric gate's settings for this model.

    Attributes:
        metric: the evaluation metric compared with the deployed model's (e.g. "accuracy", "mse").
        direction: "max" when higher is better, "min" when lower is better.
        floor: with no baseline yet, the candidate deploys only if it reaches this value (at least it
            for "max", at most it for "min"). None means any finite value passes.
        min_delta: how much a candidate must improve on the deployed model to replace it.
        decision_threshold: for a model with one output score, the score above which it predicts class 1
            (0.5 for a sigmoid probability, 0.0 for a margin such as a linear SVM's).
        floor_metric: a metric the same evaluation reports that the first deployment must beat, e.g. a naive
            forecast's error ("naive_mae"): a floor measured on the test set instead of a fixed number. It
            replaces `floor` when set.
        by_dataset: dataset -> (metric, direction, floor) for datasets gated on another metric than `metric`
            (e.g. corpus BLEU on a real translation corpus where the offline data uses token accuracy).
    """

    metric: str
    direction: str = "max"
    floor: float | None = None
    min_delta: float = 0.0
    decision_threshold: float = 0.5
    floor_metric: str | None = None
    by_dataset: Mapping[str, tuple[str, str, float | None]] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise ValueError(f"Gate direction must be one of {DIRECTIONS}. Received: direction={self.direction!r}")
        if self.floor_metric is not None and self.floor is not None:
            raise ValueError(f"A gate has a fixed floor or a floor_metric, not both. Received: floor={self.floor!r}, "
                             f"floor_metric={self.floor_metric!r}")
        for dataset, entry in self.by_dataset.items():
            if len(entry) != 3 or entry[1] not in DIRECTIONS:
                raise ValueError(f"Gate.by_dataset[{dataset!r}] must be (metric, direction, floor) with direction in "
                                 f"{DIRECTIONS}. Received: {entry!r}")

    def for_dataset(self, dataset: str | None) -> "Gate":
        """The gate that applies to runs on `dataset` (this one unless `by_dataset` names the dataset)."""
        if dataset not in self.by_dataset:
            return self
        metric, direction, floor = self.by_dataset[dataset]
        return dataclasses.replace(self, metric=metric, direction=direction, floor=floor, floor_metric=None,
                                   by_dataset={})


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What a zoo model is, how it is built, trained, evaluated, gated and served.

    Attributes:
        name: registry name (what a user types).
        family: catalog family, e.g. "foundations", "cnn".
        task: the name of its task object (`zoo.tasks.get_task`), which trains, evaluates and serves it:
            "binary_classification", "multiclass_classification", "regression", ...
        summary: one line on what the model is.
        reference: the paper or seed-note section it follows.
        impl: "module:attribute" of the Keras implementation (a `zoo.models.base.Styles`).
        defaults: default hyperparameters; `zoo.build` accepts exactly these names.
        styles: style -> None when supported, or the reason the style cannot express the model.
        signature: hyperparameters -> {input name: `TensorSig`}; what the model takes (the data layer
            shapes its arrays to this, the tests feed it random inputs of it).
        output: short description of what the model returns (and so what gets served).
        offline_datasets: datasets that need no download; the first is the local default.
        online_datasets: real datasets (TFDS names unless noted) loaded through the same code path.
        target: how labels are encoded for the loss: "sparse", "onehot", "binary", "regression".
        recipe: default loss, metrics and training settings.
        gate: the latest-metric gate's metric and direction.
        adapter: optional "module:function" that replaces `zoo.data.adapt` for this model:
            `fn(spec, hparams, splits) -> splits`. It may fit preprocessing state on the training split
            (a vocabulary, id ranges) and must store it JSON-ready in `splits.info`, which travels with the
            dataset artifact to training and serving.
        serving: optional "module:function" that wraps the trained model for serving:
            `fn(model, info) -> keras.Model` (e.g. prepend the fitted text vectorisation so the endpoint takes
            raw strings, or validate ids). `info` is the `splits.info` the adapter stored. Default: the model.
        heavy: its standard model tests take long on two CPU cores, so they run in the slow target.
        tensorflow_only: None when the model builds, trains and predicts on every Keras backend (TensorFlow,
            JAX, PyTorch); else the reason it needs TensorFlow (a `tf.GradientTape` training step). Its
            data code and served export use TensorFlow either way (`zoo.nn.uses_tensorflow`).
        small: hyperparameters of a small configuration, used by the local dry run and the tests
            to keep CPU runs short (e.g. a 32x32 input instead of 224x224).
        search_space: what `zoo tune` searches besides the defaults of `default_search_space` (learning
            rate and batch size): {name: `Range` or `Choice`} over `learning_rate`, `batch_size` and the
            model's own hyperparameters (`defaults`); an entry replaces the default of the same name.
            Only options that leave the model's inputs unchanged belong here (the data is prepared once).
    """

    name: str
    family: str
    task: str
    summary: str
    reference: str
    impl: str
    defaults: Mapping[str, Any]
    signature: Callable[[Mapping[str, Any]], Mapping[str, "TensorSig"]]
    output: str
    offline_datasets: tuple[str, ...]
    recipe: Recipe
    gate: Gate
    target: str = "sparse"
    online_datasets: tuple[str, ...] = ()
    styles: Mapping[str, str | None] = dataclasses.field(
        default_factory=lambda: {s: None for s in STYLES}
    )
    small: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    adapter: str | None = None
    serving: str | None = None
    heavy: bool = False
    tensorflow_only: str | None = None
    search_space: Mapping[str, Range | Choice] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.tensorflow_only is not None and not str(self.tensorflow_only).strip():
            raise ValueError(f"{self.name}: tensorflow_only must be None or the reason the model needs TensorFlow.")
        unknown = set(self.styles) - set(STYLES)
        if unknown:
            raise ValueError(f"{self.name}: unknown styles {sorted(unknown)}; allowed: {list(STYLES)}")
        check_search_space(self, self.search_space)

    @property
    def supported_styles(self) -> tuple[str, ...]:
        return tuple(s for s in STYLES if self.styles.get(s) is None)

    @property
    def datasets(self) -> tuple[str, ...]:
        return self.offline_datasets + self.online_datasets

    @property
    def tuning_space(self) -> dict[str, Range | Choice]:
        """The search space `zoo tune` uses: the default learning rate and batch size, then the declared space."""
        return {**default_search_space(self.recipe), **self.search_space}

    def inputs(self, hparams: Mapping[str, Any] | None = None) -> dict[str, TensorSig]:
        """The input signature for these hyperparameters (the defaults when None)."""
        return dict(self.signature({**self.defaults, **(hparams or {})}))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (what `zoo show` prints)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "signature"}
        d["recipe"] = dataclasses.asdict(self.recipe)
        d["gate"] = dataclasses.asdict(self.gate)
        d["styles"] = {s: ("supported" if r is None else f"impossible: {r}") for s, r in self.styles.items()}
        d["inputs"] = {k: dataclasses.asdict(v) for k, v in self.inputs().items()}
        d["search_space"] = {k: describe(v) for k, v in self.tuning_space.items()}
        return _jsonable(d)


def describe(entry: Range | Choice) -> dict[str, Any]:
    """A search-space entry as JSON-ready data: {"range": [low, high], "scale", "integer"} or {"choice": [...]}."""
    if isinstance(entry, Choice):
        return {"choice": list(entry.values)}
    return {"range": [entry.low, entry.high], "scale": entry.scale, "integer": entry.integer}


def check_search_space(spec: "ModelSpec", space: Mapping[str, Any]) -> None:
    """Raise a one-line ValueError for a search-space entry that names no hyperparameter of `spec`, is not a
    `Range` or `Choice`, or gives the learning rate or batch size impossible values."""
    allowed = (*RECIPE_HPARAMS, *spec.defaults)
    for name, entry in space.items():
        if name not in allowed:
            raise ValueError(f"{spec.name}: the search space names an unknown hyperparameter {name!r}. "
                             f"Allowed: {', '.join(allowed)}.")
        if not isinstance(entry, (Range, Choice)):
            raise ValueError(f"{spec.name}: search space entry {name!r} must be a zoo.spec.Range or Choice. "
                             f"Received: {entry!r}")
        values = entry.values if isinstance(entry, Choice) else (entry.low, entry.high)
        if name == "learning_rate" and not all(isinstance(v, (int, float)) and v > 0 for v in values):
            raise ValueError(f"{spec.name}: the learning rate's search space must be positive numbers. "
                             f"Received: {describe(entry)}")
        batch_ok = entry.integer if isinstance(entry, Range) else all(type(v) is int for v in values)
        if name == "batch_size" and not (batch_ok and min(values) >= 1):
            raise ValueError(f"{spec.name}: the batch size's search space must be whole numbers >= 1. "
                             f"Received: {describe(entry)}")


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
