"""The Transformers of catalog section F: `transformer` (encoder-decoder) and `transformer_classifier`.

The standard model test (tests/test_models.py) covers building, training a step, saving and the styles; this
file checks what makes them Transformers: parameter counts of the named configurations (and a KerasHub
reference built from the same configuration), sinusoidal positions, the causal and padding masks, cached
incremental decoding against full recomputation, the samplers, float32 attention under mixed_bfloat16, and
one quick learning check.
"""

from __future__ import annotations

import numpy as np
import pytest

import zoo

BOS, EOS = 1, 2


def _transformer(style="functional", **hp):
    spec = zoo.get_spec("transformer")
    return zoo.build("transformer", style=style, **{**spec.small, **hp})


def _ids(rng, batch, length, vocab, lengths=None):
    """Right-padded ids from [3, vocab): row i holds lengths[i] tokens (all of them by default)."""
    ids = rng.integers(3, vocab, size=(batch, length)).astype("int32")
    if lengths is not None:
        for i, n in enumerate(lengths):
            ids[i, n:] = 0
    return ids


def _inputs(seed=0, batch=3, source_length=10, target_length=11, vocab=20):
    rng = np.random.default_rng(seed)
    source = _ids(rng, batch, source_length, vocab, lengths=[10, 6, 3][:batch])
    decoder_input = _ids(rng, batch, target_length, vocab)
    decoder_input[:, 0] = BOS
    return {"source": source, "decoder_input": decoder_input}


# ------------------------------------------------------------------------------------------- sizes
def test_parameter_counts_of_the_named_configurations():
    from zoo.models.transformer.transformer import CONFIGS

    assert zoo.build("transformer").count_params() == 237_332
    assert zoo.build("transformer", **CONFIGS["small"]).count_params() == 44_692
    assert _transformer().count_params() == 44_692
    tutorial = zoo.build("transformer", **CONFIGS["tutorial"])
    assert tutorial.count_params() == 4_646_882
    # The tutorial's code gives every head all of d_model (key_dim=d_model): its reported 10,184,162.
    assert zoo.build("transformer", **CONFIGS["tutorial"], head_dim=128).count_params() == 10_184_162
    parts = {layer.name: layer.count_params() for layer in tutorial.layers if layer.count_params()}
    assert parts == {"encoder": 1_787_008, "decoder": 1_955_584, "predictions": 904_290}
    assert zoo.build("transformer_classifier").count_params() == 1_347_074
    assert zoo.build("transformer_classifier", **zoo.get_spec("transformer_classifier").small).count_params() == 40_610


def test_the_tutorial_configuration_matches_a_keras_hub_encoder_decoder_of_the_same_sizes():
    import keras
    import keras_hub

    from zoo.models.transformer.transformer import CONFIGS

    c = CONFIGS["tutorial"]
    source = keras.Input((None,), dtype="int32")
    target = keras.Input((None,), dtype="int32")

    def embed(ids, vocab):
        x = keras.layers.Embedding(vocab, c["d_model"])(ids)
        return x + keras_hub.layers.SinePositionEncoding()(x)

    x = embed(source, c["source_vocab_size"])
    for _ in range(c["num_layers"]):
        x = keras_hub.layers.TransformerEncoder(c["ff_dim"], c["num_heads"], dropout=c["dropout"])(x)
    y = embed(target, c["vocab_size"])
    for _ in range(c["num_layers"]):
        y = keras_hub.layers.TransformerDecoder(c["ff_dim"], c["num_heads"], dropout=c["dropout"])(y, x)
    reference = keras.Model([source, target], keras.layers.Dense(c["vocab_size"])(y))
    assert reference.count_params() == zoo.build("transformer", **c).count_params() == 4_646_882


def test_sinusoidal_positions_are_the_papers_and_keras_hubs():
    import keras_hub
    from keras import ops

    from zoo.models.transformer.layers import sinusoidal_position_encoding

    ours = np.asarray(sinusoidal_position_encoding(ops.arange(50), 64))
    pos, i = np.arange(50)[:, None], np.arange(32)[None, :]
    angles = pos / 10000 ** (2 * i / 64)
    np.testing.assert_allclose(ours[:, 0::2], np.sin(angles), atol=1e-5)
    np.testing.assert_allclose(ours[:, 1::2], np.cos(angles), atol=1e-5)
    theirs = np.asarray(keras_hub.layers.SinePositionEncoding()(np.zeros((1, 50, 64), "float32")))[0]
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("name,hp,match", [
    ("transformer", {"d_model": 30, "num_heads": 4}, "divisible"),
    ("transformer", {"sampler": "beam"}, "sampler"),
    ("transformer", {"p": 1.5}, "`p`"),
    ("transformer", {"dropout": 1.0}, "dropout"),
    ("transformer_classifier", {"d_model": 10, "num_heads": 3}, "divisible"),
    ("transformer_classifier", {"num_layers": 0}, "num_layers"),
])
def test_bad_hyperparameters_are_one_line_value_errors(name, hp, match):
    with pytest.raises(ValueError, match=match) as error:
        zoo.build(name, **hp)
    assert "\n" not in str(error.value)


