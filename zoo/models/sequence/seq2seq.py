"""Encoder-decoder LSTM (Sutskever, Vinyals & Le 2014, "Sequence to Sequence Learning with Neural Networks";
Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder"), optionally with Bahdanau,
Cho & Bengio's additive attention (2015, "Neural Machine Translation by Jointly Learning to Align and
Translate").

Without attention (`attention=False`, the default) the encoder LSTM reads the source and keeps only its
final states (h, c); the decoder LSTM starts from them and reads the target shifted right by one
([BOS] + target[:-1], teacher forcing), and a softmax layer turns each of its steps into next-token
probabilities. Everything the decoder knows of the source passes through those two state vectors.

With `attention=True` the encoder also keeps its output at every source position, h_1..h_S, and the
decoder is Bahdanau's recurrence (`AttentionLSTMDecoder`); at target step i, from its previous state s_{i-1}:

    e_ij = vᵀ tanh(W₁ h_j + W₂ s_{i-1})      (`BahdanauAttention`; padded source positions get no weight)
    α_i  = softmax_j(e_ij),   c_i = Σ_j α_ij h_j
    s_i  = LSTM([embedding(y_{i-1}); c_i], s_{i-1})     (the context enters the recurrent step itself)
    p(y_i | ...) = softmax(W_o [s_i; c_i] + b_o)

This is the paper's decoder, not Luong et al.'s (2015) "attention after the RNN" variant, which scores
with the new state s_i and concatenates the context only at the output (and so could run the decoder as
one cuDNN LSTM). Two simplifications against the paper, both common: the encoder is the unidirectional
LSTM of the plain model (the paper's is a bidirectional GRU), and its final states start the decoder; the
output layer reads [s_i; c_i] through one softmax layer instead of the paper's maxout "deep output" over
(s_i, y_{i-1}, c_i). The recurrence is a `keras.ops.scan` over target steps (a per-step attention cannot
use the fused cuDNN kernel); the encoder keeps its cuDNN-friendly right-padded mask.

Input: a dict of int32 token ids, right-padded with 0: "source" (batch, source_length) and
"decoder_input" (batch, target_length). Both embeddings use `mask_zero`, so the encoder's final states are
those of the last real token and padded steps change nothing; right padding keeps the masks cuDNN-friendly.
Output: float32 probabilities (batch, target_length, vocab_size), which carry the decoder's mask, so a
Keras loss averages over real target tokens only.

Training is teacher-forced; generating a sequence (evaluation, serving) feeds the model its own
predictions back: `zoo.models.sequence.decoding.GreedyDecoding`, which runs the encoder once and then
one decoder step per token through `StepDecoder`. `attention_model` returns a model's attention weights.

Configuration and size: with the defaults (vocabulary 20, 32-dimensional embeddings, 128 units):
168,724 parameters (embeddings 640 each, encoder 82,432, decoder 82,432, softmax 2,580); with attention
269,716 (decoder LSTM 147,968 as it also reads the 128-d context, attention 2 x 128 x 128 + 128, softmax
5,140); a test pins both.
"""

from __future__ import annotations

import keras
from keras import ops

# Importing the decoder here also registers it with Keras wherever the model is (zoo.register_all).
from zoo.attention import MASKED_SCORE
from zoo.models.sequence.decoding import DECODER_INPUT, SOURCE
from zoo.nn import Styles, check_positive_int, dense_head, serializable

NAME = "seq2seq"


