"""word2vec (catalog H): the tf.data pair generation, the embedding evaluation, the projector files, the
standard evaluation files' parsing, bad options, and one quick learning check (the full pipeline is slow)."""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest

import zoo
from zoo.data import Split, Splits
from zoo.data.corpus import (
    FAMILIES, adapt_corpus, evaluation_fingerprint, planted_analogies, planted_similarity, read_analogies,
    read_word_similarity, standard_evaluation_files,
)
from zoo.tasks.embedding import (
    analogy_hits, cbow_examples, keep_probabilities, negative_log_probabilities, similarity_correlation,
    skipgram_examples, write_projector_files,
)


def _corpus(sentences, vocab_size=50):
    """A prepared corpus (vocabulary and counts fitted on `sentences`) as the adapter leaves it."""
    x = np.asarray(sentences, dtype=object)
    splits = Splits("tiny", "corpus", Split(x, np.zeros(len(x), "int32")), Split(x[:1], np.zeros(1, "int32")),
                    Split(x[:1], np.zeros(1, "int32")))
    spec = zoo.get_spec("word2vec_skipgram")
    return adapt_corpus(spec, {"vocab_size": vocab_size}, splits).info


def _mapped(make, sentences):
    """The map's outputs for every sentence, through tf.data (as training runs it), stacked."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(np.asarray(sentences).astype(str)).map(make).batch(len(sentences))
    return next(iter(ds))


def _pairs(info, sentence, window, subsample=1.0, negatives=2, max_length=10):
    """The valid (target word, context word) pairs the skip-gram map makes of one sentence, and its output."""
    make = skipgram_examples(info["vocabulary"], info["counts"], window=window, negatives=negatives,
                             subsample=subsample, max_length=max_length)
    inputs, labels, weights = make(np.asarray(sentence, dtype=object))
    targets, contexts = inputs["target"].numpy(), inputs["context"].numpy()
    valid = weights.numpy() > 0
    words = info["vocabulary"]
    return [(words[t], words[c]) for t, c in zip(targets[valid], contexts[valid, 0])], (inputs, labels, weights)


# ---------------------------------------------------------------------------------------- pair generation
def test_vocabulary_is_fitted_with_counts_and_the_textvectorization_ids():
    info = _corpus(["The cat sat.", "the dog sat", "a cat, the end"])
    assert info["vocabulary"][:3] == ["", "[UNK]", "the"]
    counts = dict(zip(info["vocabulary"], info["counts"]))
    assert counts["the"] == 3 and counts["cat"] == 2 and counts["sat"] == 2 and counts["dog"] == 1
    assert counts[""] == 0


def test_skipgram_pairs_are_every_word_within_the_window_and_labels_mark_the_true_context():
    sentence = "a b c d e"
    info = _corpus([sentence])
    pairs, (inputs, labels, weights) = _pairs(info, sentence, window=2)
    words = sentence.split()
    expected = [(words[i], words[j]) for i in range(5) for j in range(5) if i != j and abs(i - j) <= 2]
    assert sorted(pairs) == sorted(expected)
    assert inputs["target"].shape == (10 * 4,) and inputs["context"].shape == (10 * 4, 3)
    np.testing.assert_array_equal(labels.numpy()[:, 0], 1.0)
    np.testing.assert_array_equal(labels.numpy()[:, 1:], 0.0)
    # Padded slots are zeros with weight 0.
    invalid = weights.numpy() == 0
    assert np.all(inputs["target"].numpy()[invalid] == 0) and np.all(inputs["context"].numpy()[invalid] == 0)


def test_no_pairs_or_windows_cross_a_sentence_boundary():
    first, second = "a b c", "x y z w"
    info = _corpus([first, second])
    for sentence in (first, second):
        pairs, _ = _pairs(info, sentence, window=5)
        assert {w for pair in pairs for w in pair} <= set(sentence.split())
        make = cbow_examples(info["vocabulary"], info["counts"], window=5, subsample=1.0, max_length=10)
        contexts, centres, weights = (t.numpy() for t in make(np.asarray(sentence, dtype=object)))
        seen = {info["vocabulary"][i] for i in contexts[weights > 0].reshape(-1) if i != 0}
        assert seen <= set(sentence.split())
        assert [info["vocabulary"][i] for i in centres[weights > 0]] == sentence.split()


def test_cbow_windows_hold_the_neighbours_of_each_centre_word():
    sentence = "a b c d"
    info = _corpus([sentence])
    make = cbow_examples(info["vocabulary"], info["counts"], window=1, subsample=1.0, max_length=6)
    contexts, centres, weights = (t.numpy() for t in make(np.asarray(sentence, dtype=object)))
    words = info["vocabulary"]
    rows = [[words[i] for i in row] for row in contexts[:4]]
    assert rows == [["", "b"], ["a", "c"], ["b", "d"], ["c", ""]]
    np.testing.assert_array_equal(weights, [1, 1, 1, 1, 0, 0])
    assert [words[i] for i in centres[:4]] == ["a", "b", "c", "d"]


def test_subsampling_discards_frequent_words_more_as_mikolov_prescribes():
    rng = np.random.default_rng(0)
    rare = [f"w{i}" for i in range(100)]
    sentences = [" ".join(["the", "the", "the", *rng.choice(rare, 3)]) for _ in range(600)]
    info = _corpus(sentences, vocab_size=128)
    t = 1e-2
    keep = keep_probabilities(info["counts"], t)
    the = info["vocabulary"].index("the")
    frequency = info["counts"][the] / sum(info["counts"])
    assert keep[the] == pytest.approx(np.sqrt(t / frequency), rel=1e-5)
    make = cbow_examples(info["vocabulary"], info["counts"], window=2, subsample=t, max_length=8)
    centres = _mapped(make, sentences)[1].numpy()
    kept = collections.Counter(centres[centres > 0].tolist())
    share_the = kept[the] / info["counts"][the]
    rare_ids = [info["vocabulary"].index(w) for w in rare]
    share_rare = sum(kept[i] for i in rare_ids) / sum(info["counts"][i] for i in rare_ids)
    assert share_the == pytest.approx(keep[the], abs=0.05)
    assert share_rare > 0.9 > 0.5 > share_the


def test_negatives_follow_the_unigram_distribution_to_the_power_three_quarters():
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(10)]
    weights = np.arange(1, 11) ** 2.0
    sentences = [" ".join(rng.choice(words, size=6, p=weights / weights.sum())) for _ in range(300)]
    info = _corpus(sentences)
    make = skipgram_examples(info["vocabulary"], info["counts"], window=2, negatives=5, subsample=1.0, max_length=6)
    inputs, _, valid = _mapped(make, sentences)
    drawn = collections.Counter(inputs["context"].numpy()[valid.numpy() > 0][:, 1:].reshape(-1).tolist())
    assert 0 not in drawn and 1 not in drawn
    expected = np.exp(negative_log_probabilities(info["counts"]))
    observed = np.array([drawn[i] for i in range(len(expected))]) / sum(drawn.values())
    assert 0.5 * np.abs(observed - expected).sum() < 0.03  # total variation distance
    uniform = np.where(np.arange(len(expected)) >= 2, 1.0, 0.0) / (len(expected) - 2)
    unigram = np.asarray(info["counts"], float) / sum(info["counts"])
    assert np.abs(observed - expected).sum() < min(np.abs(observed - uniform).sum(), np.abs(observed - unigram).sum())


def test_the_maps_are_deterministic_and_run_inside_tf_data():
    import tensorflow as tf

    sentences = ["a b c d e f", "b c d e f a", "the a b the c"]
    info = _corpus(sentences)
    make = skipgram_examples(info["vocabulary"], info["counts"], window=2, negatives=3, subsample=0.05, max_length=8)
    ds = tf.data.Dataset.from_tensor_slices((sentences, [0, 0, 0])).map(make, num_parallel_calls=4).batch(2)
    first = [b[0]["context"].numpy() for b in ds]
    second = [b[0]["context"].numpy() for b in ds]
    assert first[0].shape == (2, 8 * 4, 4)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------- evaluation
def _analogy_world():
    vocabulary = ["", "[UNK]", "man", "woman", "king", "queen", "apple"]
    vectors = np.zeros((7, 4))
    vectors[2] = [1, 0, 0, 0]        # man:   male
    vectors[3] = [0, 1, 0, 0]        # woman: female
    vectors[4] = [1, 0, 1, 0]        # king:  male + royal
    vectors[5] = [0, 1, 1, 0]        # queen: female + royal
    vectors[6] = [0, 0, 0, 1]
    return vectors, vocabulary


def test_3cosadd_answers_known_analogies_excluding_the_question_words():
    vectors, vocabulary = _analogy_world()
    questions = [["gender", "man", "woman", "king", "queen"], ["gender", "king", "queen", "man", "woman"],
                 ["gender", "man", "king", "woman", "queen"], ["gender", "man", "woman", "king", "apple"],
                 ["gender", "man", "woman", "king", "prince"]]
    hits, covered = analogy_hits(vectors, vocabulary, questions)
    np.testing.assert_array_equal(hits, [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(covered, [True, True, True, True, False])
    # Without excluding the question words, woman - man + king would answer "king" itself here.
    vectors[4] = [0.2, 0, 1, 0]
    hits, _ = analogy_hits(vectors, vocabulary, [["man", "woman", "king", "queen"]])
    assert hits[0] == 1.0


def test_similarity_is_the_spearman_correlation_of_cosines_with_gold_over_known_pairs():
    vectors, vocabulary = _analogy_world()
    # cos: king-queen 0.5, man-king 0.71, man-woman 0, man-apple 0
    pairs = [["king", "queen", 5.0], ["man", "king", 7.0], ["man", "woman", 1.0], ["man", "unicorn", 3.0]]
    rho, coverage = similarity_correlation(vectors, vocabulary, pairs)
    assert rho == pytest.approx(1.0) and coverage == 0.75
    reversed_gold = [[a, b, -s] for a, b, s in pairs]
    assert similarity_correlation(vectors, vocabulary, reversed_gold)[0] == pytest.approx(-1.0)
    assert similarity_correlation(vectors, vocabulary, pairs[-1:]) == (0.0, 0.0)


def test_the_task_reports_per_question_hits_for_mcnemar_and_a_fingerprint_of_the_questions():
    import keras

    from zoo.tasks import get_task

    vectors, vocabulary = _analogy_world()
    spec = zoo.get_spec("word2vec_cbow")
    hparams = {**spec.defaults, "vocab_size": 7, "embedding_dim": 4, "window": 1, "max_length": 4}
    model = zoo.build("word2vec_cbow", **hparams)
    model.get_layer("word_embedding").embeddings.assign(vectors.astype("float32"))
    info = {"vocabulary": vocabulary, "counts": [0, 0, 3, 3, 2, 2, 1],
            "analogies": [["g", "man", "woman", "king", "queen"], ["g", "man", "woman", "king", "apple"]],
            "similarity": [["king", "queen", 5.0], ["man", "king", 7.0], ["man", "woman", 1.0]]}
    batch = (np.array([[[2, 3], [4, 5]]], "int32"), np.array([[4, 6]], "int32"), np.array([[1.0, 0.0]]))
    result = get_task(spec.task).evaluate(model, [batch], spec, hparams, info)
    assert result.metrics["analogy_accuracy"] == 0.5 and result.paired_test == "mcnemar"
    np.testing.assert_array_equal(result.scores, [1.0, 0.0])
    assert result.metrics["similarity_spearman"] == pytest.approx(1.0)
    probabilities = np.asarray(model.predict_on_batch(batch[0]))
    assert result.metrics["loss"] == pytest.approx(-np.log(probabilities[0, 0, 4]), rel=1e-4)
    assert result.fingerprint == evaluation_fingerprint(info) != evaluation_fingerprint({**info, "similarity": []})
    assert isinstance(model, keras.Model)


def test_projector_files_hold_one_vector_and_one_metadata_row_per_word(tmp_path):
    vectors, vocabulary = _analogy_world()
    paths = write_projector_files(vectors, vocabulary, [0, 0, 3, 3, 2, 2, 1], str(tmp_path))
    rows = np.loadtxt(paths["vectors"], delimiter="\t")
    np.testing.assert_allclose(rows, vectors[2:])
    with open(paths["metadata"], encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert lines[0] == "word\tcount" and lines[1:] == ["man\t3", "woman\t3", "king\t2", "queen\t2", "apple\t1"]
    with open(paths["config"], encoding="utf-8") as f:
        config = f.read()
    assert 'tensor_path: "vectors.tsv"' in config and 'metadata_path: "metadata.tsv"' in config
    limited = write_projector_files(vectors, vocabulary, [0, 0, 3, 3, 2, 2, 1], str(tmp_path / "top"), limit=2)
    assert np.loadtxt(limited["vectors"], delimiter="\t").shape == (2, 4)


# -------------------------------------------------------------------------------- the evaluation files
QUESTIONS = """: capital-common-countries
Athens Greece Baghdad Iraq
Athens Greece Bangkok Thailand

