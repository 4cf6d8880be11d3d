"""Run pictures and seeded serving shared by the generative models: image grids, the per-epoch sample
progression a training run writes, and the seed (and label) to image endpoint of a deployed generator."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
from PIL import Image

from zoo.models.generative.sampling import LabelRange, SeededNoise, seeded_generator
from zoo.pictures import SampleProgress, progression_rows, save_gif, save_png, tile


def test_tile_places_each_image_in_its_cell_with_a_gutter():
    images = np.stack([np.full((2, 3, 1), v, "float32") for v in (0.0, 1.0, 0.5)])
    grid = tile(images, columns=2)
    assert grid.dtype == np.uint8 and grid.shape == (2 * 3 + 1, 2 * 4 + 1, 3)
    assert (grid[1:3, 1:4] == 0).all() and (grid[1:3, 5:8] == 255).all()
    assert (grid[4:6, 1:4] == 128).all()  # the third image starts the second row
    assert (tile(images, scale=2)[1:5, 1:7] == 0).all()


@pytest.mark.parametrize("shape", [(3, 4, 4, 2), (0, 4, 4, 1), (4, 4)])
def test_tile_rejects_what_is_not_a_batch_of_images(shape):
    with pytest.raises(ValueError, match="Expected images"):
        tile(np.zeros(shape))


def test_png_and_gif_files_hold_the_grids(tmp_path):
    images = np.random.default_rng(0).uniform(size=(10, 8, 8, 3)).astype("float32")
    path = save_png(images, str(tmp_path / "a" / "grid.png"), columns=5)
    with Image.open(path) as png:
        assert png.format == "PNG" and png.size[0] > png.size[1]  # 5 columns, 2 rows
    frames = [tile(images * f) for f in (0.2, 0.6, 1.0)]
    with Image.open(save_gif(frames, str(tmp_path / "a.gif"))) as gif:
        assert gif.format == "GIF" and gif.n_frames == 3
    with pytest.raises(ValueError, match="at least one frame"):
        save_gif([], str(tmp_path / "b.gif"))


def test_progression_rows_are_evenly_spaced_with_both_ends():
    assert progression_rows(4) == [0, 1, 2, 3]
    rows = progression_rows(60)
    assert len(rows) == 10 and rows[0] == 0 and rows[-1] == 59 and rows == sorted(set(rows))


def test_sample_progress_writes_a_grid_per_epoch_and_the_progression(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    seen = []

    def draw(m):
        seen.append(m is model)
        return np.full((12, 6, 6, 1), len(seen) / 10, "float32")  # a different grid each epoch

    callback = SampleProgress(draw, str(tmp_path / "progress"), name="toy", every=2)
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=5, verbose=0, callbacks=[callback])
    names = sorted(os.listdir(tmp_path / "progress"))
    # Every second epoch, and the last one always.
    assert names == ["toy_epoch_002.png", "toy_epoch_004.png", "toy_epoch_005.png", "toy_progression.gif",
                     "toy_progression.png"]
    assert all(seen) and len(seen) == 3
    with Image.open(tmp_path / "progress" / "toy_progression.gif") as gif:
        assert gif.n_frames == 3
    with Image.open(tmp_path / "progress" / "toy_progression.png") as png:
        one_row = tile(np.zeros((8, 6, 6, 1)), scale=8).shape[0]
        assert png.size[1] == 3 * (one_row - 1) + 1  # one row of samples per recorded epoch
    with pytest.raises(ValueError, match="`every` must be a positive integer"):
        SampleProgress(draw, str(tmp_path), name="toy", every=0)


def _toy_generator(latent=4):
    return keras.Sequential([keras.Input((latent,)), keras.layers.Dense(16, activation="sigmoid"),
                             keras.layers.Reshape((4, 4, 1))], name="toy_generator")


def test_seeded_noise_depends_on_each_rows_seed_only():
    noise = SeededNoise((3, 2))
    a = np.asarray(noise(np.array([5, 7, 9], "int32")))
    b = np.asarray(noise(np.array([9, 5], "int32")))
    assert a.shape == (3, 3, 2) and np.array_equal(a[0], b[1]) and np.array_equal(a[2], b[0])
    assert not np.allclose(a[0], a[1])
    step = np.asarray(noise.step_noise(np.array([5], "int32"), 3))
    assert not np.allclose(step[0], a[0]) and np.array_equal(step, np.asarray(noise.step_noise(np.array([5]), 3)))
    big = np.asarray(SeededNoise((4000,))(np.array([1], "int32")))
    assert abs(big.mean()) < 0.1 and abs(big.std() - 1.0) < 0.1
    with pytest.raises(ValueError, match="`shape` must be a non-empty tuple"):
        SeededNoise((0,))
    with pytest.raises(ValueError, match="`classes` must be an integer of at least 2"):
        LabelRange(1)


def test_a_deployed_generator_answers_seeds_with_the_same_images(tmp_path):
    from zoo.pipeline.serving import BadRequest, Predictor

    served = seeded_generator(_toy_generator(), (4,))
    served.export(str(tmp_path / "plain"), verbose=False)
    predictor = Predictor(str(tmp_path / "plain"))
    first = np.asarray(predictor.predict({"instances": [3, 1, 4]})["predictions"])
    again = np.asarray(predictor.predict({"instances": [{"seed": 4}, {"seed": 3}]})["predictions"])
    assert first.shape == (3, 4, 4, 1)
    np.testing.assert_allclose(again, first[[2, 0]], atol=1e-6)
    assert not np.allclose(first[0], first[1])

    noise, label = keras.Input((4,)), keras.Input((), dtype="int32")
    mixed = keras.layers.Concatenate()([noise, keras.layers.Embedding(3, 4)(label)])
    conditional = keras.Model([noise, label], keras.layers.Reshape((4, 4, 1))(keras.layers.Dense(16)(mixed)))
    seeded_generator(conditional, (4,), classes=3).export(str(tmp_path / "cond"), verbose=False)
    predictor = Predictor(str(tmp_path / "cond"))
    images = np.asarray(predictor.predict({"instances": [{"seed": 1, "label": 0}, {"seed": 1, "label": 2}]})
                        ["predictions"])
    assert images.shape == (2, 4, 4, 1) and not np.allclose(images[0], images[1])
    with pytest.raises(BadRequest, match=r"label must be an integer in \[0, 3\)"):
        predictor.predict({"instances": [{"seed": 1, "label": 3}]})
    with pytest.raises(BadRequest, match=r"label must be an integer in \[0, 3\)"):
        predictor.predict({"instances": [{"seed": 1, "label": -1}]})
