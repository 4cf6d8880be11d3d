"""Specs of catalog section H's word2vec models (TensorFlow-free).

The defaults are the online configuration (lm1b: a 30,000-word vocabulary, 128 dimensions, window 5,
subsampling threshold 1e-4); `small` fits the offline `synthetic_corpus` (about 140 words), which the local
dry run and the tests use. Both are gated on analogy accuracy (3CosAdd), never on the training loss; the
word-similarity Spearman correlation is reported beside it.
"""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig

_TASK = "word_embedding"
_REFERENCE = ("Mikolov, Chen, Corrado & Dean 2013 (Efficient Estimation of Word Representations); Mikolov, "
              "Sutskever, Chen, Corrado & Dean 2013 (negative sampling, subsampling); seed 003 '{}'")
_COMMON = {"vocab_size": 30000, "embedding_dim": 128, "window": 5, "subsample": 1e-4, "max_length": 64}
# The planted corpus has ~140 words, each very frequent: t = 1e-2 still halves "the".
_SMALL = {"vocab_size": 160, "embedding_dim": 24, "window": 3, "subsample": 1e-2, "max_length": 8}
_TWO_INPUTS = ("it has two inputs (target and context words) meeting in a dot product; a keras.Sequential has one "
               "input and one path")


def _skipgram_inputs(hp):
    return {
        "target": TensorSig((None,), dtype="int32", low=2, high=hp["vocab_size"]),
        "context": TensorSig((None, 1 + hp["negatives"]), dtype="int32", low=2, high=hp["vocab_size"]),
    }


def _cbow_inputs(hp):
    return {"context": TensorSig((None, 2 * hp["window"]), dtype="int32", low=2, high=hp["vocab_size"])}


SPECS = [
    ModelSpec(
        name="word2vec_skipgram",
        family="embedding",
        task=_TASK,
        summary="Skip-gram with negative sampling: a word's vector predicts its window's words against "
                "unigram^0.75 negatives; subsampled frequent words.",
        reference=_REFERENCE.format("(2) Skip-gram"),
        impl="zoo.models.embedding.word2vec:SKIPGRAM",
        defaults={**_COMMON, "negatives": 5},
        signature=_skipgram_inputs,
        output="probability that each candidate (the true context word, then the negatives) is a context of the "
               "target, shape (batch, pairs, 1 + negatives); the deployed model takes a word and returns its vector "
               "and nearest words",
        offline_datasets=("synthetic_corpus",),
        online_datasets=("lm1b",),
        # No early stopping: the held-out loss is not what the embeddings are judged on.
        recipe=Recipe(loss="binary_crossentropy", learning_rate=3e-3, batch_size=64, epochs=8, monitor=None),
        # Measured on synthetic_corpus (small config, 2 CPU cores, seed 0): analogy accuracy 0.01 untrained
        # (chance is ~1/130), 0.08 after 1 epoch, 0.91 after 3, 0.997 after 8; similarity Spearman 0.88.
        gate=Gate(metric="analogy_accuracy", direction="max", floor=0.8,
                  # Mikolov's questions-words.txt: ~0.3-0.5 for a well-trained lm1b model (unknown words count
                  # as misses); a first deployment must at least be clearly above chance.
                  by_dataset={"lm1b": ("analogy_accuracy", "max", 0.1)}),
        styles={"sequential": _TWO_INPUTS, "functional": None, "subclass": None},
        small={**_SMALL, "negatives": 5},
        adapter="zoo.data.corpus:adapt_corpus",
        serving="zoo.models.embedding.word2vec:word_serving",
    ),
    ModelSpec(
        name="word2vec_cbow",
        family="embedding",
        task=_TASK,
        summary="CBOW: the mean of a window's word vectors predicts the centre word (full softmax); subsampled "
                "frequent words.",
        reference=_REFERENCE.format("(1) CBOW"),
        impl="zoo.models.embedding.word2vec:CBOW_STYLES",
        defaults=dict(_COMMON),
        signature=_cbow_inputs,
        output="probabilities of the centre word over the vocabulary, shape (batch, positions, vocab_size); the "
               "deployed model takes a word and returns its vector and nearest words",
        offline_datasets=("synthetic_corpus",),
        online_datasets=("lm1b",),
        recipe=Recipe(loss="sparse_categorical_crossentropy", learning_rate=1e-3, batch_size=64, epochs=8,
                      monitor=None),
        # Measured on synthetic_corpus (small config, 2 CPU cores, seed 0): analogy accuracy 0.01 untrained,
        # 0.21 after 1 epoch, 0.89 after 3, 0.997 after 8; similarity Spearman 0.87.
        gate=Gate(metric="analogy_accuracy", direction="max", floor=0.8,
                  by_dataset={"lm1b": ("analogy_accuracy", "max", 0.1)}),
        small=dict(_SMALL),
        adapter="zoo.data.corpus:adapt_corpus",
        serving="zoo.models.embedding.word2vec:word_serving",
    ),
]