: family
boy girl brother sister
"""
WORDSIM_TSV = """# The WordSimilarity-353 Test Collection
# Word 1\tWord 2\tHuman (mean)
love\tsex\t6.77
tiger\tcat\t7.35
"""
WORDSIM_CSV = """Word 1,Word 2,Human (mean)
love,sex,6.77
Tiger,cat,7.35
"""


def test_mikolov_questions_words_format_is_parsed_with_sections():
    questions = read_analogies(QUESTIONS.splitlines())
    assert questions == [["capital-common-countries", "athens", "greece", "baghdad", "iraq"],
                         ["capital-common-countries", "athens", "greece", "bangkok", "thailand"],
                         ["family", "boy", "girl", "brother", "sister"]]
    with pytest.raises(ValueError, match="line 2 must hold 4 words"):
        read_analogies([": x", "a b c"])


def test_wordsim353_files_are_parsed_in_both_layouts():
    expected = [["love", "sex", 6.77], ["tiger", "cat", 7.35]]
    assert read_word_similarity(WORDSIM_TSV.splitlines()) == expected
    assert read_word_similarity(WORDSIM_CSV.splitlines()) == expected
    with pytest.raises(ValueError, match="no numeric score"):
        read_word_similarity(["a\tb\t1", "c\td\tx"])
    with pytest.raises(ValueError, match="word1, word2 and a score"):
        read_word_similarity(["a\tb"])


def test_standard_files_load_through_keras_get_file_from_its_cache(tmp_path):
    folder = tmp_path / "word2vec"
    folder.mkdir()
    (folder / "questions-words.txt").write_text(QUESTIONS, encoding="utf-8")
    (folder / "wordsim353.tsv").write_text(WORDSIM_TSV, encoding="utf-8")
    files = standard_evaluation_files(cache_dir=str(tmp_path))
    assert len(files["analogies"]) == 3 and len(files["similarity"]) == 2
    assert files["evaluation_source"]["analogies"].endswith("questions-words.txt")


def test_lm1b_is_a_streamed_tfds_reference_whose_vocabulary_is_counted_from_the_stream(tmp_path):
    import tensorflow_datasets as tfds

    from zoo.data import load_dataset
    from zoo.data.stream import TfdsSplit

    folder = tmp_path / "word2vec"
    folder.mkdir()
    (folder / "questions-words.txt").write_text(QUESTIONS, encoding="utf-8")
    (folder / "wordsim353.tsv").write_text(WORDSIM_TSV, encoding="utf-8")
    splits = load_dataset("lm1b", cache_dir=str(tmp_path))
    assert splits.streamed and isinstance(splits.train, TfdsSplit) and splits.train.name == "lm1b"
    assert splits.info["analogies"][0][1:] == ["athens", "greece", "baghdad", "iraq"]
    with tfds.testing.mock_data(num_examples=20):
        adapted = adapt_corpus(zoo.get_spec("word2vec_skipgram"), {"vocab_size": 100}, splits)
    assert adapted.info["vocabulary"][:2] == ["", "[UNK]"] and sum(adapted.info["counts"]) > 0


# ------------------------------------------------------------------------------- the planted corpus
def test_synthetic_corpus_is_seeded_and_plants_every_relation():
    from zoo.data import load_dataset

    first = load_dataset("synthetic_corpus", seed=3, n=500)
    again = load_dataset("synthetic_corpus", seed=3, n=500)
    np.testing.assert_array_equal(first.train.x, again.train.x)
    assert first.kind == "corpus" and len(first.train) + len(first.val) + len(first.test) == 500
    pairs = sum(len(p) for _, _, p in FAMILIES.values())
    assert len(first.info["analogies"]) == sum(len(p) * (len(p) - 1) for _, _, p in FAMILIES.values())
    assert first.info["analogies"] == planted_analogies()
    gold = first.info["similarity"]
    top = max(s for _, _, s in gold)
    assert sum(s == top for _, _, s in gold) == pairs  # every planted pair shares the top level
    assert {("athens", "greece"), ("greece", "athens")} & {(a, b) for a, b, s in gold if s == top}
    assert planted_similarity(np.random.default_rng(0)) == planted_similarity(np.random.default_rng(0))


# ------------------------------------------------------------------------------------- bad options
@pytest.mark.parametrize("name,hparams,match", [
    ("word2vec_skipgram", {"negatives": 0}, "negatives"),
    ("word2vec_skipgram", {"subsample": 0.0}, "subsample"),
    ("word2vec_cbow", {"window": 0}, "window"),
    ("word2vec_cbow", {"vocab_size": 2}, "vocab_size"),
    ("word2vec_cbow", {"embedding_dim": 1.5}, "embedding_dim"),
])
def test_bad_hyperparameters_raise_one_line_value_errors(name, hparams, match):
    for style in zoo.get_spec(name).supported_styles:
        with pytest.raises(ValueError, match=match) as raised:
            zoo.build(name, style=style, **{**zoo.get_spec(name).small, **hparams})
        assert "\n" not in str(raised.value)


def test_bad_corpus_options_and_mismatched_vocabularies_raise():
    from zoo.data import load_dataset
    from zoo.tasks import get_task

    with pytest.raises(ValueError, match="between 100 and"):
        load_dataset("synthetic_corpus", n=5)
    with pytest.raises(ValueError, match="noise"):
        load_dataset("synthetic_corpus", noise=1.5)
    spec = zoo.get_spec("word2vec_skipgram")
    info = _corpus(["a b c d e f g"])
    with pytest.raises(ValueError, match="vocab_size=9"):
        get_task(spec.task).example_map(spec, {**spec.small, "vocab_size": 4}, info)
    with pytest.raises(ValueError, match="kind 'corpus'"):
        adapt_corpus(spec, spec.small, Splits("x", "text", *[Split(np.array(["a"]), np.zeros(1))] * 3))
    with pytest.raises(ValueError, match="styles|cannot be built"):
        zoo.build("word2vec_skipgram", style="sequential")


# --------------------------------------------------------------------------------------------- serving
def test_the_deployed_model_takes_raw_words_and_returns_vectors_and_nearest_words():
    from zoo.models.embedding.word2vec import word_serving

    vectors, vocabulary = _analogy_world()
    model = zoo.build("word2vec_skipgram", vocab_size=8, embedding_dim=4, negatives=2)
    table = np.zeros((8, 4), "float32")
    table[:7] = vectors
    model.get_layer("word_embedding").embeddings.assign(table)
    served = word_serving(model, {"vocabulary": vocabulary})
    out = served(np.array(["King", "unicorn"], dtype=object))
    np.testing.assert_allclose(np.asarray(out["vector"])[0], vectors[4])
    np.testing.assert_allclose(np.asarray(out["vector"])[1], 0.0)
    neighbours = [w.decode() for w in np.asarray(out["neighbours"])[0]]
    assert neighbours[:2] in (["man", "queen"], ["queen", "man"]) and "king" not in neighbours
    assert list(np.asarray(out["in_vocabulary"])) == [True, False]
    with pytest.raises(ValueError, match="vocabulary"):
        word_serving(model, {})


# ---------------------------------------------------------------------------------------- learning
def _train_and_judge(name, epochs, n=4000, seed=0, learning_rate=None):
    import keras
    import tensorflow as tf

    from zoo.data import load_dataset
    from zoo.models.embedding.word2vec import word_vectors
    from zoo.tasks import get_task

    spec = zoo.get_spec(name)
    hparams = {**spec.defaults, **spec.small}
    splits = adapt_corpus(spec, hparams, load_dataset("synthetic_corpus", seed=seed, n=n))
    task = get_task(spec.task)
    sentences = np.asarray(splits.train.x).astype(str)
    data = (tf.data.Dataset.from_tensor_slices((sentences, np.zeros(len(sentences), "int32")))
            .shuffle(len(sentences), seed=seed).map(task.example_map(spec, hparams, splits.info),
                                                    num_parallel_calls=tf.data.AUTOTUNE).batch(32))
    keras.utils.set_random_seed(seed)
    model = zoo.build(name, **hparams)
    task.compile(model, spec, hparams, learning_rate=learning_rate or spec.recipe.learning_rate)
    model.fit(data, epochs=epochs, verbose=0)
    vectors = word_vectors(model)[:len(splits.info["vocabulary"])]
    hits, _ = analogy_hits(vectors, splits.info["vocabulary"], splits.info["analogies"])
    rho, _ = similarity_correlation(vectors, splits.info["vocabulary"], splits.info["similarity"])
    return float(hits.mean()), rho, len(splits.info["vocabulary"])


def test_skipgram_recovers_the_planted_analogies_far_above_chance():
    # A higher learning rate than the recipe's, to learn in seconds.
    accuracy, rho, words = _train_and_judge("word2vec_skipgram", epochs=2, learning_rate=1e-2)
    assert accuracy > max(0.5, 20.0 / words), accuracy  # chance is about 1 / words
    assert rho > 0.5, rho


@pytest.mark.slow
@pytest.mark.parametrize("name", ["word2vec_skipgram", "word2vec_cbow"])
def test_the_gate_metric_rises_with_training_and_the_pipeline_steps_export_everything(name, tmp_path):
    from zoo.pipeline import steps
    from zoo.pipeline.serving import Predictor

    assert _train_and_judge(name, epochs=1)[0] < _train_and_judge(name, epochs=6)[0]
    spec = zoo.get_spec(name)
    hparams = dict(spec.small)
    data, model_dir, pictures = (str(tmp_path / d) for d in ("data", "model", "pictures"))
    steps.preprocess(name, "synthetic_corpus", data, hparams=hparams)
    steps.train(name, data, model_dir, hparams=hparams)
    evaluation = steps.evaluate(name, data, model_dir, pictures_dir=pictures)
    assert evaluation["metric"] == "analogy_accuracy" and evaluation["value"] >= spec.gate.floor
    assert evaluation["paired_test"] == "mcnemar" and len(evaluation["scores"]) == len(planted_analogies())
    assert {"vectors.tsv", "metadata.tsv", "projector_config.pbtxt"} <= set(os.listdir(pictures))
    assert all(p.endswith(".png") for p in evaluation["pictures"].values())
    predictor = Predictor(os.path.join(model_dir, "saved_model"))
    answer = predictor.predict({"instances": ["paris", "athens"]})["predictions"]
    assert len(answer[0]["vector"]) == hparams["embedding_dim"] and len(answer[0]["neighbours"]) == 10


def test_lm1b_prepares_by_reference_and_trains_and_evaluates_through_the_steps(tmp_path, monkeypatch):
    """preprocess describes lm1b by reference with the vocabulary counted from the stream; train and evaluate
    stream the sentences through the task's map (TFDS mock data: random text)."""
    import tensorflow_datasets as tfds

    from zoo.pipeline import steps

    folder = tmp_path / "cache" / "word2vec"
    folder.mkdir(parents=True)
    (folder / "questions-words.txt").write_text(QUESTIONS, encoding="utf-8")
    (folder / "wordsim353.tsv").write_text(WORDSIM_TSV, encoding="utf-8")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    hparams = {"vocab_size": 50, "embedding_dim": 8, "window": 2, "max_length": 8}
    data, model = str(tmp_path / "data"), str(tmp_path / "model")
    with tfds.testing.mock_data(num_examples=12):
        meta = steps.preprocess("word2vec_skipgram", "lm1b", data, hparams=hparams,
                                data_dir=str(tmp_path / "tfds"), dataset_options={"cache_dir": str(tmp_path / "cache")})
        assert meta["format"] == "tfds" and "prepare" not in meta and meta["info"]["vocabulary"][:2] == ["", "[UNK]"]
        steps.train("word2vec_skipgram", data, model, hparams=hparams, epochs=1, batch_size=4)
        evaluation = steps.evaluate("word2vec_skipgram", data, model)
    assert evaluation["metric"] == "analogy_accuracy" and 0.0 <= evaluation["value"] <= 1.0
