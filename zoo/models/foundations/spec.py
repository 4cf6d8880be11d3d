"""Specs of catalog section A, foundations (TensorFlow-free)."""

from zoo.spec import Choice, Gate, ModelSpec, Range, Recipe, TensorSig


def _features(hp):
    return {"features": TensorSig((hp["input_dim"],))}


SPECS = [
    ModelSpec(
        name="perceptron",
        family="foundations",
        task="binary_classification",
        summary="Single-layer perceptron, sigmoid output thresholded at 0.5; learns AND/OR/NAND, not XOR.",
        reference="Rosenblatt 1958; seed 003 '2) Perceptron', 'Logic Gate'",
        impl="zoo.models.foundations.perceptron:PERCEPTRON",
        defaults={"input_dim": 2},
        signature=_features,
        output="probability of class 1, shape (batch, 1)",
        offline_datasets=("synthetic_logic_gates",),
        target="binary",
        recipe=Recipe(loss="binary_crossentropy", metrics=("accuracy",), learning_rate=0.1, batch_size=16,
                      epochs=40, patience=10),
        gate=Gate(metric="accuracy", direction="max", floor=0.7),
    ),
    ModelSpec(
        name="mlp",
        family="foundations",
        task="binary_classification",
        summary="Multi-layer perceptron with one hidden layer; solves XOR.",
        reference="Rumelhart, Hinton & Williams 1986; seed 003 '3) Multi-Layer Perceptron'",
        impl="zoo.models.foundations.perceptron:MLP_STYLES",
        defaults={"input_dim": 2, "hidden_units": 8, "activation": "tanh"},
        signature=_features,
        output="probability of class 1, shape (batch, 1)",
        offline_datasets=("synthetic_xor",),
        target="binary",
        recipe=Recipe(loss="binary_crossentropy", metrics=("accuracy",), learning_rate=0.05, batch_size=16,
                      epochs=60, patience=15),
        gate=Gate(metric="accuracy", direction="max", floor=0.7),
        search_space={"hidden_units": Range(2, 32, scale="log", integer=True), "activation": Choice(("tanh", "relu"))},
    ),
]


def _window(hp):
    return {"window": TensorSig((hp["lags"],))}


def _two_sources(hp):
    return {"source_a": TensorSig((hp["source_a_dim"],)), "source_b": TensorSig((hp["source_b_dim"],))}


_REGULARIZED = {"regularizer": "none", "strength": 0.01}

