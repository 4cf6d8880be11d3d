"""Specs of catalog section G's generative models: the variational autoencoder and the GANs (TensorFlow-free).

All own their training (recipe loss None). The VAE is gated on its negative ELBO on the test split, a mean
over images (nats per image), so the gate can pair its per-image scores with the deployed model's. A GAN has
no likelihood and its losses say nothing about its samples, so the GANs (gan, dcgan, lsgan, cgan, acgan) are
gated on the project's sample-quality measure (`zoo.sample_quality`): the Fréchet distance between generated
and real test images in the features of a zoo classifier trained on the same data (cgan and acgan also report
`label_accuracy`, how often that classifier sees the asked digit); they train without early stopping (monitor
None). sgan is a classifier at serving time, gated on test accuracy from a small labelled subset.

Every GAN trains with the TensorFlow-only two-optimizer `train_step` of
`zoo.models.generative.adversarial` (Keras 3 has no backend-neutral custom step with two optimizers); the
networks themselves are backend-agnostic Keras layers.

The `small` configurations (local dry run, tests) fit digits: the VAE works on the native 8x8 images, DCGAN
on 16x16 (two doublings from 4x4) with narrow networks and a lower batch-norm momentum for its few steps per
epoch. Recipes and gate floors come from measured local runs (small configuration, digits, two CPU cores).
"""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig

_DCGAN_DEFAULTS = {"latent_dim": 100, "image_shape": (28, 28, 1), "generator_filters": (128, 64),
                   "discriminator_filters": (64, 128), "kernel_size": 5, "batch_norm_momentum": 0.9, "seed": None}
_DCGAN_SMALL = {"latent_dim": 32, "image_shape": (16, 16, 1), "generator_filters": (64, 32),
                "discriminator_filters": (32, 64), "batch_norm_momentum": 0.8}
_CONDITIONAL_DEFAULTS = {**_DCGAN_DEFAULTS, "classes": 10}
_CONDITIONAL_STYLES = {"sequential": "a keras.Sequential model has exactly one input tensor, and the conditional "
                                     "generator takes two (noise and label)",
                       "functional": None, "subclass": None}
# Radford et al.'s Adam(2e-4, beta_1 0.5), kept by LSGAN, cGAN and ACGAN; no early stopping (GAN losses
# oscillate by design and say nothing about the samples).
_RADFORD_RECIPE = Recipe(loss=None, optimizer={"class_name": "adam", "config": {"beta_1": 0.5}}, learning_rate=2e-4,
                         batch_size=64, epochs=60, monitor=None)
_GENERATED = ("generated images, shape (batch, H, W, C) in [0, 1], from noise (batch, latent_dim) ~ N(0, I); "
              "the served generator maps an int32 seed per instance to one image (the same seed, the same image)")
_GENERATED_FOR_LABELS = ("generated images of the asked classes, shape (batch, H, W, C) in [0, 1], from noise "
                         "(batch, latent_dim) ~ N(0, I) and int labels (batch,); the served generator maps "
                         "{seed, label} per instance to one image")


def _noise(hp):
    return {"noise": TensorSig((hp["latent_dim"],), low=-1.0, high=1.0)}


def _noise_and_label(hp):
    return {"noise": TensorSig((hp["latent_dim"],), low=-1.0, high=1.0),
            "label": TensorSig((), dtype="int32", low=0, high=hp["classes"])}


