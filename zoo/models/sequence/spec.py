"""Specs of catalog section E's sequence-to-sequence models (TensorFlow-free).

Token ids are right-padded with 0, 1 is BOS and 2 is EOS (`zoo.data.sequences`). The defaults fit the
offline reversal task (`synthetic_reverse`: 17 symbols, sources of 3-10 tokens, targets of 11 with EOS);
the recipe and the gate's floor are set from measured local runs on two CPU cores.

Online, seq2seq translates TED talks (`ted_hrlr_translate`, Qi et al. 2018): the dataset name picks the
language pair as TFDS names its configurations, `ted_hrlr_translate/ru_to_en` (the bare name is
`pt_to_en`), e.g. `zoo run seq2seq --dataset ted_hrlr_translate/ru_to_en --hparam vocab_size=8000 ...`.
Those runs are gated on corpus BLEU (sacrebleu) of the greedily decoded test translations; the offline
reversal keeps token accuracy (and reports BLEU beside it).
"""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig

# TFDS' ted_hrlr_translate configurations (source_to_target). `zoo.data.sequences.TED_PAIRS` is the same
# list (a test holds them equal); it is repeated here because specs must not import the data package.
TED_PAIRS = ("az_to_en", "aztr_to_en", "be_to_en", "beru_to_en", "es_to_pt", "fr_to_pt", "gl_to_en", "glpt_to_en",
             "he_to_pt", "it_to_pt", "pt_to_en", "ru_to_en", "ru_to_pt", "tr_to_en")
TED_DATASETS = ("ted_hrlr_translate", *(f"ted_hrlr_translate/{pair}" for pair in TED_PAIRS))

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
        summary="Encoder-decoder LSTM: the encoder's final states start the decoder (option `attention`: Bahdanau "
                "additive attention over the encoder's outputs); teacher-forced in training, greedy decoding in "
                "evaluation and serving.",
        reference="Sutskever, Vinyals & Le 2014; Cho et al. 2014; Bahdanau, Cho & Bengio 2015 (attention); seed 003 "
                  "'7.' (many to many, sequence-to-sequence); seed 001 'Attenion'",
        impl="zoo.models.sequence.seq2seq:SEQ2SEQ",
        defaults={"vocab_size": 20, "embedding_dim": 32, "units": 128, "source_length": 10, "target_length": 11,
                  "attention": False, "weights": None},
        signature=_source_and_decoder_input,
        output="next-token probabilities per target step, shape (batch, target_length, vocab_size); the deployed "
               "model takes the source alone and returns greedily decoded token ids, shape (batch, target_length)",
        offline_datasets=("synthetic_reverse",),
        # Words, not symbols: e.g. --hparam vocab_size=8000 --hparam source_length=40 --hparam target_length=41
        # --hparam units=256; vocab_size and source_length also size the data (each language's vocabulary, the
        # longest sentence kept), and the adapter names any size that does not fit.
        online_datasets=TED_DATASETS,
        recipe=Recipe(loss="sparse_categorical_crossentropy", metrics=("accuracy",), learning_rate=3e-3,
                      batch_size=64, epochs=20, patience=3),
        # Measured `zoo run seq2seq --local` (synthetic_reverse, 20 epochs, 2 CPU cores): plain token accuracy
        # 0.987, sequence accuracy 0.942, BLEU 96.7 (1 min 48 s); attention=true 1.000, 1.000, BLEU 100 (3 min 33 s).
        # Corpus BLEU has no per-example scores: the gate compares point estimates on the translation sets.
        gate=Gate(metric="token_accuracy", direction="max", floor=0.9,
                  by_dataset={name: ("bleu", "max", None) for name in TED_DATASETS}),
        styles={"sequential": _TWO_INPUTS, "functional": None, "subclass": None},
        adapter="zoo.tasks.sequence:adapt_sequences",
    ),
]
