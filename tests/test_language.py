"""BERT and GPT beyond the standard model test: canonical sizes, masks, masking statistics, cached decoding,
KerasHub weights, tokenizers and the served completion."""

from __future__ import annotations

import numpy as np
import pytest

import zoo

TINY = {"vocabulary_size": 60, "num_layers": 2, "num_heads": 2, "hidden_dim": 8, "intermediate_dim": 16,
        "max_sequence_length": 16}


def _keras_hub():
    import keras_hub

    return keras_hub


# ----------------------------------------------------------------------------------------- sizes
@pytest.mark.slow
def test_canonical_parameter_counts_match_keras_hub():
    from zoo.models.language.bert import BERT_BASE
    from zoo.models.language.gpt import GPT2_SMALL

    bert = zoo.build("bert", **BERT_BASE, sequence_length=128)
    assert bert.backbone.count_params() == 109_482_240
    assert _keras_hub().models.BertBackbone(**BERT_BASE).count_params() == 109_482_240
    gpt = zoo.build("gpt", **GPT2_SMALL, sequence_length=128)
    assert gpt.count_params() == 124_439_808
    assert _keras_hub().models.GPT2Backbone(**GPT2_SMALL).count_params() == 124_439_808


def test_parameter_counts_equal_keras_hub_backbones_of_the_same_configuration():
    bert = zoo.build("bert", **TINY, sequence_length=8)
    assert bert.backbone.count_params() == _keras_hub().models.BertBackbone(**TINY).count_params()
    gpt = zoo.build("gpt", **TINY, sequence_length=8)
    assert gpt.count_params() == _keras_hub().models.GPT2Backbone(**TINY).count_params()
    # The MLM head adds its transform (Dense + LayerNorm) and a bias per token; the projection is tied.
    hidden = TINY["hidden_dim"]
    assert bert.count_params() - bert.backbone.count_params() == hidden * hidden + 3 * hidden + TINY["vocabulary_size"]


def test_bad_hyperparameters_raise_one_line_errors():
    for bad, match in (({"num_heads": 3}, "multiple of `num_heads`"), ({"sequence_length": 99}, "cannot exceed"),
                       ({"dropout": 1.5}, "dropout"), ({"num_layers": 0}, "num_layers")):
        with pytest.raises(ValueError, match=match) as info:
            zoo.build("gpt", **{**TINY, "sequence_length": 8, **bad})
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="sampler"):
        zoo.build("gpt", **TINY, sequence_length=8, sampler="beam")


# ----------------------------------------------------------------------------------------- masks
def test_causal_mask_hides_the_future():
    model = zoo.build("gpt", **TINY, sequence_length=10)
    ids = np.random.default_rng(0).integers(0, 60, size=(2, 10)).astype("int32")
    changed = ids.copy()
    changed[:, 6:] = (changed[:, 6:] + 7) % 60
    before, after = np.asarray(model(ids)), np.asarray(model(changed))
    np.testing.assert_allclose(before[:, :6], after[:, :6], atol=1e-6)
    assert np.abs(before[:, 6:] - after[:, 6:]).max() > 1e-4


def test_bert_ignores_padding_and_sees_both_directions():
    model = zoo.build("bert", **TINY, sequence_length=10)
    ids = np.random.default_rng(0).integers(5, 60, size=(2, 10)).astype("int32")
    ids[:, 7:] = 0
    segments = np.zeros_like(ids)
    other_pad = ids.copy()
    changed_future = ids.copy()
    changed_future[:, 5] = (changed_future[:, 5] + 3) % 55 + 5
    base = np.asarray(model({"token_ids": ids, "segment_ids": segments}))
    # Padding is masked out: a real token's output does not depend on what sits behind the padding mask...
    other_pad[:, 8] = 0
    np.testing.assert_allclose(np.asarray(model({"token_ids": other_pad, "segment_ids": segments}))[:, :7],
                               base[:, :7], atol=1e-6)
    # ...while a later real token changes an earlier one's output (bidirectional).
    assert np.abs(np.asarray(model({"token_ids": changed_future, "segment_ids": segments}))[:, 2] - base[:, 2]).max() > 1e-4


