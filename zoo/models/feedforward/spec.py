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

SPECS += [
    ModelSpec(
        name="dnn_binary",
        family="feedforward",
        task="binary_classification",
        summary="Multi-hot(10000) -> Dense16 -> Dense16 -> Dense1 sigmoid; serves raw text.",
        reference="seed 003 '1) Binary Classification' (IMDB)",
        impl="zoo.models.feedforward.dnn_binary:DNN_BINARY",
        defaults={"num_words": 10000, "units": 16},
        signature=lambda hp: {"multi_hot": TensorSig((hp["num_words"],))},
        output="probability that the text is positive, shape (batch, 1); the served model takes raw strings",
        offline_datasets=("synthetic_sentiment",),
        online_datasets=("imdb_reviews",),
        target="binary",
        recipe=Recipe(loss="binary_crossentropy", metrics=("accuracy",), optimizer="rmsprop", learning_rate=2e-3,
                      batch_size=32, epochs=30, patience=4),
        gate=Gate(metric="accuracy", direction="max", floor=0.75),
        adapter="zoo.models.feedforward.dnn_binary:adapt_text",
        serving="zoo.models.feedforward.dnn_binary:text_serving",
        small={"num_words": 256},
    ),
    ModelSpec(
        name="dnn_regression",
        family="feedforward",
        task="regression",
        summary="Features -> Dense64 -> Dense64 -> Dense1 (13 Boston housing features in the notes), MAE metric, "
                "early stopping.",
        reference="seed 003 '3) Regression Analysis', 'Early Stopping'",
        impl="zoo.models.feedforward.dnn_regression:DNN_REGRESSION",
        # input_dim fits the offline default (diabetes, 10 features); Boston housing takes input_dim=13.
        defaults={"input_dim": 10, "units": 64},
        signature=lambda hp: {"features": TensorSig((hp["input_dim"],))},
        output="the predicted value, shape (batch, 1)",
        offline_datasets=("diabetes",),
        online_datasets=("boston_housing",),
        target="regression",
        recipe=Recipe(loss="mse", metrics=("mae",), optimizer="rmsprop", learning_rate=5e-3, batch_size=16,
                      epochs=200, monitor="val_loss", patience=15),
        # Predicting diabetes' training mean scores an MAE of about 64; a trained network about 45. Boston
        # housing prices are ten times smaller, so the floor passes any sensible model there too.
        gate=Gate(metric="mae", direction="min", floor=55.0),
    ),
]
