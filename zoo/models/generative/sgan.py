"""The semi-supervised GAN (Odena 2016, "Semi-Supervised Learning with Generative Adversarial Networks";
Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen 2016, "Improved Techniques for Training GANs",
section 5): a classifier that learns from a few labelled images and many unlabelled ones.

The discriminator is a classifier with K + 1 outputs: the K real classes and one more, "generated" (the seed
notes: "fake 까지 총 11개의 클래스"). Its logits l_1..l_K, l_fake give p(y | x) over the K + 1 classes. Three
kinds of images train it (Salimans et al.'s decomposition, their section 5):

    supervised    labelled real (x, y):  -log p(y | x, y < K + 1)   (cross-entropy over the K real classes)
    unsupervised  unlabelled real x:     -log (1 - p(fake | x))
                  generated G(z):        -log p(fake | G(z))

With r(x) = logsumexp(l_1..l_K) - l_fake, the log-odds that x is real, the two unsupervised terms are the
binary cross-entropies BCE(1, r(x)) and BCE(0, r(G(z))): the real/fake game of a GAN played by the
classifier's own logits. Labelled images take part in the unsupervised term too (they are real images).
G minimises BCE(1, r(G(z))), the non-saturating loss. The generator's images teach the classifier where
real digits are *not*, so the few labels go further than they would alone.

The labels: examples whose label is -1 are unlabelled (the data adapter
`zoo.models.generative.data.adapt_semi_supervised` keeps the labels of only `label_budget` training images,
balanced over the classes, and marks the others -1). The
supervised term is the mean over the labelled examples of each batch (zero when a batch has none).

Networks: G is DCGAN's generator (`zoo.models.generative.convolutional`); D has DCGAN's strided convolutions and
LeakyReLU with dropout instead of batch normalisation, and K + 1 logits. Batch normalisation would pool the
moving statistics of real and generated batches, so the classifier, which at serving time sees only real
images, would be normalised with statistics half from generated ones (Salimans et al. use weight
normalisation and dropout for the same reason). Training: the zoo's TensorFlow-only two-optimizer
`train_step` (`zoo.models.generative.adversarial`) on (images, labels).

Inference: `model(images)` is the classifier, p(y | x, real): the softmax over the K real classes' logits,
float32 (batch, K); that is what a deployed SGAN serves. `model.generator` and `model.discriminator` (the
K + 1 logits) are usable alone.
"""

from __future__ import annotations

import keras  # first: see zoo/models/generative/__init__.py
from keras import ops

from zoo.models.generative.adversarial import AdversarialModel, bce
from zoo.models.generative.common import Part, build_part, check_classes, check_fraction
from zoo.models.generative.convolutional import (
    LEAKY_SLOPE, PART_TUPLES, Generator, check_convolutional_args, convolutional_config, from_unit_range,
    generator_layers, init,
)
from zoo.models.generative.data import UNLABELLED
from zoo.nn import Styles, check_positive_int, serializable

def discriminator_layers(*, classes=10, image_shape=(28, 28, 1), discriminator_filters=(64, 128), kernel_size=5,
                         dropout=0.3, **_) -> list[keras.layers.Layer]:
    """D: pixels to [-1, 1], a stride-2 convolution per entry of `discriminator_filters` with LeakyReLU and
    dropout, then K + 1 logits (float32): the K classes, then "generated"."""
    layers = [from_unit_range()]
    for i, filters in enumerate(discriminator_filters, start=1):
        layers += [
            keras.layers.Conv2D(filters, kernel_size, strides=2, padding="same", kernel_initializer=init(),
                                name=f"discriminator_conv_{i}"),
            keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"discriminator_conv_{i}_lrelu"),
            keras.layers.Dropout(dropout, name=f"discriminator_conv_{i}_dropout"),
        ]
    return layers + [
        keras.layers.Flatten(name="discriminator_flatten"),
        keras.layers.Dense(classes + 1, kernel_initializer=init(), dtype="float32", name="discriminator_logits"),
    ]


@serializable
class SGANDiscriminator(Part):
    """SGAN's discriminator as a `keras.Model` subclass: images in [0, 1] -> (batch, K + 1) logits."""

    default_name = "discriminator"
    tuple_hparams = PART_TUPLES
    make_layers = staticmethod(discriminator_layers)

    def __init__(self, classes=10, image_shape=(28, 28, 1), discriminator_filters=(64, 128), kernel_size=5,
                 dropout=0.3, name=None):
        super().__init__(name=name, classes=classes, image_shape=image_shape,
                         discriminator_filters=discriminator_filters, kernel_size=kernel_size, dropout=dropout)

    @staticmethod
    def input_shape_of(hparams):
        return tuple(hparams["image_shape"])


@serializable
class RealClassProbabilities(keras.layers.Layer):
    """K + 1 logits -> p(y | x, real): the softmax over the first K (the real classes), float32 (batch, K)."""

    def __init__(self, **kwargs):
        super().__init__(**{"dtype": "float32", **kwargs})

    def call(self, logits):
        return ops.softmax(ops.cast(logits, "float32")[:, :-1], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] - 1)


