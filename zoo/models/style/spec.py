"""Spec of style_transfer, catalog section D's neural style transfer (TensorFlow-free).

The network is VGG-19's convolutional body (keras.applications' layer names, so its ImageNet weights load
with `weights=PATH`) after an input preprocessing layer, with a small classifier head; the three styles
build that chain as `keras.Sequential`, a functional model or a subclassed model. The pipeline's train
step fits it as a classifier of the offline data (five textures and the content scenes), so the features
the style and content losses compare mean something; the evaluate step stylises a fixed test pair and
gates on the relative decrease of the total loss. The optimisation loop and the serving wrapper are
TensorFlow-only (the image's gradient comes from `tf.GradientTape`; see the model module).

Defaults: the paper's layers (content conv4_2, style conv1_1 ... conv5_1), VGG-19's filters at 224x224
with keras.applications' "caffe" preprocessing, 200 Adam steps of 0.02 per image. The `small`
configuration (local dry run, tests) is a shallower chain of the same blocks at 32x32, (1, 1, 2, 2, 1)
convolutions of (16, 32, 64, 64, 64) filters (so `block4_conv2` and every `block{b}_conv1` exist), with the
"symmetric" preprocessing that suits training from scratch: measured on `synthetic_style_images`, VGG-19's
full (2, 2, 4, 4, 4) depth without batch normalisation reached only 0.56-0.66 test accuracy in 10-15
epochs (it mistook stripes, checks and dots for one another) and traced three times slower; the shallower
chain reaches 0.82-0.83 in the recipe's epochs.

Gate floor, from `zoo run style_transfer --local` (small configuration, the recipe, two CPU cores shared
with other jobs at load 9-11): relative loss decrease of the gated pair 0.709/0.725/0.775 for seeds 0/1/2
(test accuracy 0.826/0.822/0.826; final content 0.030/0.046/0.051, style 0.096/0.115/0.089 from
0.50/0.67/0.69), 218-262 s a run, about 45 s of it training. Untrained (random) bodies reach
0.56/0.62/0.61 on seed 0's pair (seeds 0/1/2 of the initialisation); the floor, 0.65, sits between the two.
"""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig

SPECS = [
    ModelSpec(
        name="style_transfer",
        family="vision",
        task="style_transfer",
        summary="Neural style transfer: an image optimised (Adam on its pixels, from the content image) against "
                "content (feature maps) and style (Gram matrices) losses on VGG-19 features, plus total "
                "variation; the VGG-19 body trains as a texture/scene classifier or loads ImageNet weights; "
                "TensorFlow-only optimisation loop (tf.GradientTape in a tf.while_loop).",
        reference="Gatys, Ecker & Bethge 2016; seed 003 'Style Transfer'",
        impl="zoo.models.style.style_transfer:STYLE_TRANSFER_STYLES",
        tensorflow_only=("the stylisation optimises an image through tf.GradientTape in a tf.while_loop "
                         "(evaluation and serving)"),
        defaults={
            "input_shape": (224, 224, 3), "block_filters": (64, 128, 256, 512, 512), "block_convs": (2, 2, 4, 4, 4),
            "classes": 6, "preprocessing": "caffe",
            "content_layers": ("block4_conv2",),
            "style_layers": ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"),
            "content_weight": 1.0, "style_weight": 1.0, "tv_weight": 1.0, "steps": 200, "step_size": 0.02,
            "weights": None,
        },
        small={"input_shape": (32, 32, 3), "block_filters": (16, 32, 64, 64, 64), "block_convs": (1, 1, 2, 2, 1),
               "preprocessing": "symmetric"},
        signature=lambda hp: {"image": TensorSig(tuple(hp["input_shape"]))},
        output="class probabilities of the feature network's head, shape (batch, classes); served: the stylised "
               "content image (batch, H, W, 3) in [0, 1] for {'content': image, 'style': image}",
        offline_datasets=("synthetic_style_images",),
        recipe=Recipe(loss="sparse_categorical_crossentropy", metrics=("accuracy",), learning_rate=1e-3,
                      batch_size=32, epochs=15, patience=4),
        gate=Gate(metric="loss_decrease", direction="max", floor=0.65),
    ),
]
