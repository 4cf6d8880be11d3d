"""Pieces shared by the generative models: their parts in three styles, argument checks, loss scaling.

A generative model here is a `keras.Model` subclass that owns its training (its loss, or its own
`train_step`) and holds parts that are useful alone: a VAE's encoder and decoder, a GAN's generator and
discriminator. The zoo's `style` chooses how those parts are built (`keras.Sequential`, the functional API,
or a `keras.Model` subclass); every style builds the same layers in the same order, so the weights of one
style load into another, and the top model's config names the style so it reloads as it was built.

A conditional part (a conditional GAN's generator and discriminator) takes two inputs, `[x, label]`: a *join*
step turns them into one tensor (the label one-hot, concatenated to the noise or laid over the image as
extra channels), then a chain of layers follows. Two inputs rule out `keras.Sequential`; the functional and
subclass styles build the same join and chain (`build_conditional_part`, `ConditionalPart`).
"""

from __future__ import annotations

from typing import Any, Callable

import keras

from zoo.models.cnn.common import CNNModel
from zoo.nn import check_positive_int, functional_chain, sequential_model, uses_tensorflow
from zoo.spec import STYLES

#: the name of a conditional part's label input (and of the label input in a conditional model's signature)
LABEL_INPUT = "label"


class Part(CNNModel):
    """A part of a generative model (encoder, decoder, generator, discriminator) as a `keras.Model` subclass.

    Subclasses set `make_layers` (the factory the sequential and functional parts use too) and
    `input_shape_of`; tuple-valued hyperparameters listed in `tuple_hparams` come back as tuples from JSON.
    """


def build_part(style: str, make_layers: Callable[..., list], subclass: type[Part], name: str, input_name: str,
               **hparams: Any) -> keras.Model:
    """One part of a generative model, built in `style` from its layer factory.

    Args:
        style: "sequential", "functional" or "subclass".
        make_layers: the part's layer factory, called with `hparams`.
        subclass: the part's `Part` subclass (the "subclass" style).
        name: the part's model name.
        input_name: the name of its input (the input's name in a SavedModel export).
        **hparams: the part's hyperparameters.

    Returns:
        A built `keras.Model`.
    """
    check_style_argument(style)
    if style == "subclass":
        return subclass(name=name, **hparams)
    shape = subclass.input_shape_of(hparams)
    build = sequential_model if style == "sequential" else functional_chain
    return build(shape, make_layers(**hparams), name, input_name)


class ConditionalPart(keras.Model):
    """A conditional part as a `keras.Model` subclass: `[x, labels]` -> the join step, then a chain of layers.

    Subclasses set `default_name`, `make_join` (the join's layers), `join` (how they combine x and the
    labels), `make_layers` (the chain), `input_shape_of` (x's shape) and `tuple_hparams`. The functional
    style (`build_conditional_part`) uses the same four, so both styles hold the same weights in the same
    order. Every constructor argument is returned by `get_config`.
    """

    default_name = "conditional_part"
    tuple_hparams: tuple[str, ...] = ()

    def __init__(self, name: str | None = None, **hparams: Any):
        for key in self.tuple_hparams:
            if isinstance(hparams.get(key), list):
                hparams[key] = tuple(hparams[key])
        super().__init__(name=name or self.default_name)
        self.hparams = dict(hparams)
        self.join_layers = self.make_join(**hparams)
        self.stack = self.make_layers(**hparams)
        # Calling the layers on symbolic tensors builds each on the shape it receives.
        self._forward(keras.KerasTensor((None, *self.input_shape_of(hparams))),
                      keras.KerasTensor((None,), dtype="int32"))
        self.built = True

    @staticmethod
    def make_join(**hparams) -> list[keras.layers.Layer]:
        raise NotImplementedError

    @staticmethod
    def join(layers: list, x, labels):
        raise NotImplementedError

    @staticmethod
    def make_layers(**hparams) -> list[keras.layers.Layer]:
        raise NotImplementedError

    @staticmethod
    def input_shape_of(hparams) -> tuple[int, ...]:
        raise NotImplementedError

    def _forward(self, x, labels, training=None):
        x = self.join(self.join_layers, x, labels)
        for layer in self.stack:
            x = layer(x, training=training)
        return x

    def call(self, inputs, training=None):
        x, labels = split_conditional(inputs)
        return self._forward(x, labels, training=training)

    def get_config(self):
        return {"name": self.name, **self.hparams}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def split_conditional(inputs) -> tuple:
    """(x, labels) from a conditional part's inputs: a pair `[x, labels]`, or a dict with a "label" key."""
    if isinstance(inputs, dict):
        others = [key for key in inputs if key != LABEL_INPUT]
        if LABEL_INPUT not in inputs or len(others) != 1:
            raise ValueError(f"A conditional part takes two inputs, x and {LABEL_INPUT!r}. "
                             f"Received keys: {sorted(inputs)}")
        return inputs[others[0]], inputs[LABEL_INPUT]
    if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
        count = len(inputs) if isinstance(inputs, (list, tuple)) else 1
        raise ValueError(f"A conditional part takes two inputs, [x, labels]. Received: {count} input(s)")
    return inputs[0], inputs[1]


