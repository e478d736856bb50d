"""Attention over an image grid: the map's grid shape, its storage, and the pure grid functions."""

import numpy as np
import pytest

from attnviz.maps import grids, storage
from attnviz.maps.attention_map import AttentionError, AttentionMap


def grid_map(rows=2, cols=3, with_cls=True, seed=0) -> AttentionMap:
    tokens = (["[CLS]"] if with_cls else []) + [f"p{i}" for i in range(rows * cols)]
    weights = np.random.default_rng(seed).random((2, 4, len(tokens), len(tokens))).astype(np.float32)
    special = [with_cls] + [False] * (rows * cols) if with_cls else []
    return AttentionMap(
        weights / weights.sum(-1, keepdims=True), tokens, tokens, "self", "test", special, special, grid=(rows, cols)
    )


def test_a_grid_must_match_the_non_special_keys():
    assert grid_map().grid == (2, 3)
    with pytest.raises(AttentionError, match="a 2 x 2 grid needs 4 non-special keys; this map has 6"):
        AttentionMap(np.full((1, 1, 1, 6), 1 / 6), ["q"], [f"k{i}" for i in range(6)], "spatial", grid=(2, 2))
    with pytest.raises(AttentionError, match="rows, columns"):
        AttentionMap(np.full((1, 1, 1, 6), 1 / 6), ["q"], [f"k{i}" for i in range(6)], "spatial", grid=(0, 6))


def test_grid_is_part_of_equality_and_fingerprint():
    a = grid_map(with_cls=False)
    b = AttentionMap(a.weights, a.query_tokens, a.key_tokens, a.kind, a.source, grid=(3, 2))
    assert a != b and a.fingerprint != b.fingerprint


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_grid_round_trips_through_storage(tmp_path, suffix):
    maps = {"vit": grid_map(), "plain": AttentionMap(np.ones((1, 1, 1, 1)), ["a"], ["b"], "cross")}
    loaded = storage.load(storage.save(maps, tmp_path / f"maps{suffix}"))
    assert loaded == maps and loaded["vit"].grid == (2, 3) and loaded["plain"].grid is None


def test_dilate_grows_by_one_cell_with_diagonals():
    cells = np.zeros((5, 5), dtype=bool)
    cells[0, 0] = cells[3, 3] = True
    grown = grids.dilate(cells)
    expected = np.zeros((5, 5), dtype=bool)
    expected[0:2, 0:2] = True
    expected[2:5, 2:5] = True
    assert np.array_equal(grown, expected)
    assert grids.dilate(cells, 2).sum() == 9 + 16 - 4  # a 3x3 and a 4x4 block sharing rows 1-2, columns 1-2


def test_pointing_game_and_mass():
    gold = np.zeros((4, 4), dtype=bool)
    gold[1, 1] = True
    weights = np.full(16, 0.01)
    weights[2 * 4 + 2] = 0.5  # cell (2, 2): a diagonal neighbour of the gold cell
    assert grids.pointing_hit(weights, gold) and not grids.pointing_hit(weights, gold, tolerance=0)
    weights[3 * 4 + 3] = 0.9  # cell (3, 3) is two cells away
    assert not grids.pointing_hit(weights, gold)
    assert grids.mass_on(weights, gold) == pytest.approx(0.01)


def test_cell_weights_leave_the_class_token_out_in_row_major_order():
    attn = grid_map()
    cells = grids.cell_weights(attn, 1, 2, 0)
    assert np.array_equal(cells, attn.weights[1, 2, 0, 1:].reshape(2, 3))
    with pytest.raises(ValueError, match="no grid"):
        grids.cell_weights(AttentionMap(np.ones((1, 1, 1, 1)), ["a"], ["b"], "cross"), 0, 0, 0)


def test_one_hot_cell_lands_on_its_pixels_even_when_sizes_do_not_divide():
    cells = np.zeros((3, 4))
    cells[1, 2] = 1.0
    pixels = grids.to_pixels(cells, 30, 40)
    assert pixels[10:20, 20:30].min() == 1 and pixels.sum() == 100
    odd = grids.to_pixels(cells, 31, 41)  # pixel y is in row floor(3 y / 31)
    rows = [y for y in range(31) if odd[y].any()]
    cols = [x for x in range(41) if odd[:, x].any()]
    assert rows == [y for y in range(31) if 3 * y // 31 == 1] and cols == [x for x in range(41) if 4 * x // 41 == 2]


def test_cells_of_mask_is_the_inverse_of_to_pixels_for_whole_cells():
    cells = np.zeros((8, 8), dtype=bool)
    cells[2:4, 5] = True
    assert np.array_equal(grids.cells_of_mask(grids.to_pixels(cells, 64, 64), (8, 8)), cells)
