"""Keras building blocks shared by every zoo model: the three-style contract, heads and argument checks.

This module imports Keras; the registry never imports it until a model is built.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from typing import Any, Callable, Sequence

import keras

PACKAGE = "zoo"


def serializable(cls):
    """Register a zoo layer or model with Keras under the `zoo` package (so `safe_mode=True` loads it).

    Keras keys the registry by "zoo>ClassName" and silently lets a later class take the name, after which
    a saved model of the earlier class no longer loads; two zoo classes of one name are refused here.
    """
    key = f"{PACKAGE}>{cls.__name__}"
    known = keras.saving.get_custom_objects().get(key)
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        raise RuntimeError(f"Two zoo layers are named {cls.__name__!r} ({known.__module__} and {cls.__module__}); "
                           "Keras would load one as the other. Rename one of them.")
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)


def with_tuples(config: dict, keys) -> dict:
    """A copy of a Keras config whose `keys` JSON turned into lists are tuples again (shapes, filter lists)."""
    config = dict(config)
    for key in keys:
        if isinstance(config.get(key), list):
            config[key] = tuple(config[key])
    return config


def uses_tensorflow(reason: str):
    """Mark a function of model code that imports TensorFlow, saying why it must.

    Model code is written with `keras.ops` so that it runs on every Keras backend; TensorFlow is imported
    only inside functions marked so: data code that runs in a `tf.data` map (target encoders), serving
    wrappers (the export is a TensorFlow SavedModel), a `tf.distribute` detail taken only on that backend,
    or a training step with `tf.GradientTape` (then the model's spec declares `tensorflow_only`). A test
    reads every TensorFlow import under `zoo/models` and fails on one in an unmarked function.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"uses_tensorflow needs the reason TensorFlow is needed. Received: {reason!r}")

    def mark(fn):
        fn.__zoo_uses_tensorflow__ = reason
        return fn

    return mark


@dataclasses.dataclass(frozen=True)
class Styles:
    """A model's three builders. Each takes the spec's hyperparameters and returns a built `keras.Model`.

    A style that cannot express the model is None here, and the spec says why.
    """

    sequential: Callable[..., keras.Model] | None
    functional: Callable[..., keras.Model]
    subclass: Callable[..., keras.Model]

    @classmethod
    def of(cls, model_class: type, *, sequential: bool = True, **fixed: Any) -> "Styles":
        """The builders of a model class that takes a `style` argument: `model_class(style=..., **fixed, **hparams)`.

        Args:
            model_class: a `keras.Model` subclass that builds its parts in the `style` it is given.
            sequential: False when the model cannot be built as `keras.Sequential` (its spec says why).
            **fixed: arguments every builder passes (e.g. the registry name as the model's `name`).
        """
        def builder(style):
            return functools.partial(model_class, style=style, **fixed)

        return cls(sequential=builder("sequential") if sequential else None, functional=builder("functional"),
                   subclass=builder("subclass"))


def load_weights_file(model: keras.Model, path: str) -> None:
    """Load weights from a file into `model`, with a one-line error for a missing or unsuitable file.

    A model built with a `zoo_weights_loader` (the zoo CNNs with a keras.applications twin: see
    `zoo.models.cnn.pretrained`) loads its weights files through it, which also reads keras.applications'
    legacy `.h5` files; any other model loads a `.weights.h5` or `.keras` file with Keras.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`weights` must be None or the path of a weights file. Received: weights={path!r}")
    path = os.fspath(path)
    loader = getattr(model, "zoo_weights_loader", None)
    suffixes = (".weights.h5", ".keras", ".h5") if loader is not None else (".weights.h5", ".keras")
    if not path.endswith(suffixes):
        raise ValueError(
            f"`weights` must be a {' or '.join(repr(s) for s in suffixes)} file (ImageNet weights cannot be "
            f"downloaded here). Received: weights={path!r}"
        )
    if not os.path.exists(path):
        raise ValueError(f"Weights file not found. Received: weights={path!r}")
    if loader is not None and not path.endswith(".keras"):
        loader(model, path)
        return
    try:
        model.load_weights(path)
    except Exception as err:  # Keras raises several types for mismatched files; one message for all.
        raise ValueError(f"Cannot load weights from {path!r} into {model.name}: {err}") from None


def check_positive_int(name: str, value: Any) -> int:
    """`value` if it is a positive integer (not a bool); else a one-line ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def dense_head(units: int, activation: str | None, name: str = "predictions") -> keras.layers.Dense:
    """The output layer. It computes in float32 so mixed-precision training keeps a float32 output."""
    return keras.layers.Dense(units, activation=activation, dtype="float32", name=name)


