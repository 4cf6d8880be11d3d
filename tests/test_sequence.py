"""Catalog section E's sequence-to-sequence model beyond the standard model test: the reversal data, the
translation data and its language pairs, the teacher-forcing map, Bahdanau attention against a NumPy
reference, greedy decoding against a hand-written loop, the deployed decoder, the metrics (corpus BLEU
included), the attention heat map, and (slow) the learning checks on sequences the model never saw.
"""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.data import adapt, load_dataset
from zoo.tasks import get_task

TINY = {"vocab_size": 7, "embedding_dim": 4, "units": 5, "source_length": 5, "target_length": 6}
IDS = {"pad_id": 0, "bos_id": 1, "eos_id": 2}


def _task():
    return get_task("sequence_to_sequence")


def _real(row):
    return [int(t) for t in row if t != 0]


# ------------------------------------------------------------------------------------------------- data
def test_reversal_data_is_deterministic_and_each_target_is_its_source_reversed_then_eos():
    first, again, other = (load_dataset("synthetic_reverse", seed=s, n=300) for s in (0, 0, 1))
    for (_, a), (_, b) in zip(first.items(), again.items()):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(first.train.x, other.train.x)
    info = first.info
    assert first.kind == "sequence" and {k: info[k] for k in IDS} == IDS
    assert (info["vocab_size"], info["source_length"], info["target_length"]) == (20, 10, 11)
    for _, split in first.items():
        assert split.x.dtype == split.y.dtype == np.int32
        assert split.x.shape[1:] == (10,) and split.y.shape[1:] == (11,)
        for source, target in zip(split.x, split.y):
            tokens = _real(source)
            assert 3 <= len(tokens) <= 10 and all(3 <= t < 20 for t in tokens)
            assert list(source[:len(tokens)]) == tokens  # right-padded: no padding inside a sequence
            assert list(target[:len(tokens) + 1]) == tokens[::-1] + [2] and not target[len(tokens) + 1:].any()


def test_reversal_splits_share_no_sequence_and_cover_the_data_70_15_15():
    splits = load_dataset("synthetic_reverse", n=1000)
    seen = [{tuple(row) for row in split.x} for _, split in splits.items()]
    assert [len(s) for s in seen] == [len(split) for _, split in splits.items()] == [700, 150, 150]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])


@pytest.mark.parametrize("options,fragment", [
    ({"n": 10}, "n"), ({"symbols": 0}, "symbols"), ({"min_length": 5, "max_length": 4}, "max_length"),
    ({"symbols": 2, "min_length": 1, "max_length": 2, "n": 20}, "at most 3"),
])
def test_bad_reversal_options_are_one_line_value_errors(options, fragment):
    with pytest.raises(ValueError, match=fragment) as err:
        load_dataset("synthetic_reverse", **options)
    assert "\n" not in str(err.value)


def test_the_adapter_pads_to_the_models_lengths_and_refuses_what_does_not_fit():
    spec = zoo.get_spec("seq2seq")
    longer = {**spec.defaults, "source_length": 12, "target_length": 14}
    splits = adapt(spec, longer, load_dataset("synthetic_reverse", n=100))
    assert splits.train.x.shape[1:] == (12,) and splits.train.y.shape[1:] == (14,)
    assert not splits.train.x[:, 10:].any() and not splits.train.y[:, 11:].any()
    assert (splits.info["source_length"], splits.info["target_length"], splits.info["bos_id"]) == (12, 14, 1)
    for change, fragment in (({"source_length": 8}, "source_length=10"), ({"target_length": 9}, "target_length=11"),
                             ({"vocab_size": 10}, "vocab_size=20")):
        with pytest.raises(ValueError, match=fragment):
            adapt(spec, {**spec.defaults, **change}, load_dataset("synthetic_reverse", n=100))