# ------------------------------------------------------------------------------------------- masks
@pytest.mark.parametrize("style", ["functional", "subclass"])
def test_the_causal_mask_hides_the_future(style):
    model = _transformer(style)
    x = _inputs()
    before = np.asarray(model(x, training=False))
    changed = {k: v.copy() for k, v in x.items()}
    changed["decoder_input"][:, 6:] = np.where(changed["decoder_input"][:, 6:] == 5, 7, 5)
    after = np.asarray(model(changed, training=False))
    np.testing.assert_allclose(after[:, :6], before[:, :6], rtol=1e-5, atol=1e-6)
    assert np.abs(after[:, 6:] - before[:, 6:]).max() > 1e-4


def test_source_padding_changes_nothing():
    model = _transformer()
    x = _inputs()
    before = np.asarray(model(x, training=False))
    # What stands at a padded position (and the mask's own value there) is never read.
    junk = {**x, "source": np.where(x["source"] == 0, 9, x["source"])}
    junk_out = np.asarray(model({**junk, "source": np.where(x["source"] == 0, 0, junk["source"])}, training=False))
    np.testing.assert_allclose(junk_out, before, rtol=1e-6, atol=1e-6)
    # Longer padding (a shorter row in a wider batch) gives the same outputs for the real tokens.
    wide = _transformer(source_length=14)
    wide.set_weights(model.get_weights())
    padded = {**x, "source": np.pad(x["source"], ((0, 0), (0, 4)))}
    np.testing.assert_allclose(np.asarray(wide(padded, training=False)), before, rtol=1e-5, atol=1e-6)
    # And a real token in place of padding does change them.
    assert np.abs(np.asarray(model(junk, training=False)) - before).max() > 1e-4


def test_classifier_padding_changes_nothing():
    spec = zoo.get_spec("transformer_classifier")
    short = zoo.build("transformer_classifier", **spec.small)
    hp = {**spec.small, "sequence_length": 40}
    long = zoo.build("transformer_classifier", **hp)
    long.set_weights(short.get_weights())
    ids = _ids(np.random.default_rng(3), 4, 32, 1000, lengths=[32, 20, 5, 1])
    np.testing.assert_allclose(np.asarray(long(np.pad(ids, ((0, 0), (0, 8))), training=False)),
                               np.asarray(short(ids, training=False)), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------- decoding
def _rerun_greedy(model, source, target_length):
    """The reference: rerun the whole teacher-forced model for every token."""
    decoder_input = np.zeros((len(source), target_length), "int32")
    decoder_input[:, 0] = BOS
    out = np.zeros_like(decoder_input)
    for t in range(target_length):
        probabilities = np.asarray(model({"source": source, "decoder_input": decoder_input}, training=False))
        out[:, t] = probabilities[:, t].argmax(-1)
        if t + 1 < target_length:
            decoder_input[:, t + 1] = out[:, t]
    return out, probabilities


@pytest.mark.parametrize("style", ["functional", "subclass"])
def test_cached_incremental_decoding_equals_full_recomputation(style):
    from keras import ops

    from zoo.models.transformer.decoding import decode, end_at_eos
    from zoo.models.transformer.transformer import transformer_parts

    model = _transformer(style)
    source = _inputs()["source"]
    expected, probabilities = _rerun_greedy(model, source, 11)
    np.testing.assert_array_equal(np.asarray(decode(model, source, 11)), np.asarray(end_at_eos(expected)))
    # Step by step, the cached decoder's states give the full pass's probabilities at every position.
    parts = transformer_parts(model)
    decoder, head = parts["decoder"], parts["predictions"]
    mask = ops.not_equal(source, 0)
    memory = decoder.project_memory(parts["encoder"](source, training=False))
    cache = decoder.start_cache(len(source), 11, "float32")
    fed = np.concatenate([np.full((len(source), 1), BOS), expected[:, :-1]], axis=1).astype("int32")
    for t in range(11):
        states, cache = decoder.step(fed[:, t:t + 1], t, cache, memory, mask)
        np.testing.assert_allclose(np.asarray(head(states))[:, 0], probabilities[:, t], rtol=1e-4, atol=1e-6)


def test_greedy_sampler_is_deterministic_and_top_k_picks_among_the_k_best():
    import keras_hub
    from keras import ops

    from zoo.models.transformer.decoding import make_sampler

    assert isinstance(make_sampler("greedy"), keras_hub.samplers.GreedySampler)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(64, 20)).astype("float32")
    best_k = np.argsort(-logits, axis=1)[:, :3]

    def run(sampler, steps=6):
        # A "model" whose next-token logits are fixed per row: every step draws from the same distribution.
        def next_logits(prompt, cache, index):
            return ops.convert_to_tensor(logits), None, cache

        return np.asarray(sampler(next_logits, np.zeros((64, steps), "int32"), index=0))

    greedy = run(make_sampler("greedy"))
    np.testing.assert_array_equal(greedy, run(make_sampler("greedy")))
    assert (greedy == logits.argmax(1)[:, None]).all()
    drawn = run(make_sampler("top_k", k=3, seed=1), steps=30)
    assert all(set(row) <= set(best) for row, best in zip(drawn, best_k))
    assert np.mean([len(set(row)) for row in drawn]) > 2  # it samples, it does not just take the best
    nucleus = run(make_sampler("top_p", p=1e-6, seed=1))  # the smallest nucleus: the best token alone
    np.testing.assert_array_equal(nucleus, greedy)


