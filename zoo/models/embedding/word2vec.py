"""word2vec: word embeddings learned by predicting words from their neighbours (Mikolov et al. 2013,
"Efficient Estimation of Word Representations in Vector Space" and "Distributed Representations of Words
and Phrases and their Compositionality").

Two models, one embedding table each called `word_embedding` (row i is the vector of word id i; 0 is
padding, 1 unknown words), which is what evaluation, the embedding projector and the endpoint read:

- **skip-gram with negative sampling**: a centre word predicts each word of its window. For every
  (target, context) pair the data pipeline draws `negatives` words from the unigram^0.75 distribution; the
  model scores the true context and the negatives by the dot product of the target's input vector with each
  candidate's output vector (`context_embedding`) and returns sigmoid probabilities, trained with binary
  cross-entropy (label 1 for the true context, 0 for the negatives).
- **CBOW**: the mean of the window's input vectors predicts the centre word through a full softmax over the
  vocabulary. The full softmax is exact and has no sampling noise; it costs vocab_size x embedding_dim per
  centre word, which is small for the offline corpus (~140 words) and affordable on an accelerator for a
  30,000-word lm1b vocabulary (negative sampling is what makes skip-gram cheap; here it is not needed).

Inputs are grouped by sentence: the data pipeline turns one sentence into a fixed block of examples, so a
batch is (sentences, examples per sentence, ...); padded examples have sample weight 0. Skip-gram takes
{"target": (batch, pairs), "context": (batch, pairs, 1 + negatives)}; CBOW takes
{"context": (batch, positions, 2 * window)} (0 where the window leaves the sentence). Any number of examples
per group works.

Sizes with the defaults (vocabulary 30,000, 128 dimensions): skip-gram 7,680,000 parameters (two tables of
3,840,000), CBOW 7,710,000 (table 3,840,000, softmax 3,870,000).

`window`, `subsample` and `max_length` shape the training data, not the network; they are hyperparameters
so one place (the spec) holds everything a run depends on.
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.nn import Styles, check_positive_int, serializable

EMBEDDING = "word_embedding"
NEIGHBOURS = 10


def check_hparams(*, vocab_size, embedding_dim, window, subsample, max_length, negatives=None, **_) -> None:
    """One-line ValueErrors for hyperparameters no word2vec model can use."""
    check_positive_int("vocab_size", vocab_size)
    if vocab_size < 3:
        raise ValueError(f"`vocab_size` must be at least 3 (padding, unknown and one word). Received: "
                         f"vocab_size={vocab_size!r}")
    check_positive_int("embedding_dim", embedding_dim)
    check_positive_int("window", window)
    check_positive_int("max_length", max_length)
    if negatives is not None:
        check_positive_int("negatives", negatives)
    if isinstance(subsample, bool) or not isinstance(subsample, (int, float)) or not 0 < subsample <= 1:
        raise ValueError(f"`subsample` (the threshold t of frequent-word subsampling) must be in (0, 1]. "
                         f"Received: subsample={subsample!r}")


# ---------------------------------------------------------------------------------------------- layers
@serializable
class PairScores(keras.layers.Layer):
    """Skip-gram's scores: sigmoid(target vector . candidate vector) for each candidate of each pair.

    Call on [targets (..., dim), candidates (..., k, dim)]; returns (..., k) probabilities in float32 (the
    output head stays float32 under mixed precision).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, inputs):
        targets, candidates = (ops.cast(t, "float32") for t in inputs)
        logits = ops.sum(ops.expand_dims(targets, -2) * candidates, axis=-1)
        return keras.activations.sigmoid(logits)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[1][:-1])