def test_attention_softmax_stays_float32_under_mixed_bfloat16():
    import keras

    from zoo.models.language.layers import CachedAttention

    keras.config.set_dtype_policy("mixed_bfloat16")
    layer = CachedAttention(2, 4)
    x = keras.ops.ones((1, 3, 8))
    seen = {}
    softmax = keras.ops.softmax

    def spy(scores, axis=-1):
        seen["dtype"] = keras.backend.standardize_dtype(scores.dtype)
        return softmax(scores, axis=axis)

    keras.ops.softmax = spy
    try:
        layer(x, x)
    finally:
        keras.ops.softmax = softmax
    assert seen["dtype"] == "float32"


# ------------------------------------------------------------------------------------ masking statistics
def test_masked_lm_map_masks_15_percent_with_80_10_10():
    import tensorflow as tf

    from zoo.data.text_corpus import MASK, WORDPIECE_RESERVED
    from zoo.tasks import get_task

    words = [f"w{i}" for i in range(200)]
    info = {"vocabulary": [*WORDPIECE_RESERVED, *words]}
    spec = zoo.get_spec("bert")
    hparams = {**spec.defaults, "vocabulary_size": 256, "sequence_length": 64}
    make = get_task("masked_language_modeling").example_map(spec, hparams, info)
    rng = np.random.default_rng(0)
    sentences = [" ".join(rng.choice(words, size=62)) for _ in range(400)]
    mask_id = info["vocabulary"].index(MASK)
    selected = masked = unchanged = 0
    for inputs, labels, weights in tf.data.Dataset.from_tensor_slices(sentences).map(make):
        ids, labels, weights = inputs["token_ids"].numpy(), labels.numpy(), weights.numpy() > 0
        assert ids[0] == info["vocabulary"].index("[CLS]") and not weights[0] and not weights[-1]
        selected += weights.sum()
        masked += (ids[weights] == mask_id).sum()
        unchanged += (ids[weights] == labels[weights]).sum()
    real = 400 * 62
    # ceil(15%) of each sentence's tokens are selected (10 of 62 here).
    assert abs(selected / real - 0.15) < 0.015
    assert abs(masked / selected - 0.8) < 0.03
    assert abs(unchanged / selected - 0.1) < 0.03


def test_masks_are_a_function_of_the_sentence_alone_so_runs_pair_up():
    """Two passes over the data (another run, another epoch, parallel calls in another order) mask every
    sentence identically; different sentences get different masks, and special tokens are never selected."""
    import tensorflow as tf

    from zoo.data.text_corpus import WORDPIECE_RESERVED
    from zoo.tasks import get_task

    words = [f"w{i}" for i in range(50)]
    info = {"vocabulary": [*WORDPIECE_RESERVED, *words]}
    spec = zoo.get_spec("bert")
    hparams = {**spec.defaults, "vocabulary_size": 64, "sequence_length": 24}
    rng = np.random.default_rng(1)
    sentences = [" ".join(rng.choice(words, size=int(rng.integers(3, 22)))) for _ in range(64)]

    def masked(order):
        make = get_task("masked_language_modeling").example_map(spec, hparams, info)
        ds = tf.data.Dataset.from_tensor_slices([sentences[i] for i in order]).map(make, num_parallel_calls=8)
        return {i: (x["token_ids"].numpy(), y.numpy(), w.numpy()) for i, (x, y, w) in zip(order, ds)}

    first, second = masked(range(64)), masked(rng.permutation(64))
    for i in range(64):
        for a, b in zip(first[i], second[i]):
            np.testing.assert_array_equal(a, b)
    selections = {tuple(np.flatnonzero(first[i][2])) for i in range(64)}
    assert len(selections) > 50  # not one mask for all
    specials = [info["vocabulary"].index(t) for t in ("[CLS]", "[SEP]", "[PAD]")]
    for i in range(64):
        original = np.where(first[i][2] > 0, first[i][1], first[i][0])
        assert not np.isin(original[first[i][2] > 0], specials).any()