# Gate floors, from measured local runs (small configuration, digits at 16x16, the recipe's epochs, two CPU
# cores). Fréchet distances are in the digits judge's features (zoo.sample_quality), where every untrained
# generator scores about 162 and real training images against the real test images about 3.5.
#
# gan: about 130 after the recipe (126-133 over five runs of 100 to 400 epochs and batch sizes 25 and 100).
# The notes' MLP GAN collapses on digits: its 1,257 training images are too few for a one-hidden-layer
# discriminator with no batch statistics, which memorises them, and the generator settles on a few blurry
# strokes (its samples' per-pixel spread across noise is 0.01). Twenty shifted copies of the same images
# (25,000) already lift it to about 77 in the same 5,000 steps, so MNIST's 55,000 images suit it as the notes
# used them. The floor refuses a generator that has not moved from its untrained self.
GAN_FLOOR = 145.0
# lsgan: about 5.9 after the recipe.
LSGAN_FLOOR = 25.0
# cgan: about 3.0 after the recipe, with 0.98 of its samples classified as the asked digit (0.1 untrained).
CGAN_FLOOR = 25.0
# acgan: about 4.1 after the recipe, label accuracy 0.99 (0.96 after 5 epochs already).
ACGAN_FLOOR = 25.0
# sgan, 100 labelled training digits (10 per class) and 1,157 unlabelled: test accuracy 0.926, 0.930 and 0.919
# after the recipe (three runs; 0.77 after 10 epochs). The same classifier trained on the 100 labelled images
# alone reaches 0.84-0.87 (0.86-0.88 at its best epoch, picked on the test set) in 100 epochs.
SGAN_FLOOR = 0.85
SGAN_SMALL_BUDGET = 100
SGAN_RECIPE = Recipe(loss=None, optimizer={"class_name": "adam", "config": {"beta_1": 0.5}}, learning_rate=2e-4,
                     batch_size=64, epochs=60, monitor=None)

