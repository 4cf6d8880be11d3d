"""Specs of catalog section C, convolutional networks (TensorFlow-free).

Every image classifier takes keras.applications' arguments (`IMAGE_CLASSIFIER_ARGS`, plus `input_shape`
and `classes`). The ImageNet-sized architectures default to keras.applications' 224x224x3 and 1000
classes; their `small` configurations (what the local dry run and the standard tests build) keep the
architecture and shrink the input to digits' scale, 32x32x1 (64x64x1 for AlexNet, whose 11x11/4 first
convolution needs more), with 10 classes, narrow AlexNet's and VGG's 4096-unit dense layers, and lower the
batch-normalisation momentum to suit digits' 40 steps an epoch. Recipes and gate floors are set from
measured local runs (small configuration, digits, the recipe's epochs and early stopping, two CPU cores).
"""

from zoo.spec import Choice, Gate, ModelSpec, Range, Recipe, TensorSig

IMAGE_CLASSIFIER_ARGS = {
    "include_top": True,
    "pooling": None,
    "classifier_activation": "softmax",
    "weights": None,
}
IMAGENET_SIZED = {"input_shape": (224, 224, 3), "classes": 1000}
DIGITS_SIZED = {"input_shape": (32, 32, 1), "classes": 10}
# Digits give 40 training steps an epoch; moving statistics averaged over ~10 steps keep up with them.
SMALL_BATCH_NORMALISED = {**DIGITS_SIZED, "batch_norm_momentum": 0.9}
_REFERENCE_002 = "002 '5장 Modern CNN'"


def _image(hp):
    return {"image": TensorSig(tuple(hp["input_shape"]))}


def _tokens(hp):
    return {"tokens": TensorSig((hp["sequence_length"],), dtype="int32", low=0, high=hp["vocab_size"])}


def _recipe(epochs: int, patience: int = 3, learning_rate: float = 1e-3, batch_size: int = 32, **more) -> Recipe:
    return Recipe(loss="sparse_categorical_crossentropy", metrics=("accuracy",), learning_rate=learning_rate,
                  batch_size=batch_size, epochs=epochs, patience=patience, **more)


def _imagenet_sized(defaults) -> bool:
    return tuple(defaults.get("input_shape", ())) == IMAGENET_SIZED["input_shape"]


def _classifier(name, *, summary, reference, impl, defaults, recipe, floor, small=None, online=("cifar10",),
                heavy=False, search_space=None) -> ModelSpec:
    """An image classifier on digits (offline), with keras.applications' arguments."""
    return ModelSpec(
        name=name,
        family="cnn",
        task="multiclass_classification",
        summary=summary,
        reference=reference,
        impl=impl,
        defaults={**defaults, **IMAGE_CLASSIFIER_ARGS},
        signature=_image,
        output="class probabilities, shape (batch, classes)",
        # synthetic_imagenet: generated ImageNet-shaped photos, streamed (scale tests, the memory benchmark).
        offline_datasets=("digits", "synthetic_imagenet"),
        online_datasets=online + (("imagenet2012",) if _imagenet_sized(defaults) and "imagenet2012" not in online
                                  else ()),
        recipe=recipe,
        gate=Gate(metric="accuracy", direction="max", floor=floor),
        small=small or {},
        heavy=heavy,
        search_space=search_space or {},
    )


