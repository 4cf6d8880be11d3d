"""Latent-factor recommenders: matrix factorisation (with biases) and non-negative matrix factorisation.

Seed 003 "3) 잠재요인 협업 필터링": the sparse user-item rating matrix R is factorised into a user-factor
matrix P and an item-factor matrix Q, learned by stochastic gradient descent on the observed ratings only,
and P·Qᵀ fills in the ratings nobody gave. `matrix_factorization` predicts
    r(u, i) = mu + b_u + b_i + p_u · q_i
(Koren, Bell & Volinsky 2009, the Netflix-prize model the notes mention); `nmf` keeps P and Q non-negative
and predicts r(u, i) = p_u · q_i (Lee & Seung 1999; seed 003 "행렬분해 기반의 비지도학습(NMF)", 000 "NMF").

Both take a dict {"user": ids, "item": ids} of int32 ids, shape (batch,), and check the ids inside the model:
an id outside [0, n) fails at prediction time with an error that names the kind of id (TensorFlow's
embedding lookup would fail on CPU with an opaque message, and return zeros on GPU without any). A
Sequential model has a single input, so neither model has a sequential style.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import keras
import numpy as np

from zoo.data.adapt import encode_targets
from zoo.nn import Styles, check_positive_int, serializable, uses_tensorflow

INPUTS = ("user", "item")


@serializable
class IdRange(keras.layers.Layer):
    """Passes integer ids through unchanged, and fails when one is outside [0, size) (on TensorFlow).

    Args:
        size: the number of known ids.
        kind: what the ids are ("user", "item"); the error names it.

    Example:
        >>> IdRange(100, "user")(np.array([3, 120]))  # InvalidArgumentError: Unknown user id ...
    """

    def __init__(self, size: int, kind: str, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"`size` must be a positive integer. Received: size={size!r}")
        self.size = size
        self.kind = kind
        # XLA compiles assertions away; a model with this layer must not be jit-compiled.
        self.supports_jit = False

    @uses_tensorflow("the id check asserts with tf.debugging on the TensorFlow backend (serving's one-line error)")
    def call(self, ids):
        if keras.backend.backend() != "tensorflow":
            # No runtime assertion inside a JAX or PyTorch compiled step; the adapter has checked the data's
            # ids, and the served model (a TensorFlow SavedModel) checks requests.
            return ids
        import tensorflow as tf

        ids = tf.convert_to_tensor(ids)
        message = f"Unknown {self.kind} id: {self.kind} ids must be in [0, {self.size})."
        checks = [
            tf.debugging.assert_non_negative(ids, message=message),
            tf.debugging.assert_less(ids, tf.cast(self.size, ids.dtype), message=message),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(ids)

    def compute_output_spec(self, ids):
        return keras.KerasTensor(ids.shape, dtype=ids.dtype)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "kind": self.kind}


@serializable
class GlobalBias(keras.layers.Layer):
    """Adds one trainable scalar (the global mean rating mu) to its input.

    Args:
        initial_value: the scalar's initial value (a prior on the mean rating).
    """

    def __init__(self, initial_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_value = float(initial_value)

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_value),
                                    name="bias")
        self.built = True

    def call(self, x):
        return x + keras.ops.cast(self.bias, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "initial_value": self.initial_value}


def _check_non_negative(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative number. Received: {name}={value!r}")


def _embedding(size: int, dim: int, name: str, *, initializer, l2: float, constraint=None):
    return keras.layers.Embedding(size, dim, embeddings_initializer=initializer,
                                  embeddings_regularizer=keras.regularizers.L2(l2) if l2 else None,
                                  embeddings_constraint=constraint, name=name)


# ----------------------------------------------------------------------------------- matrix factorisation


def matrix_factorization_layers(*, n_users: int = 1000, n_items: int = 1700, factors: int = 16,
                                l2: float = 1e-4, mean_rating: float = 3.5, **_) -> dict[str, keras.layers.Layer]:
    """The layers of `matrix_factorization`, in the functional model's weight order."""
    for name, value in (("n_users", n_users), ("n_items", n_items), ("factors", factors)):
        check_positive_int(name, value)
    _check_non_negative("l2", l2)
    if isinstance(mean_rating, bool) or not isinstance(mean_rating, (int, float)):
        raise ValueError(f"`mean_rating` must be a number. Received: mean_rating={mean_rating!r}")
    init = keras.initializers.RandomNormal(stddev=0.1)
    return {
        "user_check": IdRange(n_users, "user", name="user_check"),
        "item_check": IdRange(n_items, "item", name="item_check"),
        "user_factors": _embedding(n_users, factors, "user_factors", initializer=init, l2=l2),
        "item_factors": _embedding(n_items, factors, "item_factors", initializer=init, l2=l2),
        "user_bias": _embedding(n_users, 1, "user_bias", initializer="zeros", l2=l2),
        "item_bias": _embedding(n_items, 1, "item_bias", initializer="zeros", l2=l2),
        "affinity": keras.layers.Dot(axes=1, name="affinity"),
        "sum": keras.layers.Add(name="sum"),
        # The output computes in float32 so mixed precision keeps a float32 prediction.
        "rating": GlobalBias(mean_rating, dtype="float32", name="rating"),
    }


