"""An encoder-only Transformer text classifier: the Transformer's encoder (Vaswani et al. 2017) over the words
of a text, the mean of its outputs over the real tokens, and a softmax classifier.

    token ids ─► Embedding·√d + PE ─► [self-attention ─► add & norm ─► FFN ─► add & norm] × N
              ─► masked mean over the real tokens ─► dropout ─► softmax

The embedding attaches the padding mask (id != 0) to its output; every encoder block reads it (no token
attends to padding) and passes it on, and `GlobalAveragePooling1D` averages the real positions only. The
blocks are those of the encoder-decoder (`zoo.models.transformer.layers`), post-norm, with sinusoidal
positions. It reads the right-padded token ids of `zoo.models.text.preprocessing.adapt_tokens` (never all
padding) and is served behind the same fitted TextVectorization, so the deployed model takes raw strings.

A chain of layers, so all three styles hold it (`zoo.models.text.tokens.token_styles`).

Sizes (2 classes): the default (vocabulary 20,000, 200 tokens, 2 layers, d_model 64, 4 heads, d_ff 128)
1,347,074 parameters; `small` (vocabulary 1,000, 32 tokens, 1 layer, d_model 32, 2 heads, d_ff 64) 40,610.
"""

from __future__ import annotations

import keras

from zoo.models.text.tokens import TokenClassifier, TokenLayers, classifier_head, token_styles
from zoo.models.cnn.common import check_rate
from zoo.models.transformer.layers import TokenAndSinePositionEmbedding, TransformerEncoderBlock, check_heads
from zoo.nn import check_positive_int, serializable

NAME = "transformer_classifier"


def transformer_classifier_layers(*, vocab_size=20000, sequence_length=200, num_layers=2, d_model=64, num_heads=4,
                                  ff_dim=128, head_dim=None, dropout=0.1, classes=2,
                                  classifier_activation="softmax") -> TokenLayers:
    """The layers in order: `embedding` (with positions, masked), `block_1..N`, `pooling`, `dropout`, `predictions`.

    Args:
        vocab_size: token ids (0 pads, 1 is unknown); sequence_length: ids per text.
        num_layers, d_model, num_heads, ff_dim, head_dim: the encoder's size (head_dim None: d_model / heads).
        dropout: on the embeddings, every residual and before the classifier.
        classes, classifier_activation: the head.
    """
    check_positive_int("vocab_size", vocab_size)
    check_positive_int("sequence_length", sequence_length)
    check_positive_int("num_layers", num_layers)
    check_positive_int("ff_dim", ff_dim)
    check_heads(d_model, num_heads, head_dim)
    check_rate("dropout", dropout)
    check_positive_int("classes", classes)
    return TokenLayers(
        embedding=TokenAndSinePositionEmbedding(vocab_size, d_model, dropout, mask_zero=True, name="embedding"),
        encoder=[*(TransformerEncoderBlock(d_model, num_heads, ff_dim, dropout, head_dim, name=f"block_{i + 1}")
                   for i in range(num_layers)),
                 keras.layers.GlobalAveragePooling1D(name="pooling")],
        head=classifier_head(dropout, classes, classifier_activation),
    )


@serializable
class TransformerClassifier(TokenClassifier):
    """The encoder-only classifier as a `keras.Model` subclass; arguments as `transformer_classifier_layers`.

    Example:
        >>> model = TransformerClassifier(vocab_size=1000, sequence_length=32, d_model=32, num_heads=2)
        >>> probabilities = model(token_ids)  # (batch, 2)
    """

    default_name = NAME

    @staticmethod
    def make_layers(**hparams) -> TokenLayers:
        return transformer_classifier_layers(**hparams)


TRANSFORMER_CLASSIFIER = token_styles(transformer_classifier_layers, TransformerClassifier, NAME)