@serializable
class ContextMean(keras.layers.Layer):
    """CBOW's hidden layer: the mean of a window's word vectors, ignoring masked (padding) slots.

    Call on (..., window, dim) with the embedding's mask (..., window); returns (..., dim). A window with no
    word gives zeros (its example has sample weight 0).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=-2)
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        total = ops.sum(inputs * weights, axis=-2)
        return total / ops.maximum(ops.sum(weights, axis=-2), ops.cast(1, inputs.dtype))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-2], input_shape[-1])


@serializable
class WordNeighbours(keras.layers.Layer):
    """A word id's vector and its nearest words by cosine similarity, for the deployed model.

    Args:
        words: how many ids (from 0) are real words; only ids 2..words-1 are vectors or neighbours.
        embedding_dim: vector size.
        neighbours: how many neighbours to return.

    Call on ids (batch,) or (batch, 1); returns {"vector": (batch, dim), "neighbour_ids": (batch, neighbours),
    "similarity": (batch, neighbours), "in_vocabulary": (batch,)}. An unknown word gets a zero vector.
    Load the vectors with `set_weights([table[:words]])`.
    """

    def __init__(self, words: int, embedding_dim: int, neighbours: int = NEIGHBOURS, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.words = check_positive_int("words", words)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.neighbours = check_positive_int("neighbours", neighbours)
        if words < 3:
            raise ValueError(f"`words` must count padding, unknown and at least one word. Received: words={words!r}")
        self.vectors = self.add_weight(shape=(words, embedding_dim), initializer="zeros", trainable=False,
                                       name="vectors")

    def call(self, ids):
        ids = ops.reshape(ops.cast(ids, "int32"), (-1,))
        known = ops.logical_and(ids >= 2, ids < self.words)
        vectors = ops.take(self.vectors, ops.where(known, ids, ops.zeros_like(ids)), axis=0)
        vectors = vectors * ops.expand_dims(ops.cast(known, vectors.dtype), -1)
        unit = self.vectors / ops.maximum(ops.norm(self.vectors, axis=-1, keepdims=True), 1e-12)
        queries = vectors / ops.maximum(ops.norm(vectors, axis=-1, keepdims=True), 1e-12)
        similarity = ops.matmul(queries, ops.transpose(unit))
        # Padding, the unknown word and the query itself are never neighbours.
        columns = ops.arange(self.words)
        excluded = ops.logical_or(ops.expand_dims(columns < 2, 0),
                                  ops.expand_dims(columns, 0) == ops.expand_dims(ids, 1))
        similarity = ops.where(excluded, ops.full_like(similarity, -2.0), similarity)
        top, neighbour_ids = ops.top_k(similarity, k=min(self.neighbours, self.words - 3) or 1)
        return {"vector": vectors, "neighbour_ids": neighbour_ids, "similarity": top, "in_vocabulary": known}

    def get_config(self):
        return {**super().get_config(), "words": self.words, "embedding_dim": self.embedding_dim,
                "neighbours": self.neighbours}


def word_vectors(model: keras.Model):
    """The learned word vectors of a word2vec model, (vocab_size, embedding_dim) as NumPy."""
    return keras.ops.convert_to_numpy(model.get_layer(EMBEDDING).embeddings)


# ------------------------------------------------------------------------------------------- skip-gram
def _skipgram_layers(vocab_size, embedding_dim):
    return (keras.layers.Embedding(vocab_size, embedding_dim, name=EMBEDDING),
            keras.layers.Embedding(vocab_size, embedding_dim, name="context_embedding"),
            PairScores(name="scores"))


def _skipgram_inputs(negatives):
    return (keras.Input(shape=(None,), dtype="int32", name="target"),
            keras.Input(shape=(None, 1 + negatives), dtype="int32", name="context"))


def skipgram_functional(*, vocab_size=30000, embedding_dim=128, negatives=5, window=5, subsample=1e-4,
                        max_length=64, **_) -> keras.Model:
    """Skip-gram with negative sampling, functional API.

    Args:
        vocab_size: word ids (0 padding, 1 unknown).
        embedding_dim: size of the word vectors.
        negatives: negative samples per (target, context) pair (k in the paper).
        window, subsample, max_length: the data pipeline's (see `zoo.tasks.embedding`).

    Returns:
        A model {"target", "context"} -> probabilities (batch, pairs, 1 + negatives).

    Example:
        >>> model = skipgram_functional(vocab_size=1000, embedding_dim=32)
        >>> p = model({"target": np.ones((2, 3), "int32"), "context": np.ones((2, 3, 6), "int32")})
    """
    check_hparams(vocab_size=vocab_size, embedding_dim=embedding_dim, window=window, subsample=subsample,
                  max_length=max_length, negatives=negatives)
    words, contexts, scores = _skipgram_layers(vocab_size, embedding_dim)
    target, context = _skipgram_inputs(negatives)
    outputs = scores([words(target), contexts(context)])
    return keras.Model({"target": target, "context": context}, outputs, name="word2vec_skipgram")


@serializable
class SkipGram(keras.Model):
    """Skip-gram with negative sampling as a `keras.Model` subclass; arguments as `skipgram_functional`.

    Example:
        >>> model = SkipGram(vocab_size=1000, embedding_dim=32, negatives=5)
    """

    def __init__(self, vocab_size=30000, embedding_dim=128, negatives=5, window=5, subsample=1e-4, max_length=64,
                 name="word2vec_skipgram", **kwargs):
        check_hparams(vocab_size=vocab_size, embedding_dim=embedding_dim, window=window, subsample=subsample,
                      max_length=max_length, negatives=negatives)
        super().__init__(name=name, **kwargs)
        self.vocab_size, self.embedding_dim, self.negatives = vocab_size, embedding_dim, negatives
        self.window, self.subsample, self.max_length = window, subsample, max_length
        self.words, self.contexts, self.scores = _skipgram_layers(vocab_size, embedding_dim)
        self.build({"target": (None, None), "context": (None, None, 1 + negatives)})

    def build(self, input_shape):
        self.words.build(input_shape["target"])
        self.contexts.build(input_shape["context"])
        self.built = True

    def call(self, inputs):
        return self.scores([self.words(inputs["target"]), self.contexts(inputs["context"])])

    def get_config(self):
        return {"name": self.name, "vocab_size": self.vocab_size, "embedding_dim": self.embedding_dim,
                "negatives": self.negatives, "window": self.window, "subsample": self.subsample,
                "max_length": self.max_length}


SKIPGRAM = Styles(sequential=None, functional=skipgram_functional, subclass=lambda **hp: SkipGram(**hp))


# ------------------------------------------------------------------------------------------------ CBOW
def cbow_layers(*, vocab_size=30000, embedding_dim=128, window=5, subsample=1e-4, max_length=64,
                **_) -> list[keras.layers.Layer]:
    """CBOW's layers: `word_embedding` (masking padding), `context_mean`, and the softmax `predictions`.

    Args:
        vocab_size: word ids (0 padding, 1 unknown); also the softmax's size.
        embedding_dim: size of the word vectors.
        window: words on each side of the centre (the input holds 2 * window ids).
        subsample, max_length: the data pipeline's (see `zoo.tasks.embedding`).
    """
    check_hparams(vocab_size=vocab_size, embedding_dim=embedding_dim, window=window, subsample=subsample,
                  max_length=max_length)
    return [keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name=EMBEDDING),
            ContextMean(name="context_mean"),
            keras.layers.Dense(vocab_size, activation="softmax", dtype="float32", name="predictions")]


def _cbow_input(window):
    return keras.Input(shape=(None, 2 * window), dtype="int32", name="context")


def cbow_sequential(**hp) -> keras.Model:
    """CBOW as a `keras.Sequential` (one input, one path); arguments as `cbow_layers`."""
    return keras.Sequential([_cbow_input(hp.get("window", 5)), *cbow_layers(**hp)], name="word2vec_cbow")


def cbow_functional(**hp) -> keras.Model:
    """CBOW with the functional API: {"context": (batch, positions, 2 * window)} -> (batch, positions, vocab).

    Example:
        >>> model = cbow_functional(vocab_size=1000, embedding_dim=32, window=2)
        >>> p = model(np.ones((2, 7, 4), "int32"))  # (2, 7, 1000)
    """
    inputs = x = _cbow_input(hp.get("window", 5))
    for layer in cbow_layers(**hp):
        x = layer(x)
    return keras.Model(inputs, x, name="word2vec_cbow")


@serializable
class CBOW(keras.Model):
    """CBOW as a `keras.Model` subclass; arguments as `cbow_layers`.

    Example:
        >>> model = CBOW(vocab_size=1000, embedding_dim=32, window=2)
    """

    def __init__(self, vocab_size=30000, embedding_dim=128, window=5, subsample=1e-4, max_length=64,
                 name="word2vec_cbow", **kwargs):
        super().__init__(name=name, **kwargs)
        self.vocab_size, self.embedding_dim, self.window = vocab_size, embedding_dim, window
        self.subsample, self.max_length = subsample, max_length
        self.embedding, self.mean, self.predictions = cbow_layers(
            vocab_size=vocab_size, embedding_dim=embedding_dim, window=window, subsample=subsample,
            max_length=max_length)
        self.build((None, None, 2 * window))

    def build(self, input_shape):
        self.embedding.build(input_shape)
        self.predictions.build((*input_shape[:-1], self.embedding_dim))
        self.built = True

    def call(self, context):
        vectors = self.embedding(context)
        return self.predictions(self.mean(vectors, mask=self.embedding.compute_mask(context)))

    def get_config(self):
        return {"name": self.name, "vocab_size": self.vocab_size, "embedding_dim": self.embedding_dim,
                "window": self.window, "subsample": self.subsample, "max_length": self.max_length}


CBOW_STYLES = Styles(sequential=cbow_sequential, functional=cbow_functional, subclass=lambda **hp: CBOW(**hp))


# --------------------------------------------------------------------------------------------- serving
def word_serving(model: keras.Model, info) -> keras.Model:
    """The deployed word2vec model: raw words (batch,) in; each word's vector and nearest words out.

    The vocabulary fitted on the training split travels with the export as a `TextVectorization` (the
    tokenisation of training: lower case, punctuation stripped; the first word of each string is looked up).

    Returns:
        A model "word" -> {"vector", "neighbours" (words), "similarity" (cosine), "in_vocabulary"}.
    """
    if "vocabulary" not in info:
        raise ValueError(f"{model.name}'s serving model needs the vocabulary fitted by its adapter; info has only "
                         f"{sorted(info)}.")
    vocabulary = [str(w) for w in info["vocabulary"]]
    table = word_vectors(model)
    if len(vocabulary) > len(table):
        raise ValueError(f"The data's vocabulary has {len(vocabulary)} words but {model.name} has "
                         f"{len(table)} vectors; train with vocab_size={len(vocabulary)} or more.")
    words = vocabulary[2:]
    word = keras.Input(shape=(), dtype="string", name="word")
    ids = keras.layers.TextVectorization(vocabulary=words, output_mode="int", output_sequence_length=1,
                                         name="word_lookup")(word)
    lookup = WordNeighbours(len(vocabulary), table.shape[1], name="neighbours")
    found = lookup(ids)
    lookup.set_weights([table[:len(vocabulary)]])
    names = keras.layers.StringLookup(vocabulary=words, mask_token="", oov_token="[UNK]", invert=True,
                                      name="id_to_word")(found["neighbour_ids"])
    outputs = {"vector": found["vector"], "neighbours": names, "similarity": found["similarity"],
               "in_vocabulary": found["in_vocabulary"]}
    return keras.Model(word, outputs, name=f"{model.name}_serving")