def build_conditional_part(style: str, subclass: type[ConditionalPart], name: str, input_name: str,
                           **hparams: Any) -> keras.Model:
    """A conditional part, `[x, labels] -> output`, built in `style` ("functional" or "subclass").

    Args:
        style: "functional" or "subclass"; "sequential" cannot take two inputs.
        subclass: the part's `ConditionalPart` subclass (its join, chain and input shape).
        name: the part's model name.
        input_name: the name of x's input (the label input is "label").
        **hparams: the part's hyperparameters.
    """
    check_style_argument(style)
    if style == "sequential":
        raise ValueError(f"A conditional {name} takes two inputs ({input_name} and {LABEL_INPUT}), which "
                         "keras.Sequential cannot; use style='functional' or 'subclass'. Received: style='sequential'")
    if style == "subclass":
        return subclass(name=name, **hparams)
    x = keras.Input(shape=tuple(subclass.input_shape_of(hparams)), name=input_name)
    labels = keras.Input(shape=(), dtype="int32", name=LABEL_INPUT)
    y = subclass.join(subclass.make_join(**hparams), x, labels)
    for layer in subclass.make_layers(**hparams):
        y = layer(y)
    return keras.Model([x, labels], y, name=name)


def check_style_argument(style: Any) -> str:
    if style not in STYLES:
        raise ValueError(f"`style` must be one of {', '.join(STYLES)}. Received: style={style!r}")
    return style


def check_units(name: str, values: Any, *, allow_empty: bool = False) -> tuple[int, ...]:
    """`values` as a tuple of positive integers (units or filters per layer)."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)) or (not values and not allow_empty):
        raise ValueError(f"`{name}` must list positive integers, one per layer. Received: {name}={values!r}")
    for value in values:
        check_positive_int(name, value)
    return tuple(values)


def check_image_shape(name: str, shape: Any) -> tuple[int, int, int]:
    if not isinstance(shape, (list, tuple)) or len(shape) != 3:
        raise ValueError(f"`{name}` must be (height, width, channels). Received: {name}={shape!r}")
    for value in shape:
        check_positive_int(name, value)
    return tuple(shape)


def check_classes(classes: Any) -> int:
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise ValueError(f"`classes` must be an integer of at least 2. Received: classes={classes!r}")
    return classes


def check_fraction(name: str, value: Any) -> float:
    """`value` as a float in [0, 1) (a momentum, a dropout rate); else a one-line ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")
    return float(value)


def check_seed(seed: Any) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"`seed` must be None or an integer. Received: seed={seed!r}")
    return seed


@uses_tensorflow("a tf.distribute detail, taken only on the TensorFlow backend")
def replica_share(loss):
    """`loss` divided by the number of replicas under `tf.distribute`, as Keras does to its compiled losses.

    Each replica computes the mean over its own part of the global batch and the replicas' gradients are
    summed, so each contributes 1/replicas of its mean: the result is the gradient of the global mean.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = loss / replicas
    return loss

