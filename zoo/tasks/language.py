"""Language modelling: masked (BERT) and causal (GPT), on sentences tokenised on the fly in `tf.data`.

Data. A dataset of kind "corpus" holds sentences; the spec's adapter learned a tokenizer on the training
split (`zoo.data.text_corpus`: WordPiece for BERT, byte-level BPE for GPT) and stored it in `info`.
`example_map` turns ONE sentence into one fixed-length training example:

- masked LM: [CLS] wordpieces [SEP], padded with [PAD] (id 0) to `sequence_length`; then `masked_lm_example`
  selects 15% of the real tokens (never [CLS], [SEP], [PAD]) and replaces 80% of the selected by [MASK], 10%
  by a random token and leaves 10% unchanged (Devlin et al. 2019), with random draws seeded by the sentence
  itself (static masking, as the original BERT), so every run trains and scores on the same masks ->
  ({"token_ids", "segment_ids"}, original ids (L,), weights (L,): 1 at the selected positions);
- causal LM: <|endoftext|> tokens <|endoftext|> (GPT-2 marks a text's start and end with its one special
  token), cut to `sequence_length` + 1 and padded with it -> (ids[:-1], ids[1:], weights: 1 on the real
  next tokens, the closing end token included).

Training: cross-entropy from the float32 logits, weighted by those weights (so padding and unselected
positions count for nothing), AdamW from the recipe.

Evaluation (the gate never reads the loss):
- "masked_token_accuracy": the share of selected tokens predicted exactly (over all of them), with
  "masked_token_loss"; per-sentence accuracies are its scores (paired t-test: every run masks a sentence the
  same way, so two runs' scores pair up).
- "next_token_accuracy": the share of next tokens predicted exactly (argmax), over all tokens; per-sentence
  accuracies are its scores (paired t-test); "perplexity" = exp(mean next-token cross-entropy) is reported.

Serving: the tokenizer and the model in one exported graph, so the endpoint takes raw text:
- bert: text with "[MASK]" tokens -> the text with each [MASK] replaced by the predicted wordpiece;
- gpt: a prompt -> its completion (up to `max_new_tokens` tokens, or to the end token), decoded with a
  KerasHub sampler (the model's `sampler`: greedy by default) and the key/value cache.
"""

from __future__ import annotations

import functools
from typing import Any, Iterable, Mapping

import numpy as np

from zoo.metrics import Metric, register_metric
from zoo.tasks.base import Evaluation, Task, make_optimizer, random_inputs

MASKED_TOKEN_ACCURACY = register_metric(Metric("masked_token_accuracy", "max", None, paired_test="paired_t"))
register_metric(Metric("masked_token_loss", "min", None))
NEXT_TOKEN_ACCURACY = register_metric(Metric("next_token_accuracy", "max", None, paired_test="paired_t"))
PERPLEXITY = register_metric(Metric("perplexity", "min", None))
register_metric(Metric("next_token_loss", "min", None))

MASK_RATE, MASK_TOKEN_RATE, RANDOM_TOKEN_RATE = 0.15, 0.8, 0.1
MASK_SALT = 0x6D6C6D  # the second word of each sentence's mask seed


