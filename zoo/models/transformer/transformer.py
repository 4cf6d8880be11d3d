"""The Transformer (Vaswani et al. 2017, "Attention Is All You Need"): an encoder-decoder built from attention.

    source ids ─► Embedding·√d + PE ─► [self-attention ─► add & norm ─► FFN ─► add & norm] × N ─► memory
    [BOS]+target[:-1] ─► Embedding·√d + PE ─► [masked self-attention ─► add & norm ─►
        attention over memory ─► add & norm ─► FFN ─► add & norm] × N ─► Dense ─► softmax over the vocabulary

Post-norm as in the paper (x = LayerNorm(x + Dropout(sublayer(x)))); every attention splits d_model across
its heads (d_k = d_v = d_model / h); sinusoidal positions; residual and embedding dropout. Masks: the encoder
and the cross-attention never attend to source padding; the decoder's self-attention is causal (position i
sees positions <= i) and never attends to target padding. The blocks are in `zoo.models.transformer.layers`.

Input: a dict of int32 ids right-padded with 0, "source" (batch, source_length) and "decoder_input" (batch,
target_length), as `seq2seq` takes (the `sequence_to_sequence` task feeds it, teacher-forced).
Output: float32 next-token probabilities (batch, target_length, vocab_size). Padded target positions get
probabilities too; the task weighs them 0.

Differences from the paper, all as in the TensorFlow tutorial ("Neural machine translation with a
Transformer and Keras"): separate source and target vocabularies, so the two embeddings and the output layer
share no weights (the paper ties them over one shared BPE vocabulary); no dropout on the attention weights
(the paper has none either; the tutorial adds it: no weights). Decoding (`zoo.models.transformer.decoding`)
runs the encoder once and then one decoder step per token with a key/value cache, through KerasHub's samplers.

Sizes (`CONFIGS`, pinned by tests): the default (2 layers, d_model 64, 4 heads, d_ff 256, vocabulary 20)
has 237,332 parameters; `small` (the local run and the standard tests: d_model 32, d_ff 64) 44,692; the TensorFlow tutorial's
sizes (4 layers, d_model 128, 8 heads, d_ff 512, dropout 0.1, vocabularies 7,765 Portuguese and 7,010
English) 4,646,882 (encoder 1,787,008, decoder 1,955,584, output layer 904,290) with heads of d_model / h = 16 dimensions, as here and in the paper. The tutorial's own code
reports 10,184,162 because its attention layers are `MultiHeadAttention(num_heads=8, key_dim=d_model)`: each of
its 8 heads projects to all 128 dimensions (8 x 128 = 1,024 per projection), which does not split d_model
across heads; `head_dim=128` reproduces that count exactly (a test checks both).
"""

from __future__ import annotations

import keras

from zoo.models.sequence.decoding import DECODER_INPUT, SOURCE
from zoo.models.transformer.layers import (TokenAndSinePositionEmbedding, TransformerDecoderBlock,
                                           TransformerEncoderBlock, causal_mask, check_heads, key_mask,
                                           padding_mask)
from zoo.models.cnn.common import check_rate
from zoo.nn import Styles, check_positive_int, dense_head, serializable

NAME = "transformer"
SAMPLERS = ("greedy", "top_k", "top_p")

#: Named configurations: `zoo.build("transformer", **CONFIGS["tutorial"])`.
CONFIGS = {
    "default": {"num_layers": 2, "d_model": 64, "num_heads": 4, "ff_dim": 256, "dropout": 0.1, "vocab_size": 20},
    "small": {"num_layers": 2, "d_model": 32, "num_heads": 4, "ff_dim": 64, "dropout": 0.0, "vocab_size": 20},
    # The TensorFlow tutorial's Transformer on ted_hrlr_translate/pt_to_en (its tokenizers' vocabularies).
    "tutorial": {"num_layers": 4, "d_model": 128, "num_heads": 8, "ff_dim": 512, "dropout": 0.1,
                 "source_vocab_size": 7765, "vocab_size": 7010},
}


# ----------------------------------------------------------------------------------------------- stacks
@serializable
class TransformerEncoder(keras.layers.Layer):
    """Source ids (batch, S) -> memory (batch, S, d_model): embedding and positions, then N encoder blocks.

    Padding (id 0) is masked in every block; the mask comes from the ids.
    """

    def __init__(self, vocab_size, num_layers, d_model, num_heads, ff_dim, dropout=0.0, head_dim=None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.num_layers = vocab_size, check_positive_int("num_layers", num_layers)
        self.d_model, self.num_heads, self.ff_dim, self.dropout, self.head_dim = (
            d_model, num_heads, ff_dim, dropout, head_dim)
        self.embedding = TokenAndSinePositionEmbedding(vocab_size, d_model, dropout, name="embedding")
        self.blocks = [TransformerEncoderBlock(d_model, num_heads, ff_dim, dropout, head_dim, name=f"block_{i + 1}")
                       for i in range(num_layers)]

    def build(self, ids_shape):
        self.embedding.build(ids_shape)
        for block in self.blocks:
            block.build((*ids_shape, self.d_model))
        self.built = True

    def call(self, ids, training=None):
        mask = padding_mask(ids)
        x = self.embedding(ids, training=training)
        for block in self.blocks:
            x = block(x, padding_mask=mask, training=training)
        return x

    def compute_output_shape(self, ids_shape):
        return (*ids_shape, self.d_model)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "num_layers": self.num_layers,
                "d_model": self.d_model, "num_heads": self.num_heads, "ff_dim": self.ff_dim,
                "dropout": self.dropout, "head_dim": self.head_dim}