def test_ted_translation_loads_word_ids_of_the_named_pair_through_tfds_with_its_mock_data(tmp_path):
    import tensorflow_datasets as tfds

    from zoo.data.online import load_tfds_arrays

    name = "ted_hrlr_translate/ru_to_en"
    with tfds.testing.mock_data(num_examples=20):
        splits = load_dataset(name, data_dir=str(tmp_path), vocab_size=40, max_length=3)
        again = load_dataset(name, data_dir=str(tmp_path), vocab_size=40, max_length=3)
        raw = load_tfds_arrays(name, "test", data_dir=str(tmp_path))
    info = splits.info
    assert splits.kind == "sequence" and splits.name == name and info["pair"] == "ru_to_en" and info["unk_id"] == 3
    assert info["source"] == "tfds:ted_hrlr_translate/ru_to_en"
    assert {k: info[k] for k in IDS} == IDS and (info["source_length"], info["target_length"]) == (3, 4)
    assert info["source_vocabulary"][:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert len(info["source_vocabulary"]) <= 40 and info["vocab_size"] <= 40
    np.testing.assert_array_equal(splits.test.x, again.test.x)
    # The kept test pairs are the raw pairs of at most 3 words, their words looked up in the vocabularies.
    words = [(s.decode().lower().split(), t.decode().lower().split()) for s, t in zip(*raw)]
    short = [(s, t) for s, t in words if 0 < len(s) <= 3 and 0 < len(t) <= 3]
    assert info["kept"]["test"] == [len(short), 20] and 0 < len(splits.test) == len(short) < 20
    for side, vocabulary in ((0, info["source_vocabulary"]), (1, info["target_vocabulary"])):
        ids = splits.test.x if side == 0 else splits.test.y
        for row, pair in zip(ids, short):
            expected = [w if w in vocabulary else "<unk>" for w in pair[side]] + (["<eos>"] if side else [])
            assert [vocabulary[i] for i in _real(row)] == expected
    # BLEU's references are the kept test pairs' own words, unknown words included.
    assert info["test_references"] == [" ".join(t) for _, t in short]


def test_the_dataset_name_picks_the_language_pair_and_its_gate_reads_bleu():
    from zoo.data import get_entry
    from zoo.data.sequences import TED_PAIRS, ted_pair
    from zoo.models.sequence import spec as sequence_specs

    spec = zoo.get_spec("seq2seq")
    assert sequence_specs.TED_PAIRS == TED_PAIRS  # the TensorFlow-free copy the spec lists
    names = {"ted_hrlr_translate", *(f"ted_hrlr_translate/{pair}" for pair in TED_PAIRS)}
    assert names == set(spec.online_datasets) and all(not get_entry(n).offline for n in names)
    assert ted_pair("ted_hrlr_translate") == "pt_to_en" and ted_pair("ted_hrlr_translate/ru_to_en") == "ru_to_en"
    for name in names:
        gate = spec.gate.for_dataset(name)
        assert (gate.metric, gate.direction, gate.floor) == ("bleu", "max", None)
    assert spec.gate.for_dataset("synthetic_reverse").metric == "token_accuracy"


@pytest.mark.parametrize("bad", ["ted_hrlr_translate/pt_en", "ted_hrlr_translate/en_to_pt", "ted_hrlr_translate/"])
def test_an_unknown_language_pair_is_a_one_line_value_error(bad):
    from zoo.data.sequences import ted_pair
    from zoo.registry import check_dataset

    for load in (lambda: load_dataset(bad), lambda: ted_pair(bad),
                 lambda: check_dataset(zoo.get_spec("seq2seq"), bad)):
        with pytest.raises(ValueError) as err:
            load()
        assert "\n" not in str(err.value) and repr(bad) in str(err.value)


def test_ted_translation_asks_for_a_model_its_size():
    from zoo.data import Split, Splits

    spec = zoo.get_spec("seq2seq")
    ids = np.full((3, 40), 7, "int32")
    splits = Splits("ted_hrlr_translate", "sequence", *(Split(ids, np.full((3, 41), 7, "int32")) for _ in range(3)))
    with pytest.raises(ValueError, match="source_length=40"):
        adapt(spec, dict(spec.defaults), splits)
    adapted = adapt(spec, {**spec.defaults, "source_length": 40, "target_length": 41}, splits)
    assert adapted.train.x.shape == (3, 40)


# ------------------------------------------------------------------------------------------ the task map
def test_the_map_feeds_the_decoder_the_target_shifted_behind_bos_and_weighs_only_real_tokens():
    import tensorflow as tf

    spec = zoo.get_spec("seq2seq")
    source = np.array([5, 6, 7, 0, 0], "int32")
    target = np.array([7, 6, 5, 2, 0, 0], "int32")
    shift = _task().example_map(spec, TINY, {"bos_id": 1, "eos_id": 2})
    ds = tf.data.Dataset.from_tensor_slices((source[None], target[None])).map(shift)
    inputs, y, weights = next(iter(ds))
    np.testing.assert_array_equal(inputs["source"], source)
    # BOS then the target's tokens up to (not including) EOS: the decoder never reads EOS, and its padding
    # mask is the target's.
    np.testing.assert_array_equal(inputs["decoder_input"], [1, 7, 6, 5, 0, 0])
    np.testing.assert_array_equal(y, target)
    np.testing.assert_array_equal(weights, [1, 1, 1, 1, 0, 0])


def test_training_averages_the_loss_over_real_target_tokens_only():
    import keras

    spec = zoo.get_spec("seq2seq")
    model = zoo.build("seq2seq", **TINY)
    task = _task()
    task.compile(model, spec, TINY, learning_rate=1e-3)
    x, y = task.random_batch(spec, TINY, model, 4, np.random.default_rng(0))
    *_, weights = task.example_map(spec, TINY, {})(x["source"], y)
    probabilities = np.asarray(model.predict(x, verbose=0))
    expected = np.mean(np.concatenate([
        -np.log(np.clip(probabilities[i, np.arange(6), y[i]], 1e-7, 1))[y[i] != 0] for i in range(4)]))
    logs = model.evaluate(x, y, sample_weight=np.asarray(weights), verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], expected, rtol=1e-5)
    assert isinstance(model.optimizer, keras.optimizers.Adam)


