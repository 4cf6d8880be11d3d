"""Image captioning: train teacher-forced on one reference caption, judge what the model writes by itself.

Data: images with R reference captions each (kind "captioning": x float32 (N, H, W, C) in [0, 1], y (N, R)
strings; streamed data gives the same per example). `adapt_captions` fits the word vocabulary on the
training captions (streaming them for a TFDS dataset) and stores it in `info` with the reserved ids
(`zoo.data.sequences`: 0 PAD, 1 BOS, 2 EOS, 3 UNK) and the most frequent training caption.

`example_map` (per example, in `tf.data`): every reference is lowercased, stripped of punctuation, split
into words, looked up in the vocabulary (unknown words -> UNK), cut to `caption_length - 1` words and
ended with EOS; one of them is the training caption (chosen by a hash of the example's captions, so the
choice is the same in every epoch and every run, and spread over the R phrasings across images), shifted
right behind BOS as the decoder's input, with weights 1 on real tokens and 0 on padding. The references
travel with the inputs as strings ("references"), which the model ignores and evaluation reads.

Evaluation decodes freely, with KerasHub's samplers (`zoo.models.captioning.captioner.CaptionSampler`),
and scores the decoded captions with sacrebleu's corpus BLEU (0-100) against ALL the references of each
image: "bleu" (greedy decoding, the gate), "bleu_beam" (beam search, 3 beams) and, as the baseline a
learning check compares with, "constant_caption_bleu": the most frequent training caption (of at least four
words, BLEU's longest n-gram: a shorter one scores 0) given for every image. Corpus BLEU has no per-image
scores, so the gate compares point estimates.

Serving: an image (float [0, 1], H x W x 3 of any size, resized in the graph) in, its greedy caption out
as a string (the vocabulary lookup is part of the exported graph). Pictures: test images with their
generated captions under them.
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping

import numpy as np

from zoo.data.sequences import BOS_ID, EOS_ID, PAD_ID, UNK_ID, fit_vocabulary, special_ids
from zoo.metrics import Metric, register_metric
from zoo.tasks.base import Evaluation, Task, make_optimizer
from zoo.tasks.sequence import corpus_bleu  # noqa: F401  (its module registers "bleu")

REFERENCES = "references"
BEAMS = 3
# What a word is: lowercase letters, digits and apostrophes; everything else separates words.
_NOT_WORD = "[^a-z0-9']+"

register_metric(Metric("bleu_beam", "max", per_example=None, paired_test=None))
register_metric(Metric("constant_caption_bleu", "max", per_example=None, paired_test=None))


# ---------------------------------------------------------------------------------------------- words
def caption_words(text) -> list[str]:
    """One caption (str or UTF-8 bytes) -> its words: lowercased, punctuation removed (as `example_map` does)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return re.sub(_NOT_WORD, " ", str(text).lower()).split()


def normalise(text) -> str:
    """A caption as the words `caption_words` finds, joined by single spaces (what BLEU compares)."""
    return " ".join(caption_words(text))


def detokenize(ids, vocabulary, eos_id: int = EOS_ID) -> str:
    """Caption ids -> the words up to the first EOS or padding."""
    words = []
    for token in (int(t) for t in ids):
        if token in (PAD_ID, eos_id):
            break
        words.append(vocabulary[token] if 0 <= token < len(vocabulary) else "<unk>")
    return " ".join(words)


def corpus_bleu_all(hypotheses: list[str], references: list[list[str]]) -> float:
    """sacrebleu corpus BLEU (0-100) of one hypothesis per image against all of that image's references."""
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(f"BLEU needs the references of every hypothesis. Received: {len(hypotheses)} hypotheses "
                         f"and references for {len(references)} images.")
    count = max((len(r) for r in references), default=0)
    # sacrebleu takes reference *streams* (the k-th reference of every image); shorter lists repeat their last.
    streams = [[refs[min(k, len(refs) - 1)] for refs in references] for k in range(count)]
    return float(sacrebleu.corpus_bleu(hypotheses, streams).score)