@serializable
class TransformerDecoder(TransformerEncoder):
    """Target ids so far (batch, T) and memory -> (batch, T, d_model): embedding and positions, N decoder blocks.

    Call arguments: ids (batch, T); memory (batch, S, d_model); memory_mask bool (batch, S), False at
    source padding. `start_cache`, `project_memory` and `step` decode incrementally.
    """

    def __init__(self, vocab_size, num_layers, d_model, num_heads, ff_dim, dropout=0.0, head_dim=None, **kwargs):
        super().__init__(vocab_size, num_layers, d_model, num_heads, ff_dim, dropout, head_dim, **kwargs)
        self.blocks = [TransformerDecoderBlock(d_model, num_heads, ff_dim, dropout, head_dim, name=f"block_{i + 1}")
                       for i in range(num_layers)]

    def build(self, ids_shape, memory_shape=None, memory_mask_shape=None):
        self.embedding.build(ids_shape)
        memory_shape = memory_shape or (ids_shape[0], None, self.d_model)
        for block in self.blocks:
            block.build((*ids_shape, self.d_model), memory_shape)
        self.built = True

    def call(self, ids, memory, memory_mask=None, training=None):
        length = ids.shape[1]
        # Causal and padding: position i attends to the real target positions j <= i.
        self_mask = causal_mask(length) & key_mask(padding_mask(ids))
        x = self.embedding(ids, training=training)
        for block in self.blocks:
            x = block(x, memory, self_attention_mask=self_mask, memory_mask=memory_mask, training=training)
        return x

    # ---------------------------------------------------------------------------- incremental decoding
    def start_cache(self, batch_size, max_length, dtype):
        """Zeros (batch, num_layers, 2, max_length, heads, head_dim): every layer's self-attention keys, values."""
        head_dim = check_heads(self.d_model, self.num_heads, self.head_dim)
        return keras.ops.zeros((batch_size, self.num_layers, 2, max_length, self.num_heads, head_dim), dtype=dtype)

    def project_memory(self, memory):
        """Each block's cross-attention keys and values of `memory`: computed once per source."""
        return [block.cross_attention.project_key_value(memory) for block in self.blocks]

    def step(self, ids, index, cache, memory_key_values, memory_mask):
        """The decoder's output at position `index` from the token there, ids (batch, 1), reading and
        extending the cache; returns ((batch, 1, d_model), cache)."""
        x = self.embedding(ids, start_index=index, training=False)
        layers = []
        for i, block in enumerate(self.blocks):
            x, layer_cache = block.step(x, cache[:, i], index, memory_key_values[i], memory_mask)
            layers.append(layer_cache)
        return x, keras.ops.stack(layers, axis=1)

    def compute_output_shape(self, ids_shape, memory_shape=None, memory_mask_shape=None):
        return (*ids_shape, self.d_model)