# -------------------------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("style", ["functional", "subclass"])
def test_cached_decoding_equals_uncached(style):
    import keras

    model = zoo.build("gpt", style=style, **TINY, sequence_length=12)
    ids = np.random.default_rng(1).integers(1, 60, size=(2, 12)).astype("int32")
    full = np.asarray(model(ids))
    head_dim = TINY["hidden_dim"] // TINY["num_heads"]
    cache = keras.ops.zeros((2, TINY["num_layers"], 2, 12, TINY["num_heads"], head_dim))
    _, cache = model.call_with_cache(ids[:, :5], cache, 0)  # the prompt at once
    steps = []
    for i in range(5, 12):  # then one token at a time
        logits, cache = model.call_with_cache(ids[:, i:i + 1], cache, i)
        steps.append(np.asarray(logits)[:, 0])
    np.testing.assert_allclose(np.stack(steps, axis=1), full[:, 5:], atol=1e-5)


def test_greedy_generation_with_the_cache_equals_argmax_without_it():
    model = zoo.build("gpt", **TINY, sequence_length=10)
    prompt = np.array([[3, 9, 4, 0, 0, 0, 0, 0, 0, 0]], dtype="int32")
    mask = np.arange(10)[None] < 3
    generated = np.asarray(model.generate(prompt, mask, sampler="greedy"))
    tokens = prompt.copy()
    for i in range(3, 10):
        tokens[0, i] = np.asarray(model(tokens))[0, i - 1].argmax()
    np.testing.assert_array_equal(generated, tokens)
    for sampler in ("top_k", "top_p"):
        sampled = np.asarray(model.generate(prompt, mask, sampler=sampler))
        np.testing.assert_array_equal(sampled[:, :3], prompt[:, :3])


# --------------------------------------------------------------------------------------- KerasHub weights
@pytest.mark.parametrize("style", ["functional", "subclass"])
def test_keras_hub_bert_weights_give_identical_outputs(style, tmp_path):
    from zoo.models.language.weights import from_keras_hub

    hub = _keras_hub().models.BertBackbone(**TINY)
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 60, size=(3, 10)).astype("int32")
    ids[:, 8:] = 0
    segments = rng.integers(0, 2, size=(3, 10)).astype("int32")
    expected = hub({"token_ids": ids, "segment_ids": segments, "padding_mask": (ids != 0).astype("int32")})
    for model in (zoo.build("bert", style=style, **TINY, sequence_length=10),
                  zoo.build("bert", style=style, **TINY, sequence_length=10, weights=_saved(hub, tmp_path))):
        if model.get_layer("token_embedding").embeddings.numpy()[0, 0] != hub.token_embedding.embeddings.numpy()[0, 0]:
            from_keras_hub(model, hub)
        sequence, pooled = _bert_outputs(model, ids, segments)
        np.testing.assert_allclose(sequence, np.asarray(expected["sequence_output"]), atol=1e-5)
        np.testing.assert_allclose(pooled, np.asarray(expected["pooled_output"]), atol=1e-5)


def _saved(backbone, tmp_path):
    path = str(tmp_path / "backbone.weights.h5")
    backbone.save_weights(path)
    return path


def _bert_outputs(model, ids, segments):
    """The backbone's outputs of a zoo BERT of either style (the subclass runs the same layers)."""
    from zoo.models.language.bert import _encode

    if hasattr(model, "encoder_layers"):
        sequence, pooled = _encode(model.encoder_layers, ids, segments)
        return np.asarray(sequence), np.asarray(pooled)
    outputs = model.backbone({"token_ids": ids, "segment_ids": segments})
    return np.asarray(outputs["sequence_output"]), np.asarray(outputs["pooled_output"])


@pytest.mark.parametrize("style", ["functional", "subclass"])
def test_keras_hub_gpt2_weights_give_identical_logits(style, tmp_path):
    hub = _keras_hub().models.GPT2Backbone(**TINY)
    ids = np.random.default_rng(0).integers(0, 60, size=(3, 10)).astype("int32")
    expected = hub.token_embedding(hub({"token_ids": ids, "padding_mask": np.ones_like(ids)}), reverse=True)
    model = zoo.build("gpt", style=style, **TINY, sequence_length=10, weights=_saved(hub, tmp_path))
    np.testing.assert_allclose(np.asarray(model(ids)), np.asarray(expected), atol=1e-5)