# --------------------------------------------------------------------------------------------- tensors
def tokenizer(info: Mapping[str, Any], length: int):
    """A TensorFlow function: captions (R,) strings -> ids (R, length) int32, each cut to length - 1 words,
    ended with EOS and right-padded with PAD."""
    import tensorflow as tf

    vocabulary = list(info["vocabulary"])
    words = vocabulary[UNK_ID + 1:]
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(words), tf.range(UNK_ID + 1, len(vocabulary), dtype=tf.int32)),
        default_value=UNK_ID)

    def tokenize(captions):
        text = tf.strings.regex_replace(tf.strings.lower(captions), _NOT_WORD, " ")
        ids = tf.ragged.map_flat_values(table.lookup, tf.strings.split(text))[:, :length - 1]
        ends = tf.fill([tf.shape(captions)[0], 1], EOS_ID)
        ids = tf.concat([ids, tf.RaggedTensor.from_tensor(ends)], axis=1)
        return ids.to_tensor(default_value=PAD_ID, shape=[None, length])

    return tokenize


def teacher_forcing(ids):
    """Caption ids (..., L) -> ([BOS] + ids[:-1] padded where ids are, weights 1.0 on real ids, 0.0 on pads)."""
    import tensorflow as tf

    real = tf.not_equal(ids, PAD_ID)
    bos = tf.fill(tf.concat([tf.shape(ids)[:-1], [1]], axis=0), BOS_ID)
    shifted = tf.concat([bos, ids[..., :-1]], axis=-1)
    return tf.where(real, shifted, tf.zeros_like(shifted)), tf.cast(real, tf.float32)


# --------------------------------------------------------------------------------------------- the task
class CaptioningTask(Task):
    """Teacher-forced training, free decoding (greedy, beam) and corpus BLEU against all references."""

    names = ("image_captioning",)
    endpoint_takes_image = True
    metric_names = ("bleu", "bleu_beam", "constant_caption_bleu")
    #: test images the pictures show
    pictures_shown = 8

    def example_map(self, spec, hparams, info, outputs: int = 1):
        import tensorflow as tf

        tokenize = tokenizer(info, int(hparams["caption_length"]))

        def shape_example(image, captions):
            captions = tf.reshape(tf.convert_to_tensor(captions), [-1])
            ids = tokenize(captions)
            digest = tf.strings.to_hash_bucket_fast(tf.strings.reduce_join(captions, separator="\n"), 2 ** 31 - 1)
            target = ids[tf.math.floormod(digest, tf.cast(tf.shape(captions)[0], tf.int64))]
            decoder_input, weights = teacher_forcing(target)
            return {"image": image, "caption": decoder_input, REFERENCES: captions}, target, weights

        return shape_example

    def compile(self, model, spec, hparams, *, learning_rate: float, outputs: int = 1, phase=None):
        recipe = spec.recipe
        # Weighted, so padding does not count (the map's weights are 0 on pads).
        model.compile(optimizer=make_optimizer(recipe, learning_rate), loss=recipe.loss,
                      weighted_metrics=list(recipe.metrics) or None)
        return model

    # ---------------------------------------------------------------------------------------- evaluation
    def evaluate(self, model, batches, spec, hparams, info, *, seed: int = 0) -> Evaluation:
        """Greedy and beam-search captions of every test image, and their corpus BLEU against all references."""
        greedy, beam = self._decoder(model, info, "greedy"), self._decoder(model, info, "beam")
        vocabulary = list(info["vocabulary"])
        hypotheses, beams, references = [], [], []
        for images, refs in _images_and_references(batches):
            hypotheses += [detokenize(r, vocabulary) for r in np.asarray(greedy.predict_on_batch(images))]
            beams += [detokenize(r, vocabulary) for r in np.asarray(beam.predict_on_batch(images))]
            references += [[normalise(text) for text in row] for row in refs]
        constant = normalise(info.get("constant_caption", ""))
        metrics = {"bleu": corpus_bleu_all(hypotheses, references),
                   "bleu_beam": corpus_bleu_all(beams, references),
                   "constant_caption_bleu": corpus_bleu_all([constant] * len(references), references)}
        return Evaluation(metrics=metrics)

    @staticmethod
    def _decoder(model, info, sampler: str):
        from zoo.models.captioning.captioner import caption_decoder

        ids = decoding_ids(info)
        return caption_decoder(model, sampler=sampler, num_beams=BEAMS, **ids)

    # ------------------------------------------------------------------------------------------- serving
    def serving_model(self, model, spec, hparams, info):
        """Images of any size (float [0, 1]) -> their greedy captions, strings (batch,)."""
        import keras

        from zoo.models.sequence.text_io import IdsToWords

        height, width, channels = model.image_shape
        image = keras.Input((None, None, channels), name="image")
        resized = keras.layers.Resizing(height, width, interpolation="bilinear", name="resize_to_model")(image)
        ids = self._decoder(model, info, "greedy")(resized)
        caption = IdsToWords(list(info["vocabulary"]), eos_id=decoding_ids(info)["eos_id"], pad_id=PAD_ID,
                             name="caption")(ids)
        return super().serving_model(keras.Model(image, caption, name=f"{model.name}_serving"), spec, hparams, info)

    # ------------------------------------------------------------------------------------------ pictures
    def pictures(self, model, batches, spec, hparams, info, out_dir, *, seed: int = 0) -> dict[str, str]:
        """The first test images, each with its greedy caption under it (and its first reference)."""
        images, refs = [], []
        for batch_images, batch_refs in _images_and_references(batches):
            images.append(batch_images)
            refs.append(batch_refs)
            if sum(len(i) for i in images) >= self.pictures_shown:
                break
        if not images:
            return {}
        images = np.concatenate(images)[:self.pictures_shown]
        refs = np.concatenate(refs)[:self.pictures_shown]
        vocabulary = list(info["vocabulary"])
        captions = [detokenize(r, vocabulary) for r in np.asarray(self._decoder(model, info, "greedy")
                                                                  .predict_on_batch(images))]
        path = os.path.join(out_dir, "captions.png")
        save_captioned_images(images, captions, [normalise(r[0]) for r in refs], path,
                              f"{spec.name}: generated captions (bold) and a reference caption")
        return {"Test images with their generated captions": path}

    # ------------------------------------------------------------------------------- standard model test
    def random_batch(self, spec, hparams, model, batch, rng):
        """Random images and EOS-ended captions of random words, mapped as in training (without weights)."""
        height, width, channels = tuple(hparams["input_shape"])
        length, vocab_size = int(hparams["caption_length"]), int(hparams["vocab_size"])
        images = rng.uniform(size=(batch, height, width, channels)).astype("float32")
        targets = np.zeros((batch, length), dtype="int32")
        for i, n in enumerate(rng.integers(1, length + 1, size=batch)):
            targets[i, :n - 1] = rng.integers(UNK_ID + 1, vocab_size, size=n - 1)
            targets[i, n - 1] = EOS_ID
        decoder_input, _ = teacher_forcing(targets)
        return {"image": images, "caption": np.asarray(decoder_input)}, targets