# ------------------------------------------------------------------------------------------- attention
@serializable
class BahdanauAttention(keras.layers.Layer):
    """Additive attention (Bahdanau, Cho & Bengio 2015): score(s, h) = vᵀ tanh(W₁ h + W₂ s).

    Keras' `AdditiveAttention` scores vᵀ tanh(q + k) on inputs that must already be projected; this
    layer owns both projections and the score vector, as the paper does (no biases, as in its appendix).

    Args:
        units: size of the score's hidden layer (the paper's n').

    Call arguments:
        query: (batch, query_dim), one decoder state, or (batch, steps, query_dim), several.
        values: (batch, source_length, value_dim), the encoder's outputs h_j.
        values_mask: optional bool (batch, source_length), False at padding: those positions get weight 0.

    Returns:
        (context, weights): context (batch, [steps,] value_dim) = Σ_j weights_j h_j, and the attention
        weights (batch, [steps,] source_length), which sum to 1 over the real source positions.

    Example:
        >>> attention = BahdanauAttention(64)
        >>> context, weights = attention(decoder_state, encoder_outputs, values_mask=source_ids != 0)
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)

    def build(self, query_shape, values_shape, values_mask_shape=None):
        self.values_kernel = self.add_weight(name="values_kernel", shape=(values_shape[-1], self.units))  # W₁
        self.query_kernel = self.add_weight(name="query_kernel", shape=(query_shape[-1], self.units))  # W₂
        self.score_vector = self.add_weight(name="score_vector", shape=(self.units,))  # v
        self.built = True

    def project_values(self, values):
        """W₁ h_j for every source position: computed once per source, then reused at every decoder step."""
        return ops.matmul(values, self.values_kernel)

    def attend(self, query, values, projected_values, values_mask=None):
        """`call` with the values already projected (`project_values`): one decoder step's attention."""
        projected_query = ops.matmul(query, self.query_kernel)
        if len(query.shape) == 3:  # (batch, steps, units) against (batch, source, units)
            projected_values = projected_values[:, None, :, :]
        hidden = ops.tanh(ops.expand_dims(projected_query, -2) + projected_values)
        scores = ops.cast(ops.matmul(hidden, self.score_vector), "float32")  # (batch, [steps,] source)
        if values_mask is not None:
            mask = ops.cast(values_mask, "bool")
            if len(query.shape) == 3:
                mask = mask[:, None, :]
            scores = ops.where(mask, scores, MASKED_SCORE)  # padded source positions
        weights = ops.cast(ops.softmax(scores, axis=-1), values.dtype)
        if len(query.shape) == 3:
            return ops.matmul(weights, values), weights
        return ops.squeeze(ops.matmul(weights[:, None, :], values), axis=1), weights

    def call(self, query, values, values_mask=None):
        return self.attend(query, values, self.project_values(values), values_mask)

    def compute_output_spec(self, query, values, values_mask=None):
        leading = tuple(query.shape[:-1])
        return (keras.KerasTensor((*leading, values.shape[-1]), dtype=self.compute_dtype),
                keras.KerasTensor((*leading, values.shape[1]), dtype=self.compute_dtype))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@serializable
