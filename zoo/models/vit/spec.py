"""Spec of `vit`, the Vision Transformer of catalog section F (TensorFlow-free).

Defaults are ViT-B/16 at 224x224x3 with a 1000-class top (backbone 85,798,656 parameters). The `small`
configuration (what the local dry run and the standard tests build) keeps the architecture at digits'
native 8x8x1 with 2x2 patches (16 patch tokens and the [CLS] token), 2 blocks of width 64 with 4 heads
and a 128-unit MLP. The recipe and the gate floor are set from measured local runs (small configuration,
digits, the recipe's epochs and early stopping, two CPU cores): see the floor's comment.
"""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig


def _image(hp):
    return {"image": TensorSig(tuple(hp["input_shape"]))}


SPECS = [
    ModelSpec(
        name="vit",
        family="transformer",
        task="multiclass_classification",
        summary="Vision Transformer: patch embedding, [CLS] token, learned positions, pre-norm encoder blocks "
                "(multi-head attention, GELU MLP), classifier on [CLS]; ViT-B/16 backbone 85,798,656 parameters.",
        reference="Dosovitskiy et al. 2020, 'An Image is Worth 16x16 Words'; seed 002 '8장 Transformer' (ViT)",
        impl="zoo.models.vit.vit:VIT",
        defaults={"input_shape": (224, 224, 3), "patch_size": 16, "num_layers": 12, "num_heads": 12,
                  "hidden_dim": 768, "mlp_dim": 3072, "dropout": 0.0, "attention_dropout": 0.0,
                  "layer_norm_epsilon": 1e-6, "include_top": True, "pooling": None, "classes": 1000,
                  "classifier_activation": "softmax", "weights": None},
        signature=_image,
        output="class probabilities, shape (batch, classes)",
        offline_datasets=("digits",),
        online_datasets=("cifar10",),
        recipe=Recipe(loss="sparse_categorical_crossentropy", metrics=("accuracy",), optimizer="adamw",
                      learning_rate=1e-3, batch_size=32, epochs=30, patience=5),
        # Measured `zoo run vit --local` (small, digits, two CPU cores): test accuracy 0.952, 0.956, 0.948 for
        # seeds 0, 1, 2 (early stopping after 23, 13, 20 epochs; 130-175 s wall each, pipeline included);
        # the floor leaves a margin below them.
        gate=Gate(metric="accuracy", direction="max", floor=0.9),
        small={"input_shape": (8, 8, 1), "classes": 10, "patch_size": 2, "num_layers": 2, "num_heads": 4,
               "hidden_dim": 64, "mlp_dim": 128, "dropout": 0.1},
    ),
]
