"""image_captioning (Show and Tell) beyond the standard model test: the captioned scenes of
`synthetic_shapes/captions`, tokenisation, free decoding against a hand-written loop, BLEU against sacrebleu,
the adapter (offline arrays and streamed COCO on TFDS mock data), serving, pictures and learning checks.
"""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.tasks import get_task

pytestmark = pytest.mark.xdist_group("captioning")

SPEC = zoo.get_spec("image_captioning")
SMALL = dict(SPEC.small)
HPARAMS = {**SPEC.defaults, **SPEC.small}
TASK = get_task(SPEC.task)


@pytest.fixture(scope="module")
def data():
    """240 captioned scenes, adapted as the pipeline does (vocabulary fitted on the training captions)."""
    from zoo.data import adapt, load_dataset

    return adapt(SPEC, HPARAMS, load_dataset("synthetic_shapes/captions", seed=0, n=240))


def _build(style="functional", **extra):
    return zoo.build("image_captioning", style=style, **{**SMALL, **extra})


def _mapped(split, info, batch=32):
    """The split's batches as the evaluate step streams them (mapped by `example_map`)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((split.x, split.y)).map(TASK.example_map(SPEC, HPARAMS, info))
    return ds.batch(batch)


# ------------------------------------------------------------------------------------------------- data
def test_captions_are_seeded_and_name_each_visible_shape_by_colour_class_and_place():
    from zoo.data import load_dataset
    from zoo.data.shape_captions import CLASS_WORDS, captions, place, visible_shapes
    from zoo.data.shapes import draw_scene

    first, again = (load_dataset("synthetic_shapes/captions", seed=3, n=40) for _ in range(2))
    other = load_dataset("synthetic_shapes/captions", seed=4, n=40)
    assert first.kind == "captioning" and first.info["references"] == 5
    assert first.train.y.shape == (len(first.train), 5) and first.train.x.shape[1:] == (32, 32, 3)
    np.testing.assert_array_equal(first.train.y, again.train.y)
    np.testing.assert_array_equal(first.train.x, again.train.x)
    assert not np.array_equal(first.train.y, other.train.y)
    scene = draw_scene(np.random.default_rng(0), size=32, max_shapes=2)
    texts = captions(scene, np.random.default_rng(1), 5)
    assert len(set(texts)) > 1  # several phrasings
    for index, _ in visible_shapes(scene):
        shape = scene.shapes[index]
        assert all(shape.colour in t for t in texts)
        assert all(any(word in t for word in CLASS_WORDS[shape.label]) for t in texts)
        assert place(shape.box, 32) in texts[0]
    assert place((0, 0, 8, 8), 32) == "at the top left" and place((12, 12, 20, 20), 32) == "in the middle"
    assert place((12, 24, 20, 32), 32) == "on the right"


def test_tokenisation_round_trips_the_normalised_words_and_marks_unknown_words(data):
    import tensorflow as tf

    from zoo.data.sequences import EOS_ID, UNK_ID
    from zoo.tasks.captioning import detokenize, normalise, tokenizer

    info = data.info
    tokenize = tokenizer(info, 20)
    texts = list(data.test.y[0]) + ["A Red, red BOX!", "a zebra box"]
    ids = tokenize(tf.constant(texts)).numpy()
    assert ids.shape == (len(texts), 20) and ids.dtype == np.int32
    for row, text in zip(ids[:-1], texts[:-1]):
        assert detokenize(row, info["vocabulary"]) == normalise(text)
        assert row[len(normalise(text).split())] == EOS_ID
    assert normalise("A Red, red BOX!") == "a red red box"
    assert ids[-1][1] == UNK_ID
    cut = tokenizer(info, 4)(tf.constant(["a red box at the top"])).numpy()[0]
    assert detokenize(cut, info["vocabulary"]) == "a red box" and cut[3] == EOS_ID


def test_example_map_shifts_one_reference_behind_bos_with_weights_on_real_tokens(data):
    from zoo.data.sequences import BOS_ID, PAD_ID
    from zoo.tasks.captioning import detokenize, normalise

    inputs, target, weights = next(iter(_mapped(data.train, data.info)))
    inputs, target, weights = ({k: np.asarray(v) for k, v in inputs.items()}, np.asarray(target),
                               np.asarray(weights))
    assert inputs["image"].shape == (32, 32, 32, 3) and inputs["caption"].shape == target.shape == (32, 20)
    np.testing.assert_array_equal(inputs["caption"][:, 0], BOS_ID)
    real = target != PAD_ID
    np.testing.assert_array_equal(weights, real.astype("float32"))
    np.testing.assert_array_equal(np.where(real[:, 1:], inputs["caption"][:, 1:], 0),
                                  np.where(real[:, 1:], target[:, :-1], 0))
    for row, refs in zip(target, inputs["references"]):
        assert detokenize(row, data.info["vocabulary"]) in [normalise(r) for r in refs]
    again = next(iter(_mapped(data.train, data.info)))[1]
    np.testing.assert_array_equal(np.asarray(again), target)  # the same choice every time


# ----------------------------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("style,inject", [("functional", "state"), ("sequential", "input")])
def test_greedy_decoding_equals_a_hand_written_argmax_loop_over_the_teacher_forced_model(style, inject):
    """Both injections (image as the LSTM's state, the small configuration's; as its first input, the paper's)."""
    from zoo.models.captioning.captioner import caption_decoder

    model = _build(style, caption_length=8, inject=inject)
    images = np.random.default_rng(0).uniform(size=(3, 32, 32, 3)).astype("float32")
    decoded = np.asarray(caption_decoder(model).predict_on_batch(images))
    caption = np.zeros((3, 8), dtype="int32")
    caption[:, 0] = 1
    expected = []
    for step in range(8):
        token = np.asarray(model({"image": images, "caption": caption}))[:, step].argmax(-1)
        expected.append(token)
        if step + 1 < 8:
            caption[:, step + 1] = token
    np.testing.assert_array_equal(decoded, np.stack(expected, axis=1))
    one_beam = caption_decoder(model, sampler="beam", num_beams=1)
    np.testing.assert_array_equal(np.asarray(one_beam.predict_on_batch(images)), decoded)


def test_bleu_is_sacrebleus_corpus_bleu_against_every_reference():
    import sacrebleu

    from zoo.tasks.captioning import corpus_bleu_all

    hypotheses = ["a red box at the top", "a blue oval", "there is a green triangle on the left"]
    references = [["a red box at the top left", "there is a red rectangle"],
                  ["a blue ellipse in the middle", "a blue oval"],
                  ["a green triangle on the left", "there is a green triangle"]]
    expected = sacrebleu.corpus_bleu(hypotheses, [[r[0] for r in references], [r[1] for r in references]]).score
    assert corpus_bleu_all(hypotheses, references) == pytest.approx(expected)
    assert corpus_bleu_all(["a red box at the top"], [["a red box at the top"]]) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="references"):
        corpus_bleu_all(["a"], [])