class AttentionLSTMDecoder(keras.layers.Layer):
    """Bahdanau's decoder: an LSTM whose every step reads the attention context of its previous state.

    Args:
        units: size of the LSTM's states.
        attention_units: size of the attention score's hidden layer (default: `units`).

    Call arguments:
        inputs: (batch, target_length, embedding_dim), the embedded decoder input (teacher forcing).
        memory: (batch, source_length, memory_dim), the encoder's outputs.
        initial_state: [h, c], each (batch, units): the encoder's final states.
        memory_mask: bool (batch, source_length), False at padding (Keras fills it from `memory`'s mask).

    Returns:
        (outputs, weights): outputs (batch, target_length, units + memory_dim), [s_i; c_i] per step,
        carrying the inputs' mask; weights (batch, target_length, source_length), the attention weights.
        Always both: a Keras layer reused in another functional graph must keep its outputs' structure.
    """

    def __init__(self, units: int, attention_units: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.attention_units = check_positive_int("attention_units", attention_units or units)
        self.cell = keras.layers.LSTMCell(units, name="lstm_cell")
        self.attention = BahdanauAttention(self.attention_units, name="attention")
        self.supports_masking = True

    def build(self, inputs_shape, memory_shape, initial_state_shape=None, memory_mask_shape=None):
        if not self.cell.built:
            self.cell.build((inputs_shape[0], inputs_shape[-1] + memory_shape[-1]))
        if not self.attention.built:
            self.attention.build((inputs_shape[0], self.units), memory_shape)
        self.built = True

    def step(self, x, state, memory, projected_memory, memory_mask=None):
        """One decoder step from embedded token `x` (batch, embedding_dim) and state (h, c).

        Returns (h, c, context, weights): the new state, the context it read and the attention weights.
        """
        h, c = state
        context, weights = self.attention.attend(h, memory, projected_memory, memory_mask)
        h, (h, c) = self.cell(ops.concatenate([x, ops.cast(context, x.dtype)], axis=-1), [h, c])
        return h, c, ops.cast(context, h.dtype), ops.cast(weights, h.dtype)

    def call(self, inputs, memory, initial_state, memory_mask=None, training=None):
        projected = self.attention.project_values(memory)
        h, c = (ops.cast(s, self.compute_dtype) for s in initial_state)
        first = (h, c, ops.zeros_like(memory[:, 0, :]), ops.zeros_like(memory[:, :, 0]))

        def advance(carry, x):
            # Keras' scan stacks outputs shaped like its carry, so each step's output is its new carry.
            new = self.step(x, carry[:2], memory, projected, memory_mask)
            return new, new

        _, (states, _, contexts, weights) = ops.scan(advance, first, ops.transpose(inputs, (1, 0, 2)))
        outputs = ops.transpose(ops.concatenate([states, contexts], axis=-1), (1, 0, 2))
        return outputs, ops.transpose(weights, (1, 0, 2))

    def compute_mask(self, inputs, mask=None):
        return [mask, None]

    def compute_output_spec(self, inputs, memory, initial_state, memory_mask=None, training=None):
        batch, steps = inputs.shape[0], inputs.shape[1]
        return (keras.KerasTensor((batch, steps, self.units + memory.shape[-1]), dtype=self.compute_dtype),
                keras.KerasTensor((batch, steps, memory.shape[1]), dtype=self.compute_dtype))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "attention_units": self.attention_units}


# ---------------------------------------------------------------------------------------------- layers
def seq2seq_layers(*, vocab_size=20, embedding_dim=32, units=128, source_length=10, target_length=11,
                   attention=False, **_) -> dict[str, keras.layers.Layer]:
    """The five layers, by name, in the order of the model's weights in both styles.

    Args:
        vocab_size: number of token ids of the source and of the target (each has its own embeddings; 0 pads).
        embedding_dim: size of the learned embeddings (one table for the source, one for the target).
        units: size of the encoder's and decoder's LSTM states (and of the attention's hidden layer).
        source_length, target_length: tokens per source and per target (the model's input lengths).
        attention: False for the plain encoder-decoder; True for Bahdanau attention (`AttentionLSTMDecoder`).

    Returns:
        {"source_embedding", "target_embedding", "encoder", "decoder", "predictions"}: the functional
        model orders its layers by depth in the graph (both embeddings first), so the subclass does too.
    """
    for name, value in (("vocab_size", vocab_size), ("embedding_dim", embedding_dim), ("units", units),
                        ("source_length", source_length), ("target_length", target_length)):
        check_positive_int(name, value)
    if not isinstance(attention, bool):
        raise ValueError(f"`attention` must be True or False. Received: attention={attention!r}")
    decoder = (AttentionLSTMDecoder(units, name="decoder") if attention
               else keras.layers.LSTM(units, return_sequences=True, name="decoder"))
    return {
        "source_embedding": keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                                   name="source_embedding"),
        "target_embedding": keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                                   name="target_embedding"),
        # With attention the decoder reads every encoder output, not only the final states.
        "encoder": keras.layers.LSTM(units, return_sequences=attention, return_state=True, name="encoder"),
        "decoder": decoder,
        "predictions": dense_head(vocab_size, "softmax"),
    }