# ------------------------------------------------------------------------------------------------ the losses
def realness(logits):
    """r(x) = logsumexp(l_1..l_K) - l_fake: the log-odds of "real" under the K + 1 softmax, (batch,) float32."""
    logits = ops.cast(logits, "float32")
    return ops.logsumexp(logits[:, :-1], axis=-1) - logits[:, -1]


def labelled_cross_entropy(labels, logits):
    """-log p(y | x, y < K + 1), averaged over the labelled examples (label >= 0); 0 when there are none."""
    labels = ops.cast(labels, "int32")
    mask = ops.cast(ops.greater_equal(labels, 0), "float32")
    per_example = ops.sparse_categorical_crossentropy(ops.maximum(labels, 0), ops.cast(logits, "float32")[:, :-1],
                                                      from_logits=True)
    return ops.sum(per_example * mask) / ops.maximum(ops.sum(mask), 1.0)


# -------------------------------------------------------------------------------------------------- model
@serializable
class SGAN(AdversarialModel):
    """A semi-supervised GAN whose discriminator is a K + 1 class classifier; arguments as `zoo.build("sgan", ...)`.

    Args:
        latent_dim: dimensions of the noise z ~ N(0, I).
        classes: the number K of real classes.
        image_shape, generator_filters, discriminator_filters, kernel_size: as DCGAN's.
        batch_norm_momentum: momentum of the generator's batch normalisation (D has none).
        dropout: dropout rate after each of D's convolutions.
        label_budget: how many training images keep their label (the data adapter's budget; the model
            itself learns from whatever labels the data holds, -1 meaning unlabelled).
        style: how the generator and discriminator are built: "sequential", "functional" or "subclass".
        seed: seed of the model's training noise (None: drawn from Keras' global seed).
        name: the model's name.

    Example:
        >>> sgan = SGAN(latent_dim=32, image_shape=(16, 16, 1), generator_filters=(64, 32),
        ...             discriminator_filters=(32, 64))
        >>> sgan.compile()
        >>> sgan.fit(images, labels_with_minus_one_for_unlabelled, epochs=50)
        >>> probabilities = sgan.predict(test_images)  # (batch, K)
    """

    uses_labels = True
    term_names = ("supervised_loss", "unsupervised_loss")

    def __init__(self, latent_dim=100, classes=10, image_shape=(28, 28, 1), generator_filters=(128, 64),
                 discriminator_filters=(64, 128), kernel_size=5, batch_norm_momentum=0.9, dropout=0.3,
                 label_budget=100, style="functional", seed=None, name="sgan", **kwargs):
        super().__init__(latent_dim=latent_dim, style=style, seed=seed, name=name, **kwargs)
        self.classes = check_classes(classes)
        self.dropout = check_fraction("dropout", dropout)
        self.label_budget = check_positive_int("label_budget", label_budget)
        common = check_convolutional_args(self, image_shape=image_shape, generator_filters=generator_filters,
                                          discriminator_filters=discriminator_filters, kernel_size=kernel_size,
                                          batch_norm_momentum=batch_norm_momentum)
        self.set_parts(
            build_part(style, generator_layers, Generator, "generator", "noise", latent_dim=latent_dim,
                       generator_filters=self.generator_filters, **common),
            build_part(style, discriminator_layers, SGANDiscriminator, "discriminator", "image", classes=classes,
                       image_shape=self.image_shape, discriminator_filters=self.discriminator_filters,
                       kernel_size=self.kernel_size, dropout=self.dropout),
        )
        self.class_probabilities = RealClassProbabilities(name="class_probabilities")

    def call(self, inputs, training=None):
        """The classifier: p(y | x, real), the softmax over the K real classes' logits, (batch, K) float32."""
        return self.class_probabilities(self.discriminator(inputs, training=training))

    def classifier(self) -> keras.Model:
        """The classifier alone as a functional model, image -> p(y | x, real): what a deployed SGAN serves."""
        images = keras.Input(self.image_shape, name="image")
        return keras.Model(images, self.class_probabilities(self.discriminator(images, training=False)),
                           name=f"{self.name}_classifier")

    def unpack_batch(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:  # images alone: all unlabelled
            return ops.cast(x, self.compute_dtype), ops.full((ops.shape(x)[0],), UNLABELLED, dtype="int32")
        return super().unpack_batch(data)

    def discriminator_objective(self, real, labels, noise, training):
        """-log p(y | x, y < K+1) on the labelled + BCE(1, r(x)) on all real + BCE(0, r(G(z))) on generated."""
        real_logits = self.discriminator(real, training=training)
        fake_logits = self.discriminator(self.generator(noise, training=training), training=training)
        supervised = labelled_cross_entropy(labels, real_logits)
        unsupervised = bce(1.0, realness(real_logits)) + bce(0.0, realness(fake_logits))
        return supervised + unsupervised, {"supervised_loss": supervised, "unsupervised_loss": unsupervised}

    def generator_objective(self, noise, labels, training):
        """BCE(1, r(G(z))): make the classifier put generated images in one of the real classes."""
        fake_logits = self.discriminator(self.generator(noise, training=training), training=training)
        return bce(1.0, realness(fake_logits)), {}

    def get_config(self):
        return {**self.base_config(), "classes": self.classes, **convolutional_config(self), "dropout": self.dropout,
                "label_budget": self.label_budget}


SGAN_STYLES = Styles.of(SGAN)