def test_evaluate_reports_greedy_beam_and_constant_caption_bleu_and_pictures(data, tmp_path):
    model = _build()
    result = TASK.evaluate(model, _mapped(data.test, data.info), SPEC, HPARAMS, data.info)
    assert set(result.metrics) == {"bleu", "bleu_beam", "constant_caption_bleu"}
    assert all(0.0 <= v <= 100.0 for v in result.metrics.values())
    assert result.metrics["constant_caption_bleu"] > 0.0  # a caption of 4+ words scores
    assert len(data.info["constant_caption"].split()) >= 4
    drawn = TASK.pictures(model, _mapped(data.test, data.info), SPEC, HPARAMS, data.info, str(tmp_path))
    (path,) = drawn.values()
    assert path.endswith(".png") and open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------------------------ serving
def test_the_served_model_takes_images_of_any_size_and_answers_caption_strings(data, tmp_path):
    import tensorflow as tf

    served = TASK.serving_model(_build(), SPEC, HPARAMS, data.info)
    images = np.random.default_rng(0).uniform(size=(2, 45, 60, 3)).astype("float32")
    captions = served.predict(images, verbose=0)
    assert captions.shape == (2,) and all(isinstance(c, bytes) for c in captions)
    words = set(data.info["vocabulary"])
    assert all(w in words for c in captions for w in c.decode().split())
    served.export(str(tmp_path / "saved"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_array_equal(np.asarray(loaded.serve(tf.constant(images))), captions)


# ------------------------------------------------------------------------------------------------ adapter
def test_the_adapter_fits_the_vocabulary_on_training_captions_and_names_what_to_change(data):
    from zoo.data import load_dataset
    from zoo.tasks.captioning import adapt_captions

    info = data.info
    assert info["vocabulary"][:4] == ["<pad>", "<bos>", "<eos>", "<unk>"] and len(info["vocabulary"]) <= 64
    assert {"red", "triangle", "left"} <= set(info["vocabulary"])
    assert info["references"] == 5 and info["caption_length"] == 20 and info["dataset"] == "synthetic_shapes/captions"
    with pytest.raises(ValueError, match="caption_length=20"):
        adapt_captions(SPEC, {**HPARAMS, "caption_length": 6}, load_dataset("synthetic_shapes/captions", n=60))
    with pytest.raises(ValueError, match="captioning data"):
        adapt_captions(SPEC, HPARAMS, load_dataset("synthetic_shapes", n=60))


def coco_split(split, count):
    """coco_captions-like examples for `mock_tfds_examples`: 4 to 6 captions each (TFDS' random mock cannot
    draw its nested caption sequences)."""
    rng = np.random.default_rng(0)
    words = ["a man riding a wave", "two dogs play in the snow", "A cat, on a red sofa."]
    texts = [[f"{words[(i + k) % 3]} {k}" for k in range(4 + i % 3)] for i in range(count)]
    return {"image": [rng.integers(0, 255, size=(20 + i, 30, 3), dtype=np.uint8) for i in range(count)],
            "image/id": list(range(count)),
            "captions": {"text": texts, "id": [list(range(len(t))) for t in texts]}}


def test_coco_captions_streams_five_references_per_image_and_fits_its_vocabulary_by_streaming(tmp_path):
    from zoo.data import load_dataset
    from zoo.data.stream import TfdsSplit
    from zoo.tasks.captioning import adapt_captions

    from conftest import mock_tfds_examples

    with mock_tfds_examples(coco_split, num_examples=6):
        splits = load_dataset("coco_captions")
        assert splits.kind == "captioning" and splits.streamed
        assert isinstance(splits.test, TfdsSplit) and splits.test.example_fn.endswith(":coco_example")
        adapted = adapt_captions(SPEC, HPARAMS, splits)
        import tensorflow_datasets as tfds

        from zoo.data.online_captions import coco_example

        ds = tfds.load("coco_captions", split="test", decoders={"image": tfds.decode.SkipDecoding()})
        pairs = [tuple(np.asarray(t) for t in coco_example(e)) for e in ds]
    vocabulary = adapted.info["vocabulary"]
    assert {"man", "dogs", "sofa", "cat"} <= set(vocabulary) and "sofa." not in vocabulary
    assert adapted.info["references"] == 5
    assert all(captions.shape == (5,) for _, captions in pairs)
    four = pairs[0][1]  # 4 captions: the last is repeated
    assert four[3] == four[4] != four[2]
    assert pairs[2][1][4] != pairs[2][1][3]  # 6 captions: the first 5 kept
    assert all(isinstance(image, (bytes, np.bytes_)) or image.dtype == object for image, _ in pairs)


# --------------------------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("argument,value", [("pooling", "max"), ("vocab_size", 3), ("caption_length", 0),
                                            ("filters", ()), ("dropout", 1.0), ("units", -1),
                                            ("inject", "every_step")])