def _matrix_factorization_forward(layers, inputs):
    user = layers["user_check"](inputs["user"])
    item = layers["item_check"](inputs["item"])
    affinity = layers["affinity"]([layers["user_factors"](user), layers["item_factors"](item)])
    return layers["rating"](layers["sum"]([affinity, layers["user_bias"](user), layers["item_bias"](item)]))


# ----------------------------------------------------------------------------------------------------- NMF


def nmf_layers(*, n_users: int = 1000, n_items: int = 1700, factors: int = 8, l2: float = 1e-5,
               mean_rating: float = 3.5, **_) -> dict[str, keras.layers.Layer]:
    """The layers of `nmf`: non-negative factor tables and their dot product, in weight order."""
    for name, value in (("n_users", n_users), ("n_items", n_items), ("factors", factors)):
        check_positive_int(name, value)
    _check_non_negative("l2", l2)
    _check_non_negative("mean_rating", mean_rating)
    # Uniform factors in [0, m] have E[p·q] = factors·m²/4; m is chosen so predictions start at the mean rating.
    init = keras.initializers.RandomUniform(0.0, math.sqrt(4.0 * max(mean_rating, 1e-3) / factors))
    non_negative = keras.constraints.NonNeg()
    return {
        "user_check": IdRange(n_users, "user", name="user_check"),
        "item_check": IdRange(n_items, "item", name="item_check"),
        "user_factors": _embedding(n_users, factors, "user_factors", initializer=init, l2=l2, constraint=non_negative),
        "item_factors": _embedding(n_items, factors, "item_factors", initializer=init, l2=l2, constraint=non_negative),
        "rating": keras.layers.Dot(axes=1, dtype="float32", name="rating"),
    }


def _nmf_forward(layers, inputs):
    user = layers["user_check"](inputs["user"])
    item = layers["item_check"](inputs["item"])
    return layers["rating"]([layers["user_factors"](user), layers["item_factors"](item)])


# ---------------------------------------------------------------------------------------- the three styles


def _id_inputs() -> dict[str, keras.KerasTensor]:
    return {key: keras.Input(shape=(), dtype="int32", name=key) for key in INPUTS}


class _Factorization(keras.Model):
    """Base of the subclassed recommenders: the functional model's layers, built in `__init__`.

    A subclass sets `default_name`, `make_layers` and `forward` (the same functions the functional builder
    uses), and passes its hyperparameters to `__init__`.
    """

    default_name = "factorization"
    make_layers = None
    forward = None

    def __init__(self, name: str | None = None, **hparams: Any):
        super().__init__(name=name or self.default_name)
        self.hparams = dict(hparams)
        # Keras tracks the layers of this dict in its order, which is the functional model's weight order.
        self.layer_map = dict(type(self).make_layers(**hparams))
        # Calling the model once on symbolic ids builds every layer, so the weights exist right away.
        type(self).forward(self.layer_map, _id_inputs())
        self.built = True

    def call(self, inputs, training=None):
        return type(self).forward(self.layer_map, inputs)

    def get_config(self):
        return {"name": self.name, **self.hparams}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@serializable
class MatrixFactorization(_Factorization):
    """`matrix_factorization` as a `keras.Model` subclass: r(u, i) = mu + b_u + b_i + p_u · q_i.

    Args:
        n_users: number of user ids the model knows (ids 0..n_users-1).
        n_items: number of item ids.
        factors: number of latent factors per user and item.
        l2: L2 penalty on the factor and bias tables.
        mean_rating: initial value of the global bias mu (trained).

    Returns:
        A built model mapping {"user": (batch,), "item": (batch,)} int32 ids to predicted ratings (batch, 1).

    Example:
        >>> model = MatrixFactorization(n_users=943, n_items=1682)
        >>> model.compile(optimizer="adam", loss="mse")
    """

    default_name = "matrix_factorization"
    make_layers = staticmethod(matrix_factorization_layers)
    forward = staticmethod(_matrix_factorization_forward)

    def __init__(self, n_users: int = 1000, n_items: int = 1700, factors: int = 16, l2: float = 1e-4,
                 mean_rating: float = 3.5, name: str | None = None):
        super().__init__(name=name, n_users=n_users, n_items=n_items, factors=factors, l2=l2,
                         mean_rating=mean_rating)


