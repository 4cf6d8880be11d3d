"""Sequence-to-sequence: train with teacher forcing, judge what the model writes by itself.

Data: examples are (source ids, target ids), right-padded with PAD = 0, each target ending with EOS.
`example_map` builds the decoder's input on the fly, the target shifted right behind BOS
([BOS] + target[:-1], padded wherever the target is), and weighs every real target token 1 and every pad 0.

Training: sparse cross-entropy over the real target tokens (the weights, and the decoder's padding mask
that the model's output carries, agree), with teacher-forced token accuracy as the training metric.

Evaluation: teacher forcing flatters a model (every step starts from the true prefix), so the gate reads
GREEDY AUTOREGRESSIVE DECODING instead: the model starts from BOS and feeds back its own predictions
(`zoo.models.sequence.decoding`), the same code the deployed model runs. Reported per sequence:
"token_accuracy" (share of its real target tokens, EOS included, decoded right; paired t-test),
"sequence_accuracy" (all of them right: exact match; McNemar's test) and, for comparison,
"teacher_forced_token_accuracy" and the teacher-forced "loss"; and for the whole test set "bleu", corpus
BLEU (sacrebleu, 0-100) of the decoded texts against the references: the words of the decoded ids up to
EOS against the data's reference translations (`info["test_references"]`, a translation corpus) or the
target ids' words (symbols for the reversal task). BLEU is a corpus statistic with no per-example
scores, so where a dataset's gate reads it (`Gate.by_dataset`, the translation corpora) the gate compares
point estimates; the other gate metrics come with their per-sequence scores and paired test.

Serving: a sentence in, its free decoding out as text (`greedy_decoder` inside `text_io.text_decoder`, with
the vocabularies fitted on the training split), exported as a SavedModel.

Pictures: for a model with attention, the attention weights of free decoding on the first test examples,
decoded target steps x source tokens, as PNG heat maps.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np

from zoo.data.sequences import BOS_ID, EOS_ID, PAD_ID, RESERVED, detokenize, special_ids
from zoo.metrics import Metric, get_metric, register_metric
from zoo.tasks.base import Evaluation, Task, make_optimizer


# ---------------------------------------------------------------------------------------------- metrics
def _hits_and_tokens(targets, predictions) -> tuple[np.ndarray, np.ndarray]:
    """Per sequence: correctly predicted real target tokens, and real target tokens."""
    targets = np.asarray(targets)
    predictions = np.asarray(predictions)
    if predictions.ndim == targets.ndim + 1:  # probabilities: take the most probable token
        predictions = predictions.argmax(axis=-1)
    real = targets != PAD_ID
    hits = (predictions == targets) & real
    return hits.reshape(len(targets), -1).sum(axis=1), real.reshape(len(targets), -1).sum(axis=1)


def token_accuracy(targets, predictions) -> np.ndarray:
    """Per sequence, the share of its non-pad target tokens predicted right (1.0 for an empty target)."""
    hits, tokens = _hits_and_tokens(targets, predictions)
    return np.where(tokens > 0, hits / np.maximum(tokens, 1), 1.0)


def sequence_accuracy(targets, predictions) -> np.ndarray:
    """Per sequence, 1.0 when every non-pad target token is predicted right, else 0.0."""
    hits, tokens = _hits_and_tokens(targets, predictions)
    return (hits == tokens).astype("float64")


TOKEN_ACCURACY = register_metric(Metric("token_accuracy", "max", token_accuracy, paired_test="paired_t"))
SEQUENCE_ACCURACY = register_metric(Metric("sequence_accuracy", "max", sequence_accuracy, paired_test="mcnemar"))
TEACHER_FORCED_TOKEN_ACCURACY = register_metric(
    Metric("teacher_forced_token_accuracy", "max", token_accuracy, paired_test="paired_t"))


def corpus_bleu(hypotheses: list[str], references: list[str]) -> float:
    """Corpus BLEU (0-100) of hypothesis texts against one reference text each: sacrebleu's defaults
    (4-grams, brevity penalty, its 13a tokenizer), the number translation papers report."""
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(f"BLEU needs one reference per hypothesis. Received: {len(hypotheses)} hypotheses and "
                         f"{len(references)} references.")
    return float(sacrebleu.corpus_bleu(hypotheses, [references]).score)


# A corpus statistic: no per-example scores, no paired test (the gate compares point estimates).
BLEU = register_metric(Metric("bleu", "max", None, paired_test=None))


def masked_cross_entropy(targets, probabilities, epsilon: float = 1e-7) -> np.ndarray:
    """Per sequence, the mean cross-entropy over its non-pad target tokens (Keras' clipping)."""
    targets = np.asarray(targets)
    probabilities = np.clip(np.asarray(probabilities, dtype="float64"), epsilon, 1.0 - epsilon)
    chosen = np.take_along_axis(probabilities, targets[..., None].astype("int64"), axis=-1)[..., 0]
    real = targets != PAD_ID
    return (-np.log(chosen) * real).sum(axis=1) / np.maximum(real.sum(axis=1), 1)


# --------------------------------------------------------------------------------------------- the task
class SequenceToSequenceTask(Task):
    """Teacher-forced training, greedy-decoding evaluation and serving of a {"source", "decoder_input"} model."""

    names = ("sequence_to_sequence",)
    metric_names = ("token_accuracy", "sequence_accuracy", "teacher_forced_token_accuracy", "loss", "bleu")
    #: how many test examples the attention heat maps show
    heat_maps = 3

    def example_map(self, spec, hparams, info, outputs: int = 1):
        return teacher_forcing(decoding_ids(info)["bos_id"])

    def compile(self, model, spec, hparams, *, learning_rate: float, outputs: int = 1, phase=None):
        recipe = spec.recipe
        # Weighted, so padding does not count: the map's weights are 0 on pads.
        model.compile(optimizer=make_optimizer(recipe, learning_rate), loss=recipe.loss,
                      weighted_metrics=list(recipe.metrics) or None)
        return model

    def evaluate(self, model, batches, spec, hparams, info, *, seed: int = 0) -> Evaluation:
        decoder = self._decoder(model, hparams, info)
        scores: dict[str, list[np.ndarray]] = {name: [] for name in self.metric_names if name != "bleu"}
        shift = teacher_forcing(decoding_ids(info)["bos_id"])
        vocabulary, eos_id = info.get("target_vocabulary"), decoding_ids(info)["eos_id"]
        hypotheses, references = [], []
        for batch in batches:
            inputs, targets = batch[0], batch[1]
            if not isinstance(inputs, Mapping):  # batches that were not mapped for training
                inputs, targets, _ = shift(inputs, targets)
            targets = np.asarray(targets)
            teacher_forced = np.asarray(model.predict_on_batch(inputs))
            decoded = np.asarray(decoder.predict_on_batch(inputs["source"]))
            scores["token_accuracy"].append(token_accuracy(targets, decoded))
            scores["sequence_accuracy"].append(sequence_accuracy(targets, decoded))
            scores["teacher_forced_token_accuracy"].append(token_accuracy(targets, teacher_forced))
            scores["loss"].append(masked_cross_entropy(targets, teacher_forced))
            hypotheses += [detokenize(row, vocabulary, eos_id=eos_id) for row in decoded]
            references += [detokenize(row, vocabulary, eos_id=eos_id) for row in targets]
        per_example = {name: np.concatenate(parts) for name, parts in scores.items()}
        metrics = {name: get_metric(name).aggregate(values) for name, values in per_example.items()}
        if "test_references" in info:  # the corpus' own texts, unknown words included
            references = list(info["test_references"])
        metrics["bleu"] = corpus_bleu(hypotheses, references)
        gate = get_metric(spec.gate.for_dataset(info.get("dataset")).metric)
        if gate.per_example is None:
            return Evaluation(metrics=metrics)
        return Evaluation(metrics=metrics, scores=per_example[gate.name], paired_test=gate.paired_test)

    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0) -> dict[str, str]:
        """For a model with attention: one heat map per example of the first test examples (fixed, the
        test split's order), the weights each decoded token gave each source token in free decoding."""
        from zoo.models.sequence.seq2seq import attention_model, has_attention

        if not has_attention(model):
            return {}
        inputs, _ = _first_examples(batches, self.heat_maps, decoding_ids(info)["bos_id"])
        decoded = np.asarray(self._decoder(model, hparams, info).predict_on_batch(inputs["source"]))
        # The decoder's inputs in free decoding were its own tokens: feed them back teacher-forced, and the
        # (causal) attention weights are exactly those that free decoding used.
        fed, _, _ = teacher_forcing(decoding_ids(info)["bos_id"])(inputs["source"], decoded)
        weights = np.asarray(attention_model(model).predict_on_batch(fed))
        drawn = {}
        for i in range(len(decoded)):
            source = _labels(inputs["source"][i], info.get("source_vocabulary"))
            target = _labels(decoded[i], info.get("target_vocabulary"), keep_end=True)
            path = os.path.join(out_dir, f"{spec.name}_attention_{i + 1}.png")
            drawn[f"Attention, test example {i + 1}"] = save_attention_map(
                weights[i, :len(target), :len(source)], source, target, path,
                f"{spec.name}: attention of each decoded token (rows) over the source (columns)")
        return drawn

    def serving_model(self, model, spec, hparams, info):
        """The greedy decoder taking and answering raw text (`zoo.models.sequence.text_io`), wrapped by the
        spec's `serving` if it names one."""
        from zoo.models.sequence.text_io import text_decoder

        return super().serving_model(text_decoder(self._decoder(model, hparams, info), info), spec, hparams, info)

    @staticmethod
    def _decoder(model, hparams, info):
        from zoo.models.sequence.decoding import greedy_decoder

        return greedy_decoder(model, source_length=int(hparams["source_length"]),
                              target_length=int(hparams["target_length"]), **decoding_ids(info))

    def random_batch(self, spec, hparams, model, batch, rng):
        """Right-padded random sources and EOS-terminated targets, mapped as in training (without weights)."""
        sources = _random_rows(rng, batch, hparams["source_length"], 1, hparams["vocab_size"])
        targets = _random_rows(rng, batch, hparams["target_length"], 1, hparams["vocab_size"], end=EOS_ID)
        inputs, targets, _ = teacher_forcing(BOS_ID)(sources, targets)
        return {k: np.asarray(v) for k, v in inputs.items()}, np.asarray(targets)


