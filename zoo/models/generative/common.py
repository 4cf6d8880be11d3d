"""Pieces shared by the generative models: their parts in three styles, argument checks, loss scaling.

A generative model here is a `keras.Model` subclass that owns its training (its loss, or its own
`train_step`) and holds parts that are useful alone: a VAE's encoder and decoder, a GAN's generator and
discriminator. The zoo's `style` chooses how those parts are built (`keras.Sequential`, the functional API,
or a `keras.Model` subclass); every style builds the same layers in the same order, so the weights of one
style load into another, and the top model's config names the style so it reloads as it was built.
"""

from __future__ import annotations

from typing import Any, Callable

import keras

from zoo.models.cnn.common import CNNModel
from zoo.nn import check_positive_int, functional_chain, sequential_model
from zoo.spec import STYLES


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


def check_seed(seed: Any) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"`seed` must be None or an integer. Received: seed={seed!r}")
    return seed


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
