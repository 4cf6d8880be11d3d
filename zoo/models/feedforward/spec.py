"""Specs of catalog section B, deep feed-forward networks (TensorFlow-free)."""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig

SPECS = [
    ModelSpec(
        name="dnn_categorical",
        family="feedforward",
        task="multiclass_classification",
        summary="Flattened image -> Dense512 -> Dense10 softmax; options l2, dropout, batch_norm.",
        reference="seed 003 '2) Categorical Classification', 'Overfitting Issues'",
        impl="zoo.models.feedforward.dnn:DNN_CATEGORICAL",
        defaults={"input_dim": 784, "units": 512, "classes": 10, "l2": 0.0, "dropout": 0.0, "batch_norm": False},
        signature=lambda hp: {"image": TensorSig((hp["input_dim"],))},
        output="class probabilities, shape (batch, classes)",
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        target="onehot",
        recipe=Recipe(loss="categorical_crossentropy", metrics=("accuracy",), batch_size=64, epochs=10),
        gate=Gate(metric="accuracy", direction="max", floor=0.5),
    ),
]