def _inputs(source_length: int, target_length: int) -> dict[str, keras.KerasTensor]:
    return {SOURCE: keras.Input((source_length,), dtype="int32", name=SOURCE),
            DECODER_INPUT: keras.Input((target_length,), dtype="int32", name=DECODER_INPUT)}


def _forward(layers, inputs, *, source_mask=None, training=None, return_attention=False):
    """The teacher-forced pass, shared by both styles and `attention_model`."""
    memory, state_h, state_c = layers["encoder"](layers["source_embedding"](inputs[SOURCE]), training=training)
    target = layers["target_embedding"](inputs[DECODER_INPUT])
    decoder = layers["decoder"]
    if isinstance(decoder, AttentionLSTMDecoder):
        steps, weights = decoder(target, memory, [state_h, state_c], memory_mask=source_mask, training=training)
        if return_attention:
            return weights
    else:
        steps = decoder(target, initial_state=[state_h, state_c], training=training)
    return layers["predictions"](steps)


def _functional(**hparams) -> keras.Model:
    # The source's padding mask reaches the attention through the encoder outputs' Keras mask.
    layers = seq2seq_layers(**hparams)
    inputs = _inputs(hparams["source_length"], hparams["target_length"])
    return keras.Model(inputs, _forward(layers, inputs), name=NAME)


@serializable
class Seq2Seq(keras.Model):
    """The encoder-decoder LSTM (optionally with attention) as a `keras.Model` subclass; arguments as
    `seq2seq_layers`.

    Example:
        >>> model = Seq2Seq(vocab_size=20, source_length=10, target_length=11, attention=True)
        >>> probabilities = model({"source": source_ids, "decoder_input": shifted_target_ids})
    """

    def __init__(self, vocab_size=20, embedding_dim=32, units=128, source_length=10, target_length=11,
                 attention=False, name=None):
        super().__init__(name=name or NAME)
        self.hparams = {"vocab_size": vocab_size, "embedding_dim": embedding_dim, "units": units,
                        "source_length": source_length, "target_length": target_length, "attention": attention}
        layers = seq2seq_layers(**self.hparams)
        self.source_embedding = layers["source_embedding"]
        self.target_embedding = layers["target_embedding"]
        self.encoder = layers["encoder"]
        self.decoder = layers["decoder"]
        self.predictions = layers["predictions"]
        self.build({SOURCE: (None, source_length), DECODER_INPUT: (None, target_length)})

    def parts(self) -> dict[str, keras.layers.Layer]:
        return {"source_embedding": self.source_embedding, "target_embedding": self.target_embedding,
                "encoder": self.encoder, "decoder": self.decoder, "predictions": self.predictions}

    def build(self, input_shape):
        source, target = tuple(input_shape[SOURCE]), tuple(input_shape[DECODER_INPUT])
        embedding_dim, units = self.hparams["embedding_dim"], self.hparams["units"]
        for layer, shape in ((self.source_embedding, source), (self.target_embedding, target),
                             (self.encoder, (*source, embedding_dim))):
            if not layer.built:
                layer.build(shape)
        if not self.decoder.built:
            if self.hparams["attention"]:
                self.decoder.build((*target, embedding_dim), (*source, units))
            else:
                self.decoder.build((*target, embedding_dim))
        if not self.predictions.built:
            self.predictions.build((*target, units * (2 if self.hparams["attention"] else 1)))
        self.built = True

    def call(self, inputs, training=None):
        # The embeddings attach their padding masks to their outputs; each LSTM picks its input's mask up.
        # The attention gets the source's mask explicitly.
        return _forward(self.parts(), inputs, source_mask=ops.not_equal(inputs[SOURCE], 0), training=training)

    def get_config(self):
        return {"name": self.name, **self.hparams}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


