"""Text for the language models (catalog section F: `bert`, `gpt`) and the tokenizers learned from it.

- `synthetic_text` (offline): seeded sentences of a small grammar with structure a language model can learn
  in a minute: subject-verb number agreement ("the old fox chases the bird ." / "the old foxes chase ..."),
  counting ("four five six seven eight"), and copying ("anna likes bread so anna eats bread every day").
  Much of each sentence is predictable from its context, the rest (which noun, which number) is not:
  masked-token and next-token accuracy have a ceiling well above chance and well below 1.
- `lm1b` (online) is `zoo.data.corpus`'s streamed TFDS reference; the adapters here read it the same way.

Tokenizers are learned from the TRAINING split only, by well-kept libraries:
- WordPiece for BERT: `keras_hub.tokenizers.compute_word_piece_vocabulary` (TensorFlow Text's trainer),
  lower-cased, with BERT's reserved tokens first ([PAD] is id 0);
- byte-level BPE for GPT: Hugging Face `tokenizers` learns GPT-2-style merges; the vocabulary and merges
  run in `keras_hub.tokenizers.BytePairTokenizer` (TensorFlow ops, so they export with the model).
What they learn travels in the dataset's `info` ("vocabulary", and "merges" for BPE) to training,
evaluation and the serving model. Nothing here imports TensorFlow at import time.
"""

from __future__ import annotations

import json
from typing import Iterable

import numpy as np

from zoo.data import Split, Splits, dataset, split_arrays

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
WORDPIECE_RESERVED = [PAD, UNK, CLS, SEP, MASK]  # ids 0..4
END_OF_TEXT = "<|endoftext|>"  # GPT-2's one special token: start, end and padding of a text
TOKENIZER_SENTENCES = 200_000  # sentences of a (streamed) training split the tokenizers learn from
MAX_SENTENCES = 200_000

# ------------------------------------------------------------------------------------------ the grammar
NOUNS = (("cat", "cats"), ("dog", "dogs"), ("bird", "birds"), ("fox", "foxes"), ("horse", "horses"),
         ("child", "children"), ("farmer", "farmers"), ("teacher", "teachers"))
VERBS = (("sees", "see"), ("likes", "like"), ("chases", "chase"), ("helps", "help"), ("follows", "follow"))
ADJECTIVES = ("big", "small", "red", "old", "young", "happy", "quiet")
NAMES = ("anna", "ben", "carl", "dora", "emma", "finn")
FOODS = ("apples", "bread", "cheese", "rice", "soup", "cake")
NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
COUNT = 5


