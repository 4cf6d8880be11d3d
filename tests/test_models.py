"""The standard model test (STYLE.md items 1-6), run for every registered model and every style it supports.

Registering a model is all it takes to be covered here. Models are built in their spec's `small`
configuration so the suite stays fast on two CPU cores; canonical sizes live in each family's test.
"""

from __future__ import annotations

import numpy as np
import pytest

import zoo


def _param(*values, slow=False):
    heavy = zoo.get_spec(values[0]).heavy or slow
    return pytest.param(*values, marks=pytest.mark.slow) if heavy else pytest.param(*values)


def _main_style(name):
    styles = zoo.get_spec(name).supported_styles
    return "functional" if "functional" in styles else styles[0]


CASES = [_param(name, style) for name in zoo.list_models() for style in zoo.get_spec(name).supported_styles]
# Training and mixed precision run on one style per model in the fast suite: the other styles hold the same
# layers and weights and compute the same function (test_styles_hold_the_same_weights...), so they train
# alike; every style still builds, predicts and round-trips through its own config and `.keras` file.
MAIN_STYLE_CASES = [_param(name, style, slow=style != _main_style(name))
                    for name in zoo.list_models() for style in zoo.get_spec(name).supported_styles]
MODELS = [_param(name) for name in zoo.list_models()]
BATCH = 4


def _small(name):
    return dict(zoo.get_spec(name).small)


def _hparams(name):
    spec = zoo.get_spec(name)
    return {**spec.defaults, **spec.small}


def random_inputs(spec, hparams, batch=BATCH, seed=0):
    """Random inputs that fit the model's signature: a single array, or a dict for several inputs."""
    from zoo.tasks.base import random_inputs as draw

    return draw(spec, hparams, batch, np.random.default_rng(seed))


def build(name, style, **extra):
    return zoo.build(name, style=style, **{**_small(name), **extra})


def _predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


def test_every_spec_names_a_task_that_reports_its_gate_metric():
    from zoo.tasks import get_task

    for name in zoo.list_models():
        spec = zoo.get_spec(name)
        task = get_task(spec.task)
        assert spec.gate.metric in task.metric_names, (name, spec.task, spec.gate.metric)


