"""Language modelling: masked (BERT) and causal (GPT), on sentences tokenised on the fly in `tf.data`.

Data. A dataset of kind "corpus" holds sentences; the spec's adapter learned a tokenizer on the training
split (`zoo.data.text_corpus`: WordPiece for BERT, byte-level BPE for GPT) and stored it in `info`.
`example_map` turns ONE sentence into one fixed-length training example:

- masked LM: [CLS] wordpieces [SEP], padded with [PAD] (id 0) to `sequence_length`; then KerasHub's
  `MaskedLMMaskGenerator` selects 15% of the real tokens (never [CLS], [SEP], [PAD]) and replaces 80% of the
  selected by [MASK], 10% by a random token and leaves 10% unchanged (Devlin et al. 2019) ->
  ({"token_ids", "segment_ids"}, original ids (L,), weights (L,): 1 at the selected positions);
- causal LM: <|endoftext|> tokens <|endoftext|> (GPT-2 marks a text's start and end with its one special
  token), cut to `sequence_length` + 1 and padded with it -> (ids[:-1], ids[1:], weights: 1 on the real
  next tokens, the closing end token included).

Training: cross-entropy from the float32 logits, weighted by those weights (so padding and unselected
positions count for nothing), AdamW from the recipe.

Evaluation (the gate never reads the loss):
- "masked_token_accuracy": the share of selected tokens predicted exactly (over all of them), with
  "masked_token_loss". Masks are drawn afresh, so runs are not paired example by example (no scores).
- "next_token_accuracy": the share of next tokens predicted exactly (argmax), over all tokens; per-sentence
  accuracies are its scores (paired t-test); "perplexity" = exp(mean next-token cross-entropy) is reported.

Serving: the tokenizer and the model in one exported graph, so the endpoint takes raw text:
- bert: text with "[MASK]" tokens -> the text with each [MASK] replaced by the predicted wordpiece;
- gpt: a prompt -> its completion (up to `max_new_tokens` tokens, or to the end token), decoded with a
  KerasHub sampler (the model's `sampler`: greedy by default) and the key/value cache.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np

from zoo.metrics import Metric, register_metric
from zoo.tasks.base import Evaluation, Task, make_optimizer, random_inputs

MASKED_TOKEN_ACCURACY = register_metric(Metric("masked_token_accuracy", "max", None))
register_metric(Metric("masked_token_loss", "min", None))
NEXT_TOKEN_ACCURACY = register_metric(Metric("next_token_accuracy", "max", None, paired_test="paired_t"))
PERPLEXITY = register_metric(Metric("perplexity", "min", None))
register_metric(Metric("next_token_loss", "min", None))

MASK_RATE, MASK_TOKEN_RATE, RANDOM_TOKEN_RATE = 0.15, 0.8, 0.1


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
        import keras_hub
        import tensorflow as tf

        from zoo.data.text_corpus import CLS, MASK, PAD, SEP, wordpiece_tokenizer

        tokenizer = wordpiece_tokenizer(info)
        vocabulary = list(info["vocabulary"])
        _check_vocabulary(spec, hparams, len(vocabulary))
        length = int(hparams["sequence_length"])
        cls_id, sep_id, pad_id = (_token_id(vocabulary, t) for t in (CLS, SEP, PAD))
        most = int(np.ceil(MASK_RATE * length)) + 1
        masker = keras_hub.layers.MaskedLMMaskGenerator(
            vocabulary_size=len(vocabulary), mask_selection_rate=MASK_RATE, mask_selection_length=most,
            mask_token_id=_token_id(vocabulary, MASK), unselectable_token_ids=[cls_id, sep_id, pad_id],
            mask_token_rate=MASK_TOKEN_RATE, random_token_rate=RANDOM_TOKEN_RATE)

        def make(sentence, _=None):
            ids = tf.cast(tokenizer(tf.reshape(sentence, ()))[:length - 2], tf.int32)
            ids = tf.concat([[cls_id], ids, [sep_id]], axis=0)
            ids = tf.ensure_shape(tf.pad(ids, [[0, length - tf.size(ids)]], constant_values=pad_id), (length,))
            masked = masker(ids)
            positions = tf.cast(masked["mask_positions"], tf.int32)[:, None]
            labels = tf.tensor_scatter_nd_update(tf.zeros((length,), tf.int32), positions,
                                                 tf.cast(masked["mask_ids"], tf.int32))
            weights = tf.tensor_scatter_nd_max(tf.zeros((length,), tf.float32), positions,
                                               tf.cast(masked["mask_weights"], tf.float32))
            inputs = {"token_ids": tf.cast(masked["token_ids"], tf.int32), "segment_ids": tf.zeros((length,), tf.int32)}
            return inputs, labels, weights

        return make

    def compile(self, model, spec, hparams, *, learning_rate, outputs=1, phase=None):
        return _compile(model, spec, learning_rate)

    def evaluate(self, model, batches, spec, hparams, info, *, seed=0, train_batches=None):
        hits, weights, losses = _score(model, batches)
        total = max(float(weights.sum()), 1.0)
        return Evaluation({"masked_token_accuracy": float(hits.sum()) / total,
                           "masked_token_loss": float(losses.sum()) / total})

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
