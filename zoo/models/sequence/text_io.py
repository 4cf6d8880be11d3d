"""Raw text in, raw text out, around a sequence-to-sequence decoder: what the deployed model serves.

A serving adapter (TensorFlow only, as the exported SavedModel is): the trained model and its decoder stay
backend-agnostic; this wraps the decoder for export so that the endpoint takes sentences and answers
sentences, with the vocabularies the adapter fitted on the training split.

- In: a string per instance, lowercased and split on whitespace (the corpus is tokenised that way, see
  `zoo.data.sequences.words`), each word looked up in the source vocabulary (id = its position), right-padded
  with 0 to `source_length` and cut there. A word outside the vocabulary becomes the unknown id where the
  dataset has one (`info["unk_id"]`, translation corpora) and is left out where it has none (the reversal
  task's alphabet, whose words are the ids themselves: "3 5 7").
- Out: the decoded ids up to EOS (or padding), each written as its target-vocabulary word, joined by spaces.
"""

from __future__ import annotations

import keras

from zoo.nn import serializable, uses_tensorflow

TEXT_INPUT, TEXT_OUTPUT = "text", "translation"


def vocabularies(info) -> tuple[list[str], list[str]]:
    """(source, target) vocabularies, id -> word: the dataset's, or the ids written as numbers."""
    from zoo.data.sequences import RESERVED

    size = int(info["vocab_size"])
    numbers = [*RESERVED, *(str(i) for i in range(len(RESERVED), size))]
    return list(info.get("source_vocabulary") or numbers), list(info.get("target_vocabulary") or numbers)


@serializable
class WordsToIds(keras.layers.Layer):
    """Sentences (batch,) -> right-padded word ids (batch, length)."""

    def __init__(self, vocabulary, length: int, unk_id: int | None = None, first_word: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary, self.length, self.unk_id, self.first_word = list(vocabulary), int(length), unk_id, first_word
        # Index 0 of the lookup is "not in the vocabulary"; word i of `vocabulary[first_word:]` is index i + 1.
        self.lookup = keras.layers.StringLookup(vocabulary=self.vocabulary[first_word:], num_oov_indices=1,
                                                mask_token=None, name=f"{self.name}_lookup")

    @uses_tensorflow("serving: string lookups inside the exported SavedModel")
    def call(self, text):
        import tensorflow as tf

        words = tf.strings.split(tf.strings.lower(tf.strings.strip(text)))
        index = self.lookup(words)
        ids = tf.ragged.map_flat_values(lambda i: tf.cast(i, "int32") + self.first_word - 1, index)
        known = tf.ragged.map_flat_values(lambda i: i > 0, index)
        if self.unk_id is None:
            ids = tf.ragged.boolean_mask(ids, known)
        else:
            ids = tf.ragged.map_flat_values(lambda v, k: tf.where(k, v, self.unk_id), ids, known)
        return ids[:, :self.length].to_tensor(default_value=0, shape=[None, self.length])

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "length": self.length, "unk_id": self.unk_id,
                "first_word": self.first_word}


@serializable
class IdsToWords(keras.layers.Layer):
    """Decoded ids (batch, length) -> sentences (batch,): the words up to the first EOS or padding."""

    def __init__(self, vocabulary, eos_id: int = 2, pad_id: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary, self.eos_id, self.pad_id = list(vocabulary), int(eos_id), int(pad_id)

    @uses_tensorflow("serving: string lookups inside the exported SavedModel")
    def call(self, ids):
        import tensorflow as tf

        ids = tf.cast(ids, "int32")
        ended = tf.logical_or(tf.equal(ids, self.eos_id), tf.equal(ids, self.pad_id))
        before_end = tf.equal(tf.cumsum(tf.cast(ended, "int32"), axis=1), 0)
        table = tf.constant(self.vocabulary)
        safe = tf.clip_by_value(ids, 0, len(self.vocabulary) - 1)
        words = tf.ragged.boolean_mask(tf.gather(table, safe), before_end)
        return tf.strings.reduce_join(words, axis=1, separator=" ")

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "eos_id": self.eos_id, "pad_id": self.pad_id}


def text_decoder(decoder: keras.Model, info) -> keras.Model:
    """`decoder` (source ids -> decoded ids) as the served model: a sentence in, its decoding out."""
    from zoo.data.sequences import EOS_ID, PAD_ID, RESERVED

    source_words, target_words = vocabularies(info)
    length = int(decoder.inputs[0].shape[1])
    unk_id = info.get("unk_id")
    first_word = len(RESERVED) + (0 if unk_id is None else 1)
    text = keras.Input(shape=(), dtype="string", name=TEXT_INPUT)
    ids = WordsToIds(source_words, length, unk_id, first_word=first_word, name="source_ids")(text)
    decoded = decoder(ids)
    out = IdsToWords(target_words, eos_id=int(info.get("eos_id", EOS_ID)), pad_id=int(info.get("pad_id", PAD_ID)),
                     name=TEXT_OUTPUT)(decoded)
    return keras.Model(text, out, name=f"{decoder.name}_text")