def generate_text(n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` sentences of the grammar (object array of str): agreement, counting and copying, in equal shares."""
    sentences = np.empty(n, dtype=object)
    kinds = rng.integers(0, 3, size=n)
    for i, kind in enumerate(kinds):
        if kind == 0:
            plural = int(rng.integers(0, 2))
            noun = NOUNS[rng.integers(len(NOUNS))][plural]
            verb = VERBS[rng.integers(len(VERBS))][plural]
            other = NOUNS[rng.integers(len(NOUNS))][int(rng.integers(0, 2))]
            adjective = ADJECTIVES[rng.integers(len(ADJECTIVES))]
            sentences[i] = f"the {adjective} {noun} {verb} the {other} ."
        elif kind == 1:
            start = int(rng.integers(0, len(NUMBERS) - COUNT + 1))
            sentences[i] = " ".join(NUMBERS[start:start + COUNT])
        else:
            name, food = NAMES[rng.integers(len(NAMES))], FOODS[rng.integers(len(FOODS))]
            sentences[i] = f"{name} likes {food} so {name} eats {food} every day"
    return sentences


@dataset("synthetic_text", offline=True,
         summary="Generated sentences of a small grammar (number agreement, counting, copying) for masked and "
                 "causal language modelling; seeded.")
def synthetic_text(*, seed: int = 0, data_dir=None, n: int = 6000) -> Splits:
    """The grammar's sentences split 80/10/10 (see the module docstring).

    Returns:
        `Splits` of kind "corpus": x object arrays of sentences, y zeros (a corpus has no labels).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 100 <= n <= MAX_SENTENCES:
        raise ValueError(f"synthetic_text generates between 100 and {MAX_SENTENCES:,} sentences. Received: n={n!r}")
    rng = np.random.default_rng(seed)
    sentences = generate_text(int(n), rng)
    train, val, test = split_arrays(sentences, np.zeros(len(sentences), dtype="int32"), seed=seed, val=0.1,
                                    test=0.1, stratify=False)
    return Splits("synthetic_text", "corpus", train, val, test, info={"source": "synthetic"})


# ----------------------------------------------------------------------------------------- the adapters
def _training_sentences(spec, splits):
    """The training split's sentences as a `tf.data.Dataset` of strings (at most TOKENIZER_SENTENCES)."""
    from zoo.data.corpus import sentences_dataset

    if splits.kind != "corpus":
        raise ValueError(f"{spec.name} trains on a text corpus (datasets of kind 'corpus'). "
                         f"Received: {splits.name} of kind {splits.kind!r}")
    return sentences_dataset(splits.train, limit=TOKENIZER_SENTENCES, data_dir=splits.info.get("tfds_data_dir"))


def _text_arrays(splits) -> None:
    for _, split in splits.items():
        if isinstance(split, Split):
            split.x = np.asarray([str(s) for s in split.x], dtype=object)


def learn_wordpiece(sentences, vocabulary_size: int) -> list[str]:
    """A lower-cased WordPiece vocabulary of at most `vocabulary_size` entries learned from `sentences` (a
    dataset of strings), BERT's reserved tokens first."""
    import keras_hub

    return list(keras_hub.tokenizers.compute_word_piece_vocabulary(
        sentences.batch(1024), vocabulary_size, lowercase=True, reserved_tokens=WORDPIECE_RESERVED))


def learn_bpe(sentences: Iterable[str], vocabulary_size: int) -> tuple[dict[str, int], list[str]]:
    """GPT-2-style byte-level BPE learned by Hugging Face `tokenizers`: (vocabulary {token: id}, merges
    ["a b", ...] in rank order). The 256 byte symbols are always in the vocabulary, so no text is unknown."""
    from tokenizers import ByteLevelBPETokenizer

    learner = ByteLevelBPETokenizer()
    learner.train_from_iterator(sentences, vocab_size=vocabulary_size, min_frequency=2,
                                special_tokens=[END_OF_TEXT], show_progress=False)
    model = json.loads(learner.to_str())["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return dict(model["vocab"]), merges


def adapt_wordpiece(spec, hparams, splits):
    """BERT's adapter: learn the WordPiece vocabulary on the training split; sentences stay text (the task's
    `tf.data` map tokenises and masks them)."""
    vocabulary = learn_wordpiece(_training_sentences(spec, splits), int(hparams["vocabulary_size"]))
    if len(vocabulary) <= len(WORDPIECE_RESERVED):
        raise ValueError(f"{splits.name}'s training split has no words to learn.")
    _text_arrays(splits)
    splits.info = {**splits.info, "tokenizer": "wordpiece", "vocabulary": vocabulary}
    return splits


def adapt_bpe(spec, hparams, splits):
    """GPT's adapter: learn byte-level BPE on the training split; sentences stay text."""
    sentences = (s.decode("utf-8", "replace") for s in _training_sentences(spec, splits).as_numpy_iterator())
    vocabulary, merges = learn_bpe(sentences, int(hparams["vocabulary_size"]))
    _text_arrays(splits)
    splits.info = {**splits.info, "tokenizer": "byte_pair", "vocabulary": vocabulary, "merges": merges,
                   "end_token": END_OF_TEXT}
    return splits


# --------------------------------------------------------------------------------------- the tokenizers
def _needs(info, keys, model):
    missing = [k for k in keys if k not in info]
    if missing:
        raise ValueError(f"{model} needs the tokenizer its adapter learns ({', '.join(missing)}); the data's info "
                         f"has only {sorted(info)}. Prepare the data again.")


def wordpiece_tokenizer(info, sequence_length: int | None = None):
    """BERT's tokenizer from `info`: lower-cased WordPiece; "[MASK]" (and the other reserved tokens) written
    in the text stay one token."""
    import keras_hub

    _needs(info, ("vocabulary",), "bert")
    return keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=list(info["vocabulary"]), sequence_length=sequence_length, lowercase=True,
        special_tokens=WORDPIECE_RESERVED, special_tokens_in_strings=True)


def bpe_tokenizer(info, sequence_length: int | None = None):
    """GPT's tokenizer from `info`: byte-level BPE with the end-of-text token kept whole."""
    import keras_hub

    _needs(info, ("vocabulary", "merges"), "gpt")
    return keras_hub.tokenizers.BytePairTokenizer(
        vocabulary=dict(info["vocabulary"]), merges=list(info["merges"]), sequence_length=sequence_length,
        unsplittable_tokens=[info.get("end_token", END_OF_TEXT)])