# --------------------------------------------------------------------------------------------- attention
def _numpy_bahdanau(query, values, mask, w1, w2, v):
    """score(s, h_j) = vᵀ tanh(W₁ h_j + W₂ s), softmax over the real positions only, context = Σ α_j h_j."""
    scores = np.tanh((values @ w1)[:, None] + (query @ w2)[:, :, None]) @ v  # (batch, steps, source)
    scores = np.where(mask[:, None], scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ values, weights


def test_bahdanau_attention_matches_a_numpy_reference_and_gives_padding_no_weight():
    from zoo.models.sequence.seq2seq import BahdanauAttention

    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 5, 4)).astype("float32")
    queries = rng.normal(size=(3, 2, 6)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool)  # right-padded sources
    layer = BahdanauAttention(7)
    layer(queries[:, 0], values, values_mask=mask)
    w1, w2, v = (np.asarray(w, "float64") for w in (layer.values_kernel, layer.query_kernel, layer.score_vector))
    assert (w1.shape, w2.shape, v.shape) == ((4, 7), (6, 7), (7,)) and len(layer.weights) == 3
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    w1, w2, v = (np.asarray(w, "float64") for w in (layer.values_kernel, layer.query_kernel, layer.score_vector))
    expected_context, expected_weights = _numpy_bahdanau(queries.astype("float64"), values.astype("float64"), mask,
                                                         w1, w2, v)
    # One decoder state per example, and several at once: the same numbers.
    for query, pick in ((queries[:, 0], lambda a: a[:, 0]), (queries, lambda a: a)):
        context, weights = (np.asarray(t) for t in layer(query, values, values_mask=mask))
        np.testing.assert_allclose(weights, pick(expected_weights), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(context, pick(expected_context), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
        per_step = weights if weights.ndim == 3 else weights[:, None]
        assert not per_step[np.broadcast_to(~mask[:, None], per_step.shape)].any()  # padding: exactly 0
    clone = BahdanauAttention.from_config(layer.get_config())
    assert clone.units == 7


def _attention_model(style="functional", seed=4):
    model = zoo.build("seq2seq", style=style, attention=True, **TINY)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 1.5, w.shape).astype("float32") for w in model.get_weights()])
    return model


