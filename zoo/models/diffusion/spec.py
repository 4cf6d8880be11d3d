"""Spec of catalog section G's diffusion model, DDPM (TensorFlow-free).

DDPM owns its loss (recipe loss None): the noise-prediction error L_simple, computed by the model from
clean images with its own seeded noise, portably across backends (only its serving wrapper, a SavedModel
with the reverse process in a `tf.while_loop`, is TensorFlow). That loss measures one denoising step, not
the images T chained steps make, so the gate is the project's sample-quality measure, as for the GANs: the
Fréchet distance between samples and the real test images in a zoo judge's features (`zoo.sample_quality`).
It trains without early stopping (monitor None): the validation loss is a noisy one-step estimate.

The spec's signature is the denoiser's, `{"noisy_image", "step"}` (what `predict` takes); the pipeline
fits on clean images, which the GANs' adapter (`zoo.models.generative.data:adapt_images`) resizes to
`image_shape`. A `keras.Sequential` model cannot take two inputs nor hold the U-Net's skip connections.

The `small` configuration (local dry run, tests) works on the native 8x8 digits, T = 100 steps with the
paper's linear schedule scaled by 1000 / T (beta 1e-3 .. 0.2, so x_T is as close to pure noise as the
paper's), a two-level U-Net (32 and 64 filters). The defaults are an MNIST-sized model with the paper's
T = 1000 and beta 1e-4 .. 0.02. Figures from measured local runs are in the comment at the gate.
"""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig


def _denoiser_inputs(hp):
    return {"noisy_image": TensorSig(tuple(hp["image_shape"]), low=-1.0, high=1.0),
            "step": TensorSig((), dtype="int32", low=0, high=hp["timesteps"])}


SPECS = [
    ModelSpec(
        name="diffusion",
        family="generative",
        task="denoising_diffusion",
        summary="DDPM: linear-schedule Gaussian forward noising, a small U-Net with a sinusoidal step embedding "
                "predicting the noise (L_simple, backend-agnostic), ancestral sampling from x_T ~ N(0, I); "
                "serves images by seed (the reverse process in the exported graph).",
        reference="Ho, Jain & Abbeel 2020; seed 002 '9장' (Diffusion Model)",
        impl="zoo.models.diffusion.ddpm:DDPM_STYLES",
        defaults={"image_shape": (28, 28, 1), "filters": (32, 64, 128), "embedding_dim": 64, "timesteps": 1000,
                  "beta_start": 1e-4, "beta_end": 0.02, "seed": None},
        signature=_denoiser_inputs,
        output="the predicted noise eps_theta(x_t, t) of noisy images in [-1, 1] at int steps, shape (batch, H, W, C); "
               "the served model maps an int32 seed per instance to one generated image in [0, 1]",
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        styles={"sequential": "a keras.Sequential model has one input and no skip connections; the denoiser takes "
                              "two (noisy images and steps) and its U-Net joins each level's skip",
                "functional": None, "subclass": None},
        recipe=Recipe(loss=None, learning_rate=2e-3, batch_size=32, epochs=20, monitor=None),
        # Measured on digits (small configuration, judge features): about 23 untrained, 4 to 5 after 10 to 20
        # epochs (4.0 to 5.0 over seeds and learning rates 1e-3 and 2e-3); real training images against the
        # real test images score about 1.0.
        gate=Gate(metric="frechet_distance", direction="min", floor=10.0),
        small={"image_shape": (8, 8, 1), "filters": (32, 64), "embedding_dim": 32, "timesteps": 100,
               "beta_start": 1e-3, "beta_end": 0.2},
        adapter="zoo.models.generative.data:adapt_images",
    ),
]
