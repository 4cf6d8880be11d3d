"""Recurrent text classifiers (many-to-one): token ids -> embeddings -> recurrent layers -> classifier.

- `simple_rnn`: Elman's recurrent network (Elman 1990, "Finding Structure in Time"), seed 003 "7. Recurrent
  Neural Network": h_t = tanh(W x_t + U h_{t-1} + b); `stacked` layers, each but the last returning its
  whole sequence of states to the next.
- `lstm`: long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000),
  seed 003 "8. Long Short-Term Memory": input, forget and output gates and a cell state that carries
  information across long spans.
- `gru`: gated recurrent unit (Cho et al. 2014), seed 003 "GRU": update and reset gates, no separate cell.
- `bidirectional_rnn`: an LSTM or a GRU (`cell`) reading the text forwards and another reading it
  backwards (Schuster & Paliwal 1997), their final states concatenated, seed 003 "양방향 RNN".

The last recurrent state (for the bidirectional model, both directions' last states) summarises the text;
dropout and a softmax layer classify it.

Padding, masks and the fast kernels. The models take int32 ids right-padded with 0 (`zoo.models.text.
preprocessing.adapt_tokens`: TextVectorization's `output_sequence_length` pads on the right) and embed them
with `Embedding(mask_zero=True)`, whose mask reaches the recurrent layers, so padding steps leave the state
as it was: the state after a text's last word is what the classifier sees, however much padding follows.
On a GPU, Keras (TensorFlow backend) runs LSTM and GRU layers on cuDNN's fused kernels, several times faster
than the step-by-step loop, only when the layer has its default activations (tanh, sigmoid),
`recurrent_dropout=0`, `unroll=False` and `use_bias=True` (GRU also `reset_after=True`) and the mask is
right-padded: cuDNN takes each row's length, not a mask, so every row must be its real steps followed by its
padding, and none may be all padding (Keras 3 asserts both inside the kernel rather than falling back). The
layers here keep those defaults and regularise with a Dropout layer before the classifier instead of
recurrent dropout; the preprocessing pads on the right (never `pad_sequences`' default, the left) and never
yields an all-padding row. SimpleRNN has no cuDNN kernel; its loop honours any mask.

Sizes of the defaults (2 classes), pinned by a test: `simple_rnn` (vocabulary 10,000, 32-dimensional
embeddings, 32 units, one layer) 322,146 parameters; `lstm` (vocabulary 20,000, 128-dimensional embeddings,
64 units) 2,609,538; `gru` 2,597,378; `bidirectional_rnn` (LSTM cells) 2,659,074.
"""

from __future__ import annotations

import keras

from zoo.models.text.tokens import TokenClassifier, TokenLayers, check_token_args, classifier_head, token_embedding, \
    token_styles
from zoo.nn import check_positive_int, serializable

RECURRENT_LAYERS = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
BIDIRECTIONAL_CELLS = ("lstm", "gru")


def recurrent_stack(kind: str, units: int, stacked: int = 1, bidirectional: bool = False) -> list[keras.layers.Layer]:
    """`stacked` recurrent layers of `kind` ("simple_rnn", "lstm" or "gru") with `units` units each.

    Every layer but the last returns its whole sequence of states (the next layer's input); the last returns
    its final state. Names: `kind` for one layer, `{kind}_1`, `{kind}_2`, ... for several; a bidirectional
    layer is named `bidirectional_{kind}`.
    """
    layers = []
    for index in range(1, stacked + 1):
        name = kind if stacked == 1 else f"{kind}_{index}"
        layer = RECURRENT_LAYERS[kind](units, return_sequences=index < stacked, name=name)
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{name}")
        layers.append(layer)
    return layers


