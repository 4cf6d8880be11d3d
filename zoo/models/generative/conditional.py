"""The conditional generator G(z, y) of cgan and acgan, and the top model of a GAN whose generator takes a label.

G joins the one-hot label to the noise, [z, onehot(y)] of latent_dim + classes, and DCGAN's generator
(`zoo.models.generative.convolutional`) draws the image from it. The part takes two inputs, `[noise, labels]`
(labels int32 of shape (batch,)), so it is built in the functional or subclass style.
"""

from __future__ import annotations

import keras

from zoo.models.generative.adversarial import AdversarialModel
from zoo.models.generative.common import ConditionalPart, build_conditional_part, split_conditional
from zoo.models.generative.convolutional import PART_TUPLES, generator_layers
from zoo.nn import serializable


@serializable
class ConditionalGenerator(ConditionalPart):
    """G(z, y) as a `keras.Model` subclass: [noise (batch, latent_dim), labels (batch,)] -> images in [0, 1].

    The join: y one-hot, concatenated to z; then DCGAN's generator layers.
    """

    default_name = "generator"
    tuple_hparams = PART_TUPLES
    make_layers = staticmethod(generator_layers)

    def __init__(self, latent_dim=100, classes=10, image_shape=(28, 28, 1), generator_filters=(128, 64),
                 kernel_size=5, batch_norm_momentum=0.9, name=None):
        super().__init__(name=name, latent_dim=latent_dim, classes=classes, image_shape=image_shape,
                         generator_filters=generator_filters, kernel_size=kernel_size,
                         batch_norm_momentum=batch_norm_momentum)

    @staticmethod
    def make_join(*, classes, **_):
        return [keras.layers.CategoryEncoding(classes, output_mode="one_hot", name="generator_label_one_hot"),
                keras.layers.Concatenate(name="generator_condition")]

    @staticmethod
    def join(layers, noise, labels):
        one_hot, concatenate = layers
        return concatenate([noise, one_hot(labels)])

    @staticmethod
    def input_shape_of(hparams):
        return (hparams["latent_dim"],)


def build_conditional_generator(style, *, latent_dim, classes, generator_filters, **common) -> keras.Model:
    """G(z, y) in `style` ("functional" or "subclass"); shared by cgan and acgan."""
    return build_conditional_part(style, ConditionalGenerator, "generator", "noise", latent_dim=latent_dim,
                                  classes=classes, generator_filters=generator_filters, **common)


class ConditionalGANBase(AdversarialModel):
    """A GAN whose generator takes [noise, label]: trains on labelled images; `model([z, y])` draws class y."""

    uses_labels = True

    def call(self, inputs, training=None):
        noise, labels = split_conditional(inputs)
        return self.generator([noise, labels], training=training)
