"""The deep convolutional GAN (Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks").

A generator G maps noise z ~ N(0, I) to images; a discriminator D scores images as real or generated. They
play the GAN game of Goodfellow et al. 2014 with the non-saturating generator loss:

    D minimises  BCE(1, D(x)) + BCE(0, D(G(z)))      G minimises  BCE(1, D(G(z)))

The paper's architecture guidelines, all followed here: no pooling (strided convolutions in D, fractionally
strided ones, Conv2DTranspose, in G); batch normalisation in both networks except G's output layer and D's
input layer; no hidden dense layers (G projects the noise with one dense layer and reshapes it, D flattens
its last feature map into one logit); ReLU in G with tanh on the output, LeakyReLU (slope 0.2) in D; weights
initialised from N(0, 0.02); Adam with learning rate 2e-4 and beta_1 = 0.5 for both networks.

Pixels: the model's images are in [0, 1] like the zoo's data. G's tanh output is rescaled from [-1, 1] to
[0, 1] by its last layer, and D's first layer rescales [0, 1] back to [-1, 1], so both networks work in the
paper's range while the model takes and returns images as the data holds them.

The networks are built by `zoo.models.generative.convolutional` (shared with lsgan, cgan, acgan and sgan).

Training (`zoo.models.generative.adversarial.AdversarialModel`): `train_step` takes one discriminator step,
then one generator step on fresh noise, with two optimizers (`compile(d_optimizer=..., g_optimizer=...)`),
and reports the trackers `d_loss` and `g_loss`. It is written for the TensorFlow backend
(`tf.GradientTape`); JAX and PyTorch would each need their own `train_step` (stateless JAX updates, torch
autograd), since Keras 3 has no backend-neutral custom step. Under `mixed_float16` both optimizers are
wrapped in `LossScaleOptimizer` (Keras only wraps the one `compile` optimizer it knows of). The noise comes
from a `keras.random.SeedGenerator` the model owns. Data: `fit(images)` (real images alone, the pipeline's
form), or `fit(noise, images)`: in Keras' (inputs, targets) form the targets are the real images, and
training draws its own noise in place of the inputs.

Inference: `model(z)` (and `predict`) returns generated images, float32, from noise of shape
(batch, latent_dim): the generator in inference mode (moving batch statistics). `model.generator` and
`model.discriminator` are usable alone; the generator is what a deployed DCGAN serves.

Size: with the defaults (28x28x1, 100-dimensional noise, generator filters (128, 64), discriminator filters
(64, 128), 5x5 kernels) the generator has 858,945 parameters and the discriminator 213,249 (1,072,194 in all,
batch-normalisation moving statistics included).
"""

from __future__ import annotations

import keras  # noqa: F401  (imported first: see zoo/models/generative/__init__.py)

from zoo.models.generative.adversarial import bce
from zoo.models.generative.convolutional import ConvolutionalGAN
from zoo.nn import Styles, serializable


# -------------------------------------------------------------------------------------------------- model
@serializable
class DCGAN(ConvolutionalGAN):
    """A DCGAN that trains itself (two optimizers, its own `train_step`); arguments as `zoo.build("dcgan", ...)`.

    Args:
        latent_dim: dimensions of the noise z ~ N(0, I).
        image_shape: (height, width, channels) of the images, square, side divisible by
            2 ** len(generator_filters); pixel intensities in [0, 1].
        generator_filters: depth of G's projected feature map, then of each upsampled one.
        discriminator_filters: filters of D's strided convolutions.
        kernel_size: kernel side of every convolution.
        batch_norm_momentum: momentum of the batch-normalisation moving statistics.
        style: how the generator and discriminator are built: "sequential", "functional" or "subclass".
        seed: seed of the model's training noise (None: drawn from Keras' global seed).
        name: the model's name.

    Example:
        >>> gan = DCGAN(latent_dim=32, image_shape=(16, 16, 1), generator_filters=(64, 32),
        ...             discriminator_filters=(32, 64))
        >>> gan.compile()  # Adam(2e-4, beta_1=0.5) for both networks
        >>> gan.fit(images, epochs=50)
        >>> samples = gan.predict(np.random.normal(size=(16, 32)))
    """

    def __init__(self, *args, name="dcgan", **kwargs):
        super().__init__(*args, name=name, **kwargs)

    def discriminator_objective(self, real, labels, noise, training):
        """BCE(1, D(x)) + BCE(0, D(G(z)))."""
        real_logits = self.discriminator(real, training=training)
        fake_logits = self.discriminator(self.generator(noise, training=training), training=training)
        return bce(1.0, real_logits) + bce(0.0, fake_logits), {}

    def generator_objective(self, noise, labels, training):
        """The non-saturating loss BCE(1, D(G(z))) (Goodfellow et al. 2014, section 3)."""
        fake_logits = self.discriminator(self.generator(noise, training=training), training=training)
        return bce(1.0, fake_logits), {}


DCGAN_STYLES = Styles.of(DCGAN)