SEQ2SEQ = Styles(sequential=None, functional=_functional, subclass=lambda **hp: Seq2Seq(**hp))


# -------------------------------------------------------------------------- decoding and attention maps
PARTS = ("source_embedding", "target_embedding", "encoder", "decoder", "predictions")


def seq2seq_parts(model: keras.Model) -> dict[str, keras.layers.Layer] | None:
    """The five named layers of a zoo seq2seq model in either style, or None for any other model."""
    if isinstance(model, Seq2Seq):
        return model.parts()
    try:
        layers = {name: model.get_layer(name) for name in PARTS}
    except ValueError:
        return None
    recurrent = (keras.layers.LSTM, AttentionLSTMDecoder)
    if not (isinstance(layers["encoder"], keras.layers.LSTM) and isinstance(layers["decoder"], recurrent)):
        return None
    return layers


def has_attention(model: keras.Model) -> bool:
    """Whether `model` is a zoo seq2seq model with Bahdanau attention."""
    parts = seq2seq_parts(model)
    return parts is not None and isinstance(parts["decoder"], AttentionLSTMDecoder)


class StepDecoder:
    """A zoo seq2seq model run one target step at a time: the encoder once, then one decoder step per token.

    `start(source)` returns the decoding state; `step(token, state)` returns the next-token probabilities
    (batch, vocab_size) and the new state. The result equals the teacher-forced model's on the same
    prefix (a test checks it), at one encoder pass and one decoder step per token instead of a whole
    model pass per token.
    """

    def __init__(self, parts: dict[str, keras.layers.Layer]):
        self.parts = parts
        self.attention = isinstance(parts["decoder"], AttentionLSTMDecoder)

    def start(self, source):
        embedded = self.parts["source_embedding"](source)
        mask = ops.not_equal(source, 0)
        memory, h, c = self.parts["encoder"](embedded, mask=mask, training=False)
        if not self.attention:
            return (h, c)
        return (h, c, memory, self.parts["decoder"].attention.project_values(memory), mask)

    def step(self, token, state):
        # A plain lookup: a single step has no padding mask to carry (the decoding loop tracks the ends).
        embedding = self.parts["target_embedding"]
        x = ops.cast(ops.take(embedding.embeddings, token, axis=0), embedding.compute_dtype)
        if self.attention:
            h, c, memory, projected, mask = state
            h, c, context, _ = self.parts["decoder"].step(x, (h, c), memory, projected, mask)
            return self.parts["predictions"](ops.concatenate([h, context], axis=-1)), (h, c, memory, projected, mask)
        h, (h, c) = self.parts["decoder"].cell(x, list(state), training=False)
        return self.parts["predictions"](h), (h, c)


def step_decoder(model: keras.Model) -> StepDecoder | None:
    """The step-by-step decoder of a zoo seq2seq model, or None for a model it does not know."""
    parts = seq2seq_parts(model)
    return None if parts is None else StepDecoder(parts)


def attention_model(model: keras.Model) -> keras.Model:
    """A model from the seq2seq model's inputs to its attention weights (batch, target_length, source_length).

    It shares the model's layers (no copy of the weights). Teacher-forced: feed it the decoded ids shifted
    behind BOS to see the weights that free decoding used.

    Example:
        >>> weights = attention_model(model).predict({"source": ids, "decoder_input": shifted_ids})
    """
    if not has_attention(model):
        raise ValueError(f"{model.name} has no attention; build it with attention=True.")
    if isinstance(model, Seq2Seq):
        lengths = {SOURCE: model.hparams["source_length"], DECODER_INPUT: model.hparams["target_length"]}
    else:
        lengths = {tensor.name: int(tensor.shape[1]) for tensor in model.inputs}
    inputs = _inputs(lengths[SOURCE], lengths[DECODER_INPUT])
    parts = seq2seq_parts(model)
    return keras.Model(inputs, _forward(parts, inputs, return_attention=True), name=f"{model.name}_attention")