def test_the_deployed_decoder_samples_serves_text_saves_and_exports(tmp_path):
    import keras
    import tensorflow as tf

    from zoo.models.sequence.decoding import greedy_decoder
    from zoo.models.transformer.decoding import decode, transformer_serving

    model = _transformer("subclass")
    source = _inputs()["source"]
    info = {"vocab_size": 20, "source_length": 10, "target_length": 11, "bos_id": BOS, "eos_id": EOS,
            "decoding": {"sampler": "top_k", "k": 3, "p": 0.9}}
    served = transformer_serving(greedy_decoder(model, source_length=10, target_length=11), info)
    ids = np.asarray(served(source))
    assert ids.shape == (3, 11) and ids.dtype == np.int32
    info["decoding"] = {"sampler": "greedy", "k": 5, "p": 0.9}
    greedy = transformer_serving(greedy_decoder(model, source_length=10, target_length=11), info)
    np.testing.assert_array_equal(np.asarray(greedy(source)), np.asarray(decode(model, source, 11)))
    # As the sequence task serves it: raw text in, text out, the sampled decoder inside.
    from zoo.models.sequence.text_io import text_decoder

    text = transformer_serving(text_decoder(greedy_decoder(model, source_length=10, target_length=11), info), info)
    answer = np.asarray(text(np.array(["3 4 5", "7 8"], dtype=object)))
    assert answer.shape == (2,) and all(isinstance(a, bytes) for a in answer)
    path = str(tmp_path / "decoder.keras")
    served.save(path)
    assert type(keras.saving.load_model(path, safe_mode=True).get_layer("token_ids")).__name__ == "SampledDecoding"
    served.export(str(tmp_path / "saved_model"), verbose=False)
    exported = tf.saved_model.load(str(tmp_path / "saved_model"))
    out = np.asarray(exported.serve(tf.constant(source)))
    assert out.shape == (3, 11) and ((out >= 0) & (out < 20)).all()


# --------------------------------------------------------------------------------- mixed precision
def test_mixed_bfloat16_step_stays_finite_with_float32_attention_softmax():
    import keras

    from zoo.models.transformer.layers import MultiHeadAttention, causal_mask

    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        attention = MultiHeadAttention(num_heads=2, key_dim=4)
        x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
        output, weights = attention(x, x, attention_mask=causal_mask(5), return_attention_scores=True)
        assert keras.backend.standardize_dtype(output.dtype) == "bfloat16"
        assert keras.backend.standardize_dtype(weights.dtype) == "float32"
        np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, rtol=1e-6)
        assert np.asarray(weights)[:, :, 0, 1:].max() == 0.0  # the future gets exactly nothing

        from zoo.tasks import get_task

        spec = zoo.get_spec("transformer")
        hparams = {**spec.defaults, **spec.small}
        model = _transformer(num_layers=1, d_model=16, num_heads=2, ff_dim=32)
        task = get_task(spec.task)
        x, y = task.random_batch(spec, hparams, model, 4, np.random.default_rng(0))
        task.compile(model, spec, hparams, learning_rate=1e-3)
        loss = model.fit(x, y, epochs=1, verbose=0).history["loss"][0]
        assert np.isfinite(loss)
        assert all(np.isfinite(np.asarray(w, dtype="float32")).all() for w in model.weights)
    finally:
        keras.config.set_dtype_policy("float32")


# -------------------------------------------------------------------------------------- learning
def test_transformer_learns_to_copy_a_short_sequence_quickly():
    """One quick learning check: copying (the decoder must attend to the source position by position)."""
    import keras

    from zoo.models.transformer.decoding import decode

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    source = rng.integers(3, 12, size=(1024, 5)).astype("int32")
    target = np.concatenate([source, np.full((1024, 1), EOS, "int32")], axis=1)
    decoder_input = np.concatenate([np.full((1024, 1), BOS, "int32"), target[:, :-1]], axis=1)
    model = _transformer(vocab_size=12, source_length=5, target_length=6, num_layers=1, d_model=32,
                         num_heads=2, ff_dim=64)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit({"source": source, "decoder_input": decoder_input}, target, batch_size=64, epochs=8, verbose=0)
    test = rng.integers(3, 12, size=(64, 5)).astype("int32")
    decoded = np.asarray(decode(model, test, 6))
    assert (decoded[:, :5] == test).mean() > 0.9
