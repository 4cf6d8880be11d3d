"""Word embeddings (word2vec): training examples made on the fly from sentences, embeddings judged on
analogies and word similarity, vectors exported for the TensorBoard Embedding Projector.

Data. A dataset of kind "corpus" holds sentences (text); the adapter (`zoo.data.corpus.adapt_corpus`)
fits the vocabulary and the training split's word counts. `example_map` turns ONE sentence into a fixed
block of training examples inside `tf.data` (so batching, shuffling and streaming work as for every other
task, and the block's padding gets sample weight 0):

1. tokenise with the fitted vocabulary (`zoo.data.corpus.vectorizer`); unknown words are dropped, as in
   word2vec;
2. subsample frequent words (Mikolov et al. 2013): a word of training frequency f is kept with probability
   min(1, sqrt(t / f)), t the `subsample` hyperparameter, i.e. discarded with probability 1 - sqrt(t / f);
3. keep the first `max_length` words and pad the sentence to `max_length`;
4. skip-gram: every (target, context) pair at distance 1..`window` inside the sentence (never across
   sentences: a block is one sentence), each with `negatives` words drawn from the unigram^0.75
   distribution (`tf.random.stateless_categorical` over log-probabilities) -> {"target": (P,),
   "context": (P, 1 + negatives)}, labels (P, 1 + negatives) = [1, 0, ..., 0], weights (P,), with
   P = max_length * 2 * window;
   CBOW: for every position, its window's 2 * window words (0 outside the sentence) -> context
   (max_length, 2 * window), centre word ids (max_length,), weights (max_length,).

The random draws are stateless, seeded by a hash of the sentence: the pipeline is deterministic whatever its
parallelism, and a sentence gets the same draws every epoch.

Evaluation (the gate never reads the loss):
- "analogy_accuracy": a:b :: c:? answered by 3CosAdd over unit vectors (argmax cos(x, b - a + c), the three
  question words excluded), over ALL questions, a question with a word outside the vocabulary counting as a
  miss, so its per-question hits pair up across runs for McNemar's test. Also reported:
  "analogy_accuracy_covered" (over the questions whose four words are known, Mikolov's figure) and
  "analogy_coverage".
- "similarity_spearman": Spearman's rank correlation (scipy) between the cosine similarity of word pairs
  and their gold scores, over the pairs whose words are known ("similarity_coverage").
- "loss": the training loss on held-out sentences, for comparison.

Pictures: the vectors for the Embedding Projector (`vectors.tsv`, `metadata.tsv` and a
`projector_config.pbtxt`, beside the pictures) and a PNG of analogy pairs in the first two principal
components.

Serving: the spec's `serving` wrapper (a word in, its vector and nearest words out).
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from zoo.metrics import Metric, register_metric
from zoo.tasks.base import Evaluation, Task

ANALOGY_ACCURACY = register_metric(Metric("analogy_accuracy", "max", None, paired_test="mcnemar"))
register_metric(Metric("analogy_accuracy_covered", "max", None))
register_metric(Metric("analogy_coverage", "max", None))
SIMILARITY_SPEARMAN = register_metric(Metric("similarity_spearman", "max", None))
register_metric(Metric("similarity_coverage", "max", None))

LOSS_BATCHES = 50  # held-out batches the reported loss reads (it is a side figure, not the gate's)
PROJECTOR_WORDS = 10_000  # the most frequent words written for the Embedding Projector
PICTURE_PAIRS = 12
_SALT_SUBSAMPLE, _SALT_NEGATIVES = 17, 29


# ------------------------------------------------------------------------------------------ frequencies
def keep_probabilities(counts: Sequence[int], subsample: float) -> np.ndarray:
    """Per word id, the probability that subsampling keeps an occurrence: min(1, sqrt(t / f)).

    f is the word's share of the counted words; padding and the unknown word (ids 0 and 1) are never kept.
    """
    counts = np.asarray(counts, dtype="float64")
    frequency = counts / max(counts.sum(), 1.0)
    with np.errstate(divide="ignore"):
        keep = np.minimum(1.0, np.sqrt(subsample / frequency))
    keep[:2] = 0.0
    keep[counts == 0] = 0.0
    return keep.astype("float32")


def negative_log_probabilities(counts: Sequence[int]) -> np.ndarray:
    """Log-probabilities of the negative-sampling distribution, unigram^0.75 (-inf for ids 0, 1, unseen)."""
    weights = np.asarray(counts, dtype="float64") ** 0.75
    weights[:2] = 0.0
    with np.errstate(divide="ignore"):
        return np.log(weights / weights.sum()).astype("float32")


def _vocabulary(info: Mapping[str, Any], hparams: Mapping[str, Any]) -> tuple[list[str], list[int]]:
    if "vocabulary" not in info or "counts" not in info:
        raise ValueError(f"word2vec needs the vocabulary and counts its adapter fits; the data's info has only "
                         f"{sorted(info)}. Prepare the data again.")
    vocabulary, counts = list(info["vocabulary"]), list(info["counts"])
    if len(vocabulary) > int(hparams["vocab_size"]):
        raise ValueError(f"The data's vocabulary has {len(vocabulary)} words but the model has vocab_size="
                         f"{hparams['vocab_size']}; set --hparam vocab_size={len(vocabulary)} or prepare the data "
                         "with this model.")
    return vocabulary, counts


# ------------------------------------------------------------------------------------ the tf.data maps
def _sentence_ids(vocabulary, counts, subsample: float, max_length: int):
    """A function sentence -> (kept ids padded to max_length (int32), their count, the sentence's seed)."""
    import tensorflow as tf

    from zoo.data.corpus import vectorizer

    layer = vectorizer(vocabulary)
    keep = tf.constant(keep_probabilities(counts, subsample))

    def ids_of(sentence):
        sentence = tf.reshape(sentence, ())
        seed = tf.strings.to_hash_bucket_fast(sentence, 2 ** 62)
        ids = tf.cast(layer(sentence[None])[0], tf.int32)  # one sentence: no padding
        draw = tf.random.stateless_uniform(tf.shape(ids), seed=tf.stack([seed, _SALT_SUBSAMPLE]))
        ids = tf.boolean_mask(ids, draw < tf.gather(keep, ids))[:max_length]
        count = tf.size(ids)
        padded = tf.pad(ids, [[0, max_length - count]])
        return tf.ensure_shape(padded, (max_length,)), count, seed

    return ids_of


def _windows(padded, count, window: int, max_length: int):
    """(ids of each position's window (max_length, 2 * window), 0 outside the sentence; the valid mask)."""
    import tensorflow as tf

    offsets = tf.constant([o for o in range(-window, window + 1) if o != 0], tf.int32)
    positions = tf.range(max_length)[:, None]
    neighbours = positions + offsets[None, :]
    valid = (positions < count) & (neighbours >= 0) & (neighbours < count)
    ids = tf.gather(padded, tf.clip_by_value(neighbours, 0, max_length - 1))
    return tf.where(valid, ids, tf.zeros_like(ids)), valid


def skipgram_examples(vocabulary, counts, *, window: int, negatives: int, subsample: float, max_length: int):
    """The skip-gram example map: sentence -> ({"target", "context"}, labels, weights) (see the module doc)."""
    import tensorflow as tf

    ids_of = _sentence_ids(vocabulary, counts, subsample, max_length)
    log_probabilities = tf.constant(negative_log_probabilities(counts))[None, :]
    pairs = max_length * 2 * window
    labels = tf.concat([tf.ones((pairs, 1)), tf.zeros((pairs, negatives))], axis=1)

    def make(sentence, _=None):
        padded, count, seed = ids_of(sentence)
        contexts, valid = _windows(padded, count, window, max_length)
        targets = tf.where(valid, tf.broadcast_to(padded[:, None], tf.shape(contexts)), 0)
        valid = tf.reshape(valid, (pairs,))
        drawn = tf.random.stateless_categorical(log_probabilities, pairs * negatives,
                                                seed=tf.stack([seed, _SALT_NEGATIVES]), dtype=tf.int32)
        drawn = tf.where(valid[:, None], tf.reshape(drawn, (pairs, negatives)), 0)
        candidates = tf.concat([tf.reshape(contexts, (pairs, 1)), drawn], axis=1)
        inputs = {"target": tf.reshape(targets, (pairs,)), "context": candidates}
        return inputs, labels, tf.cast(valid, tf.float32)

    return make


def cbow_examples(vocabulary, counts, *, window: int, subsample: float, max_length: int):
    """The CBOW example map: sentence -> (context windows, centre ids, weights) (see the module doc)."""
    import tensorflow as tf

    ids_of = _sentence_ids(vocabulary, counts, subsample, max_length)

    def make(sentence, _=None):
        padded, count, _seed = ids_of(sentence)
        contexts, valid = _windows(padded, count, window, max_length)
        weights = tf.cast(tf.reduce_any(valid, axis=1), tf.float32)
        return contexts, padded, weights

    return make


# ------------------------------------------------------------------------------------------ evaluation
def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype="float64")
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _ids(vocabulary: Sequence[str]) -> dict[str, int]:
    return {str(w): i for i, w in enumerate(vocabulary) if i >= 2}


