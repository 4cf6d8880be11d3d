"""The least-squares GAN (Mao, Li, Xie, Lau, Wang & Smolley 2017, "Least Squares Generative Adversarial
Networks"), on the DCGAN architecture.

The sigmoid cross-entropy of the original GAN saturates: a generated image that D already scores as real
(on the right side of the decision boundary) gives G almost no gradient, however far it lies from the real
data. LSGAN replaces it by least squares on D's raw output, which penalises such images by their distance
from the boundary and so keeps pulling them towards the data (the paper's section 3.1; the seed notes: "결정
상자에서 멀리 떨어진 데이터는 페널티를 줌"). With the 0-1 coding the paper uses in its experiments (its
equation 9: a = 0 for generated, b = 1 for real, c = 1 the value G wants D to believe):

    D minimises  1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]        G minimises  1/2 E[(D(G(z)) - c)^2]

D's last layer is linear (its output is the score, not a logit to squash). Everything else is DCGAN's
(`zoo.models.generative.convolutional`): the same generator and discriminator in the same three styles, the same
hyperparameters, Adam(2e-4, beta_1 0.5) for both networks (the paper trains with DCGAN's settings), and the
same TensorFlow-only two-optimizer `train_step` with loss scaling under `mixed_float16`.
"""

from __future__ import annotations

from keras import ops  # Keras first: see zoo/models/generative/__init__.py

from zoo.models.generative.convolutional import ConvolutionalGAN
from zoo.nn import Styles, serializable

#: the paper's 0-1 coding (equation 9): the target of generated images, of real images, and G's target
FAKE_TARGET, REAL_TARGET, GENERATOR_TARGET = 0.0, 1.0, 1.0


def least_squares(scores, target: float):
    """1/2 mean((scores - target)^2), float32."""
    return 0.5 * ops.mean(ops.square(ops.cast(scores, "float32") - target))


@serializable
class LSGAN(ConvolutionalGAN):
    """DCGAN's networks trained with the least-squares losses; arguments as `zoo.build("lsgan", ...)`
    (the same as `DCGAN`'s: see `ConvolutionalGAN`).

    Example:
        >>> gan = LSGAN(latent_dim=32, image_shape=(16, 16, 1), generator_filters=(64, 32),
        ...             discriminator_filters=(32, 64))
        >>> gan.compile()
        >>> gan.fit(images, epochs=50)
    """

    def __init__(self, *args, name="lsgan", **kwargs):
        super().__init__(*args, name=name, **kwargs)

    def discriminator_objective(self, real, labels, noise, training):
        """1/2 E[(D(x) - 1)^2] + 1/2 E[(D(G(z)) - 0)^2]."""
        real_scores = self.discriminator(real, training=training)
        fake_scores = self.discriminator(self.generator(noise, training=training), training=training)
        return least_squares(real_scores, REAL_TARGET) + least_squares(fake_scores, FAKE_TARGET), {}

    def generator_objective(self, noise, labels, training):
        """1/2 E[(D(G(z)) - 1)^2]."""
        fake_scores = self.discriminator(self.generator(noise, training=training), training=training)
        return least_squares(fake_scores, GENERATOR_TARGET), {}


LSGAN_STYLES = Styles.of(LSGAN)