SPECS = [
    _classifier(
        "simple_cnn",
        summary="Conv-MaxPool x2 -> Flatten -> Dense, optional augmentation layers; 421,642 parameters at 28x28x1.",
        reference="LeCun et al. 1998 (the CNN recipe); seed 003 '6. Convolutional Neural Network' (filter, stride, "
                  "pooling, padding), 'Image Augmentation'",
        impl="zoo.models.cnn.simple_cnn:SIMPLE_CNN",
        defaults={"input_shape": (28, 28, 1), "classes": 10, "filters": (32, 64), "kernel_size": 3, "padding": "same",
                  "pool_size": 2, "dense_units": 128, "dropout": 0.5, "augmentation": ()},
        online=("mnist", "cifar10"),
        recipe=_recipe(epochs=15, patience=4),
        floor=0.9,
        search_space={"dense_units": Choice((64, 128, 256)), "dropout": Range(0.2, 0.6)},
    ),
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
        search_space={"learning_rate": Range(1e-4, 3e-2, scale="log"), "activation": Choice(("tanh", "relu"))},
    ),
    _classifier(
        "alexnet",
        summary="AlexNet: 5 conv (LRN, overlapping max-pooling), 3 dense with dropout, ReLU; 62,378,344 parameters.",
        reference=f"Krizhevsky, Sutskever & Hinton 2012; seed 003 '(2) AlexNet'; {_REFERENCE_002}",
        impl="zoo.models.cnn.alexnet:ALEXNET",
        defaults={**IMAGENET_SIZED, "fc_units": 4096, "dropout": 0.5},
        small={"input_shape": (64, 64, 1), "classes": 10, "fc_units": 256},
        online=("cifar10", "imagenet2012"),
        recipe=_recipe(epochs=10, learning_rate=1e-4),
        floor=0.8,
    ),
    _classifier(
        "vgg16",
        summary="VGG-16: 13 stacked 3x3 convolutions in 5 blocks, 3 dense; 138,357,544 parameters.",
        reference=f"Simonyan & Zisserman 2014 (configuration D); seed 003 '(5) VGGNet'; {_REFERENCE_002}",
        impl="zoo.models.cnn.vgg:VGG16_STYLES",
        defaults={**IMAGENET_SIZED, "fc_units": 4096, "dropout": 0.5},
        small={**DIGITS_SIZED, "fc_units": 256},
        recipe=_recipe(epochs=5, learning_rate=1e-4),
        floor=0.8,
    ),
    _classifier(
        "vgg19",
        summary="VGG-19: 16 stacked 3x3 convolutions in 5 blocks, 3 dense; 143,667,240 parameters.",
        reference=f"Simonyan & Zisserman 2014 (configuration E); seed 003 '(5) VGGNet'; {_REFERENCE_002}",
        impl="zoo.models.cnn.vgg:VGG19_STYLES",
        defaults={**IMAGENET_SIZED, "fc_units": 4096, "dropout": 0.5},
        small={**DIGITS_SIZED, "fc_units": 256},
        recipe=_recipe(epochs=5, learning_rate=1e-4),
        floor=0.8,
        heavy=True,
    ),
    _classifier(
        "googlenet",
        summary="GoogLeNet (Inception v1): 9 inception modules with 1x1 reductions, optional auxiliary classifiers; "
                "6,998,552 parameters.",
        reference=f"Szegedy et al. 2014; seed 003 '(3) GooLeNet'; {_REFERENCE_002}",
        impl="zoo.models.cnn.googlenet:GOOGLENET",
        defaults={**IMAGENET_SIZED, "dropout": 0.4, "aux_heads": False},
        small=DIGITS_SIZED,
        # With aux_heads=True the two auxiliary classifiers train on the same labels at the paper's weight 0.3.
        recipe=_recipe(epochs=15, patience=4, loss_weights=(1.0, 0.3, 0.3)),
        floor=0.8,
    ),
    *[
        _classifier(
            f"resnet{depth}",
            summary=f"ResNet-{depth}: {kind} residual blocks with skip connections; {count} parameters.",
            reference=f"He, Zhang, Ren & Sun 2015; seed 003 '(4) ResNet'; {_REFERENCE_002}",
            impl=f"zoo.models.cnn.resnet:RESNET{depth}",
            defaults={**IMAGENET_SIZED, "batch_norm_momentum": 0.99},
            small=SMALL_BATCH_NORMALISED,
            recipe=_recipe(epochs=epochs),
            floor=0.8,
            heavy=depth > 18,
        )
        # Deeper networks take longer per epoch on a CPU, and need fewer epochs on digits.
        for depth, kind, count, epochs in (
            (18, "basic", "11,699,112", 10),
            (34, "basic", "21,814,696", 8),
            (50, "bottleneck", "25,636,712", 6),
            (101, "bottleneck", "44,707,176", 5),
            (152, "bottleneck", "60,419,944", 5),
        )
    ],
    *[
        _classifier(
            f"densenet{depth}",
            summary=f"DenseNet-{depth}: dense blocks {blocks} concatenating every earlier map, 1x1 transition "
                    f"layers; {count} parameters.",
            reference=f"Huang, Liu, van der Maaten & Weinberger 2017; seed {_REFERENCE_002} (DenseNet)",
            impl=f"zoo.models.cnn.densenet:DENSENET{depth}",
            defaults={**IMAGENET_SIZED, "batch_norm_momentum": 0.99},
            small=SMALL_BATCH_NORMALISED,
            recipe=_recipe(epochs=epochs),
            floor=0.8,
            heavy=True,
        )
        for depth, blocks, count, epochs in (
            (121, "(6, 12, 24, 16)", "8,062,504", 6),
            (169, "(6, 12, 32, 32)", "14,307,880", 5),
            (201, "(6, 12, 48, 32)", "20,242,984", 5),
        )
    ],
    _classifier(
        "gap_cam",
        summary="CNN with a global-average-pooling head, and class activation maps (CAM) from it; 287,722 parameters.",
        reference="Zhou et al. 2016 (CAM), Lin, Chen & Yan 2014 (GAP); seed 001 'GAP', 'CAM'",
        impl="zoo.models.cnn.gap_cam:GAP_CAM",
        defaults={"input_shape": (28, 28, 1), "classes": 10, "filters": (32, 64, 128), "convs_per_block": 2},
        online=("mnist",),
        recipe=_recipe(epochs=15, patience=4),
        floor=0.9,
    ),
    ModelSpec(
        name="text_cnn",
        family="cnn",
        task="multiclass_classification",
        summary="1D CNN sentence classifier: embeddings, filters of widths 3/4/5 with max-over-time pooling; "
                "2,714,502 parameters.",
        reference="Kim 2014; seed 000 'CNN' (1D CNN)",
        impl="zoo.models.cnn.text_cnn:TEXT_CNN",
        defaults={"vocab_size": 20000, "sequence_length": 200, "embedding_dim": 128, "kernel_sizes": (3, 4, 5),
                  "filters": 100, "dropout": 0.5, "classes": 2, "classifier_activation": "softmax", "weights": None},
        signature=_tokens,
        output="class probabilities, shape (batch, classes)",
        offline_datasets=("synthetic_sentiment",),
        online_datasets=("imdb_reviews",),
        recipe=_recipe(epochs=10),
        gate=Gate(metric="accuracy", direction="max", floor=0.7),
        small={"vocab_size": 2000, "sequence_length": 64, "embedding_dim": 32, "filters": 32},
        adapter="zoo.models.cnn.text_cnn:adapt_tokens",
        serving="zoo.models.cnn.text_cnn:token_serving",
    ),
    ModelSpec(
        name="transfer_learning",
        family="cnn",
        task="multiclass_classification",
        summary="A pretrained backbone (any zoo CNN or keras.applications model) with a new head: feature "
                "extraction, then fine-tuning from a chosen layer.",
        reference="Yosinski et al. 2014 (transferability of features); seed 003 '5) 전이학습', "
                  "'Feature Extraction', 'Fine Tuning'; 000 'foundation model'",
        impl="zoo.models.cnn.transfer:TRANSFER_LEARNING",
        defaults={"backbone": "resnet50", "backbone_weights": None, "input_shape": (224, 224, 3), "classes": 2,
                  "trainable_from": None, "dropout": 0.2, "classifier_activation": "softmax", "weights": None},
        signature=_image,
        output="class probabilities, shape (batch, classes)",
        offline_datasets=("digits", "synthetic_imagenet"),
        online_datasets=("cats_vs_dogs",),
        # Feature extraction (backbone frozen), then fine-tuning from `trainable_from` at a tenth of the rate.
        recipe=_recipe(epochs=8, phases="zoo.models.cnn.transfer:training_phases"),
        gate=Gate(metric="accuracy", direction="max", floor=0.8),
        # Offline there are no pretrained weights to extract features with, so the dry run trains the
        # whole backbone (batch normalisation frozen): the notes' "architecture only" transfer.
        small={"backbone": "resnet18", "trainable_from": 0, **DIGITS_SIZED},
    ),
]