SPECS += [
    ModelSpec(
        name="linear_regression",
        family="foundations",
        task="regression",
        summary="Linear regression y = Wx + b: Dense(1, linear), MSE, SGD; regularizer none / l2 (ridge) / "
                "l1 (lasso).",
        reference="seed 000 '지도학습' (y = Wx + b), 'linear', 'function API'",
        impl="zoo.models.foundations.linear:LINEAR_REGRESSION",
        defaults={"input_dim": 1, **_REGULARIZED},
        signature=_features,
        output="the predicted value, shape (batch, 1)",
        offline_datasets=("synthetic_linear", "diabetes"),
        target="regression",
        recipe=Recipe(loss="mse", metrics=("mse",), optimizer="sgd", learning_rate=0.02, batch_size=32, epochs=60,
                      patience=8),
        # No absolute floor: its datasets' MSEs differ by three orders of magnitude (about 5 on
        # synthetic_linear, 3,000 to 4,000 on diabetes), so no one number is a meaningful bar for both.
        gate=Gate(metric="mse", direction="min", floor=None),
    ),
    ModelSpec(
        name="logistic_regression",
        family="foundations",
        task="binary_classification",
        summary="Logistic regression: Dense(1, sigmoid), binary cross-entropy.",
        reference="seed 000 'function API', 'linear'; 001 'Logistic Regression'",
        impl="zoo.models.foundations.linear:LOGISTIC_REGRESSION",
        defaults={"input_dim": 30, **_REGULARIZED},
        signature=_features,
        output="probability of class 1, shape (batch, 1)",
        offline_datasets=("breast_cancer",),
        target="binary",
        recipe=Recipe(loss="binary_crossentropy", metrics=("accuracy",), learning_rate=0.01, batch_size=32,
                      epochs=40, patience=6),
        gate=Gate(metric="accuracy", direction="max", floor=0.9),
    ),
    ModelSpec(
        name="softmax_regression",
        family="foundations",
        task="multiclass_classification",
        summary="Softmax regression: Dense(K, softmax), categorical cross-entropy.",
        reference="seed 001 'Softmax'; 003 '4) softmax()'",
        impl="zoo.models.foundations.linear:SOFTMAX_REGRESSION",
        defaults={"input_dim": 4, "classes": 3, **_REGULARIZED},
        signature=_features,
        output="class probabilities, shape (batch, classes)",
        offline_datasets=("iris",),
        target="onehot",
        recipe=Recipe(loss="categorical_crossentropy", metrics=("accuracy",), learning_rate=0.05, batch_size=16,
                      epochs=60, patience=10),
        gate=Gate(metric="accuracy", direction="max", floor=0.8),
    ),
    ModelSpec(
        name="linear_svm",
        family="foundations",
        task="binary_classification",
        summary="Linear SVM: Dense(1) decision score, hinge loss and an L2 penalty (max-margin classifier).",
        reference="seed 000 'SVM'; 001 'SVM', 'SVM에서 Margin'",
        impl="zoo.models.foundations.linear:LINEAR_SVM",
        defaults={"input_dim": 30, "l2": 1e-3},
        signature=_features,
        output="decision score w·x + b, shape (batch, 1); class 1 when the score is > 0 (not a probability)",
        offline_datasets=("breast_cancer",),
        target="binary",
        # No "accuracy" metric during training: Keras's would threshold the margin at 0.5, and the SVM's
        # decision threshold is 0. The evaluation must classify its scores by their sign.
        recipe=Recipe(loss="hinge", metrics=(), learning_rate=0.01, batch_size=32, epochs=40, patience=6),
        # The output is a margin w.x + b: class 1 when it is positive.
        gate=Gate(metric="accuracy", direction="max", floor=0.9, decision_threshold=0.0),
    ),
    ModelSpec(
        name="autoregressive",
        family="foundations",
        task="forecasting",
        summary="AR(p): the next value of a series as a linear function of its p previous values.",
        reference="seed 000 'autoregressive'",
        impl="zoo.models.foundations.autoregressive:AUTOREGRESSIVE",
        defaults={"lags": 24},
        signature=_window,
        output="the next value of the series, shape (batch, 1)",
        offline_datasets=("synthetic_series",),
        target="regression",
        recipe=Recipe(loss="mse", metrics=("mae",), learning_rate=0.01, batch_size=32, epochs=200, patience=15),
        # On synthetic_series' test split, repeating the last value scores an MAE of about 0.85, repeating
        # the value a season ago about 0.54, least-squares AR(24) 0.43: the floor asks for a model that
        # learned the season.
        gate=Gate(metric="mae", direction="min", floor=0.5),
        adapter="zoo.models.foundations.autoregressive:adapt_lags",
    ),
    ModelSpec(
        name="multi_input",
        family="foundations",
        task="binary_classification",
        summary="Two inputs, one Dense branch each, concatenated, then a Dense head.",
        reference="seed 000 'function API' (다중입력을 받는 모델)",
        impl="zoo.models.foundations.multi_input:MULTI_INPUT",
        defaults={"source_a_dim": 4, "source_b_dim": 6, "branch_units": 8, "head_units": 8},
        signature=_two_sources,
        output="probability of class 1, shape (batch, 1)",
        offline_datasets=("synthetic_two_source",),
        target="binary",
        styles={
            "sequential": "a keras.Sequential model has exactly one input tensor, and this model takes two "
                          "(source_a, source_b), each through its own branch",
            "functional": None,
            "subclass": None,
        },
        recipe=Recipe(loss="binary_crossentropy", metrics=("accuracy",), learning_rate=0.01, batch_size=32,
                      epochs=40, patience=6),
        gate=Gate(metric="accuracy", direction="max", floor=0.85),
        small={"branch_units": 4, "head_units": 4},
    ),
]
