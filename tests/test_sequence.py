"""Catalog section E's sequence-to-sequence model beyond the standard model test: the reversal data, the
teacher-forcing map, greedy decoding against a hand-written loop, the deployed decoder, the metrics, and
(slow) the learning check on sequences the model never saw.
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


def test_ted_translation_loads_word_ids_through_tfds_with_its_mock_data(tmp_path):
    import tensorflow_datasets as tfds

    from zoo.data.online import load_tfds_arrays

    with tfds.testing.mock_data(num_examples=20):
        splits = load_dataset("ted_hrlr_translate", data_dir=str(tmp_path), vocab_size=40, max_length=3)
        again = load_dataset("ted_hrlr_translate", data_dir=str(tmp_path), vocab_size=40, max_length=3)
        raw = load_tfds_arrays("ted_hrlr_translate/pt_to_en", "test", data_dir=str(tmp_path))
    info = splits.info
    assert splits.kind == "sequence" and info["pair"] == "pt_to_en" and info["unk_id"] == 3
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
    with pytest.raises(ValueError, match="pt_to_en"):
        load_dataset("ted_hrlr_translate", pair="pt_en", data_dir=str(tmp_path))


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


def test_the_deployed_model_takes_the_source_alone_and_serves_decoded_ids(tmp_path):
    import tensorflow as tf

    from zoo.pipeline.serving import Predictor

    spec = zoo.get_spec("seq2seq")
    model = _tiny_model("subclass")
    serving = _task().serving_model(model, spec, TINY, {**IDS})
    serving.export(str(tmp_path / "saved_model"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    source = _sources(5, seed=7)
    expected = _numpy_greedy_decode(model, source, 6)
    np.testing.assert_array_equal(loaded.serve(tf.constant(source)).numpy(), expected)
    predictor = Predictor(str(tmp_path / "saved_model"))
    assert list(predictor.inputs) == ["source"]
    reply = predictor.predict({"instances": source[:2].tolist()})
    assert reply["predictions"] == expected[:2].tolist()


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
    decoded = deployed.serve(tf.constant(right_pad(fresh, 10))).numpy()
    expected = right_pad([(*reversed(s), 2) for s in fresh], 11)
    assert np.mean([np.mean((d == e)[e > 0]) for d, e in zip(decoded, expected)]) > 0.9
