"""Linear models: linear, logistic and softmax regression, and the linear SVM.

Each is one Dense layer; what differs is the output (identity, sigmoid, softmax or a raw margin), the loss
the recipe pairs it with (MSE, binary or categorical cross-entropy, hinge) and the weight penalty:
ridge (L2) or lasso (L1) for the regressions, the max-margin L2 penalty for the SVM. Seed notes: 000
"지도학습" (y = Wx + b), "linear" (ridge, lasso, logistic), "function API"; 001 "Logistic Regression",
"Softmax", "SVM", "SVM에서 Margin".
"""

from __future__ import annotations

import keras

from zoo.nn import ChainModel, chain_styles, check_positive_int, serializable

REGULARIZERS = ("none", "l1", "l2")


def weight_penalty(regularizer: str, strength: float):
    """The Keras regularizer for `regularizer` ("none", "l1" lasso, "l2" ridge) of the given strength.

    Raises:
        ValueError: for an unknown regularizer or a negative strength.
    """
    if regularizer not in REGULARIZERS:
        raise ValueError(f"`regularizer` must be one of {', '.join(map(repr, REGULARIZERS))}. "
                         f"Received: regularizer={regularizer!r}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or strength < 0:
        raise ValueError(f"`strength` must be a non-negative number. Received: strength={strength!r}")
    if regularizer == "none" or strength == 0:
        return None
    return keras.regularizers.L1(float(strength)) if regularizer == "l1" else keras.regularizers.L2(float(strength))


def _input_shape(hparams):
    return (hparams["input_dim"],)


def _linear_unit(units: int, activation: str | None, name: str, input_dim: int, regularizer: str,
                 strength: float) -> list[keras.layers.Layer]:
    check_positive_int("input_dim", input_dim)
    check_positive_int("units", units)
    # The output layer computes in float32, as `dense_head` does, and carries the weight penalty.
    return [keras.layers.Dense(units, activation=activation, kernel_regularizer=weight_penalty(regularizer, strength),
                               dtype="float32", name=name)]


# ---------------------------------------------------------------------------------------- linear regression


def linear_regression_layers(*, input_dim: int = 1, regularizer: str = "none", strength: float = 0.01, **_):
    """y = W x + b: one linear unit, with an optional ridge (L2) or lasso (L1) penalty on W."""
    return _linear_unit(1, None, "linear", input_dim, regularizer, strength)


@serializable
class LinearRegression(ChainModel):
    """Linear regression, y = Wx + b, as a `keras.Model` subclass (seed 000 "지도학습", "linear").

    Trained with mean squared error; `regularizer="l2"` makes it ridge regression and `"l1"` the lasso.

    Args:
        input_dim: number of input features.
        regularizer: "none", "l1" (lasso) or "l2" (ridge).
        strength: the penalty's coefficient (ignored for "none").

    Returns:
        A built model mapping (batch, input_dim) to the prediction (batch, 1).

    Example:
        >>> model = LinearRegression(input_dim=1)
        >>> model.compile(optimizer="sgd", loss="mse")
    """

    default_name = "linear_regression"

    def __init__(self, input_dim: int = 1, regularizer: str = "none", strength: float = 0.01,
                 name: str | None = None):
        super().__init__(name=name, input_dim=input_dim, regularizer=regularizer, strength=strength)

    make_layers = staticmethod(linear_regression_layers)
    input_shape_of = staticmethod(_input_shape)


# -------------------------------------------------------------------------------------- logistic regression


def logistic_regression_layers(*, input_dim: int = 30, regularizer: str = "none", strength: float = 0.01, **_):
    """p(y=1 | x) = sigmoid(W x + b)."""
    return _linear_unit(1, "sigmoid", "logistic", input_dim, regularizer, strength)


@serializable
class LogisticRegression(ChainModel):
    """Logistic regression, p(y=1|x) = sigmoid(Wx + b), as a `keras.Model` subclass (seed 001).

    Args:
        input_dim: number of input features.
        regularizer: "none", "l1" or "l2" penalty on the weights.
        strength: the penalty's coefficient.

    Returns:
        A built model mapping (batch, input_dim) to the probability of class 1, (batch, 1).

    Example:
        >>> model = LogisticRegression(input_dim=30)
    """

    default_name = "logistic_regression"

    def __init__(self, input_dim: int = 30, regularizer: str = "none", strength: float = 0.01,
                 name: str | None = None):
        super().__init__(name=name, input_dim=input_dim, regularizer=regularizer, strength=strength)

    make_layers = staticmethod(logistic_regression_layers)
    input_shape_of = staticmethod(_input_shape)


# --------------------------------------------------------------------------------------- softmax regression


def softmax_regression_layers(*, input_dim: int = 4, classes: int = 3, regularizer: str = "none",
                              strength: float = 0.01, **_):
    """p(y=k | x) = softmax(W x + b)_k: multinomial logistic regression."""
    check_positive_int("classes", classes)
    return _linear_unit(classes, "softmax", "softmax", input_dim, regularizer, strength)


@serializable
class SoftmaxRegression(ChainModel):
    """Softmax (multinomial logistic) regression as a `keras.Model` subclass (seed 001 "Softmax").

    Args:
        input_dim: number of input features.
        classes: number of classes.
        regularizer: "none", "l1" or "l2" penalty on the weights.
        strength: the penalty's coefficient.

    Returns:
        A built model mapping (batch, input_dim) to class probabilities (batch, classes).

    Example:
        >>> model = SoftmaxRegression(input_dim=4, classes=3)
    """

    default_name = "softmax_regression"

    def __init__(self, input_dim: int = 4, classes: int = 3, regularizer: str = "none", strength: float = 0.01,
                 name: str | None = None):
        super().__init__(name=name, input_dim=input_dim, classes=classes, regularizer=regularizer,
                         strength=strength)

    make_layers = staticmethod(softmax_regression_layers)
    input_shape_of = staticmethod(_input_shape)


# ------------------------------------------------------------------------------------------------ linear SVM


def linear_svm_layers(*, input_dim: int = 30, l2: float = 1e-3, **_):
    """The decision function f(x) = w·x + b, with the max-margin penalty l2·|w|² (hinge loss in the recipe)."""
    return _linear_unit(1, None, "margin", input_dim, "l2", l2)


@serializable
class LinearSVM(ChainModel):
    """A linear support vector machine as a `keras.Model` subclass (seed 000 "SVM"; 001 "SVM에서 Margin").

    The model outputs the decision score f(x) = w·x + b; class 1 when f(x) > 0. Trained with the hinge loss
    max(0, 1 - t f(x)) (t = ±1; Keras maps 0/1 labels to ±1) plus `l2`·|w|², whose minimum is the
    soft-margin SVM: the L2 penalty is what widens the margin (`l2` plays the role of 1/C).

    Args:
        input_dim: number of input features.
        l2: strength of the L2 penalty on w.

    Returns:
        A built model mapping (batch, input_dim) to the decision score (batch, 1).

    Example:
        >>> model = LinearSVM(input_dim=30)
        >>> model.compile(optimizer="adam", loss="hinge")
    """

    default_name = "linear_svm"

    def __init__(self, input_dim: int = 30, l2: float = 1e-3, name: str | None = None):
        super().__init__(name=name, input_dim=input_dim, l2=l2)

    make_layers = staticmethod(linear_svm_layers)
    input_shape_of = staticmethod(_input_shape)


LINEAR_REGRESSION = chain_styles(linear_regression_layers, LinearRegression, "linear_regression")
LOGISTIC_REGRESSION = chain_styles(logistic_regression_layers, LogisticRegression, "logistic_regression")
SOFTMAX_REGRESSION = chain_styles(softmax_regression_layers, SoftmaxRegression, "softmax_regression")
LINEAR_SVM = chain_styles(linear_svm_layers, LinearSVM, "linear_svm")