def masked_lm_example(ids, seed, *, vocabulary_size: int, mask_id: int, unselectable, most: int):
    """BERT's masking of one padded sentence, a pure function of (`ids`, `seed`): stateless random draws.

    Selects ceil(15%) of the selectable tokens (not `unselectable`: [CLS], [SEP], [PAD]), at most `most`, and
    replaces 80% of the selected by `mask_id`, 10% by a token drawn from the whole vocabulary and leaves 10%
    as they are (Devlin et al. 2019), as KerasHub's `MaskedLMMaskGenerator` does; that layer draws from
    stateful, unseeded random ops, so two runs (or two parallel `tf.data` calls) mask differently and a gate
    could not compare their metrics. Returns (token ids, labels: the original ids at the selected positions
    and 0 elsewhere, weights: 1.0 at the selected positions).
    """
    import tensorflow as tf

    ids = tf.convert_to_tensor(ids, tf.int32)
    length = tf.shape(ids)[0]
    selectable = tf.reduce_all(tf.not_equal(ids[:, None], tf.constant(list(unselectable), tf.int32)[None, :]), axis=1)
    count = tf.math.ceil(MASK_RATE * tf.reduce_sum(tf.cast(selectable, tf.float32)))
    count = tf.minimum(tf.cast(count, tf.int32), most)
    order, action = tf.unstack(tf.random.stateless_uniform((2, length), seed))
    # The `count` selectable positions with the smallest draws (unselectable ones sort last).
    rank = tf.argsort(tf.argsort(tf.where(selectable, order, 2.0)))
    selected = rank < count
    random_ids = tf.random.stateless_uniform((length,), seed + tf.constant([0, 1], seed.dtype), maxval=vocabulary_size,
                                             dtype=tf.int32)
    replaced = tf.where(action < MASK_TOKEN_RATE, mask_id,
                        tf.where(action < MASK_TOKEN_RATE + RANDOM_TOKEN_RATE, random_ids, ids))
    token_ids = tf.where(selected, replaced, ids)
    return token_ids, tf.where(selected, ids, 0), tf.cast(selected, tf.float32)


def _token_id(vocabulary, token: str) -> int:
    return list(vocabulary).index(token) if not isinstance(vocabulary, Mapping) else int(vocabulary[token])


def _check_vocabulary(spec, hparams, size: int) -> None:
    if size > int(hparams["vocabulary_size"]):
        raise ValueError(f"The data's tokenizer has {size} tokens but {spec.name} has vocabulary_size="
                         f"{hparams['vocabulary_size']}; set --hparam vocabulary_size={size} or prepare the data "
                         "with this model.")


