"""The auxiliary classifier GAN (Odena, Olah & Shlens 2017, "Conditional Image Synthesis with Auxiliary
Classifier GANs"), on the DCGAN architecture.

G draws an image of a given class, G(z, c), as a conditional GAN's does; but D is not told the class. It
looks at the image alone and answers two questions: is it real (the source S), and which class is it (C)?
(the seed notes: "먼저 R/F 를 구분한 뒤 어떤 클래스인지 구분한다"). The paper's objective, its equations 2-3:

    L_S = E[log P(S = real | x_real)] + E[log P(S = fake | x_fake)]
    L_C = E[log P(C = c | x_real)]   + E[log P(C = c | x_fake)]

D maximises L_S + L_C; G maximises L_C - L_S, written here with the non-saturating source term. As losses:

    D minimises  BCE(1, S(x)) + BCE(0, S(G(z, c))) + CE(c_x, C(x)) + CE(c, C(G(z, c)))
    G minimises  BCE(1, S(G(z, c))) + CE(c, C(G(z, c)))

with c the labels of the real batch. The class loss on generated images is what makes G draw recognisable
classes: G is rewarded when D's classifier, trained on real labelled images, recognises the class it was
asked for. The trackers report both class terms of D's step, `real_class_loss` and `fake_class_loss`.

Networks: G is the conditional DCGAN generator of `zoo.models.generative.conditional` (y one-hot concatenated to
z); D is DCGAN's discriminator whose last dense layer has 1 + classes outputs: the source logit, then the
class logits (one chain, so D alone is expressible in all three styles; G's two inputs rule out
`keras.Sequential` for the model). Training: the zoo's TensorFlow-only two-optimizer `train_step`
(`zoo.models.generative.adversarial`), on labelled images as cgan's. Inference: `model([z, y])`.
"""

from __future__ import annotations

import keras  # noqa: F401  (imported first: see zoo/models/generative/__init__.py)

from zoo.models.generative.adversarial import bce, class_cross_entropy
from zoo.models.generative.common import Part, build_part, check_classes
from zoo.models.generative.conditional import ConditionalGANBase, build_conditional_generator
from zoo.models.generative.convolutional import (
    PART_TUPLES, check_convolutional_args, convolutional_config, discriminator_layers,
)
from zoo.nn import Styles, serializable


def auxiliary_discriminator_layers(*, classes=10, **hparams):
    """D: DCGAN's discriminator with 1 + classes logits (source, then classes)."""
    return discriminator_layers(**hparams, outputs=1 + classes)


@serializable
class AuxiliaryDiscriminator(Part):
    """ACGAN's discriminator as a `keras.Model` subclass: images in [0, 1] -> (batch, 1 + classes) logits."""

    default_name = "discriminator"
    tuple_hparams = PART_TUPLES
    make_layers = staticmethod(auxiliary_discriminator_layers)

    def __init__(self, classes=10, image_shape=(28, 28, 1), discriminator_filters=(64, 128), kernel_size=5,
                 batch_norm_momentum=0.9, name=None):
        super().__init__(name=name, classes=classes, image_shape=image_shape,
                         discriminator_filters=discriminator_filters, kernel_size=kernel_size,
                         batch_norm_momentum=batch_norm_momentum)

    @staticmethod
    def input_shape_of(hparams):
        return tuple(hparams["image_shape"])


def source_and_class(outputs):
    """(source logits (batch, 1), class logits (batch, classes)) from D's (batch, 1 + classes) outputs."""
    return outputs[:, :1], outputs[:, 1:]


@serializable
class ACGAN(ConditionalGANBase):
    """An auxiliary-classifier DCGAN; arguments as `zoo.build("acgan", ...)` (the same as `CGAN`'s).

    Example:
        >>> gan = ACGAN(latent_dim=32, image_shape=(16, 16, 1), generator_filters=(64, 32),
        ...             discriminator_filters=(32, 64))
        >>> gan.compile()
        >>> gan.fit(images, labels, epochs=50)
        >>> source, classes = source_and_class(gan.discriminator(images))
    """

    term_names = ("real_class_loss", "fake_class_loss")

    def __init__(self, latent_dim=100, classes=10, image_shape=(28, 28, 1), generator_filters=(128, 64),
                 discriminator_filters=(64, 128), kernel_size=5, batch_norm_momentum=0.9, style="functional",
                 seed=None, name="acgan", **kwargs):
        super().__init__(latent_dim=latent_dim, style=style, seed=seed, name=name, **kwargs)
        self.classes = check_classes(classes)
        common = check_convolutional_args(self, image_shape=image_shape, generator_filters=generator_filters,
                                          discriminator_filters=discriminator_filters, kernel_size=kernel_size,
                                          batch_norm_momentum=batch_norm_momentum)
        generator = build_conditional_generator(style, latent_dim=latent_dim, classes=classes,
                                                generator_filters=self.generator_filters, **common)
        self.set_parts(generator, build_part(style, auxiliary_discriminator_layers, AuxiliaryDiscriminator,
                                             "discriminator", "image", classes=classes,
                                             discriminator_filters=self.discriminator_filters, **common))

    def discriminator_objective(self, real, labels, noise, training):
        """L_S and L_C as losses: BCE(1, S(x)) + BCE(0, S(G(z, c))) + CE(c_x, C(x)) + CE(c, C(G(z, c)))."""
        real_source, real_classes = source_and_class(self.discriminator(real, training=training))
        fake = self.generator([noise, labels], training=training)
        fake_source, fake_classes = source_and_class(self.discriminator(fake, training=training))
        real_class_loss = class_cross_entropy(labels, real_classes)
        fake_class_loss = class_cross_entropy(labels, fake_classes)
        loss = bce(1.0, real_source) + bce(0.0, fake_source) + real_class_loss + fake_class_loss
        return loss, {"real_class_loss": real_class_loss, "fake_class_loss": fake_class_loss}

    def generator_objective(self, noise, labels, training):
        """BCE(1, S(G(z, c))) + CE(c, C(G(z, c))): fool the source head, satisfy the class head."""
        fake = self.generator([noise, labels], training=training)
        source, classes = source_and_class(self.discriminator(fake, training=training))
        return bce(1.0, source) + class_cross_entropy(labels, classes), {}

    def get_config(self):
        return {**self.base_config(), "classes": self.classes, **convolutional_config(self)}


ACGAN_STYLES = Styles.of(ACGAN, sequential=False)