@pytest.mark.parametrize("name,style", MAIN_STYLE_CASES)
def test_one_training_step_through_the_task_stays_finite_and_predict_agrees_on_arrays_and_datasets(name, style):
    import tensorflow as tf

    from zoo.tasks import get_task, output_count

    spec = zoo.get_spec(name)
    task = get_task(spec.task)
    hparams = _hparams(name)
    model = build(name, style)
    x, y = task.random_batch(spec, hparams, model, BATCH, np.random.default_rng(1))
    task.compile(model, spec, hparams, learning_rate=1e-3, outputs=output_count(model, spec, hparams))
    history = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    finite, what = task.history_is_finite(history.history)
    assert finite, what
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    on_arrays = _predict(model, x)
    on_dataset = np.asarray(model.predict(tf.data.Dataset.from_tensor_slices(x).batch(2), verbose=0))
    np.testing.assert_allclose(on_arrays, on_dataset, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,style", CASES)
def test_config_round_trip(name, style):
    model = build(name, style)
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()


@pytest.mark.parametrize("name,style", CASES)
def test_builds_with_the_declared_inputs_a_float32_output_and_round_trips_its_keras_file_in_safe_mode(
        name, style, tmp_path):
    import keras

    spec = zoo.get_spec(name)
    model = build(name, style)
    assert isinstance(model, keras.Model) and model.built
    x = random_inputs(spec, _small(name))
    y = _predict(model, x)
    assert y.shape[0] == BATCH and y.dtype == np.float32
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    np.testing.assert_allclose(_predict(loaded, x), y, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name,style", MAIN_STYLE_CASES)
def test_mixed_bfloat16_builds_runs_and_keeps_a_float32_head(name, style):
    import keras

    keras.config.set_dtype_policy("mixed_bfloat16")
    spec = zoo.get_spec(name)
    model = build(name, style)
    y = model(random_inputs(spec, _small(name)), training=False)
    outputs = y if isinstance(y, (list, tuple)) else [y]
    assert all(keras.backend.standardize_dtype(o.dtype) == "float32" for o in outputs)
    assert all(np.all(np.isfinite(np.asarray(o))) for o in outputs)


MIXED_POLICIES = ("mixed_bfloat16", "mixed_float16")
# The fast suite trains one light model of each task kind under mixed_float16 (loss scaling, the policy with
# the narrowest range); every model under both policies is in the slow tier (about 6 minutes on two cores).
MIXED_FAST = ("acgan", "lenet5", "autoencoder", "autoregressive", "bert", "dcgan", "diffusion", "perceptron",
              "dnn_regression", "yolo", "fcn", "gpt", "image_captioning", "lstm_forecaster", "matrix_factorization",
              "nade", "pix2pix", "seq2seq", "sgan", "style_transfer", "vae", "word2vec_skipgram")
MIXED_CASES = [_param(name, policy, slow=not (policy == "mixed_float16" and name in MIXED_FAST))
               for name in zoo.list_models() for policy in MIXED_POLICIES]


def test_the_fast_mixed_precision_check_covers_every_task_kind():
    kinds = {zoo.get_spec(name).task for name in zoo.list_models()}
    assert {zoo.get_spec(name).task for name in MIXED_FAST} == kinds


@pytest.mark.parametrize("name,policy", MIXED_CASES)
def test_a_few_training_steps_under_mixed_precision_stay_finite(name, policy):
    """What accelerators train with (bfloat16 on TPUs, float16 with loss scaling on GPUs), on the CPU: three
    steps through the task's own compile or training step, then finite losses, weights and float32 outputs.
    Keras wraps a compiled optimizer in a LossScaleOptimizer under mixed_float16; a model that owns its
    training step must scale its losses itself."""
    import keras

    from zoo.tasks import get_task, output_count

    keras.config.set_dtype_policy(policy)
    spec = zoo.get_spec(name)
    task = get_task(spec.task)
    hparams = _hparams(name)
    model = build(name, _main_style(name))
    x, y = task.random_batch(spec, hparams, model, BATCH, np.random.default_rng(2))
    task.compile(model, spec, hparams, learning_rate=1e-3, outputs=output_count(model, spec, hparams))
    history = model.fit(x, y, batch_size=BATCH // 2, epochs=1, verbose=0)
    finite, what = task.history_is_finite(history.history)
    assert finite, f"{policy}: {what}"
    assert all(np.all(np.isfinite(w)) for w in model.get_weights()), policy
    outputs = keras.tree.flatten(model(x, training=False))
    assert all(keras.backend.standardize_dtype(o.dtype) == "float32" for o in outputs), policy
    assert all(np.all(np.isfinite(np.asarray(o))) for o in outputs), policy
    if policy == "mixed_float16":  # every optimizer that applies gradients scales its loss
        optimizers = [getattr(model, a, None) for a in ("optimizer", "d_optimizer", "g_optimizer")]
        assert all(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in optimizers if o is not None)


@pytest.mark.parametrize("name", MODELS)
def test_styles_hold_the_same_weights_and_compute_the_same_function(name):
    spec = zoo.get_spec(name)
    styles = spec.supported_styles
    reference = build(name, "functional")
    x = random_inputs(spec, _small(name))
    expected = _predict(reference, x)
    shapes = [tuple(w.shape) for w in reference.weights]
    for style in styles:
        if style == "functional":
            continue
        other = build(name, style)
        assert [tuple(w.shape) for w in other.weights] == shapes, style
        other.set_weights(reference.get_weights())
        np.testing.assert_allclose(_predict(other, x), expected, rtol=1e-5, atol=1e-5, err_msg=style)


@pytest.mark.parametrize("name", MODELS)
def test_impossible_styles_raise_with_the_spec_reason(name):
    spec = zoo.get_spec(name)
    for style, reason in spec.styles.items():
        if reason is not None:
            with pytest.raises(ValueError, match="cannot be built"):
                zoo.build(name, style=style, **_small(name))


def test_every_zoo_layer_has_a_name_of_its_own_in_the_keras_registry():
    """Keras keys saved layers by "zoo>ClassName"; a second class of one name would make saved models of the
    first load as the second (ViT's and BERT's encoder blocks once did), so `serializable` refuses it."""
    import importlib

    import keras

    from zoo.nn import serializable

    for name in zoo.list_models():  # every model module registers its layers on import
        importlib.import_module(zoo.get_spec(name).impl.partition(":")[0])
    registered = [key for key in keras.saving.get_custom_objects() if key.startswith("zoo>")]
    assert len(registered) > 50
    clash = type("ResidualBlock", (keras.layers.Layer,), {"__module__": "somewhere.else"})
    with pytest.raises(RuntimeError, match="Two zoo layers are named 'ResidualBlock'"):
        serializable(clash)