def decoding_ids(info: Mapping[str, Any]) -> dict[str, int]:
    return {"bos_id": int(info.get("bos_id", BOS_ID)), "eos_id": int(info.get("eos_id", EOS_ID))}


def _images_and_references(batches):
    """(images, references (batch, R) str) of each test batch, mapped by `example_map` or not."""
    for batch in batches:
        inputs = batch[0]
        if isinstance(inputs, Mapping):
            images, refs = inputs["image"], inputs[REFERENCES]
        else:
            images, refs = inputs, batch[1]
        refs = np.asarray(refs)
        if refs.ndim == 1:
            refs = refs[:, None]
        yield np.asarray(images, dtype="float32"), [[_text(t) for t in row] for row in refs]


def _text(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def save_captioned_images(images, captions, references, path: str, title: str, columns: int = 4) -> str:
    """A grid of images with each one's generated caption (bold) and a reference under it, as a PNG."""
    import textwrap

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = -(-len(images) // columns)
    figure = Figure(figsize=(3.2 * columns, 4.0 * rows))
    FigureCanvasAgg(figure)
    for i, (image, caption, reference) in enumerate(zip(images, captions, references)):
        axes = figure.add_subplot(rows, columns, i + 1)
        axes.imshow(np.clip(np.asarray(image), 0.0, 1.0))
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_xlabel(f"$\\bf{{{_bold(caption)}}}$\n" + "\n".join(textwrap.wrap(f"ref: {reference}", 40)),
                        fontsize=7)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    return path


def _bold(caption: str) -> str:
    """A caption as mathtext bold (spaces escaped, wrapped every few words)."""
    lines = [" ".join(caption.split()[i:i + 6]) for i in range(0, max(len(caption.split()), 1), 6)] or [""]
    return "}$\n$\\bf{".join(line.replace(" ", "\\ ").replace("'", "") or "(empty)" for line in lines)


# ---------------------------------------------------------------------------------------------- adapter
def adapt_captions(spec, hparams, splits):
    """Fit captioning data to the model: images to its input shape, the vocabulary on the training captions.

    Arrays (offline data) are resized here; streamed splits (`zoo.data.stream.TfdsSplit`) keep their images
    (the reader resizes each) and have their training captions streamed once to count the words. A
    reference caption longer than the model's `caption_length - 1` words in arrays data is a one-line
    ValueError naming the hyperparameter (nothing is cut silently where the data are small enough to check;
    streamed captions are cut by `example_map`).

    Returns:
        `splits` with `info`: vocabulary (id -> word, the reserved four first), the reserved ids,
        caption_length, vocab_size (the model's), references (per image), constant_caption (the most
        frequent training caption) and the dataset's name.
    """
    if splits.kind != "captioning":
        raise ValueError(f"{spec.name} trains on captioning data (images with reference captions); dataset "
                         f"{splits.name!r} holds {splits.kind!r} data.")
    length, vocab_size = int(hparams["caption_length"]), int(hparams["vocab_size"])
    if splits.streamed:
        texts = list(_streamed_captions(splits.train, splits.info))
    else:
        _fit_arrays(splits, spec, hparams, length)
        texts = [str(t) for t in np.asarray(splits.train.y).reshape(-1)]
    tokenised = [caption_words(t) for t in texts]
    vocabulary = fit_vocabulary(tokenised, vocab_size)
    constant = constant_caption(tokenised)
    references = int(splits.info.get("references") or np.asarray(splits.train.y).shape[-1])
    splits.info = {**splits.info, **special_ids(), "unk_id": UNK_ID, "vocabulary": vocabulary,
                   "vocab_size": vocab_size, "caption_length": length, "references": references,
                   "constant_caption": constant, "dataset": splits.name}
    return splits


def constant_caption(tokenised: list[list[str]]) -> str:
    """The most frequent caption of at least four words (ties: alphabetical), else the most frequent of any.

    A caption shorter than BLEU's longest n-gram (4) scores 0 against anything, which would make the
    constant-caption baseline say nothing; the shortest captions are also the most repeated ones.
    """
    from collections import Counter

    counts = Counter(" ".join(words) for words in tokenised if words)
    scorable = [c for c in counts if len(c.split()) >= 4] or list(counts)
    return min(scorable, key=lambda c: (-counts[c], c)) if scorable else ""


def _fit_arrays(splits, spec, hparams, length: int) -> None:
    from zoo.data.adapt import fit_images

    (shape,) = [sig.shape for name, sig in spec.inputs(hparams).items() if name == "image"]
    for _, split in splits.items():
        split.x = fit_images(np.asarray(split.x), tuple(shape))
        split.y = np.asarray(split.y).astype(str)
        longest = max((len(caption_words(t)) for t in split.y.reshape(-1)), default=0)
        if longest > length - 1:
            raise ValueError(f"{splits.name} has captions of {longest} words but the model writes at most "
                             f"{length - 1} (and EOS); set --hparam caption_length={longest + 1} or more.")


def _streamed_captions(split, info):
    """Every reference caption of a streamed split (`TfdsSplit` with an `example_fn`), as str."""
    import tensorflow_datasets as tfds

    from zoo.data.adapt import resolve

    example_fn = resolve(split.example_fn)
    ds = tfds.load(split.name, split=split.split, data_dir=info.get("data_dir"), shuffle_files=False,
                   decoders={split.image_key: tfds.decode.SkipDecoding()})
    ds = ds.map(lambda example: example_fn(example)[1])
    for captions in tfds.as_numpy(ds.batch(1024)):
        for caption in np.asarray(captions).reshape(-1):
            yield _text(caption)


def streamed_image_shape(hparams) -> tuple[int, ...]:
    """The shape the reader resizes streamed images to: the model's image input."""
    return tuple(hparams["input_shape"])


adapt_captions.streamed_image_shape = streamed_image_shape
