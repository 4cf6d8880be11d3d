"""Specs of catalog section E's sequence-to-sequence models (TensorFlow-free).

Token ids are right-padded with 0, 1 is BOS and 2 is EOS (`zoo.data.sequences`). The defaults fit the
offline reversal task (`synthetic_reverse`: 17 symbols, sources of 3-10 tokens, targets of 11 with EOS);
the recipe and the gate's floor are set from measured local runs on two CPU cores.
"""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig

_TWO_INPUTS = ("it has two inputs (the source and the shifted target) and the decoder starts from the encoder's "
               "final states; a keras.Sequential has one input and one path")


def _source_and_decoder_input(hp):
    # Random draws from [1, vocab) are unpadded sequences; 0 (padding) only ever follows a sequence's end.
    return {
        "source": TensorSig((hp["source_length"],), dtype="int32", low=1, high=hp["vocab_size"]),
        "decoder_input": TensorSig((hp["target_length"],), dtype="int32", low=1, high=hp["vocab_size"]),
    }


SPECS = [
    ModelSpec(
        name="seq2seq",
        family="sequence",
        task="sequence_to_sequence",
        summary="Encoder-decoder LSTM: the encoder's final states start the decoder; teacher-forced in training, "
                "greedy decoding in evaluation and serving.",
        reference="Sutskever, Vinyals & Le 2014; Cho et al. 2014; seed 003 '7.' (many to many, sequence-to-sequence)",
        impl="zoo.models.sequence.seq2seq:SEQ2SEQ",
        defaults={"vocab_size": 20, "embedding_dim": 32, "units": 128, "source_length": 10, "target_length": 11,
                  "weights": None},
        signature=_source_and_decoder_input,
        output="next-token probabilities per target step, shape (batch, target_length, vocab_size); the deployed "
               "model takes the source alone and returns greedily decoded token ids, shape (batch, target_length)",
        offline_datasets=("synthetic_reverse",),
        # Words, not symbols: e.g. --hparam vocab_size=8000 --hparam source_length=40 --hparam target_length=41
        # --hparam units=256 (the adapter names any size that does not fit the data).
        online_datasets=("ted_hrlr_translate",),
        recipe=Recipe(loss="sparse_categorical_crossentropy", metrics=("accuracy",), learning_rate=3e-3,
                      batch_size=64, epochs=20, patience=3),
        gate=Gate(metric="token_accuracy", direction="max", floor=0.9),
        styles={"sequential": _TWO_INPUTS, "functional": None, "subclass": None},
        adapter="zoo.tasks.sequence:adapt_sequences",
    ),
]