def test_attention_seq2seq_in_both_styles_trains_round_trips_and_computes_the_same_function(tmp_path):
    """The standard model test's checks for attention=True (the registry's test builds the defaults)."""
    import keras

    from zoo.models.sequence.seq2seq import attention_model

    spec = zoo.get_spec("seq2seq")
    task = _task()
    hparams = {**TINY, "attention": True}
    x, y = task.random_batch(spec, hparams, None, 4, np.random.default_rng(1))
    run = lambda model: np.asarray(model(x, training=False))  # noqa: E731
    reference = _attention_model("functional")
    expected = run(reference)
    for style in ("functional", "subclass"):
        model = zoo.build("seq2seq", style=style, **hparams)
        assert [w.shape for w in model.weights] == [w.shape for w in reference.weights]
        model.set_weights(reference.get_weights())
        np.testing.assert_allclose(run(model), expected, rtol=1e-5, atol=1e-6)
        assert type(model).from_config(model.get_config()).get_config() == model.get_config()
        path = str(tmp_path / f"{style}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        assert type(loaded) is type(model)
        np.testing.assert_allclose(run(loaded), expected, rtol=1e-6, atol=1e-6)
        weights = np.asarray(attention_model(loaded)(x, training=False))
        assert weights.shape == (4, 6, 5)
        np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
        assert not weights.transpose(0, 2, 1)[x["source"] == 0].any()  # padded source tokens: no weight
    task.compile(reference, spec, hparams, learning_rate=1e-2)
    history = reference.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and all(np.isfinite(w).all() for w in reference.get_weights())
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = zoo.build("seq2seq", **hparams)(x, training=False)
    finally:
        keras.config.set_dtype_policy("float32")
    assert keras.backend.standardize_dtype(mixed.dtype) == "float32" and np.isfinite(np.asarray(mixed)).all()
    assert zoo.build("seq2seq", attention=True).count_params() == 269_716
    with pytest.raises(ValueError, match="`attention` must be True or False"):
        zoo.build("seq2seq", attention="yes")


# ---------------------------------------------------------------------------------------------- decoding
def _numpy_lstm_step(x, h, c, kernel, recurrent, bias):
    z = x @ kernel + h @ recurrent + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def _numpy_greedy_decode(model, source, target_length, bos=1, eos=2):
    """Encode the real source tokens once, then decode one step at a time from BOS: the textbook loop."""
    w = {v.path.split("/", 1)[-1] if v.path.startswith("seq2seq/") else v.path: v.numpy().astype("float64")
         for v in model.weights}
    units = w["encoder/lstm_cell/recurrent_kernel"].shape[0]
    decoded = []
    for row in source:
        h = c = np.zeros(units)
        for token in _real(row):
            h, c = _numpy_lstm_step(w["source_embedding/embeddings"][token], h, c, w["encoder/lstm_cell/kernel"],
                                    w["encoder/lstm_cell/recurrent_kernel"], w["encoder/lstm_cell/bias"])
        out, token = [], bos
        while len(out) < target_length:
            h, c = _numpy_lstm_step(w["target_embedding/embeddings"][token], h, c, w["decoder/lstm_cell/kernel"],
                                    w["decoder/lstm_cell/recurrent_kernel"], w["decoder/lstm_cell/bias"])
            token = int(np.argmax(h @ w["predictions/kernel"] + w["predictions/bias"]))
            out.append(token)
            if token in (eos, 0):
                break
        decoded.append(out + [0] * (target_length - len(out)))
    return np.array(decoded)


def _tiny_model(style="functional", seed=4):
    """A tiny model with large random weights (this seed's decodings end at EOS, at PAD, or never)."""
    model = zoo.build("seq2seq", style=style, **TINY)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 3.0, w.shape).astype("float32") for w in model.get_weights()])
    return model


def _sources(n=16, seed=1):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, TINY["source_length"] + 1, size=n)
    return np.array([[*rng.integers(3, 7, size=k), *[0] * (TINY["source_length"] - k)] for k in lengths], "int32")


@pytest.mark.parametrize("style", ["functional", "subclass"])
def test_greedy_decoding_equals_a_hand_written_step_by_step_loop(style):
    from zoo.models.sequence.decoding import greedy_decoder

    model = _tiny_model(style)
    source = _sources()
    decoder = greedy_decoder(model, source_length=5, target_length=6, bos_id=1, eos_id=2)
    decoded = np.asarray(decoder.predict(source, verbose=0))
    expected = _numpy_greedy_decode(model, source, 6)
    np.testing.assert_array_equal(decoded, expected)
    assert decoded.dtype == np.int32
    # The check covers sequences that end at EOS, at a predicted PAD, and ones that never end.
    ends = {"eos" if 2 in row else "pad" if 0 in row else "open" for row in expected.tolist()}
    assert ends == {"eos", "pad", "open"}