# ---------------------------------------------------------------------------------------------- layers
def check_decoding_args(sampler, k, p) -> None:
    """One-line ValueErrors for the decoding hyperparameters (they shape no weight)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"`sampler` must be one of {', '.join(SAMPLERS)}. Received: sampler={sampler!r}")
    check_positive_int("k", k)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < p <= 1.0:
        raise ValueError(f"`p` must be a number in (0, 1]. Received: p={p!r}")


def transformer_layers(*, vocab_size=20, source_vocab_size=None, source_length=10, target_length=11, num_layers=2,
                       d_model=64, num_heads=4, ff_dim=256, head_dim=None, dropout=0.1, sampler="greedy", k=5,
                       p=0.9, **_) -> dict[str, keras.layers.Layer]:
    """The three parts, in the order of the model's weights in both styles.

    Args:
        vocab_size: target ids (0 pads, 1 BOS, 2 EOS), and source ids unless `source_vocab_size` is set.
        source_vocab_size: source ids, when the source language has its own vocabulary (None: `vocab_size`).
        source_length, target_length: ids per source and per target (the model's input lengths).
        num_layers: N, encoder blocks and decoder blocks each.
        d_model: model dimension; num_heads: h; head_dim: d_k (None: d_model / h, which must divide);
        ff_dim: d_ff, the feed-forward inner size; dropout: P_drop (embeddings and every residual).
        sampler, k, p: how the deployed model decodes ("greedy", "top_k" with k, "top_p" with p);
            evaluation always decodes greedily.

    Returns:
        {"encoder": TransformerEncoder, "decoder": TransformerDecoder, "predictions": the float32 softmax}.
    """
    check_positive_int("vocab_size", vocab_size)
    if source_vocab_size is not None:
        check_positive_int("source_vocab_size", source_vocab_size)
    check_positive_int("source_length", source_length)
    check_positive_int("target_length", target_length)
    check_positive_int("ff_dim", ff_dim)
    check_heads(d_model, num_heads, head_dim)
    check_rate("dropout", dropout)
    check_decoding_args(sampler, k, p)
    stack = {"num_layers": num_layers, "d_model": d_model, "num_heads": num_heads, "ff_dim": ff_dim,
             "dropout": dropout, "head_dim": head_dim}
    return {
        "encoder": TransformerEncoder(source_vocab_size or vocab_size, name="encoder", **stack),
        "decoder": TransformerDecoder(vocab_size, name="decoder", **stack),
        "predictions": dense_head(vocab_size, "softmax"),
    }


def _inputs(source_length: int, target_length: int) -> dict[str, keras.KerasTensor]:
    return {SOURCE: keras.Input((source_length,), dtype="int32", name=SOURCE),
            DECODER_INPUT: keras.Input((target_length,), dtype="int32", name=DECODER_INPUT)}


def _forward(parts, inputs, training=None):
    """The teacher-forced pass, shared by both styles."""
    source = inputs[SOURCE]
    memory = parts["encoder"](source, training=training)
    states = parts["decoder"](inputs[DECODER_INPUT], memory, memory_mask=padding_mask(source), training=training)
    return parts["predictions"](states)


def _functional(**hparams) -> keras.Model:
    parts = transformer_layers(**hparams)
    inputs = _inputs(hparams["source_length"], hparams["target_length"])
    return keras.Model(inputs, _forward(parts, inputs), name=NAME)


HPARAMS = ("vocab_size", "source_vocab_size", "source_length", "target_length", "num_layers", "d_model",
           "num_heads", "ff_dim", "head_dim", "dropout", "sampler", "k", "p")


@serializable
class Transformer(keras.Model):
    """The encoder-decoder Transformer as a `keras.Model` subclass; arguments as `transformer_layers`.

    Example:
        >>> model = Transformer(vocab_size=20, source_length=10, target_length=11)
        >>> probabilities = model({"source": source_ids, "decoder_input": shifted_target_ids})
    """

    def __init__(self, vocab_size=20, source_vocab_size=None, source_length=10, target_length=11, num_layers=2,
                 d_model=64, num_heads=4, ff_dim=256, head_dim=None, dropout=0.1, sampler="greedy", k=5, p=0.9,
                 name=None):
        super().__init__(name=name or NAME)
        values = locals()
        self.hparams = {key: values[key] for key in HPARAMS}
        parts = transformer_layers(**self.hparams)
        self.encoder = parts["encoder"]
        self.decoder = parts["decoder"]
        self.predictions = parts["predictions"]
        self.build({SOURCE: (None, source_length), DECODER_INPUT: (None, target_length)})

    def parts(self) -> dict[str, keras.layers.Layer]:
        return {"encoder": self.encoder, "decoder": self.decoder, "predictions": self.predictions}

    def build(self, input_shape):
        source, target = tuple(input_shape[SOURCE]), tuple(input_shape[DECODER_INPUT])
        d_model = self.hparams["d_model"]
        if not self.encoder.built:
            self.encoder.build(source)
        if not self.decoder.built:
            self.decoder.build(target, (*source, d_model))
        if not self.predictions.built:
            self.predictions.build((*target, d_model))
        self.built = True

    def call(self, inputs, training=None):
        return _forward(self.parts(), inputs, training=training)

    def get_config(self):
        return {"name": self.name, **self.hparams}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


TRANSFORMER = Styles(sequential=None, functional=_functional, subclass=lambda **hp: Transformer(**hp))


def transformer_parts(model: keras.Model) -> dict[str, keras.layers.Layer] | None:
    """The encoder, decoder and output layer of a zoo transformer in either style; None for any other model."""
    if isinstance(model, Transformer):
        return model.parts()
    try:
        parts = {name: model.get_layer(name) for name in ("encoder", "decoder", "predictions")}
    except (ValueError, AttributeError):
        return None
    if type(parts["encoder"]) is not TransformerEncoder or not isinstance(parts["decoder"], TransformerDecoder):
        return None
    return parts


# Importing the decoding module registers its layer with Keras wherever the model module is imported.
from zoo.models.transformer import decoding as _decoding  # noqa: E402,F401
