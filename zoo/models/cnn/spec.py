"""Specs of catalog section C, convolutional networks (TensorFlow-free)."""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig

IMAGE_CLASSIFIER_ARGS = {
    "include_top": True,
    "pooling": None,
    "classifier_activation": "softmax",
    "weights": None,
}


def _image(hp):
    return {"image": TensorSig(tuple(hp["input_shape"]))}


SPECS = [
    ModelSpec(
        name="lenet5",
        family="cnn",
        task="multiclass_classification",
        summary="LeNet-5: conv-subsample-conv-subsample-dense, tanh; 61,706 parameters at 32x32x1.",
        reference="LeCun et al. 1998; seed 003 '(1) LeNet'",
        impl="zoo.models.cnn.lenet:LENET5",
        defaults={"input_shape": (32, 32, 1), "classes": 10, "activation": "tanh", **IMAGE_CLASSIFIER_ARGS},
        signature=_image,
        output="class probabilities, shape (batch, classes)",
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        recipe=Recipe(loss="sparse_categorical_crossentropy", metrics=("accuracy",), batch_size=32, epochs=15,
                      patience=4),
        gate=Gate(metric="accuracy", direction="max", floor=0.8),
    ),
]