def _compile(model, spec, learning_rate: float):
    import keras

    model.compile(optimizer=make_optimizer(spec.recipe, learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype="float64")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _score(model, batches: Iterable):
    """Per row: (hits, weight, cross-entropy sum) over the weighted positions of every test batch."""
    hits, weights, losses = [], [], []
    for inputs, labels, weight in batches:
        logits = np.asarray(model.predict_on_batch(inputs))
        labels, weight = np.asarray(labels).astype("int64"), np.asarray(weight, dtype="float64")
        log_p = np.take_along_axis(_log_softmax(logits), labels[..., None], axis=-1)[..., 0]
        hits.append(((logits.argmax(-1) == labels) * weight).sum(-1))
        weights.append(weight.sum(-1))
        losses.append((-log_p * weight).sum(-1))
    return np.concatenate(hits), np.concatenate(weights), np.concatenate(losses)


def _random_targets(spec, hparams, batch, rng):
    inputs = random_inputs(spec, hparams, batch, rng)
    targets = rng.integers(0, int(hparams["vocabulary_size"]), size=(batch, int(hparams["sequence_length"])))
    return inputs, targets.astype("int32")


class MaskedLanguageModeling(Task):
    names = ("masked_language_modeling",)
    metric_names = ("masked_token_accuracy", "masked_token_loss")

    def example_map(self, spec, hparams, info, outputs=1):
        import tensorflow as tf

        from zoo.data.text_corpus import CLS, MASK, PAD, SEP, wordpiece_tokenizer

        tokenizer = wordpiece_tokenizer(info)
        vocabulary = list(info["vocabulary"])
        _check_vocabulary(spec, hparams, len(vocabulary))
        length = int(hparams["sequence_length"])
        cls_id, sep_id, pad_id = (_token_id(vocabulary, t) for t in (CLS, SEP, PAD))
        most = int(np.ceil(MASK_RATE * length)) + 1
        mask = functools.partial(masked_lm_example, vocabulary_size=len(vocabulary), mask_id=_token_id(vocabulary, MASK),
                                 unselectable=(cls_id, sep_id, pad_id), most=most)

        def make(sentence, _=None):
            sentence = tf.reshape(sentence, ())
            ids = tf.cast(tokenizer(sentence)[:length - 2], tf.int32)
            ids = tf.concat([[cls_id], ids, [sep_id]], axis=0)
            ids = tf.ensure_shape(tf.pad(ids, [[0, length - tf.size(ids)]], constant_values=pad_id), (length,))
            # The sentence seeds its own masks: the same in every run, epoch and split order (static masking).
            seed = tf.stack([tf.strings.to_hash_bucket_fast(sentence, 2**62), tf.constant(MASK_SALT, tf.int64)])
            token_ids, labels, weights = mask(ids, seed)
            return {"token_ids": token_ids, "segment_ids": tf.zeros((length,), tf.int32)}, labels, weights

        return make

    def compile(self, model, spec, hparams, *, learning_rate, outputs=1, phase=None):
        return _compile(model, spec, learning_rate)

    def evaluate(self, model, batches, spec, hparams, info, *, seed=0, train_batches=None):
        hits, weights, losses = _score(model, batches)
        total = max(float(weights.sum()), 1.0)
        scored = weights > 0
        return Evaluation({"masked_token_accuracy": float(hits.sum()) / total,
                           "masked_token_loss": float(losses.sum()) / total},
                          scores=hits[scored] / weights[scored], paired_test="paired_t")

    def serving_model(self, model, spec, hparams, info):
        import keras

        text = keras.Input(shape=(), dtype="string", name="text")
        return keras.Model(text, FillMask(model, info)(text), name=f"{model.name}_serving")

    def random_batch(self, spec, hparams, model, batch, rng):
        return _random_targets(spec, hparams, batch, rng)


class CausalLanguageModeling(Task):
    names = ("causal_language_modeling",)
    metric_names = ("next_token_accuracy", "perplexity", "next_token_loss")

    def example_map(self, spec, hparams, info, outputs=1):
        import tensorflow as tf

        from zoo.data.text_corpus import bpe_tokenizer

        tokenizer = bpe_tokenizer(info)
        _check_vocabulary(spec, hparams, len(info["vocabulary"]))
        end_id = _token_id(info["vocabulary"], info["end_token"])
        length = int(hparams["sequence_length"])

        def make(sentence, _=None):
            ids = tf.cast(tokenizer(tf.reshape(sentence, ())), tf.int32)
            ids = tf.concat([[end_id], ids, [end_id]], axis=0)[:length + 1]
            count = tf.size(ids) - 1
            ids = tf.ensure_shape(tf.pad(ids, [[0, length + 1 - tf.size(ids)]], constant_values=end_id), (length + 1,))
            weights = tf.cast(tf.range(length) < count, tf.float32)
            return ids[:-1], ids[1:], weights

        return make

    def compile(self, model, spec, hparams, *, learning_rate, outputs=1, phase=None):
        return _compile(model, spec, learning_rate)

    def evaluate(self, model, batches, spec, hparams, info, *, seed=0, train_batches=None):
        hits, weights, losses = _score(model, batches)
        total = max(float(weights.sum()), 1.0)
        loss = float(losses.sum()) / total
        scored = weights > 0
        return Evaluation({"next_token_accuracy": float(hits.sum()) / total, "perplexity": float(np.exp(loss)),
                           "next_token_loss": loss},
                          scores=hits[scored] / weights[scored], paired_test="paired_t")

    def serving_model(self, model, spec, hparams, info):
        import keras

        prompt = keras.Input(shape=(), dtype="string", name="prompt")
        return keras.Model(prompt, Completion(model, info)(prompt), name=f"{model.name}_serving")

    def random_batch(self, spec, hparams, model, batch, rng):
        return _random_targets(spec, hparams, batch, rng)


# ------------------------------------------------------------------------------------------- serving
class _TextLayer:
    """A serving layer: strings (batch,) in, strings (batch,) out; TensorFlow ops (it exists to be exported)."""

    def compute_output_spec(self, text):
        import keras

        return keras.KerasTensor(text.shape, dtype="string")


def FillMask(model, info):
    """The deployed BERT: text with [MASK] tokens -> the text with each [MASK] replaced by the prediction."""
    import keras
    import tensorflow as tf

    from zoo.data.text_corpus import CLS, MASK, PAD, SEP, wordpiece_tokenizer

    class _FillMask(_TextLayer, keras.layers.Layer):
        def __init__(self):
            super().__init__(name="fill_mask")
            self.model = model
            self.tokenizer = wordpiece_tokenizer(info)
            vocabulary = list(info["vocabulary"])
            self.ids = {t: _token_id(vocabulary, t) for t in (CLS, SEP, PAD, MASK)}
            self.length = int(model.sequence_length)

        def call(self, text):
            pieces = tf.cast(self.tokenizer(text), tf.int32)[:, :self.length - 2]
            count = tf.cast(pieces.row_lengths(), tf.int32)[:, None]
            column = tf.fill([tf.shape(text)[0], 1], self.ids[PAD])
            ids = tf.concat([column + self.ids[CLS] - self.ids[PAD], pieces.to_tensor(self.ids[PAD],
                             shape=[None, self.length - 2]), column], axis=1)
            positions = tf.range(self.length)[None, :]
            ids = tf.where(positions == count + 1, self.ids[SEP], ids)
            logits = self.model({"token_ids": ids, "segment_ids": tf.zeros_like(ids)}, training=False)
            filled = tf.where(ids == self.ids[MASK], tf.cast(tf.argmax(logits, axis=-1), tf.int32), ids)
            words = tf.ragged.boolean_mask(filled[:, 1:self.length - 1], positions[:, :self.length - 2] < count)
            return tf.strings.strip(self.tokenizer.detokenize(words))

    return _FillMask()


def Completion(model, info):
    """The deployed GPT: a prompt -> its completion, decoded with the model's sampler and key/value cache."""
    import keras
    import tensorflow as tf

    from zoo.data.text_corpus import bpe_tokenizer

    class _Completion(_TextLayer, keras.layers.Layer):
        def __init__(self):
            super().__init__(name="completion")
            self.model = model
            self.tokenizer = bpe_tokenizer(info)
            self.end_id = _token_id(info["vocabulary"], info["end_token"])
            self.filler_id = 1 if self.end_id == 0 else 0
            self.new_tokens = int(model.max_new_tokens)
            self.total = min(int(model.max_sequence_length), int(model.sequence_length) + self.new_tokens)

        def call(self, prompt):
            batch = tf.shape(prompt)[0]
            ids = tf.cast(self.tokenizer(prompt), tf.int32)
            ids = tf.concat([tf.fill([batch, 1], self.end_id), ids], axis=1)
            ids = ids[:, -(self.total - self.new_tokens):]  # the prompt's end, when it is too long
            lengths = tf.cast(ids.row_lengths(), tf.int32)
            # The filler after each prompt is overwritten as tokens are generated; it must not be the end
            # token, which the sampler reads as "this row is finished".
            dense = ids.to_tensor(self.filler_id, shape=[None, self.total])
            positions = tf.range(self.total)[None, :]
            prompt_mask = positions < lengths[:, None]
            tokens = self.model.generate(dense, prompt_mask, stop_token_ids=[self.end_id])
            new = tf.logical_not(prompt_mask)
            ended = tf.cumsum(tf.cast(new & (tokens == self.end_id), tf.int32), axis=1) > 0
            completion = tf.ragged.boolean_mask(tokens, new & tf.logical_not(ended))
            return tf.strings.strip(self.tokenizer.detokenize(completion))

    return _Completion()
