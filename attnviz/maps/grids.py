"""Pure functions over attention on an image grid: pointing game, mass on an object, cells to pixels.

No torch, no streamlit. A grid of cells is row-major, ``(rows, columns)``; masks are bool arrays.
"""

from __future__ import annotations

import numpy as np

from attnviz.maps.attention_map import AttentionMap


def dilate(cells: np.ndarray, steps: int = 1) -> np.ndarray:
    """bool (rows, cols): ``cells`` grown by ``steps`` cells in every direction, diagonals included."""
    grown = np.asarray(cells, dtype=bool)
    for _ in range(steps):
        padded = np.pad(grown, 1)
        rows, cols = grown.shape
        grown = np.zeros_like(grown)
        for dr in range(3):
            for dc in range(3):
                grown |= padded[dr : dr + rows, dc : dc + cols]
    return grown


def pointing_hit(weights: np.ndarray, gold: np.ndarray, tolerance: int = 1) -> bool:
    """Whether the largest weight of ``weights`` (cells, row-major) lies inside ``gold`` (rows, cols)
    grown by ``tolerance`` cells (the pointing game, Zhang et al. 2016)."""
    gold = np.asarray(gold, dtype=bool)
    return bool(dilate(gold, tolerance).reshape(-1)[int(np.argmax(weights))])


def mass_on(weights: np.ndarray, gold: np.ndarray) -> float:
    """Share of ``weights`` (cells, row-major) that falls on the ``gold`` cells."""
    return float(np.asarray(weights, dtype=np.float64)[np.asarray(gold, dtype=bool).reshape(-1)].sum())


def cell_weights(attn: AttentionMap, layer: int, head: int, query: int) -> np.ndarray:
    """float32 (rows, cols): one query's attention over the image cells (special keys left out, not renormalised)."""
    if attn.grid is None:
        raise ValueError("this map's keys are not image cells (it has no grid)")
    row = attn.head(layer, head)[query]
    cells = row[~np.asarray(attn.key_special, dtype=bool)]
    return cells.reshape(attn.grid)


def to_pixels(cells: np.ndarray, height: int, width: int) -> np.ndarray:
    """(rows, cols) -> (height, width): each cell's value over the pixels it covers (nearest neighbour).

    Works for sizes that are not multiples of the grid: pixel y belongs to cell floor(y * rows / height).
    """
    rows, cols = cells.shape
    row_of = (np.arange(height) * rows) // height
    col_of = (np.arange(width) * cols) // width
    return cells[row_of[:, None], col_of[None, :]]


def cells_of_mask(pixels: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """bool (rows, cols): the cells that any pixel of ``pixels`` (height, width) falls in."""
    ys, xs = np.nonzero(pixels)
    height, width = pixels.shape
    cells = np.zeros(grid, dtype=bool)
    cells[(ys * grid[0]) // height, (xs * grid[1]) // width] = True
    return cells