def _first_examples(batches, count: int, bos_id: int):
    """The first `count` test examples as teacher-forced inputs and targets (mapped or not)."""
    for batch in batches:
        inputs, targets = batch[0], batch[1]
        if not isinstance(inputs, Mapping):
            inputs, targets, _ = teacher_forcing(bos_id)(inputs, targets)
        return {k: np.asarray(v)[:count] for k, v in inputs.items()}, np.asarray(targets)[:count]
    raise ValueError("The test split is empty: there is no example to draw attention for.")


def _labels(ids, vocabulary, keep_end: bool = False) -> list[str]:
    """Tick labels of a row of ids: its words (or ids) up to its end (EOS or padding), the end included when
    `keep_end` (a decoded row: the step that wrote it had weights too)."""
    labels = []
    for token in (int(t) for t in ids):
        if vocabulary is not None and token < len(vocabulary):
            labels.append(vocabulary[token])
        else:
            labels.append(RESERVED[token] if token < len(RESERVED) else str(token))
        if token in (PAD_ID, EOS_ID):
            return labels if keep_end else labels[:-1]
    return labels


def save_attention_map(weights, source: list[str], target: list[str], path: str, title: str) -> str:
    """Draw attention weights (target steps x source tokens) as a labelled heat map PNG; returns `path`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    weights = np.asarray(weights, dtype="float64")
    figure = Figure(figsize=(1.2 + 0.45 * max(len(source), 4), 1.4 + 0.4 * max(len(target), 4)))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(source)), source, rotation=90)
    axes.set_yticks(range(len(target)), target)
    axes.set_xlabel("source")
    axes.set_ylabel("decoded")
    axes.set_title(title, fontsize=8, wrap=True)
    figure.colorbar(image, ax=axes, fraction=0.05)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def decoding_ids(info: Mapping[str, Any]) -> dict[str, int]:
    """BOS and EOS as the data's info records them (`zoo.data.sequences`' ids by default)."""
    return {"bos_id": int(info.get("bos_id", BOS_ID)), "eos_id": int(info.get("eos_id", EOS_ID))}


def teacher_forcing(bos_id: int):
    """The example map `(source, target) -> ({"source", "decoder_input"}, target, weights)`.

    `decoder_input` is [BOS] + target[:-1], padded wherever the target is padded (so the decoder never
    reads EOS and its padding mask equals the target's); `weights` are 1.0 on real target tokens, 0.0 on
    pads. It works on one example or on a batch (the last axis is time).
    """
    def shift(source, target):
        import tensorflow as tf

        if isinstance(source, Mapping):
            source = source["source"]
        source = tf.cast(source, tf.int32)
        target = tf.cast(target, tf.int32)
        real = tf.not_equal(target, PAD_ID)
        bos = tf.fill(tf.concat([tf.shape(target)[:-1], [1]], axis=0), bos_id)
        shifted = tf.concat([bos, target[..., :-1]], axis=-1)
        decoder_input = tf.where(real, shifted, tf.zeros_like(shifted))
        return {"source": source, "decoder_input": decoder_input}, target, tf.cast(real, tf.float32)

    return shift


def adapt_sequences(spec, hparams, splits):
    """Fit sequence data to the model: right-pad sources and targets to its lengths and check the ids.

    A sequence longer than the model's length, or an id outside its vocabulary, is a one-line ValueError
    that names the hyperparameter to change; nothing is cut silently. The model's lengths and the
    reserved ids go to `splits.info`, which evaluation and serving read.
    """
    if splits.kind != "sequence":
        raise ValueError(f"{spec.name} trains on token sequences (datasets of kind 'sequence'). "
                         f"Received: {splits.name} of kind {splits.kind!r}")
    lengths = {"source_length": int(hparams["source_length"]), "target_length": int(hparams["target_length"])}
    vocab_size = int(hparams["vocab_size"])
    for _, split in splits.items():
        split.x = _fit_length(np.asarray(split.x), lengths["source_length"], "source_length", splits.name)
        split.y = _fit_length(np.asarray(split.y), lengths["target_length"], "target_length", splits.name)
        for what, ids in (("source", split.x), ("target", split.y)):
            if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
                raise ValueError(f"{splits.name} has {what} ids up to {int(ids.max())} but the model's vocabulary "
                                 f"has {vocab_size}; set --hparam vocab_size={int(ids.max()) + 1} or more.")
    # The dataset's name tells evaluation which gate metric applies (`Gate.by_dataset`).
    splits.info = {**special_ids(), **splits.info, **lengths, "dataset": splits.name}
    return splits


def _fit_length(ids: np.ndarray, length: int, hparam: str, dataset: str) -> np.ndarray:
    if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{dataset} must hold 2D arrays of integer token ids. Received: {ids.dtype} of shape "
                         f"{ids.shape}")
    real = ids != PAD_ID
    used = int((real * np.arange(1, ids.shape[1] + 1)).max(initial=0))  # the longest sequence's length
    if used > length:
        raise ValueError(f"{dataset} has sequences of {used} tokens but the model takes {length}; "
                         f"set --hparam {hparam}={used} or more.")
    out = np.full((len(ids), length), PAD_ID, dtype="int32")
    out[:, :min(length, ids.shape[1])] = ids[:, :length]
    return out


def _random_rows(rng, rows: int, length: int, low: int, high: int, end: int | None = None) -> np.ndarray:
    """Right-padded random sequences of 1..length ids from [low, high), the last one `end` if given."""
    out = np.zeros((rows, length), dtype="int32")
    for i, n in enumerate(rng.integers(1, length + 1, size=rows)):
        out[i, :n] = rng.integers(low, high, size=n)
        if end is not None:
            out[i, n - 1] = end
    return out