@pytest.mark.parametrize("attention", [False, True])
def test_step_by_step_decoding_equals_rerunning_the_teacher_forced_model(attention):
    """The deployed decoder carries the LSTM states step by step; a model it does not know (here the same
    seq2seq nested in a wrapper) is decoded by rerunning the whole teacher-forced model per token."""
    import keras

    from zoo.models.sequence.decoding import greedy_decoder
    from zoo.models.sequence.seq2seq import step_decoder

    model = _attention_model() if attention else _tiny_model()
    inputs = {name: keras.Input((length,), dtype="int32", name=name)
              for name, length in (("source", 5), ("decoder_input", 6))}
    wrapped = keras.Model(inputs, model(inputs), name="wrapped")
    assert step_decoder(model) is not None and step_decoder(wrapped) is None
    source = _sources()
    stepwise = np.asarray(greedy_decoder(model, source_length=5, target_length=6).predict(source, verbose=0))
    rerun = np.asarray(greedy_decoder(wrapped, source_length=5, target_length=6).predict(source, verbose=0))
    np.testing.assert_array_equal(stepwise, rerun)
    assert len({tuple(r) for r in stepwise.tolist()}) > 3  # the check is not vacuous


def test_the_decoder_refuses_bad_ids_and_round_trips_its_config(tmp_path):
    import keras

    from zoo.models.sequence.decoding import GreedyDecoding, greedy_decoder

    model = _tiny_model()
    with pytest.raises(ValueError, match="bos_id"):
        GreedyDecoding(model, 6, bos_id=0)
    decoder = greedy_decoder(model, source_length=5, target_length=6)
    path = str(tmp_path / "decoder.keras")
    decoder.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    source = _sources(4)
    np.testing.assert_array_equal(loaded.predict(source, verbose=0), decoder.predict(source, verbose=0))


def test_the_deployed_model_takes_a_sentence_and_answers_its_decoding_as_text(tmp_path):
    import tensorflow as tf

    from zoo.data.sequences import detokenize
    from zoo.models.sequence.text_io import vocabularies
    from zoo.pipeline.serving import Predictor

    spec = zoo.get_spec("seq2seq")
    model = _tiny_model("subclass")
    serving = _task().serving_model(model, spec, TINY, {**IDS, "vocab_size": TINY["vocab_size"]})
    serving.export(str(tmp_path / "saved_model"), verbose=False)
    words = vocabularies({"vocab_size": TINY["vocab_size"]})[1]  # the reversal task's words are ids: "3 5 7"
    source = _sources(5, seed=7)
    expected = [detokenize(row, words) for row in _numpy_greedy_decode(model, source, 6)]
    sentences = [detokenize(row, words) for row in source]
    loaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    assert [t.decode() for t in loaded.serve(tf.constant(sentences)).numpy()] == expected
    predictor = Predictor(str(tmp_path / "saved_model"))
    assert list(predictor.inputs) == ["text"]
    reply = predictor.predict({"instances": [sentences[0], "  " + sentences[1].upper() + " unknown-word "]})
    assert reply["predictions"] == expected[:2]  # case and spaces do not matter; words outside the alphabet drop


def test_translation_serving_maps_words_to_the_vocabularies_and_unknown_words_to_unk():
    from zoo.models.sequence.text_io import IdsToWords, WordsToIds

    to_ids = WordsToIds(["<pad>", "<bos>", "<eos>", "<unk>", "olá", "mundo"], 4, unk_id=3, first_word=4)
    np.testing.assert_array_equal(np.asarray(to_ids(np.array(["Olá mundo xyz olá olá", ""], dtype=object))),
                                  [[4, 5, 3, 4], [0, 0, 0, 0]])  # cut at the source length, padded on the right
    to_words = IdsToWords(["<pad>", "<bos>", "<eos>", "<unk>", "hello", "world"])
    words = np.asarray(to_words(np.array([[4, 5, 2, 4], [5, 3, 0, 4], [2, 4, 4, 4]])))
    assert [w.decode() for w in words] == ["hello world", "world <unk>", ""]


