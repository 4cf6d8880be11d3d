"""Text corpora for word embeddings (catalog section H: word2vec) and the files that judge embeddings.

- `synthetic_corpus` (offline): a seeded generated corpus with PLANTED relations. Word pairs of three
  families (capital:country, male:female, singular:plural) each get a role (which markers they occur with:
  "city, mayor, ..." for a capital, "nation, flag, ..." for a country) and an identity (a word shared by the
  two members of the pair: "greek" for athens and greece). A word's contexts are its role's markers plus its
  pair's identity word, so a good embedding makes `athens - greece + france` land on `paris`. The loader
  also writes the questions that test this (every a:b :: c:d within a family, in the layout of Mikolov's
  `questions-words.txt`) and word pairs whose gold similarity is the cosine of the two words' true context
  distributions under the grammar.
- `lm1b` (online): the One Billion Word benchmark from TensorFlow Datasets, by reference (streamed, never
  held whole), judged on the standard files: Mikolov's analogy questions (`questions-words.txt`) and
  WordSim-353, downloaded with `keras.utils.get_file` from gensim's test data (a well-kept copy of both).

`fit_vocabulary` turns the training sentences into a vocabulary and a frequency table (the adapter of the
word2vec models), streaming the sentences in batches. Nothing here imports TensorFlow at import time.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Iterable, Sequence

import numpy as np

from zoo.data import Split, Splits, dataset, split_arrays

PAD, UNKNOWN = "", "[UNK]"  # ids 0 and 1, as TextVectorization numbers them
QUESTIONS_WORDS_URL = ("https://raw.githubusercontent.com/piskvorky/gensim/develop/gensim/test/test_data/"
                       "questions-words.txt")
WORDSIM353_URL = "https://raw.githubusercontent.com/piskvorky/gensim/develop/gensim/test/test_data/wordsim353.tsv"
LM1B = "lm1b"

# ------------------------------------------------------------------------------------ evaluation files


def read_analogies(lines: Iterable[str]) -> list[list[str]]:
    """Analogy questions in the layout of Mikolov's `questions-words.txt`.

    ": section" lines open a section; every other non-empty line is "a b c d" (a is to b as c is to d).
    Words are lower-cased, as the vectoriser lower-cases text.

    Returns:
        [[section, a, b, c, d], ...] in file order.
    """
    section, questions = "", []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        words = line.lower().split()
        if len(words) != 4:
            raise ValueError(f"Analogy line {number} must hold 4 words (a b c d). Received: {line!r}")
        questions.append([section, *words])
    return questions


def read_word_similarity(lines: Iterable[str]) -> list[list]:
    """Word pairs with human similarity scores: WordSim-353's files (tab- or comma-separated).

    Lines starting with "#" and a header row (a score that is not a number, e.g. "Human (mean)") are
    skipped. Words are lower-cased.

    Returns:
        [[word1, word2, score], ...] in file order.
    """
    pairs = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in (line.split("\t") if "\t" in line else line.split(","))]
        if len(fields) < 3:
            raise ValueError(f"Similarity line {number} must hold word1, word2 and a score. Received: {line!r}")
        try:
            score = float(fields[2])
        except ValueError:
            if pairs:  # a header is only allowed before the first pair
                raise ValueError(f"Similarity line {number} has no numeric score. Received: {line!r}") from None
            continue
        if not math.isfinite(score):
            raise ValueError(f"Similarity line {number} has a non-finite score. Received: {line!r}")
        pairs.append([fields[0].lower(), fields[1].lower(), score])
    return pairs


def _read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def standard_evaluation_files(cache_dir: str | None = None) -> dict[str, Any]:
    """Mikolov's analogy questions and WordSim-353, downloaded once with `keras.utils.get_file`.

    Returns:
        {"analogies": [[section, a, b, c, d], ...], "similarity": [[w1, w2, score], ...], "evaluation_source"}.
    """
    import keras

    questions = keras.utils.get_file("questions-words.txt", QUESTIONS_WORDS_URL, cache_dir=cache_dir,
                                     cache_subdir="word2vec")
    wordsim = keras.utils.get_file("wordsim353.tsv", WORDSIM353_URL, cache_dir=cache_dir, cache_subdir="word2vec")
    return {"analogies": read_analogies(_read_lines(questions)),
            "similarity": read_word_similarity(_read_lines(wordsim)),
            "evaluation_source": {"analogies": QUESTIONS_WORDS_URL, "similarity": WORDSIM353_URL}}


def evaluation_fingerprint(info: dict) -> str:
    """A short hash of the analogy questions and similarity pairs an embedding is judged on."""
    payload = json.dumps([info.get("analogies", []), info.get("similarity", [])], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------- the planted grammar
# family -> (role-A markers, role-B markers, [(a, b, identity word shared by a and b), ...])
FAMILIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str, str], ...]]] = {
    "country-capital": (
        ("nation", "country", "border", "flag"), ("city", "capital", "mayor", "downtown"),
        (("greece", "athens", "greek"), ("france", "paris", "french"), ("germany", "berlin", "german"),
         ("italy", "rome", "italian"), ("spain", "madrid", "spanish"), ("japan", "tokyo", "japanese"),
         ("china", "beijing", "chinese"), ("russia", "moscow", "russian"), ("egypt", "cairo", "egyptian"),
         ("poland", "warsaw", "polish"), ("sweden", "stockholm", "swedish"), ("norway", "oslo", "norwegian")),
    ),
    "male-female": (
        ("he", "his", "him", "himself"), ("she", "her", "hers", "herself"),
        (("king", "queen", "royal"), ("man", "woman", "adult"), ("boy", "girl", "young"),
         ("father", "mother", "parent"), ("son", "daughter", "child"), ("brother", "sister", "sibling"),
         ("uncle", "aunt", "relative"), ("husband", "wife", "married"), ("prince", "princess", "palace"),
         ("actor", "actress", "stage")),
    ),
    "singular-plural": (
        ("one", "single", "this", "each"), ("many", "several", "these", "two"),
        (("cat", "cats", "pet"), ("dog", "dogs", "bark"), ("car", "cars", "road"), ("tree", "trees", "forest"),
         ("house", "houses", "street"), ("bird", "birds", "wing"), ("horse", "horses", "saddle"),
         ("apple", "apples", "fruit"), ("book", "books", "page"), ("ship", "ships", "sea")),
    ),
}
# Function words, drawn with Zipf's law (weight 1/rank): "the" is by far the most frequent word, the case
# that subsampling exists for.
FUNCTION_WORDS = ("the", "a", "of", "and", "in", "to", "is", "was", "that", "for")
# Sentence templates over slots: E the entity, M a marker of its role, I its pair's identity word, F a
# function word. Every content word is within three tokens of the entity.
TEMPLATES = ("F E F M I", "E M F I", "F I F E M", "M F E I F", "F E M F M I", "I F E F M", "F M E I")
MAX_SENTENCES = 200_000


def _entities() -> list[tuple[str, str, int, int, str]]:
    """(word, family, role 0/1, pair index, identity word) of every planted entity, in a fixed order."""
    out = []
    for family, (_, _, pairs) in FAMILIES.items():
        for index, (a, b, identity) in enumerate(pairs):
            out.append((a, family, 0, index, identity))
            out.append((b, family, 1, index, identity))
    return out


def planted_analogies() -> list[list[str]]:
    """Every a:b :: c:d of two different pairs of one family, both directions of the relation kept apart
    (a:b is role A to role B), as [[section, a, b, c, d], ...]."""
    questions = []
    for family, (_, _, pairs) in FAMILIES.items():
        for i, (a, b, _) in enumerate(pairs):
            for j, (c, d, _) in enumerate(pairs):
                if i != j:
                    questions.append([family, a, b, c, d])
    return questions


def _context_profiles() -> tuple[list[str], np.ndarray]:
    """Each entity's expected content-word context counts per sentence under the grammar (function words,
    shared by every word alike, are left out)."""
    slots = [template.split() for template in TEMPLATES]
    markers_per_sentence = float(np.mean([s.count("M") for s in slots]))
    identities_per_sentence = float(np.mean([s.count("I") for s in slots]))
    entities = _entities()
    content = sorted({m for a, b, _ in FAMILIES.values() for m in (*a, *b)} | {e[4] for e in entities})
    column = {w: k for k, w in enumerate(content)}
    profiles = np.zeros((len(entities), len(content)))
    for row, (_, family, role, _, identity) in enumerate(entities):
        markers = FAMILIES[family][role]
        for marker in markers:
            profiles[row, column[marker]] += markers_per_sentence / len(markers)
        profiles[row, column[identity]] += identities_per_sentence
    return [e[0] for e in entities], profiles


def planted_similarity(rng: np.random.Generator, per_level: int = 60) -> list[list]:
    """Word pairs with gold similarity 10 x the cosine of the two words' true context profiles.

    Every pair of one planted relation (highest), and `per_level` random pairs of each lower level (same
    role of one family; unrelated), so the gold ranks three clearly separated levels.
    """
    words, profiles = _context_profiles()
    unit = profiles / np.linalg.norm(profiles, axis=1, keepdims=True)
    gold = unit @ unit.T
    first, second = np.triu_indices(len(words), k=1)
    levels = np.round(gold[first, second], 6)
    chosen = []
    for level in sorted(set(levels.tolist()), reverse=True):
        at = np.flatnonzero(levels == level)
        if level < levels.max():
            at = rng.choice(at, size=min(per_level, len(at)), replace=False)
        chosen.extend(sorted(at.tolist()))
    return [[words[first[k]], words[second[k]], round(10.0 * float(gold[first[k], second[k]]), 4)] for k in chosen]


def generate_sentences(n: int, rng: np.random.Generator, noise: float = 0.0) -> np.ndarray:
    """`n` sentences of the planted grammar (object array of str); each is about one entity.

    With probability `noise`, each content slot (entity, marker or identity) holds a word drawn uniformly
    from all content words instead, which blurs the planted relations.
    """
    entities = _entities()
    words = np.array([e[0] for e in entities], dtype=object)
    identities = np.array([e[4] for e in entities], dtype=object)
    markers = np.array([FAMILIES[e[1]][e[2]] for e in entities], dtype=object)  # (entities, 4)
    function = np.array(FUNCTION_WORDS, dtype=object)
    zipf = 1.0 / np.arange(1, len(function) + 1)
    zipf /= zipf.sum()
    who = rng.integers(0, len(entities), size=n)
    template = rng.integers(0, len(TEMPLATES), size=n)
    content = np.array(sorted({*words, *identities, *markers.reshape(-1)}), dtype=object)
    sentences = np.empty(n, dtype=object)
    for t, pattern in enumerate(TEMPLATES):
        rows = np.flatnonzero(template == t)
        columns = []
        for slot in pattern.split():
            if slot == "E":
                columns.append(words[who[rows]])
            elif slot == "I":
                columns.append(identities[who[rows]])
            elif slot == "M":
                columns.append(markers[who[rows], rng.integers(0, markers.shape[1], size=len(rows))])
            else:
                columns.append(function[rng.choice(len(function), size=len(rows), p=zipf)])
                continue
            noisy = rng.random(len(rows)) < noise
            columns[-1] = np.where(noisy, content[rng.integers(0, len(content), size=len(rows))], columns[-1])
        sentences[rows] = [" ".join(tokens) for tokens in zip(*columns)]
    return sentences


@dataset("synthetic_corpus", offline=True,
         summary="Generated sentences with planted word relations (capital:country, male:female, "
                 "singular:plural), with their analogy questions and similarity pairs; seeded.")
def synthetic_corpus(*, seed: int = 0, data_dir=None, n: int = 8000, noise: float = 0.3) -> Splits:
    """The planted-relations corpus (see the module docstring).

    Args:
        n: number of sentences (split 80/10/10 into train/val/test).
        noise: probability that a content word of a sentence is replaced by a random content word.

    Returns:
        `Splits` of kind "corpus": x object arrays of sentences, y zeros (a corpus has no labels); `info`
        holds "analogies" ([[section, a, b, c, d], ...]) and "similarity" ([[w1, w2, gold], ...]).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 100 <= n <= MAX_SENTENCES:
        raise ValueError(f"synthetic_corpus generates between 100 and {MAX_SENTENCES:,} sentences. Received: n={n!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < 1:
        raise ValueError(f"`noise` must be in [0, 1). Received: noise={noise!r}")
    rng = np.random.default_rng(seed)
    sentences = generate_sentences(int(n), rng, float(noise))
    train, val, test = split_arrays(sentences, np.zeros(len(sentences), dtype="int32"), seed=seed, val=0.1,
                                    test=0.1, stratify=False)
    info = {"source": "synthetic", "analogies": planted_analogies(), "similarity": planted_similarity(rng)}
    return Splits("synthetic_corpus", "corpus", train, val, test, info=info)


@dataset(LM1B, offline=False,
         summary="TensorFlow Datasets 'lm1b': the One Billion Word benchmark (30M sentences), streamed; judged "
                 "on Mikolov's analogy questions and WordSim-353 (downloads on first use).")
def lm1b(*, seed: int = 0, data_dir: str | None = None, cache_dir: str | None = None) -> Splits:
    """lm1b by reference: TFDS prepares it in `data_dir` and the reader streams it; nothing is copied.

    Its published test split (306,688 sentences) is halved into validation and test (held-out loss only:
    embeddings are judged on the standard files in `info`, downloaded here).

    Returns:
        `Splits` of kind "corpus" whose splits are `zoo.data.stream.TfdsSplit` references yielding
        (sentence, sentence); `info` holds the analogies and similarity pairs.
    """
    from zoo.data.stream import TfdsSplit

    parts = {"train": "train", "val": "test[:50%]", "test": "test[50%:]"}
    train, val, test = (TfdsSplit(LM1B, split, image_key="text", label_key="text") for split in parts.values())
    info = {"source": f"tfds:{LM1B}", "tfds_data_dir": data_dir, **standard_evaluation_files(cache_dir)}
    return Splits(LM1B, "corpus", train, val, test, info=info)


# --------------------------------------------------------------------------------- vocabulary and counts
VOCABULARY_SENTENCES = 2_000_000  # sentences of a streamed training split that the vocabulary is counted on


def sentences_dataset(split, *, limit: int | None = None, data_dir: str | None = None):
    """The sentences of a split as a `tf.data.Dataset` of strings: arrays in memory, or a streamed TFDS split."""
    import tensorflow as tf

    from zoo.data.stream import TfdsSplit

    if isinstance(split, TfdsSplit):
        import tensorflow_datasets as tfds

        ds = tfds.load(split.name, split=split.split, shuffle_files=False, data_dir=data_dir)
        ds = ds.map(lambda e: e[split.image_key], num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = tf.data.Dataset.from_tensor_slices(np.asarray([str(s) for s in split.x], dtype=object).astype(str))
    return ds.take(limit) if limit else ds


def vectorizer(vocabulary: Sequence[str] | None = None, max_tokens: int | None = None):
    """The one tokenisation of every word2vec step: lower case, punctuation stripped, whitespace words,
    int64 ids (0 padding, 1 unknown, then the vocabulary in decreasing frequency), a batch padded with 0 to
    its longest sentence. Dense, not ragged: Keras makes ragged output only on the TensorFlow backend, and the
    training data map runs this layer (in tf.data) under any backend."""
    import keras

    words = None if vocabulary is None else [w for w in vocabulary if w not in (PAD, UNKNOWN)]
    return keras.layers.TextVectorization(max_tokens=max_tokens, vocabulary=words, output_mode="int",
                                          name="word_vectorization")


def fit_vocabulary(sentences, vocab_size: int, batch_size: int = 4096) -> tuple[list[str], list[int]]:
    """The `vocab_size` most frequent words of `sentences` (a dataset of strings) and their counts.

    Two streamed passes: `TextVectorization.adapt` picks the words, then a bincount of their ids counts
    them (id 1 counts every word outside the vocabulary).

    Returns:
        (vocabulary with "" and "[UNK]" first, counts of the same length).
    """
    import tensorflow as tf

    batches = sentences.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    layer = vectorizer(max_tokens=vocab_size)
    layer.adapt(batches)
    vocabulary = [str(w) for w in layer.get_vocabulary()]
    counts = np.zeros(len(vocabulary), dtype="int64")
    for ids in batches.map(lambda s: tf.math.bincount(layer(s), minlength=len(vocabulary),
                                                      maxlength=len(vocabulary), dtype=tf.int64)):
        counts += ids.numpy()
    counts[0] = 0  # the padding of each batch to its longest sentence
    return vocabulary, counts.tolist()


def adapt_corpus(spec, hparams, splits):
    """The word2vec adapter: fit the vocabulary and frequency table on the training sentences.

    Sentences stay text (the task's `tf.data` map tokenises them and makes the training pairs on the fly);
    `splits.info` gets "vocabulary" (id order) and "counts" (training-split frequencies, for subsampling and
    negative sampling), beside the loader's analogy questions and similarity pairs.
    """
    if splits.kind != "corpus":
        raise ValueError(f"{spec.name} trains on a text corpus (datasets of kind 'corpus'). "
                         f"Received: {splits.name} of kind {splits.kind!r}")
    vocab_size = int(hparams["vocab_size"])
    sentences = sentences_dataset(splits.train, limit=VOCABULARY_SENTENCES, data_dir=splits.info.get("tfds_data_dir"))
    vocabulary, counts = fit_vocabulary(sentences, vocab_size)
    if len(vocabulary) <= 2:
        raise ValueError(f"{splits.name}'s training split has no words to learn.")
    for _, split in splits.items():
        if isinstance(split, Split):
            split.x = np.asarray([str(s) for s in split.x], dtype=object)
    splits.info = {**splits.info, "vocabulary": vocabulary, "counts": counts, "vocab_size": vocab_size}
    return splits