@serializable
class NMF(_Factorization):
    """`nmf` as a `keras.Model` subclass: r(u, i) = p_u · q_i with p_u, q_i >= 0.

    Args:
        n_users: number of user ids the model knows (ids 0..n_users-1).
        n_items: number of item ids.
        factors: number of non-negative latent factors.
        l2: L2 penalty on the factor tables.
        mean_rating: the mean rating the initial factors aim at (sets their scale).

    Returns:
        A built model mapping {"user": (batch,), "item": (batch,)} int32 ids to predicted ratings (batch, 1).

    Example:
        >>> model = NMF(n_users=943, n_items=1682, factors=8)
    """

    default_name = "nmf"
    make_layers = staticmethod(nmf_layers)
    forward = staticmethod(_nmf_forward)

    def __init__(self, n_users: int = 1000, n_items: int = 1700, factors: int = 8, l2: float = 1e-5,
                 mean_rating: float = 3.5, name: str | None = None):
        super().__init__(name=name, n_users=n_users, n_items=n_items, factors=factors, l2=l2,
                         mean_rating=mean_rating)


def _functional(make_layers, forward, name):
    def build(**hparams):
        inputs = _id_inputs()
        return keras.Model(inputs, forward(make_layers(**hparams), inputs), name=name)

    return build


MATRIX_FACTORIZATION = Styles(
    sequential=None,
    functional=_functional(matrix_factorization_layers, _matrix_factorization_forward, "matrix_factorization"),
    subclass=lambda **hp: MatrixFactorization(**hp),
)
NMF_STYLES = Styles(
    sequential=None,
    functional=_functional(nmf_layers, _nmf_forward, "nmf"),
    subclass=lambda **hp: NMF(**hp),
)


# ------------------------------------------------------------------------------------- adapter and serving


def adapt_ratings(spec, hparams: Mapping[str, Any], splits):
    """Check the ids against the model's tables, shape the ratings to (N, 1), and record the id counts.

    Args:
        spec: the recommender's spec.
        hparams: its hyperparameters (`n_users`, `n_items`: the sizes of the model's id tables).
        splits: `Splits` of kind "ids": x a dict {"user": ids, "item": ids}, y the ratings.

    Returns:
        The splits with int32 ids and float32 ratings (N, 1); `info["n_users"]`/`info["n_items"]` are the
        numbers of ids the data defines, which the serving model accepts.

    Raises:
        ValueError: if the data is not user/item ids, has negative ids, or has more ids than the model holds.
    """
    x = splits.train.x
    if splits.kind != "ids" or not isinstance(x, dict) or set(x) != set(INPUTS):
        raise ValueError(f"{spec.name} trains on ratings of user and item ids (kind 'ids', x a dict with keys "
                         f"'user' and 'item'). Received: {splits.name} of kind {splits.kind!r}")
    counts = {}
    for kind in INPUTS:
        ids = np.concatenate([np.asarray(split.x[kind]) for _, split in splits.items()])
        if ids.size and ids.min() < 0:
            raise ValueError(f"{splits.name} has a negative {kind} id ({int(ids.min())}); ids must be 0..n-1.")
        # A loader may define more ids than its ratings use (info["n_users"]); the data's ids never exceed it.
        count = max(int(splits.info.get(f"n_{kind}s", 0)), int(ids.max()) + 1 if ids.size else 0)
        if count > hparams[f"n_{kind}s"]:
            raise ValueError(f"{splits.name} has {count} {kind} ids but {spec.name} was configured with "
                             f"n_{kind}s={hparams[f'n_{kind}s']}; pass n_{kind}s={count} (or more).")
        counts[f"n_{kind}s"] = count
    for _, split in splits.items():
        split.x = {kind: np.asarray(split.x[kind], dtype="int32") for kind in INPUTS}
        split.y = encode_targets(spec.target, split.y, splits.classes)
    splits.info = {**splits.info, **counts}
    return splits


def id_checked_serving(model: keras.Model, info: Mapping[str, Any]) -> keras.Model:
    """The deployed recommender: rejects user or item ids its training data did not define.

    The model's own tables may be larger than the data (its defaults cover MovieLens 100k); ids beyond the
    data's `n_users`/`n_items` have untrained factors, so the serving model refuses them with an error that
    names the kind of id, before the model sees them.

    Args:
        model: the trained recommender (any style).
        info: the dataset's `info` as `adapt_ratings` left it (`n_users`, `n_items`).

    Returns:
        A `keras.Model` taking {"user": (batch,), "item": (batch,)} int32 ids to ratings (batch, 1).
    """
    missing = [key for key in ("n_users", "n_items") if key not in info]
    if missing:
        raise ValueError(f"The serving model needs the id counts recorded by the adapter; info lacks {missing}.")
    inputs = _id_inputs()
    checked = {kind: IdRange(int(info[f"n_{kind}s"]), kind, name=f"serving_{kind}_check")(inputs[kind])
               for kind in INPUTS}
    return keras.Model(inputs, model(checked), name=f"{model.name}_serving")