# Why the GANs train on TensorFlow only (their spec's `tensorflow_only`; zoo.models.generative.adversarial).
GAN_STEP = ("its training step updates two networks with two optimizers through tf.GradientTape; Keras 3 has "
            "no backend-neutral custom step")

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
               "the served decoder maps an int32 seed per instance to the image of a code drawn from N(0, I)",
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
        tensorflow_only=GAN_STEP,
        defaults=_DCGAN_DEFAULTS,
        signature=_noise,
        output=_GENERATED,
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        recipe=Recipe(loss=None, optimizer={"class_name": "adam", "config": {"beta_1": 0.5}}, learning_rate=2e-4,
                      batch_size=64, epochs=60, monitor=None),
        # Measured on digits (small configuration): about 160 untrained, about 6 after the recipe; real
        # training images against the real test images score about 3.5.
        gate=Gate(metric="frechet_distance", direction="min", floor=25.0),
        small=_DCGAN_SMALL,
        adapter="zoo.models.generative.data:adapt_images",
    ),
    ModelSpec(
        name="gan",
        family="generative",
        task="adversarial_generation",
        summary="The seed notes' MLP GAN: generator 128 noise -> 256 ReLU -> sigmoid pixels, discriminator "
                "256 ReLU -> real logit, weights N(0, 0.01), Adam 2e-4 for both; TensorFlow-only train_step "
                "(two optimizers under one GradientTape step each; Keras 3 has no backend-neutral custom step).",
        reference="Goodfellow et al. 2014; seed 000 'GAN code (clone)'; 003 '3) Generative Adversarial Network'",
        impl="zoo.models.generative.gan:GAN_STYLES",
        tensorflow_only=GAN_STEP,
        defaults={"latent_dim": 128, "hidden_units": 256, "image_shape": (28, 28, 1), "seed": None},
        signature=_noise,
        output=_GENERATED,
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        # The notes' settings: Adam(0.0002) with TensorFlow's default betas, batch 100, 100 epochs.
        recipe=Recipe(loss=None, optimizer="adam", learning_rate=2e-4, batch_size=100, epochs=100, monitor=None),
        gate=Gate(metric="frechet_distance", direction="min", floor=GAN_FLOOR),
        # The notes' widths (128 noise, 256 hidden) are small already; digits at DCGAN's 16x16 share its judge.
        small={"image_shape": (16, 16, 1)},
        adapter="zoo.models.generative.data:adapt_images",
    ),
    ModelSpec(
        name="lsgan",
        family="generative",
        task="adversarial_generation",
        summary="Least-squares GAN: DCGAN's networks, D's linear score trained to 1 on real and 0 on generated "
                "images, G to make it 1 (squared errors instead of cross-entropy); TensorFlow-only train_step "
                "(two optimizers; Keras 3 has no backend-neutral custom step).",
        reference="Mao et al. 2017; seed 000 'GAN' (LSGAN)",
        impl="zoo.models.generative.lsgan:LSGAN_STYLES",
        tensorflow_only=GAN_STEP,
        defaults=_DCGAN_DEFAULTS,
        signature=_noise,
        output=_GENERATED,
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        recipe=_RADFORD_RECIPE,
        gate=Gate(metric="frechet_distance", direction="min", floor=LSGAN_FLOOR),
        small=_DCGAN_SMALL,
        adapter="zoo.models.generative.data:adapt_images",
    ),
    ModelSpec(
        name="cgan",
        family="generative",
        task="conditional_generation",
        summary="Conditional GAN on DCGAN's networks: the label one-hot joins the noise in G and lies over the "
                "image as extra channels in D; G(z, y) draws class y; TensorFlow-only train_step (two "
                "optimizers; Keras 3 has no backend-neutral custom step).",
        reference="Mirza & Osindero 2014; seed 000 'GAN' (cGAN)",
        impl="zoo.models.generative.cgan:CGAN_STYLES",
        tensorflow_only=GAN_STEP,
        defaults=_CONDITIONAL_DEFAULTS,
        signature=_noise_and_label,
        output=_GENERATED_FOR_LABELS,
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        styles=_CONDITIONAL_STYLES,
        recipe=_RADFORD_RECIPE,
        gate=Gate(metric="frechet_distance", direction="min", floor=CGAN_FLOOR),
        small=_DCGAN_SMALL,
        adapter="zoo.models.generative.data:adapt_images",
    ),
    ModelSpec(
        name="acgan",
        family="generative",
        task="conditional_generation",
        summary="Auxiliary-classifier GAN on DCGAN's networks: G(z, c) draws class c, D sees the image alone and "
                "outputs a real/fake logit and class logits, both trained on the class of real and generated "
                "images; TensorFlow-only train_step (two optimizers; Keras 3 has no backend-neutral custom step).",
        reference="Odena, Olah & Shlens 2017; seed 000 'GAN' (ACGAN)",
        impl="zoo.models.generative.acgan:ACGAN_STYLES",
        tensorflow_only=GAN_STEP,
        defaults=_CONDITIONAL_DEFAULTS,
        signature=_noise_and_label,
        output=_GENERATED_FOR_LABELS,
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        styles=_CONDITIONAL_STYLES,
        recipe=_RADFORD_RECIPE,
        gate=Gate(metric="frechet_distance", direction="min", floor=ACGAN_FLOOR),
        small=_DCGAN_SMALL,
        adapter="zoo.models.generative.data:adapt_images",
    ),
    ModelSpec(
        name="sgan",
        family="generative",
        task="semi_supervised_classification",
        summary="Semi-supervised GAN: the discriminator is a K+1-class classifier (K digits and 'generated') "
                "trained on a few labelled, many unlabelled and generated images; it serves p(y | x) over the "
                "K classes; TensorFlow-only train_step (two optimizers; Keras 3 has no backend-neutral custom step).",
        reference="Odena 2016; Salimans et al. 2016 (section 5); seed 000 'GAN' (SGAN)",
        impl="zoo.models.generative.sgan:SGAN_STYLES",
        tensorflow_only=GAN_STEP,
        defaults={**_CONDITIONAL_DEFAULTS, "dropout": 0.3, "label_budget": 100},
        signature=lambda hp: {"image": TensorSig(tuple(hp["image_shape"]))},
        output="class probabilities p(y | x) over the K real classes, shape (batch, K)",
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        recipe=SGAN_RECIPE,
        gate=Gate(metric="accuracy", direction="max", floor=SGAN_FLOOR),
        small={**_DCGAN_SMALL, "label_budget": SGAN_SMALL_BUDGET},
        adapter="zoo.models.generative.data:adapt_semi_supervised",
    ),
]
