"""Spec of pix2pix, catalog section G's image-to-image translator (TensorFlow-free).

pix2pix owns its training (recipe loss None): two Adam optimizers (beta_1 0.5, the paper's; the recipe's
learning rate is explained beside it), its own `train_step`, no early stopping (its adversarial loss is
supposed to oscillate). The `train_step` is
TensorFlow-only (`tf.GradientTape`): two networks with their own losses and optimizers need the gradients
of two losses, which Keras 3 offers only through each backend's own API; the networks run on any backend.

It is gated on the mean L1 error of its test translations (a mean over images, so the gate can pair
per-image scores with the deployed model's); the Fréchet distance and KID between translations and real
targets, in the features of a zoo judge trained on the labelled training targets, are reported beside it
(`zoo.tasks.image_translation`). The defaults are the paper's 256x256 networks; the `small` configuration
(local dry run, tests) fits the offline pairs, `synthetic_shapes/edges` at 32x32: a U-Net of three encoder
blocks (32 to 4 pixels, where a 4x4 kernel sees the whole map; five blocks down to 1x1 learnt no better in
as many epochs and took 60% longer) with dropout in its deepest decoder block, and a three-convolution
PatchGAN (6x6 patches), with a lower batch-norm momentum for its few steps per epoch. Online: the pix2pix
archive's CMP facades (labels to photos), which have no class labels and so no Fréchet measure.
"""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig

NOT_SEQUENTIAL = ("the U-Net's skip connections join each encoder block to the decoder block of its size and the "
                  "PatchGAN discriminator takes two images (source and target); a keras.Sequential has one input "
                  "and one path")

SPECS = [
    ModelSpec(
        name="pix2pix",
        family="generative",
        task="image_translation",
        summary="pix2pix: U-Net generator (skip connections, dropout), 70x70 PatchGAN discriminator on (source, "
                "target) pairs, loss = adversarial + 100 * L1, two Adam optimizers (beta_1 0.5); "
                "TensorFlow-only train_step (tf.GradientTape); the generator serves.",
        reference="Isola, Zhu, Zhou & Efros 2017; seed 000 'GAN' (pix2pix)",
        impl="zoo.models.pix2pix.pix2pix:PIX2PIX_STYLES",
        tensorflow_only=("its training step updates the generator and the PatchGAN with two optimizers through "
                         "tf.GradientTape"),
        defaults={"input_shape": (256, 256, 3), "output_channels": 3,
                  "generator_filters": (64, 128, 256, 512, 512, 512, 512, 512),
                  "discriminator_filters": (64, 128, 256, 512), "kernel_size": 4, "dropout": 0.5, "dropout_layers": 3,
                  "l1_weight": 100.0, "batch_norm_momentum": 0.9, "seed": None},
        signature=lambda hp: {"image": TensorSig(tuple(hp["input_shape"]))},
        output="translated images, shape (batch, H, W, output_channels) in [0, 1], from source images (batch, H, W, "
               "C) in [0, 1]; the served generator does the same",
        offline_datasets=("synthetic_shapes/edges",),
        online_datasets=("facades",),
        styles={"sequential": NOT_SEQUENTIAL, "functional": None, "subclass": None},
        recipe=Recipe(loss=None, optimizer={"class_name": "adam", "config": {"beta_1": 0.5}}, learning_rate=1e-3,
                      batch_size=8, epochs=5, monitor=None),
        # Learning rate 1e-3, five times the paper's: the paper's runs take ~80,000 steps (facades, batch 1,
        # 200 epochs), these ~1,300; at 2e-4 (batch 32, 6 epochs) the test L1 only fell to 0.080, the
        # translations still colour blobs. Measured on synthetic_shapes/edges (small configuration, the
        # recipe, seeds 0/1/2; 69-73 s of training on two CPU cores shared with other jobs at load 5-6, 49 s in
        # `zoo run pix2pix --local` at load 3.4, 9 s an epoch): test L1 0.059/0.060/0.058
        # (untrained 0.172/0.177/0.170; copying the edge map 0.075/0.075/0.076, a baseline the floor asks to
        # beat); Fréchet distance 0.050/0.020/0.030 (untrained 4.3/4.1/3.0; real training against real test
        # scenes 0.056/0.048/0.055). Facades (no run here: it downloads) take any finite L1 first.
        gate=Gate(metric="l1", direction="min", floor=0.07, by_dataset={"facades": ("l1", "min", None)}),
        small={"input_shape": (32, 32, 3), "generator_filters": (32, 64, 128), "discriminator_filters": (32, 64, 128),
               "dropout_layers": 1, "batch_norm_momentum": 0.8},
        adapter="zoo.tasks.image_translation:adapt_image_pairs",
    ),
]
