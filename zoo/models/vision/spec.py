"""Specs of catalog section D, vision applications (TensorFlow-free).

`fcn` defaults to the paper's VGG-16 network for PASCAL VOC's 21 classes, skip-free (FCN-32s; `skips=1`
or 2 give FCN-16s and FCN-8s in the functional and subclass styles). Its `small` configuration (what the
local dry run and the standard tests build) keeps the architecture (convolution blocks, convolutional
fc6/fc7, 1x1 scores, a learned bilinear-initialised transposed convolution) with two blocks of two
convolutions at 32x32x3 and the 4 classes of `synthetic_shapes`. Two blocks downsample by 4, which leaves
an 8x8 score map at 32x32, as VGG-16's stride 32 does at 256x256; measured on `synthetic_shapes`, a
stride-8 encoder at 32x32 loses the shapes' outlines without skips (test mean IoU about 0.75 against 0.85).

The recipe and the gate floor are set from measured local runs (small configuration, `synthetic_shapes`,
the recipe's epochs and early stopping, two CPU cores): test mean IoU 0.84, 0.85 and 0.855 for seeds 1, 0
and 2 (pixel accuracy 0.98), 30-40 s of training each; the floor leaves a margin below them.
"""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig


def _image(hp):
    return {"image": TensorSig(tuple(hp["input_shape"]))}


SPECS = [
    ModelSpec(
        name="fcn",
        family="vision",
        task="semantic_segmentation",
        summary="Fully convolutional network: VGG-16 encoder, convolutional fc6/fc7, 1x1 class scores, learned "
                "transposed-convolution upsampling to per-pixel softmax; optional FCN-16s/8s skips.",
        reference="Long, Shelhamer & Darrell 2015; seed 002 '6장 CV applications' (Semantic Segmentation), "
                  "003 '(2) Image Segmentation'; metrics 001 'Pixel Accuracy', 'mIoU'",
        impl="zoo.models.vision.fcn:FCN_STYLES",
        defaults={
            "input_shape": (224, 224, 3), "classes": 21, "block_filters": (64, 128, 256, 512, 512),
            "block_convs": (2, 2, 3, 3, 3), "fc_units": 4096, "fc_kernel": 7, "dropout": 0.5, "skips": 0,
            "classifier_activation": "softmax", "weights": None,
        },
        small={"input_shape": (32, 32, 3), "classes": 4, "block_filters": (24, 48), "block_convs": (2, 2),
               "fc_units": 96, "fc_kernel": 3, "dropout": 0.0},
        signature=_image,
        output="per-pixel class probabilities, shape (batch, height, width, classes); served as int32 masks "
               "(batch, height, width) at the request's image size",
        offline_datasets=("synthetic_shapes",),
        online_datasets=("oxford_iiit_pet",),
        target="sparse",
        # The task tracks mean IoU while training; early stopping keeps the epoch with the best validation
        # mean IoU, the gate's metric (the validation loss levels off while mean IoU still improves).
        recipe=Recipe(loss="sparse_categorical_crossentropy", metrics=("accuracy",), learning_rate=3e-3,
                      batch_size=32, epochs=20, monitor="val_mean_iou", patience=5),
        gate=Gate(metric="mean_iou", direction="max", floor=0.75),
        adapter="zoo.tasks.segmentation:adapt_segmentation",
    ),
]
