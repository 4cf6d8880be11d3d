"""Specs of catalog section G's autoencoders (TensorFlow-free).

All five train on (image, image) pairs with binary cross-entropy on [0, 1] pixels (the `autoencoding`
task's `example_map`), are backend-agnostic (`keras.ops`, corruption and sparsity inside the model), and are
gated on `reconstruction_mse`, the per-image mean squared error over the pixels of the test images (the
denoising autoencoder's on test images corrupted as it was trained, against the clean images). They serve
the code and the reconstruction of an image.

The `small` configurations (local dry run, tests) fit digits' native 8x8 images. Recipes and gate floors come
from measured local runs (small configuration, digits, seed 0, two CPU cores shared with other jobs, hence
the spread of the times); each comment gives the test `reconstruction_mse` untrained and after the recipe.
28x28 images (mnist) have many more background pixels, which a trained model gets nearly right, so their
errors are of the same order; pass --floor there if need be.
"""

import dataclasses

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig


def _image(hp):
    return {"image": TensorSig(tuple(hp["input_shape"]))}


_OUTPUT = ("the reconstruction of the input, shape (batch, H, W, C) in [0, 1]; the served model returns "
           "{'code': (latent_dim,), 'reconstruction': (H, W, C)} for each image")
_ACTIVATIONS = {"activation": "relu", "code_activation": "relu", "output_activation": "sigmoid"}
_RECIPE = Recipe(loss="binary_crossentropy", metrics=("mse",), learning_rate=1e-3, batch_size=32, epochs=60,
                 patience=5)

SPECS = [
    ModelSpec(
        name="autoencoder",
        family="generative",
        task="autoencoding",
        summary="Undercomplete dense autoencoder: one dense code layer narrower than the input, one dense layer "
                "back to the pixels; encoder and decoder usable alone.",
        reference="Rumelhart, Hinton & Williams 1986; seed 003 '1) AutoEncoder'; 000 '오토인코더'",
        impl="zoo.models.autoencoder.dense:AUTOENCODER",
        defaults={"input_shape": (28, 28, 1), "latent_dim": 32, **_ACTIVATIONS},
        signature=_image,
        output=_OUTPUT,
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        recipe=_RECIPE,
        # Digits, small configuration: 0.181 untrained, 0.0127 after the recipe (60 epochs, 13 s).
        gate=Gate(metric="reconstruction_mse", direction="min", floor=0.025),
        small={"input_shape": (8, 8, 1), "latent_dim": 16},
    ),
    ModelSpec(
        name="stacked_autoencoder",
        family="generative",
        task="autoencoding",
        summary="Stacked (deep) dense autoencoder: dense layers narrowing to the code and the same widths in "
                "reverse back to the pixels (symmetric); encoder and decoder usable alone.",
        reference="Hinton & Salakhutdinov 2006; seed 000 'Stacked/Deep AutoEncoder'",
        impl="zoo.models.autoencoder.dense:STACKED_AUTOENCODER",
        defaults={"input_shape": (28, 28, 1), "hidden_units": (128, 64), "latent_dim": 32, **_ACTIVATIONS},
        signature=_image,
        output=_OUTPUT,
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        recipe=_RECIPE,
        # Digits, small configuration: 0.179 untrained, 0.0143 after the recipe (60 epochs, 11-21 s).
        gate=Gate(metric="reconstruction_mse", direction="min", floor=0.025),
        small={"input_shape": (8, 8, 1), "hidden_units": (64, 32), "latent_dim": 16},
    ),
    ModelSpec(
        name="conv_autoencoder",
        family="generative",
        task="autoencoding",
        summary="Convolutional autoencoder: stride-2 Conv2D encoder to a dense code, Conv2DTranspose decoder "
                "(no pooling); encoder and decoder usable alone.",
        reference="Masci et al. 2011; seed 003 '1) AutoEncoder' (Conv2DTranspose)",
        impl="zoo.models.autoencoder.conv:CONV_AUTOENCODER",
        defaults={"input_shape": (28, 28, 1), "filters": (32, 64), "kernel_size": 3, "latent_dim": 32,
                  **_ACTIVATIONS},
        signature=_image,
        output=_OUTPUT,
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        recipe=dataclasses.replace(_RECIPE, epochs=40),
        # Digits, small configuration: 0.179 untrained, 0.0113 after the recipe (40 epochs, 19 s); 0.0099 after
        # 60 epochs (22-30 s).
        gate=Gate(metric="reconstruction_mse", direction="min", floor=0.025),
        small={"input_shape": (8, 8, 1), "filters": (16, 32), "latent_dim": 16},
    ),
    ModelSpec(
        name="denoising_autoencoder",
        family="generative",
        task="autoencoding",
        summary="Denoising autoencoder: Gaussian noise or dropout on the input while training (`corruption`, "
                "`corruption_level`), reconstructs the clean input; gated on corrupted test images.",
        reference="Vincent et al. 2008; seed 000 'Denoising AutoEncoder'",
        impl="zoo.models.autoencoder.dense:DENOISING_AUTOENCODER",
        defaults={"input_shape": (28, 28, 1), "hidden_units": (128,), "latent_dim": 32, **_ACTIVATIONS,
                  "corruption": "gaussian", "corruption_level": 0.3, "seed": None},
        signature=_image,
        output=_OUTPUT,
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        recipe=_RECIPE,
        # Digits, small configuration, test images with N(0, 0.3^2) noise (seed 0): 0.181 untrained, 0.0246 after
        # the recipe (60 epochs, about 15 s; 0.0147 on clean inputs); the noisy inputs themselves score 0.090.
        gate=Gate(metric="reconstruction_mse", direction="min", floor=0.04),
        small={"input_shape": (8, 8, 1), "hidden_units": (64,), "latent_dim": 16},
    ),
    ModelSpec(
        name="sparse_autoencoder",
        family="generative",
        task="autoencoding",
        summary="Sparse autoencoder: an L1 activity penalty on the code (`l1_penalty` times each image's code "
                "L1 norm) added to the reconstruction loss; most code units of an image are zero.",
        reference="Ng 2011 (sparse autoencoders, with L1 as in the seed notes); seed 000 'Sparse AutoEncoder'",
        impl="zoo.models.autoencoder.dense:SPARSE_AUTOENCODER",
        defaults={"input_shape": (28, 28, 1), "latent_dim": 64, **_ACTIVATIONS, "l1_penalty": 3e-3},
        signature=_image,
        output=_OUTPUT,
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        recipe=_RECIPE,
        # Digits, small configuration: 0.182 untrained, 0.0141 after the recipe (60 epochs, 13-19 s), with
        # 61% of the code units of a test image at zero (code L1 9.2); without the penalty 0.0073, 14% and 67;
        # l1_penalty 0.01 gives 0.028 and 83%, 0.03 collapses the code (100% zero).
        gate=Gate(metric="reconstruction_mse", direction="min", floor=0.025),
        small={"input_shape": (8, 8, 1), "latent_dim": 32},
    ),
]