def _recurrent_layers(kind, *, vocab_size, sequence_length, embedding_dim, units, dropout, classes,
                      classifier_activation, stacked=1, bidirectional=False) -> TokenLayers:
    check_token_args(vocab_size=vocab_size, sequence_length=sequence_length, embedding_dim=embedding_dim,
                     dropout=dropout, classes=classes)
    check_positive_int("units", units)
    check_positive_int("stacked", stacked)
    return TokenLayers(
        embedding=token_embedding(vocab_size, embedding_dim),
        encoder=recurrent_stack(kind, units, stacked, bidirectional),
        head=classifier_head(dropout, classes, classifier_activation),
    )


def simple_rnn_layers(*, vocab_size=10000, sequence_length=200, embedding_dim=32, units=32, stacked=1, dropout=0.0,
                      classes=2, classifier_activation="softmax") -> TokenLayers:
    """The layers of `simple_rnn`: `embedding` (masked), `stacked` SimpleRNN layers, `dropout`, `predictions`.

    Args:
        vocab_size: number of token ids (0 is padding, 1 unknown).
        sequence_length: ids per text.
        embedding_dim: size of the learned word vectors.
        units: state size of each recurrent layer.
        stacked: number of recurrent layers.
        dropout: dropout rate before the classifier.
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).

    Returns:
        The `TokenLayers` that the three styles stack.
    """
    return _recurrent_layers("simple_rnn", vocab_size=vocab_size, sequence_length=sequence_length,
                             embedding_dim=embedding_dim, units=units, stacked=stacked, dropout=dropout,
                             classes=classes, classifier_activation=classifier_activation)


def lstm_layers(*, vocab_size=20000, sequence_length=200, embedding_dim=128, units=64, dropout=0.5, classes=2,
                classifier_activation="softmax") -> TokenLayers:
    """The layers of `lstm`: `embedding` (masked), `lstm`, `dropout`, `predictions`; arguments as
    `simple_rnn_layers` (one recurrent layer)."""
    return _recurrent_layers("lstm", vocab_size=vocab_size, sequence_length=sequence_length,
                             embedding_dim=embedding_dim, units=units, dropout=dropout, classes=classes,
                             classifier_activation=classifier_activation)


def gru_layers(*, vocab_size=20000, sequence_length=200, embedding_dim=128, units=64, dropout=0.5, classes=2,
               classifier_activation="softmax") -> TokenLayers:
    """The layers of `gru`: `embedding` (masked), `gru`, `dropout`, `predictions`; arguments as
    `simple_rnn_layers` (one recurrent layer)."""
    return _recurrent_layers("gru", vocab_size=vocab_size, sequence_length=sequence_length,
                             embedding_dim=embedding_dim, units=units, dropout=dropout, classes=classes,
                             classifier_activation=classifier_activation)


def bidirectional_rnn_layers(*, vocab_size=20000, sequence_length=200, embedding_dim=128, cell="lstm", units=64,
                             dropout=0.5, classes=2, classifier_activation="softmax") -> TokenLayers:
    """The layers of `bidirectional_rnn`: `embedding` (masked), `bidirectional_{cell}` (the two directions'
    final states concatenated, 2 * units), `dropout`, `predictions`.

    Args:
        cell: "lstm" or "gru", the recurrent layer of each direction.
        units: state size of each direction.
        Others as `simple_rnn_layers`.

    Returns:
        The `TokenLayers` that the three styles stack.
    """
    if cell not in BIDIRECTIONAL_CELLS:
        raise ValueError(f"`cell` must be one of {', '.join(repr(c) for c in BIDIRECTIONAL_CELLS)}. "
                         f"Received: cell={cell!r}")
    return _recurrent_layers(cell, vocab_size=vocab_size, sequence_length=sequence_length,
                             embedding_dim=embedding_dim, units=units, dropout=dropout, classes=classes,
                             classifier_activation=classifier_activation, bidirectional=True)