POOLINGS = (None, "avg", "max")


def check_image_classifier_args(
    *, include_top: bool, pooling: str | None, classes: int, input_shape: Sequence[int], min_size: int
) -> tuple[int, ...]:
    """Validate keras.applications-style arguments; return `input_shape` as a tuple."""
    if pooling not in POOLINGS:
        raise ValueError(f"`pooling` must be one of None, 'avg', 'max'. Received: pooling={pooling!r}")
    if not isinstance(classes, int) or classes < 1:
        raise ValueError(f"`classes` must be a positive integer. Received: classes={classes!r}")
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"`input_shape` must be (height, width, channels). Received: input_shape={input_shape!r}")
    height, width = shape[0], shape[1]
    if (height is not None and height < min_size) or (width is not None and width < min_size):
        raise ValueError(
            f"`input_shape` must be at least {min_size}x{min_size} for this architecture. "
            f"Received: input_shape={input_shape!r}"
        )
    return shape


def image_classifier_top(
    *, include_top: bool, pooling: str | None, classes: int, classifier_activation: str | None, prefix: str = ""
) -> list[keras.layers.Layer]:
    """The layers after the feature extractor, as keras.applications arranges them.

    With `include_top`, global average pooling and the classifier; without it, the pooling asked for
    (or nothing, leaving the 4D feature map).
    """
    if include_top:
        return [
            keras.layers.GlobalAveragePooling2D(name=f"{prefix}avg_pool"),
            dense_head(classes, classifier_activation),
        ]
    if pooling == "avg":
        return [keras.layers.GlobalAveragePooling2D(name=f"{prefix}avg_pool")]
    if pooling == "max":
        return [keras.layers.GlobalMaxPooling2D(name=f"{prefix}max_pool")]
    return []


def sequential_model(input_shape: Sequence[int | None], layers: list, name: str,
                     input_name: str | None = None) -> keras.Model:
    """`keras.Sequential` over `layers`, built on `input_shape`."""
    return keras.Sequential([keras.Input(shape=tuple(input_shape), name=input_name), *layers], name=name)


def functional_chain(input_shape: Sequence[int | None], layers: list, name: str,
                     input_name: str | None = None) -> keras.Model:
    """The functional-API model that applies `layers` one after another.

    Name the input after the spec's signature key: it is the input's name in the SavedModel export.
    """
    inputs = keras.Input(shape=tuple(input_shape), name=input_name)
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x, name=name)


class ChainModel(keras.Model):
    """Base for subclassed models whose forward pass is a chain of layers.

    A subclass sets `default_name` and implements `make_layers(**hparams)` (the same layer list the
    sequential and functional builders use, so all three styles hold the same weights in the same order)
    and `input_shape_of(hparams)`. Every constructor argument is returned by `get_config`, so the model
    saves and reloads as itself.
    """

    default_name = "chain_model"

    def __init__(self, name: str | None = None, **hparams: Any):
        super().__init__(name=name or self.default_name)
        self.hparams = dict(hparams)
        self.stack = self.make_layers(**hparams)
        self.build((None, *self.input_shape_of(hparams)))

    def make_layers(self, **hparams) -> list[keras.layers.Layer]:
        raise NotImplementedError

    @staticmethod
    def input_shape_of(hparams: dict[str, Any]) -> tuple[int | None, ...]:
        return tuple(hparams["input_shape"])

    def build(self, input_shape):
        # Build each layer on the shape the previous one returns, as Sequential would.
        shape = tuple(input_shape)
        for layer in self.stack:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_spec(keras.KerasTensor(shape)).shape
        self.built = True

    def call(self, inputs, training=None):
        x = inputs
        for layer in self.stack:
            x = layer(x, training=training)
        return x

    def get_config(self):
        return {"name": self.name, **self.hparams}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # JSON has no tuples; shapes come back as lists.
        if "input_shape" in config and config["input_shape"] is not None:
            config["input_shape"] = tuple(config["input_shape"])
        return cls(**config)


