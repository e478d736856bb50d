"""The scenes task: seeded images, masks, captions in reading order and gold cells."""

import math
import random

import numpy as np
import pytest

from attnviz.builtin.tasks import scenes
from attnviz.builtin.tasks.scenes import SceneError, SceneObject, compose, mask, render


def test_scenes_are_deterministic_per_seed():
    a, b, c = scenes.scenes(20, seed=3), scenes.scenes(20, seed=3), scenes.scenes(20, seed=4)
    assert all(np.array_equal(x.image, y.image) and x.caption == y.caption for x, y in zip(a, b))
    assert any(x.caption != y.caption for x, y in zip(a, c))


def test_every_scene_follows_the_rules():
    counts = {1: 0, 2: 0, 3: 0}
    for scene in scenes.scenes(300, seed=1):
        counts[len(scene.objects)] += 1
        assert scene.image.shape == (3, 64, 64) and scene.image.dtype == np.float32
        assert scene.image.min() >= 0 and scene.image.max() <= 1
        centres = [o.centre_x for o in scene.objects]
        assert centres == sorted(centres) and all(b - a >= 8 for a, b in zip(centres, centres[1:]))
        assert scene.masks.sum(0).max() == 1 or len(scene.objects) == 1  # no pixel belongs to two objects
        for obj, pixels in zip(scene.objects, scene.masks):
            colour = np.asarray(scenes.COLOURS[obj.colour])
            assert np.abs(scene.image[:, pixels].mean(1) - colour).max() < 0.02  # painted in its colour
            assert np.array_equal(pixels, mask(obj.shape, obj.size, obj.x, obj.y))
    assert min(counts.values()) > 60  # one, two and three objects all common


def test_caption_names_objects_left_to_right_and_aligns_words_to_them():
    objects = [SceneObject("blue", "square", 16, 40, 5), SceneObject("red", "circle", 20, 2, 30)]
    scene = render(objects, seed=0)
    assert scene.caption == ("red", "circle", "left", "of", "blue", "square")
    assert scene.alignment == (0, 0, None, None, 1, 1)
    gold = scene.gold_cells()
    assert gold[2] is None and gold[3] is None
    # the red circle spans pixels x 2..21, y 30..49: cells (rows 3..6, cols 0..2)
    expected = np.zeros((8, 8), dtype=bool)
    expected[3:7, 0:3] = True
    assert np.array_equal(gold[0], expected) and np.array_equal(gold[1], expected)


def test_gold_cells_are_the_cells_any_object_pixel_falls_in():
    for scene in scenes.scenes(50, seed=2):
        for index, pixels in enumerate(scene.masks):
            rows, cols = np.nonzero(pixels)
            expected = np.zeros((8, 8), dtype=bool)
            expected[rows // 8, cols // 8] = True
            assert np.array_equal(scene.cells(index), expected)


@pytest.mark.parametrize(
    "shape, area",
    [("circle", math.pi / 4), ("square", 0.84**2), ("triangle", 0.5)],
)
def test_shapes_have_the_area_of_their_geometry(shape, area):
    pixels = mask(shape, 22, 20, 20)
    assert abs(pixels.sum() / 22**2 - area) < 0.04
    assert pixels[:20].sum() == 0 and pixels[:, :20].sum() == 0 and pixels[42:].sum() == 0


def test_compose_places_the_picked_objects():
    picks = [("green", "triangle"), ("yellow", "circle"), ("red", "square")]
    scene = compose(picks, seed=5)
    named = sorted(zip(scene.caption[0::4], scene.caption[1::4]))
    assert named == sorted(picks)
    assert compose(picks, seed=5).caption == scene.caption


@pytest.mark.parametrize(
    "objects, message",
    [
        ([], "1 to 3 objects"),
        ([SceneObject("red", "circle", 14, 0, 0)] * 4, "1 to 3 objects"),
        ([SceneObject("pink", "circle", 14, 0, 0)], "Pick colours"),
        ([SceneObject("red", "star", 14, 0, 0)], "Pick colours"),
        ([SceneObject("red", "circle", 40, 0, 0)], "14-22 pixels"),
        ([SceneObject("red", "circle", 20, 50, 0)], "inside the image"),
        ([SceneObject("red", "circle", 20, 0, 0), SceneObject("blue", "square", 20, 10, 10)], "must not overlap"),
        ([SceneObject("red", "circle", 20, 0, 0), SceneObject("blue", "square", 20, 4, 40)], "a cell"),
    ],
)
def test_invalid_scenes_are_one_sentence(objects, message):
    with pytest.raises(SceneError, match=message):
        render(objects)


def test_too_many_picks_are_refused():
    with pytest.raises(SceneError, match="Pick 1 to 3"):
        compose([("red", "circle")] * 4)
    assert len(scenes.place([("red", "circle")], random.Random(0))) == 1