@serializable
class SimpleRNNClassifier(TokenClassifier):
    """`simple_rnn` as a `keras.Model` subclass; arguments as `simple_rnn_layers`.

    Example:
        >>> model = SimpleRNNClassifier(vocab_size=1000, sequence_length=32, stacked=2)
        >>> probabilities = model(np.array([[5, 9, 2] + [0] * 29], "int32"))  # (1, 2)
    """

    default_name = "simple_rnn"

    def __init__(self, vocab_size=10000, sequence_length=200, embedding_dim=32, units=32, stacked=1, dropout=0.0,
                 classes=2, classifier_activation="softmax", name=None):
        super().__init__(name=name, vocab_size=vocab_size, sequence_length=sequence_length,
                         embedding_dim=embedding_dim, units=units, stacked=stacked, dropout=dropout, classes=classes,
                         classifier_activation=classifier_activation)

    make_layers = staticmethod(simple_rnn_layers)


@serializable
class LSTMClassifier(TokenClassifier):
    """`lstm` as a `keras.Model` subclass; arguments as `lstm_layers`.

    Example:
        >>> model = LSTMClassifier(vocab_size=1000, sequence_length=32, units=32)
        >>> probabilities = model(np.array([[5, 9, 2] + [0] * 29], "int32"))  # (1, 2)
    """

    default_name = "lstm"

    def __init__(self, vocab_size=20000, sequence_length=200, embedding_dim=128, units=64, dropout=0.5, classes=2,
                 classifier_activation="softmax", name=None):
        super().__init__(name=name, vocab_size=vocab_size, sequence_length=sequence_length,
                         embedding_dim=embedding_dim, units=units, dropout=dropout, classes=classes,
                         classifier_activation=classifier_activation)

    make_layers = staticmethod(lstm_layers)


@serializable
class GRUClassifier(TokenClassifier):
    """`gru` as a `keras.Model` subclass; arguments as `gru_layers`.

    Example:
        >>> model = GRUClassifier(vocab_size=1000, sequence_length=32, units=32)
        >>> probabilities = model(np.array([[5, 9, 2] + [0] * 29], "int32"))  # (1, 2)
    """

    default_name = "gru"

    def __init__(self, vocab_size=20000, sequence_length=200, embedding_dim=128, units=64, dropout=0.5, classes=2,
                 classifier_activation="softmax", name=None):
        super().__init__(name=name, vocab_size=vocab_size, sequence_length=sequence_length,
                         embedding_dim=embedding_dim, units=units, dropout=dropout, classes=classes,
                         classifier_activation=classifier_activation)

    make_layers = staticmethod(gru_layers)


@serializable
class BidirectionalRNNClassifier(TokenClassifier):
    """`bidirectional_rnn` as a `keras.Model` subclass; arguments as `bidirectional_rnn_layers`.

    Example:
        >>> model = BidirectionalRNNClassifier(vocab_size=1000, sequence_length=32, cell="gru", units=32)
        >>> probabilities = model(np.array([[5, 9, 2] + [0] * 29], "int32"))  # (1, 2)
    """

    default_name = "bidirectional_rnn"

    def __init__(self, vocab_size=20000, sequence_length=200, embedding_dim=128, cell="lstm", units=64, dropout=0.5,
                 classes=2, classifier_activation="softmax", name=None):
        super().__init__(name=name, vocab_size=vocab_size, sequence_length=sequence_length,
                         embedding_dim=embedding_dim, cell=cell, units=units, dropout=dropout, classes=classes,
                         classifier_activation=classifier_activation)

    make_layers = staticmethod(bidirectional_rnn_layers)


SIMPLE_RNN = token_styles(simple_rnn_layers, SimpleRNNClassifier, "simple_rnn")
LSTM = token_styles(lstm_layers, LSTMClassifier, "lstm")
GRU = token_styles(gru_layers, GRUClassifier, "gru")
BIDIRECTIONAL_RNN = token_styles(bidirectional_rnn_layers, BidirectionalRNNClassifier, "bidirectional_rnn")
