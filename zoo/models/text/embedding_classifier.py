"""An embedding-bag classifier: learned word embeddings, averaged over the text's words, then a classifier.

Seed 003 "4) Embedding": each word id indexes a trainable dense vector (instead of a sparse one-hot or
bag-of-words slot); the text is the mean of its words' vectors (global average pooling that skips padding,
through the embedding's mask) and a softmax layer classifies it. It is the TensorFlow "word embeddings"
tutorial's network and, without n-gram features, fastText's classifier (Joulin et al. 2016, "Bag of Tricks
for Efficient Text Classification"). Word order is lost: "not good" and "good, not" look alike.

Size: with the defaults (vocabulary 20,000, 64-dimensional embeddings, 2 classes) 1,280,130 parameters
(embeddings 1,280,000, classifier 130); a test pins it.

Input: int32 ids (batch, sequence_length), right-padded with 0, each row holding at least one token (an
all-padding row would average nothing: 0 / 0). `zoo.models.text.preprocessing.adapt_tokens` turns text into
such ids and `token_serving` puts the same vectorisation in front of the trained model.
"""

from __future__ import annotations

import keras

from zoo.models.text.tokens import TokenClassifier, TokenLayers, check_token_args, classifier_head, token_embedding, \
    token_styles
from zoo.nn import serializable


def embedding_classifier_layers(*, vocab_size=20000, sequence_length=200, embedding_dim=64, dropout=0.0, classes=2,
                                classifier_activation="softmax") -> TokenLayers:
    """The layers: `embedding` (masked), `average` (masked global average pooling), `dropout`, `predictions`.

    Args:
        vocab_size: number of token ids (0 is padding, 1 unknown).
        sequence_length: ids per text.
        embedding_dim: size of the learned word vectors.
        dropout: dropout rate before the classifier.
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).

    Returns:
        The `TokenLayers` that the three styles stack.
    """
    check_token_args(vocab_size=vocab_size, sequence_length=sequence_length, embedding_dim=embedding_dim,
                     dropout=dropout, classes=classes)
    return TokenLayers(
        embedding=token_embedding(vocab_size, embedding_dim),
        encoder=[keras.layers.GlobalAveragePooling1D(name="average")],
        head=classifier_head(dropout, classes, classifier_activation),
    )


@serializable
class EmbeddingClassifier(TokenClassifier):
    """The embedding-bag classifier as a `keras.Model` subclass; arguments as `embedding_classifier_layers`.

    Example:
        >>> model = EmbeddingClassifier(vocab_size=1000, sequence_length=32)
        >>> probabilities = model(np.array([[5, 9, 2, 0, 0] + [0] * 27], "int32"))  # (1, 2)
    """

    default_name = "embedding_classifier"

    def __init__(self, vocab_size=20000, sequence_length=200, embedding_dim=64, dropout=0.0, classes=2,
                 classifier_activation="softmax", name=None):
        super().__init__(name=name, vocab_size=vocab_size, sequence_length=sequence_length,
                         embedding_dim=embedding_dim, dropout=dropout, classes=classes,
                         classifier_activation=classifier_activation)

    make_layers = staticmethod(embedding_classifier_layers)


EMBEDDING_CLASSIFIER = token_styles(embedding_classifier_layers, EmbeddingClassifier, "embedding_classifier")
