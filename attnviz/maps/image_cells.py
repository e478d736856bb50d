"""Where each image token of an image-to-text model comes from: its tile and its cell in that tile's grid.

A vision-language model turns an image into a run of image tokens: one per patch (LLaVA, PaliGemma, a captioner's
encoder), one per 2 x 2 block of patches (Qwen2-VL's merge), one per s x s block of each tile (Idefics3's pixel
shuffle), with extra tokens between (a row's newline token, a class token). :class:`ImageCells` says, for every
image token in the order the model reads them, which tile it belongs to and which (row, column) cell of that tile's
grid; a token that is no cell (a class or newline token) has row and column -1. Pure numpy, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOT_A_CELL = -1


@dataclass(frozen=True)
class ImageCells:
    """Tiles (name and grid shape) and, per image token, ``cells[token] = (tile, row, column)``."""

    tiles: tuple[str, ...]  # e.g. ("image",) or ("tile 1 (row 0, column 0)", ..., "global")
    shapes: tuple[tuple[int, int], ...]  # (rows, columns) of each tile's grid
    cells: np.ndarray  # int64 [image_token, 3]: tile index, row, column (row = column = -1: not a cell)

    def __post_init__(self) -> None:
        cells = np.array(self.cells, dtype=np.int64).reshape(-1, 3)
        cells.setflags(write=False)
        object.__setattr__(self, "cells", cells)
        object.__setattr__(self, "shapes", tuple((int(r), int(c)) for r, c in self.shapes))
        if len(self.tiles) != len(self.shapes):
            raise ValueError(f"{len(self.tiles)} tile names but {len(self.shapes)} tile shapes")
        for tile, row, column in cells:
            if not 0 <= tile < len(self.tiles):
                raise ValueError(f"image token in tile {tile}; there are {len(self.tiles)} tiles")
            rows, columns = self.shapes[tile]
            if (row, column) != (NOT_A_CELL, NOT_A_CELL) and not (0 <= row < rows and 0 <= column < columns):
                raise ValueError(f"cell ({row}, {column}) is outside tile {tile}'s {rows} x {columns} grid")

    @property
    def n_tokens(self) -> int:
        return len(self.cells)

    def tokens_of(self, tile: int) -> np.ndarray:
        """Indices of the image tokens that are cells of ``tile``."""
        cells = self.cells
        return np.flatnonzero((cells[:, 0] == tile) & (cells[:, 1] != NOT_A_CELL))

    def grid(self, values: np.ndarray, tile: int) -> np.ndarray:
        """``values`` (one per image token, ``[image_token]``) laid out on ``tile``'s grid: ``[rows, columns]``
        float32, NaN where no token is; what an overlay draws over that tile."""
        values = np.asarray(values)
        if values.shape != (self.n_tokens,):
            raise ValueError(f"{values.shape[0] if values.ndim else 0} values for {self.n_tokens} image tokens")
        out = np.full(self.shapes[tile], np.nan, dtype=np.float32)
        tokens = self.tokens_of(tile)
        out[self.cells[tokens, 1], self.cells[tokens, 2]] = values[tokens]
        return out


def one_grid(rows: int, columns: int, name: str = "image", leading: int = 0) -> ImageCells:
    """One tile of ``rows x columns`` cells read row by row, after ``leading`` tokens that are no cell (a class
    token)."""
    row, column = np.divmod(np.arange(rows * columns), columns)
    cells = np.stack([np.zeros_like(row), row, column], axis=1)
    aside = np.tile([0, NOT_A_CELL, NOT_A_CELL], (leading, 1))
    return ImageCells((name,), ((rows, columns),), np.concatenate([aside, cells]))


def joined(parts: list[ImageCells]) -> ImageCells:
    """Several tiles' tokens one after another (their tile indices renumbered in order)."""
    tiles, shapes, cells, offset = [], [], [], 0
    for part in parts:
        shifted = part.cells.copy()
        shifted[:, 0] += offset
        tiles += part.tiles
        shapes += part.shapes
        cells.append(shifted)
        offset += len(part.tiles)
    return ImageCells(tuple(tiles), tuple(shapes), np.concatenate(cells))