# ---------------------------------------------------------------------------------------------- metrics
def test_token_and_sequence_accuracy_count_real_target_tokens_only():
    from zoo.metrics import get_metric

    targets = np.array([[5, 4, 2, 0], [3, 2, 0, 0], [6, 2, 0, 0]])
    decoded = np.array([[5, 4, 2, 0], [3, 6, 0, 0], [6, 2, 0, 4]])  # the 4 after padding does not count
    np.testing.assert_allclose(get_metric("token_accuracy").per_example(targets, decoded), [1, 0.5, 1])
    np.testing.assert_allclose(get_metric("sequence_accuracy").per_example(targets, decoded), [1, 0, 1])
    probabilities = np.eye(7)[decoded]
    np.testing.assert_allclose(get_metric("teacher_forced_token_accuracy").per_example(targets, probabilities),
                               [1, 0.5, 1])
    assert (get_metric("token_accuracy").paired_test, get_metric("sequence_accuracy").paired_test) == (
        "paired_t", "mcnemar")


def test_evaluate_scores_free_decoding_per_sequence_for_the_gate():
    import tensorflow as tf

    spec = zoo.get_spec("seq2seq")
    model = _tiny_model()
    task = _task()
    source = _sources(10)
    targets = np.array([[*_real(row)[::-1], 2, *[0] * (5 - len(_real(row)))] for row in source], "int32")
    batches = tf.data.Dataset.from_tensor_slices((source, targets)).map(task.example_map(spec, TINY, IDS)).batch(4)
    result = task.evaluate(model, batches, spec, TINY, IDS)
    assert set(result.metrics) == set(task.metric_names) and spec.gate.metric in result.metrics
    assert result.paired_test == "paired_t" and result.scores.shape == (10,)
    decoded = _numpy_greedy_decode(model, source, 6)
    np.testing.assert_allclose(result.scores, [np.mean((d == t)[t > 0]) for d, t in zip(decoded, targets)])
    assert result.metrics["token_accuracy"] == pytest.approx(result.scores.mean())
    unmapped = task.evaluate(model, tf.data.Dataset.from_tensor_slices((source, targets)).batch(4), spec, TINY, IDS)
    assert unmapped.metrics == result.metrics
    # Corpus BLEU over the decoded ids' symbols, as sacrebleu computes it.
    import sacrebleu

    text = lambda rows: [" ".join(str(t) for t in row[:list(row).index(2)] if t) if 2 in row  # noqa: E731
                         else " ".join(str(t) for t in row if t) for row in rows.tolist()]
    assert result.metrics["bleu"] == pytest.approx(sacrebleu.corpus_bleu(text(decoded), [text(targets)]).score)
    # On a translation corpus the gate reads BLEU: a corpus statistic, so no per-example scores.
    online = task.evaluate(model, batches, spec, TINY, {**IDS, "dataset": "ted_hrlr_translate/ru_to_en"})
    assert online.scores is None and online.paired_test is None and online.metrics == result.metrics


def test_bleu_is_sacrebleus_corpus_bleu_and_texts_stop_at_the_end_token():
    import sacrebleu

    from zoo.data.sequences import detokenize
    from zoo.tasks.sequence import corpus_bleu

    hypotheses = ["the cat sat on the mat", "there is a cat here", "hello world"]
    references = ["the cat sat on the mat", "a cat is there on the mat", "hello there world"]
    assert corpus_bleu(hypotheses, references) == sacrebleu.corpus_bleu(hypotheses, [references]).score
    assert corpus_bleu(hypotheses[:1], references[:1]) == pytest.approx(100.0)
    assert 0 < corpus_bleu(hypotheses, references) < 100
    with pytest.raises(ValueError, match="one reference per hypothesis"):
        corpus_bleu(hypotheses, references[:2])
    vocabulary = ["<pad>", "<bos>", "<eos>", "<unk>", "the", "cat"]
    assert detokenize([4, 5, 3, 2, 4, 0], vocabulary) == "the cat <unk>"
    assert detokenize([7, 9, 0, 5]) == "7 9"