def test_a_backbone_that_does_not_fit_is_refused_naming_the_weights(tmp_path):
    from zoo.models.language.weights import from_keras_hub

    hub = _keras_hub().models.GPT2Backbone(**TINY)
    wider = zoo.build("gpt", **{**TINY, "hidden_dim": 16}, sequence_length=10)
    before = [w.copy() for w in wider.get_weights()]
    with pytest.raises(ValueError, match=r"nothing was loaded.*mismatched .*token_embedding/embeddings") as info:
        from_keras_hub(wider, hub)
    assert "\n" not in str(info.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, wider.get_weights()))
    deeper = zoo.build("gpt", **{**TINY, "num_layers": 3}, sequence_length=10)
    with pytest.raises(ValueError, match=r"missing \d+: transformer_layer_2/"):
        from_keras_hub(deeper, hub)
    with pytest.raises(ValueError, match="loads a keras_hub.models.GPT2Backbone"):
        from_keras_hub(deeper, _keras_hub().models.BertBackbone(**TINY))
    with pytest.raises(ValueError, match="does not fit a BertBackbone"):
        zoo.build("bert", **{**TINY, "num_layers": 3}, sequence_length=10,
                  weights=_saved(_keras_hub().models.BertBackbone(**TINY), tmp_path))


# ------------------------------------------------------------------------------------------- tokenizers
def _rows(value) -> list:
    """A tokenizer's batch output as Python lists, whether it came back as a (ragged) tensor or as lists."""
    if hasattr(value, "to_list"):
        return value.to_list()
    if hasattr(value, "numpy"):
        return value.numpy().tolist()
    return list(value)


def test_tokenizer_libraries_work_with_this_tensorflow():
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (KerasHub's tokenizers run on it; it must match TF's minor version)

    from zoo.data.text_corpus import bpe_tokenizer, learn_bpe, learn_wordpiece, wordpiece_tokenizer

    text = ["the old fox chases the birds .", "anna likes bread so anna eats bread every day"] * 20
    vocabulary = learn_wordpiece(tf.data.Dataset.from_tensor_slices(text), 80)
    wordpiece = wordpiece_tokenizer({"vocabulary": vocabulary})
    ids = _rows(wordpiece(tf.constant(["The old fox [MASK] the birds ."])))
    assert vocabulary.index("[MASK]") in ids[0]
    assert _rows(wordpiece.detokenize(wordpiece(tf.constant(["the old fox"]))))[0] in (b"the old fox", "the old fox")

    from tokenizers import Tokenizer

    vocab, merges = learn_bpe(text, 300)
    bpe = bpe_tokenizer({"vocabulary": vocab, "merges": merges, "end_token": "<|endoftext|>"})
    ours = _rows(bpe(tf.constant(["the old fox chases the cats ."])))[0]
    import json

    reference = Tokenizer.from_str(json.dumps({
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None, "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                                            "use_regex": True},
        "model": {"type": "BPE", "vocab": vocab, "merges": merges, "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": False,
                  "byte_fallback": False}}))
    assert ours == reference.encode("the old fox chases the cats .").ids
    assert _rows(bpe.detokenize(tf.constant([ours])))[0] in (b"the old fox chases the cats .",
                                                              "the old fox chases the cats .")


# ----------------------------------------------------------------------------------------------- serving
def test_served_gpt_completes_raw_text_and_learns_the_counting(tmp_path):
    """The one quick learning check: a tiny GPT trained briefly continues a count, served from raw text."""
    import keras
    import tensorflow as tf

    from zoo.data import load_dataset
    from zoo.data.text_corpus import adapt_bpe
    from zoo.pipeline.serving import Predictor
    from zoo.tasks import get_task

    spec = zoo.get_spec("gpt")
    hparams = {**spec.defaults, **spec.small, "max_new_tokens": 4}
    splits = adapt_bpe(spec, hparams, load_dataset("synthetic_text", n=1500))
    task = get_task("causal_language_modeling")
    make = task.example_map(spec, hparams, splits.info)
    data = tf.data.Dataset.from_tensor_slices(splits.train.x.astype(str)).map(make).batch(32).cache()
    model = zoo.build("gpt", **{k: v for k, v in hparams.items() if k != "weights"})
    task.compile(model, spec, hparams, learning_rate=3e-3)
    keras.utils.set_random_seed(0)
    model.fit(data, epochs=3, verbose=0)
    task.serving_model(model, spec, hparams, splits.info).export(str(tmp_path / "served"), verbose=False)
    predictor = Predictor(str(tmp_path / "served"))
    answer = predictor.predict({"instances": ["three four five", "", "anna likes"]})["predictions"]
    assert all(isinstance(a, str) for a in answer)
    assert answer[0].startswith("six seven")


