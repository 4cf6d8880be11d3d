"""Specs of catalog section A, foundations (TensorFlow-free)."""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig


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
    ),
]