def test_the_attention_heat_map_is_a_run_picture_for_attention_models_only(tmp_path):
    import tensorflow as tf

    spec = zoo.get_spec("seq2seq")
    task = _task()
    source = _sources(6)
    targets = np.array([[*_real(row)[::-1], 2, *[0] * (5 - len(_real(row)))] for row in source], "int32")
    batches = tf.data.Dataset.from_tensor_slices((source, targets)).map(task.example_map(spec, TINY, IDS)).batch(4)
    assert task.pictures(_tiny_model(), batches, spec, TINY, IDS, str(tmp_path)) == {}
    drawn = task.pictures(_attention_model(), batches, spec, {**TINY, "attention": True}, IDS, str(tmp_path))
    assert len(drawn) == task.heat_maps == 3
    for path in drawn.values():
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_default_size_and_bad_sizes():
    # embeddings 2 x 20 x 32, LSTMs 2 x 4 x (128 x (32 + 128) + 128), softmax 128 x 20 + 20
    assert zoo.build("seq2seq").count_params() == 168_724
    for style in ("functional", "subclass"):
        with pytest.raises(ValueError, match=r"`units` must be a positive integer. Received: units=0"):
            zoo.build("seq2seq", style=style, units=0)
    with pytest.raises(ValueError, match="two inputs"):
        zoo.build("seq2seq", style="sequential")


# ------------------------------------------------------------------------------------------ learning
@pytest.mark.slow
def test_learns_to_reverse_sequences_it_never_saw_and_free_decoding_lags_teacher_forcing_early(tmp_path):
    import keras
    import tensorflow as tf

    from zoo.data.sequences import right_pad
    from zoo.data.stream import read
    from zoo.pipeline import steps

    spec = zoo.get_spec("seq2seq")
    task = _task()
    hparams = {k: v for k, v in spec.defaults.items() if k != "weights"}
    splits = adapt(spec, hparams, load_dataset("synthetic_reverse"))
    info = splits.info
    shift = task.example_map(spec, hparams, info)
    prepared = str(tmp_path / "data")
    steps.preprocess("seq2seq", "synthetic_reverse", prepared, hparams=hparams)
    train = read(prepared, "train", batch_size=64, shuffle=True, seed=0, example_map=shift)
    test = read(prepared, "test", batch_size=256, example_map=shift)
    keras.utils.set_random_seed(0)
    model = zoo.build("seq2seq", **hparams)
    task.compile(model, spec, hparams, learning_rate=spec.recipe.learning_rate)

    model.fit(train, epochs=1, verbose=0, shuffle=False)  # the tf.data pipeline shuffles
    early = task.evaluate(model, test, spec, hparams, info).metrics
    assert early["token_accuracy"] < early["teacher_forced_token_accuracy"], early

    model.fit(train, epochs=14, verbose=0, shuffle=False)
    late = task.evaluate(model, test, spec, hparams, info).metrics
    assert {tuple(r) for r in splits.test.x}.isdisjoint({tuple(r) for r in splits.train.x})
    assert late["token_accuracy"] > 0.9 and late["sequence_accuracy"] > 0.7, late

    # The deployed model reverses sequences drawn afresh, in no split of the data.
    task.serving_model(model, spec, hparams, info).export(str(tmp_path / "saved_model"), verbose=False)
    deployed = tf.saved_model.load(str(tmp_path / "saved_model"))
    rng = np.random.default_rng(123)
    known = {tuple(r) for _, s in splits.items() for r in s.x}
    fresh = [tuple(int(t) for t in rng.integers(3, 20, size=rng.integers(3, 11))) for _ in range(200)]
    fresh = [s for s in fresh if tuple(right_pad([s], 10)[0]) not in known]
    decoded = [t.decode().split() for t in deployed.serve(tf.constant([" ".join(map(str, s)) for s in fresh])).numpy()]
    expected = [[str(t) for t in reversed(s)] for s in fresh]
    assert np.mean([d == e for d, e in zip(decoded, expected)]) > 0.7