def test_served_bert_fills_masks_in_raw_text(tmp_path):
    from zoo.data.text_corpus import WORDPIECE_RESERVED
    from zoo.pipeline.serving import Predictor
    from zoo.tasks import get_task

    info = {"vocabulary": [*WORDPIECE_RESERVED, "the", "fox", "cat", "runs", "."]}
    spec = zoo.get_spec("bert")
    model = zoo.build("bert", **{**TINY, "vocabulary_size": 10}, sequence_length=8)
    served = get_task("masked_language_modeling").serving_model(model, spec, {}, info)
    served.export(str(tmp_path / "served"), verbose=False)
    answer = Predictor(str(tmp_path / "served")).predict({"instances": ["the [MASK] runs .", "The fox"]})
    filled, plain = answer["predictions"]
    assert filled.startswith("the ") and filled.endswith(" runs .") and "[MASK]" not in filled
    assert plain == "the fox"


@pytest.mark.parametrize("name", ["bert", "gpt"])
def test_a_training_step_under_mixed_bfloat16_stays_finite(name):
    """Item 7: a mixed-precision step through the task (random batch, the task's loss) without NaN; the
    logits leave the model in float32."""
    import keras

    from zoo.tasks import get_task, output_count

    spec = zoo.get_spec(name)
    task = get_task(spec.task)
    hparams = {**spec.defaults, **dict(spec.small)}
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = zoo.build(name, **{k: v for k, v in hparams.items() if k in spec.defaults})
        x, y = task.random_batch(spec, hparams, model, 4, np.random.default_rng(0))
        task.compile(model, spec, hparams, learning_rate=1e-3, outputs=output_count(model, spec, hparams))
        history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    finally:
        keras.config.set_dtype_policy("float32")
    finite, what = task.history_is_finite(history.history)
    assert finite, what
    assert all(np.all(np.isfinite(np.asarray(w, "float32"))) for w in model.get_weights())
    assert keras.backend.standardize_dtype(model(x, training=False).dtype) == "float32"


def test_bert_learns_masked_tokens_quickly():
    """The one quick learning check of masked language modelling (the pipeline run only checks plumbing):
    a tiny BERT trained briefly fills held-out masks far better than the untrained one."""
    import keras
    import tensorflow as tf

    from zoo.data import load_dataset
    from zoo.data.text_corpus import adapt_wordpiece
    from zoo.tasks import get_task

    spec = zoo.get_spec("bert")
    hparams = {**spec.defaults, **spec.small}
    hparams.pop("weights")
    splits = adapt_wordpiece(spec, hparams, load_dataset("synthetic_text", n=1500))
    task = get_task("masked_language_modeling")
    make = task.example_map(spec, hparams, splits.info)

    def batches(split):
        return tf.data.Dataset.from_tensor_slices(split.x.astype(str)).map(make).batch(32).cache()

    train, test = batches(splits.train), batches(splits.test)
    keras.utils.set_random_seed(0)
    model = zoo.build("bert", **hparams)
    task.compile(model, spec, hparams, learning_rate=spec.recipe.learning_rate)
    before = task.evaluate(model, test, spec, hparams, splits.info).metrics["masked_token_accuracy"]
    model.fit(train, epochs=3, verbose=0)
    after = task.evaluate(model, test, spec, hparams, splits.info).metrics["masked_token_accuracy"]
    assert before < 0.1 and after > 0.4, (before, after)