def chain_styles(make_layers: Callable[..., list], subclass: type[ChainModel], name: str,
                 input_name: str | None = None) -> Styles:
    """The three builders of a chain model from one layer factory and its `ChainModel` subclass.

    `input_name` names the input of the sequential and functional models (use the signature's key).
    """

    def sequential(**hp):
        return sequential_model(subclass.input_shape_of(hp), make_layers(**hp), name, input_name)

    def functional(**hp):
        return functional_chain(subclass.input_shape_of(hp), make_layers(**hp), name, input_name)

    return Styles(sequential=sequential, functional=functional, subclass=lambda **hp: subclass(**hp))


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training after the first batch that logs a NaN or infinite value, whatever its name.

    Keras' `TerminateOnNaN` watches `loss` only; a model with its own `train_step` reports other quantities
    (a GAN's `d_loss` and `g_loss`), so a NaN there would otherwise run to the end of training. The run then
    fails on the non-finite history, as any diverged run does.
    """

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            try:
                number = float(value)
            except (TypeError, ValueError):  # a non-scalar log entry
                continue
            if not math.isfinite(number):
                print(f"Batch {batch}: {key} is {number}; stopping training.")
                self.model.stop_training = True
                return


class BackupWithRandomState(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore`, whose checkpoints also hold the model's random state.

    Dropout, noise and augmentation layers draw from `keras.random.SeedGenerator`s, whose states are
    variables but not weights: `save_weights` leaves them out, so a run resumed after a preemption would draw
    other dropout masks than the run that never stopped, and end with other weights. Each checkpoint here
    also writes the states (in `model.variables` order) with the epoch they belong to, to
    `random_state.json` beside Keras' files (and its `.bkp` with `double_checkpoint`); on resume the state of
    the epoch Keras restored is assigned back.
    """

    STATE_FILE = "random_state.json"

    def _states(self):
        return [v for v in self.model.variables if v.path.endswith("seed_generator_state")]

    def _save_model(self):
        super()._save_model()
        path = os.path.join(self.backup_dir, self.STATE_FILE)
        if self.double_checkpoint and os.path.exists(path):
            os.replace(path, path + ".bkp")
        record = {"epoch": self._current_epoch, "batch": self._last_batch_seen,
                  "states": [keras.ops.convert_to_numpy(v.value).tolist() for v in self._states()]}
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.replace(path + ".tmp", path)

    def _load_model(self):
        super()._load_model()
        if not os.path.exists(self._training_metadata_path):
            return  # a fresh start
        with open(self._training_metadata_path) as f:
            restored = json.load(f)
        states = self._states()
        for path in (os.path.join(self.backup_dir, self.STATE_FILE),
                     os.path.join(self.backup_dir, self.STATE_FILE + ".bkp")):
            try:
                with open(path) as f:
                    record = json.load(f)
            except (OSError, ValueError):
                continue
            if (record.get("epoch"), record.get("batch")) == (restored["epoch"], restored["batch"]) \
                    and len(record.get("states", ())) == len(states):
                for variable, value in zip(states, record["states"]):
                    variable.assign(keras.ops.convert_to_tensor(value, dtype=variable.dtype))
                return