def _train_on_reversal(tmp_path, hparams, epochs, seed=0, **options):
    """Train a seq2seq on synthetic_reverse through the pipeline's preprocess and reader; its test metrics."""
    import keras

    from zoo.data.stream import read
    from zoo.pipeline import steps

    spec = zoo.get_spec("seq2seq")
    task = _task()
    prepared = str(tmp_path / f"data-{hparams.get('attention')}")
    meta = steps.preprocess("seq2seq", "synthetic_reverse", prepared, hparams=hparams, dataset_options=options)
    info = meta["info"]
    shift = task.example_map(spec, hparams, info)
    train = read(prepared, "train", batch_size=64, shuffle=True, seed=seed, example_map=shift)
    test = read(prepared, "test", batch_size=256, example_map=shift)
    keras.utils.set_random_seed(seed)
    model = zoo.build("seq2seq", **hparams)
    task.compile(model, spec, hparams, learning_rate=spec.recipe.learning_rate)
    model.fit(train, epochs=epochs, verbose=0, shuffle=False)
    return model, task.evaluate(model, test, spec, hparams, info).metrics


def test_learns_to_reverse_short_sequences_quickly(tmp_path):
    """The one quick learning check of sequence-to-sequence (the pipeline run only checks plumbing): the plain
    encoder-decoder, decoding freely, reverses short test sequences it never saw after three epochs."""
    spec = zoo.get_spec("seq2seq")
    hparams = {**{k: v for k, v in spec.defaults.items() if k != "weights"}, "source_length": 6, "target_length": 7}
    _, metrics = _train_on_reversal(tmp_path, hparams, epochs=3, max_length=6)
    assert metrics["token_accuracy"] > 0.8 and metrics["sequence_accuracy"] > 0.5, metrics


@pytest.mark.slow
def test_attention_seq2seq_learns_to_reverse_and_beats_the_plain_model_on_long_sequences(tmp_path):
    spec = zoo.get_spec("seq2seq")
    defaults = {k: v for k, v in spec.defaults.items() if k != "weights"}
    _, metrics = _train_on_reversal(tmp_path, {**defaults, "attention": True}, epochs=10)
    assert metrics["token_accuracy"] > 0.9 and metrics["bleu"] > 80, metrics

    # Sources of 12-20 symbols: two state vectors hold them badly, attention reads them where they are.
    long = {**defaults, "units": 64, "source_length": 20, "target_length": 21}
    options = {"min_length": 12, "max_length": 20, "n": 6000}
    _, plain = _train_on_reversal(tmp_path / "plain", {**long, "attention": False}, epochs=6, **options)
    _, attended = _train_on_reversal(tmp_path / "attention", {**long, "attention": True}, epochs=6, **options)
    assert attended["token_accuracy"] > plain["token_accuracy"] + 0.1, (plain, attended)
    assert attended["bleu"] > plain["bleu"], (plain, attended)


def test_a_runs_vocabulary_size_and_source_length_size_the_translation_data(tmp_path):
    """preprocess passes the model's --hparam vocab_size and source_length to the TED loader (its vocabulary
    and longest sentence), so a translation run needs no dataset options; without them the loader's defaults
    (8,000 words, 40) apply and the adapter names the sizes to set."""
    import json
    import os

    import tensorflow_datasets as tfds

    from zoo.pipeline import steps

    name, out = "ted_hrlr_translate/ru_to_en", str(tmp_path / "data")
    sizes = {"vocab_size": 40, "source_length": 3, "target_length": 4}
    with tfds.testing.mock_data(num_examples=20):
        steps.preprocess("seq2seq", name, out, hparams=json.dumps(sizes), data_dir=str(tmp_path / "tfds"))
        with pytest.raises(ValueError, match="set --hparam vocab_size=") as err:
            steps.preprocess("seq2seq", name, str(tmp_path / "default"), data_dir=str(tmp_path / "tfds"))
    assert "\n" not in str(err.value)
    with open(os.path.join(out, "meta.json")) as f:
        info = json.load(f)["info"]
    assert (info["source_length"], info["target_length"]) == (3, 4) and info["vocab_size"] <= 40
    x, y = steps.load_prepared(out, "train")
    assert x.shape[1:] == (3,) and y.shape[1:] == (4,) and x.max() < 40
