"""The autoregressive model AR(p): the next value of a series as a linear function of its p previous values.

x_t = c + a_1 x_{t-1} + ... + a_p x_{t-p} + e_t, which is multiple linear regression on lagged values
(seed 000 "autoregressive": "변수의 과거값의 선형 조합을 이용해 특정 변수를 예측"). The model is one linear
unit over a window of the last `lags` values, oldest first; its kernel holds the AR coefficients a_p..a_1
and its bias the constant c.

The coefficients start at the naive forecast (a_1 = 1, the rest 0: "tomorrow is like today"), the AR
solution for a random walk. Lagged values of a smooth series are nearly collinear, which makes gradient
descent from a random start crawl along the direction "sum of coefficients"; starting on the naive
forecast places the model on that direction at once, and training learns the seasonal corrections.
"""

from __future__ import annotations

import keras
import numpy as np

from zoo.data.adapt import encode_targets
from zoo.nn import ChainModel, chain_styles, serializable


@serializable
class LastValue(keras.initializers.Initializer):
    """Kernel initialiser of the naive forecast: weight 1 on the most recent value (the last row), 0 elsewhere."""

    def __call__(self, shape, dtype=None):
        kernel = np.zeros(shape, dtype="float32")
        kernel[-1, ...] = 1.0
        return keras.ops.convert_to_tensor(kernel, dtype=dtype)

    def get_config(self):
        return {}


def _input_shape(hparams):
    return (hparams["lags"],)


def autoregressive_layers(*, lags: int = 24, **_) -> list[keras.layers.Layer]:
    """One linear unit over the `lags` previous values (float32, as an output head must be)."""
    if isinstance(lags, bool) or not isinstance(lags, int) or lags < 1:
        raise ValueError(f"`lags` must be a positive integer. Received: lags={lags!r}")
    return [keras.layers.Dense(1, activation=None, kernel_initializer=LastValue(), dtype="float32",
                               name="ar_coefficients")]


@serializable
class Autoregressive(ChainModel):
    """AR(p) as a `keras.Model` subclass.

    Args:
        lags: the order p, how many previous values the forecast uses.

    Returns:
        A built model mapping windows (batch, lags), oldest value first, to the next value (batch, 1).

    Example:
        >>> model = Autoregressive(lags=12)
        >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    """

    default_name = "autoregressive"

    def __init__(self, lags: int = 24, name: str | None = None):
        super().__init__(name=name, lags=lags)

    make_layers = staticmethod(autoregressive_layers)
    input_shape_of = staticmethod(_input_shape)


AUTOREGRESSIVE = chain_styles(autoregressive_layers, Autoregressive, "autoregressive")


def adapt_lags(spec, hparams, splits):
    """The AR adapter: keep the last `lags` values of each window and shape targets to (N, 1).

    Series datasets (`synthetic_series`) hold windows of a fixed length chosen when loading; AR(p) reads the
    p most recent values of each, so one prepared dataset serves every order up to its window length.

    Raises:
        ValueError: if the data is not windows of a series, or its windows are shorter than `lags`.
    """
    lags = hparams["lags"]
    window = splits.train.x.shape[-1] if isinstance(splits.train.x, np.ndarray) else None
    if splits.kind != "sequence" or window is None or splits.train.x.ndim != 2:
        raise ValueError(f"{spec.name} trains on windows of a series (kind 'sequence', x of shape (N, window)). "
                         f"Received: {splits.name} of kind {splits.kind!r}")
    if lags > window:
        raise ValueError(f"{spec.name} with lags={lags} needs windows of at least {lags} values; {splits.name} "
                         f"has windows of {window}. Load it with window>={lags} or lower lags.")
    for _, split in splits.items():
        split.x = np.ascontiguousarray(split.x[:, window - lags:], dtype="float32")
        split.y = encode_targets(spec.target, split.y, None)
    splits.info = {**splits.info, "lags": lags}
    return splits