def test_bad_arguments_raise_one_line_naming_the_argument(argument, value):
    with pytest.raises(ValueError, match=f"{argument}={value!r}".replace("(", r"\(").replace(")", r"\)")):
        _build(**{argument: value})


def test_the_sampler_argument_is_checked():
    from zoo.models.captioning.captioner import CaptionSampler

    with pytest.raises(ValueError, match="sampler='top_k'"):
        CaptionSampler(_build(), sampler="top_k")


# -------------------------------------------------------------------------------------------- learning
def _train(data, epochs, seed=0, batch=32):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    model = _build()
    TASK.compile(model, SPEC, HPARAMS, learning_rate=SPEC.recipe.learning_rate)
    train = tf.data.Dataset.from_tensor_slices((data.train.x, data.train.y))
    train = train.shuffle(len(data.train), seed=seed).map(TASK.example_map(SPEC, HPARAMS, data.info)).batch(batch)
    model.fit(train, epochs=epochs, verbose=0)
    return model


def test_captions_of_single_shapes_beat_the_constant_caption_after_a_few_epochs():
    """The one quick learning check of captioning (the pipeline run only checks plumbing): on 1,000 scenes of one
    shape each, 12 epochs lift greedy BLEU well above the constant caption's (measured 44.7 against 27.3)."""
    from zoo.data import adapt, load_dataset

    data = adapt(SPEC, HPARAMS, load_dataset("synthetic_shapes/captions", seed=0, n=1000, max_shapes=1))
    metrics = TASK.evaluate(_train(data, 12), _mapped(data.test, data.info), SPEC, HPARAMS, data.info).metrics
    assert metrics["bleu"] > 1.3 * metrics["constant_caption_bleu"], metrics


@pytest.mark.slow
def test_trained_captions_score_far_above_the_constant_caption_baseline():
    """The recipe on 3,000 scenes (seeded): greedy BLEU far above the constant caption's and the untrained model's."""
    from zoo.data import adapt, load_dataset

    full = adapt(SPEC, HPARAMS, load_dataset("synthetic_shapes/captions", seed=0))
    untrained = TASK.evaluate(_build(), _mapped(full.test, full.info), SPEC, HPARAMS, full.info).metrics
    trained = TASK.evaluate(_train(full, SPEC.recipe.epochs), _mapped(full.test, full.info), SPEC, HPARAMS,
                            full.info).metrics
    assert trained["bleu"] > max(2 * trained["constant_caption_bleu"], 10 * untrained["bleu"], SPEC.gate.floor)
    assert trained["bleu_beam"] > 2 * trained["constant_caption_bleu"]
