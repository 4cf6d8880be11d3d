"""Specs of catalog section G's generative models: the variational autoencoder and DCGAN (TensorFlow-free).

Both own their training (recipe loss None). The VAE is gated on its negative ELBO on the test split, a mean
over images (nats per image), so the gate can pair its per-image scores with the deployed model's. A GAN has
no likelihood and its losses say nothing about its samples, so DCGAN is gated on the project's sample-quality
measure (`zoo.sample_quality`): the Fréchet distance between generated and real test images in the features
of a zoo classifier trained on the same data; it trains without early stopping (monitor None).

The `small` configurations (local dry run, tests) fit digits: the VAE works on the native 8x8 images, DCGAN
on 16x16 (two doublings from 4x4) with narrow networks and a lower batch-norm momentum for its few steps per
epoch. Recipes and gate floors come from measured local runs (small configuration, digits, two CPU cores).
"""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig

SPECS = [
    ModelSpec(
        name="vae",
        family="generative",
        task="variational_autoencoding",
        summary="Variational autoencoder: MLP encoder to a Gaussian code (mean, log-variance), reparameterised "
                "sampling, MLP decoder; loss = reconstruction + KL (the negative ELBO); the decoder generates.",
        reference="Kingma & Welling 2013; seed 003 '2) Variational AutoEncoder'; 002 '9장 GAN' (ELBO); "
                  "000 'Variational AutoEncoder'",
        impl="zoo.models.generative.vae:VAE",
        defaults={"input_shape": (28, 28, 1), "hidden_units": (512,), "latent_dim": 16, "seed": None},
        signature=lambda hp: {"image": TensorSig(tuple(hp["input_shape"]))},
        output="the reconstruction of the input (decoded mean code), shape (batch, H, W, C) in [0, 1]; "
               "the served decoder maps codes (batch, latent_dim) drawn from N(0, I) to images",
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        recipe=Recipe(loss=None, learning_rate=1e-3, batch_size=32, epochs=40, patience=5),
        # Nats per 8x8 digit: about 45 untrained, about 25 after the recipe (the floor suits digits' 64 pixels;
        # 28x28 images have about 12 times as many, so pass a floor with --floor there).
        gate=Gate(metric="neg_elbo", direction="min", floor=35.0),
        small={"input_shape": (8, 8, 1), "hidden_units": (128,), "latent_dim": 8},
    ),
    ModelSpec(
        name="dcgan",
        family="generative",
        task="adversarial_generation",
        summary="DCGAN: transposed-convolution generator and strided-convolution discriminator with batch norm, "
                "no pooling, ReLU/LeakyReLU, two Adam optimizers (2e-4, beta_1 0.5); the generator serves.",
        reference="Radford, Metz & Chintala 2015; seed 000 'GAN' (DCGAN); 001 'GAN에서 BN이란'",
        impl="zoo.models.generative.dcgan:DCGAN_STYLES",
        defaults={"latent_dim": 100, "image_shape": (28, 28, 1), "generator_filters": (128, 64),
                  "discriminator_filters": (64, 128), "kernel_size": 5, "batch_norm_momentum": 0.9, "seed": None},
        signature=lambda hp: {"noise": TensorSig((hp["latent_dim"],), low=-1.0, high=1.0)},
        output="generated images, shape (batch, H, W, C) in [0, 1], from noise (batch, latent_dim) ~ N(0, I)",
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        recipe=Recipe(loss=None, optimizer={"class_name": "adam", "config": {"beta_1": 0.5}}, learning_rate=2e-4,
                      batch_size=64, epochs=60, monitor=None),
        # Measured on digits (small configuration): about 160 untrained, about 6 after the recipe; real
        # training images against the real test images score about 3.5.
        gate=Gate(metric="frechet_distance", direction="min", floor=25.0),
        small={"latent_dim": 32, "image_shape": (16, 16, 1), "generator_filters": (64, 32),
               "discriminator_filters": (32, 64), "batch_norm_momentum": 0.8},
        adapter="zoo.models.generative.dcgan:adapt_images",
    ),
]
