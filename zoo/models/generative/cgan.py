"""The conditional GAN (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets"), on the DCGAN
architecture.

An unconditional GAN draws a digit, but which one is up to the noise. A conditional GAN feeds extra
information y, here the class label, to both networks "as [an] additional input layer" (the paper's
section 3.2), so G(z, y) draws an image of class y and D(x, y) judges whether x is a real image *of class y*:

    D minimises  BCE(1, D(x, y)) + BCE(0, D(G(z, y), y))        G minimises  BCE(1, D(G(z, y), y))

with y the labels of the real batch, so generated labels follow the data's class frequencies (the seed
notes: "특정 레이블 y 가 추가되며 특정 이미지만 고정적으로 생산가능하다").

How y enters each network (the paper's MLPs join y by concatenation; so do these convolutional ones):

- G: y one-hot is concatenated to the noise, [z, onehot(y)] of latent_dim + classes, and DCGAN's generator
  (project, reshape, transposed convolutions) follows (`zoo.models.generative.conditional`, shared with acgan).
- D: the image is rescaled to [-1, 1] and y one-hot is laid over it as `classes` constant feature maps, so
  the first convolution sees (H, W, channels + classes); DCGAN's discriminator (strided convolutions, one
  logit) follows.

Both parts take two inputs, `[noise, label]` and `[image, label]` (labels int32 of shape (batch,)), so they
are built in the functional or subclass style; `keras.Sequential` has one input. Training is the zoo's
two-optimizer `train_step` (`zoo.models.generative.adversarial`), TensorFlow-only for the reason given there,
on (images, labels): `fit(images, labels)`, or in Keras' (inputs, targets) form
`fit({"noise": z, "label": y}, images)`, where y are the labels of the target images.

Inference: `model({"noise": z, "label": y})` (or `model([z, y])`) returns images of classes y.
"""

from __future__ import annotations

import keras  # first: see zoo/models/generative/__init__.py

from zoo.models.generative.adversarial import bce
from zoo.models.generative.common import ConditionalPart, build_conditional_part, check_classes
from zoo.models.generative.conditional import ConditionalGANBase, build_conditional_generator
from zoo.models.generative.convolutional import (
    PART_TUPLES, check_convolutional_args, convolutional_config, discriminator_layers, from_unit_range,
)
from zoo.nn import Styles, serializable


# -------------------------------------------------------------------------------------------------- parts
def conditional_discriminator_layers(**hparams):
    """The chain after D's join: DCGAN's discriminator without its first rescaling (the join rescales)."""
    return discriminator_layers(**hparams, rescale=False)


@serializable
class ConditionalDiscriminator(ConditionalPart):
    """D(x, y) as a `keras.Model` subclass: [images in [0, 1], labels (batch,)] -> one logit.

    The join: the image rescaled to [-1, 1], y one-hot broadcast to `classes` feature maps of the image's
    size and concatenated as channels; then DCGAN's strided convolutions and the logit.
    """

    default_name = "discriminator"
    tuple_hparams = PART_TUPLES
    make_layers = staticmethod(conditional_discriminator_layers)

    def __init__(self, classes=10, image_shape=(28, 28, 1), discriminator_filters=(64, 128), kernel_size=5,
                 batch_norm_momentum=0.9, name=None):
        super().__init__(name=name, classes=classes, image_shape=image_shape,
                         discriminator_filters=discriminator_filters, kernel_size=kernel_size,
                         batch_norm_momentum=batch_norm_momentum)

    @staticmethod
    def make_join(*, classes, image_shape, **_):
        height, width, _ = image_shape
        return [
            from_unit_range(),
            keras.layers.CategoryEncoding(classes, output_mode="one_hot", name="discriminator_label_one_hot"),
            keras.layers.Reshape((1, 1, classes), name="discriminator_label_reshape"),
            keras.layers.UpSampling2D((height, width), name="discriminator_label_maps"),
            keras.layers.Concatenate(name="discriminator_condition"),
        ]

    @staticmethod
    def join(layers, images, labels):
        rescale, one_hot, reshape, broadcast, concatenate = layers
        return concatenate([rescale(images), broadcast(reshape(one_hot(labels)))])

    @staticmethod
    def input_shape_of(hparams):
        return tuple(hparams["image_shape"])


# -------------------------------------------------------------------------------------------------- model
@serializable
class CGAN(ConditionalGANBase):
    """A conditional DCGAN; arguments as `zoo.build("cgan", ...)`.

    Args:
        latent_dim: dimensions of the noise z ~ N(0, I).
        classes: the number of class labels y (labels are ints in [0, classes)).
        image_shape, generator_filters, discriminator_filters, kernel_size, batch_norm_momentum: as DCGAN's.
        style: how the parts are built: "functional" or "subclass" (they take two inputs).
        seed: seed of the model's training noise (None: drawn from Keras' global seed).
        name: the model's name.

    Example:
        >>> gan = CGAN(latent_dim=32, image_shape=(16, 16, 1), generator_filters=(64, 32),
        ...            discriminator_filters=(32, 64))
        >>> gan.compile()
        >>> gan.fit(images, labels, epochs=50)
        >>> sevens = gan.predict({"noise": np.random.normal(size=(8, 32)), "label": np.full(8, 7)})
    """

    def __init__(self, latent_dim=100, classes=10, image_shape=(28, 28, 1), generator_filters=(128, 64),
                 discriminator_filters=(64, 128), kernel_size=5, batch_norm_momentum=0.9, style="functional",
                 seed=None, name="cgan", **kwargs):
        super().__init__(latent_dim=latent_dim, style=style, seed=seed, name=name, **kwargs)
        self.classes = check_classes(classes)
        common = check_convolutional_args(self, image_shape=image_shape, generator_filters=generator_filters,
                                          discriminator_filters=discriminator_filters, kernel_size=kernel_size,
                                          batch_norm_momentum=batch_norm_momentum)
        self.set_parts(
            build_conditional_generator(style, latent_dim=latent_dim, classes=classes,
                                        generator_filters=self.generator_filters, **common),
            build_conditional_part(style, ConditionalDiscriminator, "discriminator", "image", classes=classes,
                                   discriminator_filters=self.discriminator_filters, **common),
        )

    def discriminator_objective(self, real, labels, noise, training):
        """BCE(1, D(x, y)) + BCE(0, D(G(z, y), y))."""
        real_logits = self.discriminator([real, labels], training=training)
        fake = self.generator([noise, labels], training=training)
        fake_logits = self.discriminator([fake, labels], training=training)
        return bce(1.0, real_logits) + bce(0.0, fake_logits), {}

    def generator_objective(self, noise, labels, training):
        """BCE(1, D(G(z, y), y)), the non-saturating loss."""
        fake = self.generator([noise, labels], training=training)
        return bce(1.0, self.discriminator([fake, labels], training=training)), {}

    def get_config(self):
        return {**self.base_config(), "classes": self.classes, **convolutional_config(self)}


CGAN_STYLES = Styles.of(CGAN, sequential=False)
