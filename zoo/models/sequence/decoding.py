"""Greedy autoregressive decoding: a teacher-forced sequence-to-sequence model writes a target by itself.

Training shows the decoder the true previous token at every step (teacher forcing). Generating has no
true tokens: the decoder starts from BOS and reads back its own most probable token, step by step, until
it writes EOS. `GreedyDecoding` does that with `keras.ops` only, unrolled over the target length, so the
model that wraps it exports as a TF SavedModel and serves sources alone.

For a zoo `seq2seq` model (either style, with or without attention) it runs the encoder once and then
one decoder step per token, carrying the LSTM states (`zoo.models.sequence.seq2seq.StepDecoder`). Any
other model is decoded through its teacher-forced interface alone, a dict {"source", "decoder_input"} ->
(batch, target_length, vocab) probabilities from a causal decoder: each step reruns the whole model
(target_length passes instead of one encoder pass and target_length decoder steps); a causal decoder's
output at step t depends only on inputs 0..t, so the result is the same. Tests check both paths against
a hand-written loop.
"""

from __future__ import annotations

import keras
from keras import ops

# Padding is id 0 in every sequence dataset, which is what the models' `mask_zero` embeddings mask.
from zoo.data.sequences import PAD_ID
from zoo.nn import check_positive_int, serializable

# The teacher-forced interface: the names of the model's two inputs.
SOURCE, DECODER_INPUT = "source", "decoder_input"


@serializable
class GreedyDecoding(keras.layers.Layer):
    """Source token ids (batch, source_length) -> greedily decoded target ids (batch, target_length), int32.

    Args:
        seq2seq: the trained teacher-forced model (any style).
        target_length: steps to decode: the model's target length.
        bos_id: the token the decoder reads first.
        eos_id: the token that ends a sequence; it is kept in the output, and every id after it is 0.

    A predicted PAD also ends the sequence. A finished sequence's decoder input stays padded, as in
    training, where the decoder never reads EOS.

    Example:
        >>> decode = GreedyDecoding(model, target_length=11, bos_id=1, eos_id=2)
        >>> ids = decode(source_ids)  # (batch, 11) int32
    """

    def __init__(self, seq2seq: keras.Model, target_length: int, bos_id: int = 1, eos_id: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.seq2seq = seq2seq
        self.target_length = check_positive_int("target_length", target_length)
        for name, value in (("bos_id", bos_id), ("eos_id", eos_id)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= PAD_ID:
                raise ValueError(f"`{name}` must be a positive token id (0 is padding). Received: {name}={value!r}")
        self.bos_id, self.eos_id = bos_id, eos_id

    def call(self, source):
        source = ops.cast(source, "int32")
        # Imported here: the seq2seq module imports this one.
        from zoo.models.sequence.seq2seq import step_decoder
        from zoo.models.transformer.transformer import transformer_parts

        if transformer_parts(self.seq2seq) is not None:  # encoder once, then cached decoder steps
            from zoo.models.transformer.decoding import decode

            return decode(self.seq2seq, source, self.target_length, bos_id=self.bos_id, eos_id=self.eos_id)
        stepper = step_decoder(self.seq2seq)
        if stepper is not None:
            return self._decode_step_by_step(stepper, source)
        return self._decode_by_reruns(source)

    def _decode_step_by_step(self, stepper, source):
        state = stepper.start(source)
        token = ops.zeros_like(source[:, 0]) + self.bos_id
        finished = ops.zeros_like(source[:, 0]) > 0
        tokens = []
        for _ in range(self.target_length):
            probabilities, state = stepper.step(token, state)
            token = ops.cast(ops.argmax(probabilities, axis=-1), "int32")
            token = ops.cast(ops.where(finished, PAD_ID, token), "int32")
            tokens.append(token)
            finished = finished | (token == self.eos_id) | (token == PAD_ID)
        return ops.stack(tokens, axis=1)

    def _decode_by_reruns(self, source):
        positions = ops.arange(self.target_length, dtype="int32")[None, :]
        # (batch, target_length): BOS, then padding the loop fills in one step at a time.
        first = ops.cast(ops.where(positions == 0, self.bos_id, PAD_ID), "int32")
        decoder_input = ops.zeros_like(source[:, :1]) + first
        finished = ops.zeros_like(source[:, 0]) > 0
        tokens = []
        for step in range(self.target_length):
            probabilities = self.seq2seq({SOURCE: source, DECODER_INPUT: decoder_input}, training=False)
            token = ops.cast(ops.argmax(probabilities[:, step, :], axis=-1), "int32")
            token = ops.cast(ops.where(finished, PAD_ID, token), "int32")
            tokens.append(token)
            finished = finished | (token == self.eos_id) | (token == PAD_ID)
            if step + 1 < self.target_length:
                fed = ops.cast(ops.where(finished, PAD_ID, token), "int32")
                decoder_input = ops.where(positions == step + 1, fed[:, None], decoder_input)
        return ops.stack(tokens, axis=1)

    def compute_output_spec(self, source):
        return keras.KerasTensor((source.shape[0], self.target_length), dtype="int32")

    def get_config(self):
        return {**super().get_config(), "seq2seq": keras.saving.serialize_keras_object(self.seq2seq),
                "target_length": self.target_length, "bos_id": self.bos_id, "eos_id": self.eos_id}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["seq2seq"] = keras.saving.deserialize_keras_object(config["seq2seq"])
        return cls(**config)


def greedy_decoder(seq2seq: keras.Model, *, source_length: int, target_length: int, bos_id: int = 1,
                   eos_id: int = 2, name: str | None = None) -> keras.Model:
    """The deployable decoder: a functional model from int32 "source" ids to int32 "token_ids".

    Example:
        >>> decoder = greedy_decoder(model, source_length=10, target_length=11)
        >>> decoder.export("saved_model")  # serves {"source": ids} -> decoded ids
    """
    source = keras.Input((check_positive_int("source_length", source_length),), dtype="int32", name=SOURCE)
    ids = GreedyDecoding(seq2seq, target_length, bos_id=bos_id, eos_id=eos_id, name="token_ids")(source)
    return keras.Model(source, ids, name=name or f"{seq2seq.name}_greedy_decoder")