def analogy_hits(vectors: np.ndarray, vocabulary: Sequence[str], questions: Sequence[Sequence[str]],
                 chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Answer a:b :: c:? by 3CosAdd and score each question.

    Args:
        vectors: (words, dim) word vectors, row i for `vocabulary[i]` (ids 0 and 1 are never answers).
        vocabulary: the words by id.
        questions: [a, b, c, d] or [section, a, b, c, d] rows.

    Returns:
        (hits, covered): per question, 1.0 when the answer is d (0.0 otherwise, and for a question with a
        word outside the vocabulary), and whether all four words are in the vocabulary.
    """
    index = _ids(vocabulary)
    unit = _unit(vectors)
    rows = np.array([[index.get(str(w).lower(), -1) for w in q[-4:]] for q in questions], dtype="int64")
    rows = rows.reshape(-1, 4)
    covered = np.all(rows >= 0, axis=1)
    hits = np.zeros(len(rows))
    known = np.flatnonzero(covered)
    for start in range(0, len(known), chunk):
        at = known[start:start + chunk]
        a, b, c, d = rows[at].T
        scores = (unit[b] - unit[a] + unit[c]) @ unit.T
        scores[:, :2] = -np.inf
        lines = np.arange(len(at))
        for excluded in (a, b, c):
            scores[lines, excluded] = -np.inf
        hits[at] = (scores.argmax(axis=1) == d).astype("float64")
    return hits, covered


def similarity_correlation(vectors: np.ndarray, vocabulary: Sequence[str],
                           pairs: Sequence[Sequence]) -> tuple[float, float]:
    """Spearman's rank correlation between cosine similarity and the gold scores of word pairs.

    Returns:
        (rho over the pairs whose two words are known, or 0.0 when fewer than 3 are; share of pairs known).
    """
    from scipy.stats import spearmanr

    index = _ids(vocabulary)
    unit = _unit(vectors)
    known = [(index[str(w1).lower()], index[str(w2).lower()], float(s)) for w1, w2, s in pairs
             if str(w1).lower() in index and str(w2).lower() in index]
    coverage = len(known) / len(pairs) if pairs else 0.0
    if len(known) < 3:
        return 0.0, coverage
    first, second, gold = (np.array(column) for column in zip(*known))
    cosine = np.sum(unit[first] * unit[second], axis=1)
    rho = spearmanr(gold, cosine).statistic
    return (float(rho) if np.isfinite(rho) else 0.0), coverage


def heldout_loss(model, batches: Iterable, max_batches: int = LOSS_BATCHES, epsilon: float = 1e-7) -> float:
    """The weighted training loss (binary cross-entropy per pair or the centre word's cross-entropy) on the
    first `max_batches` mapped test batches."""
    total, weight = 0.0, 0.0
    for number, (inputs, targets, weights) in enumerate(batches):
        if number >= max_batches:
            break
        predicted = np.clip(np.asarray(model.predict_on_batch(inputs), dtype="float64"), epsilon, 1 - epsilon)
        targets, weights = np.asarray(targets), np.asarray(weights, dtype="float64")
        if predicted.shape == targets.shape:  # skip-gram: candidates' probabilities
            losses = -np.mean(targets * np.log(predicted) + (1 - targets) * np.log(1 - predicted), axis=-1)
        else:  # CBOW: the centre word's probability
            losses = -np.log(np.take_along_axis(predicted, targets[..., None].astype("int64"), axis=-1)[..., 0])
        total += float(np.sum(losses * weights))
        weight += float(np.sum(weights))
    return total / weight if weight else 0.0


# ------------------------------------------------------------------------------------ projector files
def write_projector_files(vectors: np.ndarray, vocabulary: Sequence[str], counts: Sequence[int], out_dir: str,
                          limit: int = PROJECTOR_WORDS) -> dict[str, str]:
    """The TensorBoard Embedding Projector's files for the `limit` most frequent words (padding and the
    unknown word left out): `vectors.tsv` (one tab-separated vector per line), `metadata.tsv` (a header
    "word<TAB>count", then one line per vector) and `projector_config.pbtxt` (point TensorBoard's --logdir at
    the folder, or load the two TSV files at projector.tensorflow.org).

    Returns:
        {"vectors": path, "metadata": path, "config": path}.
    """
    os.makedirs(out_dir, exist_ok=True)
    rows = list(range(2, min(len(vocabulary), len(vectors), limit + 2)))
    paths = {name: os.path.join(out_dir, file) for name, file in
             (("vectors", "vectors.tsv"), ("metadata", "metadata.tsv"), ("config", "projector_config.pbtxt"))}
    np.savetxt(paths["vectors"], np.asarray(vectors)[rows], delimiter="\t", fmt="%.6g")
    with open(paths["metadata"], "w", encoding="utf-8") as f:
        f.write("word\tcount\n")
        for i in rows:
            # A tab or newline inside a word would shift the projector's columns.
            word = " ".join(str(vocabulary[i]).split())
            f.write(f"{word}\t{int(counts[i]) if i < len(counts) else 0}\n")
    with open(paths["config"], "w", encoding="utf-8") as f:
        f.write('embeddings {\n  tensor_name: "word_embedding"\n  tensor_path: "vectors.tsv"\n'
                '  metadata_path: "metadata.tsv"\n}\n')
    return paths


def plot_analogy_pairs(vectors: np.ndarray, vocabulary: Sequence[str], questions: Sequence[Sequence[str]],
                       path: str, title: str, limit: int = PICTURE_PAIRS) -> str | None:
    """A PNG of the (a, b) pairs of the first analogy section in the first two principal components, an
    arrow from a to b: parallel arrows of equal length are what 3CosAdd needs. None if no pair is known."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    index = _ids(vocabulary)
    section = questions[0][0] if questions and len(questions[0]) == 5 else None
    pairs: list[tuple[str, str]] = []
    for question in questions:
        if section is not None and question[0] != section:
            continue
        for a, b in ((question[-4], question[-3]), (question[-2], question[-1])):
            if (a, b) not in pairs and a in index and b in index:
                pairs.append((a, b))
    pairs = pairs[:limit]
    if not pairs:
        return None
    words = list(dict.fromkeys(w for pair in pairs for w in pair))
    unit = _unit(np.asarray(vectors)[[index[w] for w in words]])
    centred = unit - unit.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    points = dict(zip(words, centred @ components[:2].T))
    figure = Figure(figsize=(7, 6))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for a, b in pairs:
        (xa, ya), (xb, yb) = points[a], points[b]
        axes.annotate("", xy=(xb, yb), xytext=(xa, ya), arrowprops={"arrowstyle": "->", "color": "tab:blue"})
    for word, (x, y) in points.items():
        axes.scatter([x], [y], s=10, color="black")
        axes.annotate(word, (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("principal component 1")
    axes.set_ylabel("principal component 2")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


# --------------------------------------------------------------------------------------------- the task
class WordEmbeddingTask(Task):
    """word2vec training (skip-gram pairs or CBOW windows made per sentence in tf.data), analogy and
    similarity evaluation, projector export."""

    names = ("word_embedding",)
    metric_names = ("analogy_accuracy", "similarity_spearman", "analogy_accuracy_covered", "analogy_coverage",
                    "similarity_coverage", "loss")

    def example_map(self, spec, hparams, info, outputs: int = 1):
        vocabulary, counts = _vocabulary(info, hparams)
        common = {"window": int(hparams["window"]), "subsample": float(hparams["subsample"]),
                  "max_length": int(hparams["max_length"])}
        if "target" in spec.inputs(hparams):
            return skipgram_examples(vocabulary, counts, negatives=int(hparams["negatives"]), **common)
        return cbow_examples(vocabulary, counts, **common)

    def evaluate(self, model, batches, spec, hparams, info, *, seed: int = 0, train_batches=None) -> Evaluation:
        from zoo.data.corpus import evaluation_fingerprint
        from zoo.models.embedding.word2vec import word_vectors

        vocabulary, _ = _vocabulary(info, hparams)
        vectors = word_vectors(model)[:len(vocabulary)]
        questions, pairs = info.get("analogies") or [], info.get("similarity") or []
        if not questions:
            raise ValueError("The data has no analogy questions to judge the embeddings on (info['analogies']).")
        hits, covered = analogy_hits(vectors, vocabulary, questions)
        rho, similarity_coverage = similarity_correlation(vectors, vocabulary, pairs)
        metrics = {
            "analogy_accuracy": float(hits.mean()),
            "analogy_accuracy_covered": float(hits[covered].mean()) if covered.any() else 0.0,
            "analogy_coverage": float(covered.mean()),
            "similarity_spearman": rho,
            "similarity_coverage": similarity_coverage,
            "loss": heldout_loss(model, batches),
        }
        return Evaluation(metrics=metrics, scores=hits, paired_test=ANALOGY_ACCURACY.paired_test,
                          fingerprint=evaluation_fingerprint(info))

    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0) -> dict[str, str]:
        """The projector files (beside the pictures, not pictures themselves) and the analogy-pairs PNG."""
        from zoo.models.embedding.word2vec import word_vectors

        vocabulary, counts = _vocabulary(info, hparams)
        vectors = word_vectors(model)[:len(vocabulary)]
        write_projector_files(vectors, vocabulary, counts, out_dir)
        path = plot_analogy_pairs(vectors, vocabulary, info.get("analogies") or [],
                                  os.path.join(out_dir, f"{spec.name}_analogy_pairs.png"),
                                  f"{spec.name}: analogy pairs, first two principal components")
        return {"Analogy pairs (PCA of the word vectors)": path} if path else {}

    def random_batch(self, spec, hparams, model, batch, rng):
        """Random examples of the mapped form: groups of 8 pairs (skip-gram) or windows (CBOW) per row."""
        inputs = {}
        for name, sig in spec.inputs(hparams).items():
            shape = (batch, *[d if d is not None else 8 for d in sig.shape])
            inputs[name] = rng.integers(int(sig.low), int(sig.high), size=shape).astype("int32")
        if "target" in inputs:
            labels = np.zeros(inputs["context"].shape, dtype="float32")
            labels[..., 0] = 1.0
            return inputs, labels
        return inputs["context"], rng.integers(2, int(hparams["vocab_size"]), size=(batch, 8)).astype("int32")
