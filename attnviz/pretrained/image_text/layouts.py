"""Each family's image tokens mapped back to where they come from: tile, row and column of the tile's grid.

- captioners (a ViT / BLIP vision encoder): the keys are ``[CLS]`` then one token per patch, row by row;
- LLaVA: one token per patch of the vision tower's square input, row by row (the class token dropped by the
  ``default`` feature strategy, kept first by ``full``);
- PaliGemma: one token per SigLIP patch, row by row (SigLIP has no class token);
- Qwen2-VL / Qwen2.5-VL: one token per 2 x 2 block of patches (``spatial_merge_size``) of the resized image, whose
  grid ``image_grid_thw`` gives in patches; the merger reads the blocks row by row (Qwen2.5-VL's window reordering
  is undone inside the model before the merger's output is used);
- LLaVA-NeXT: the base image (one token per patch of the resized image), then the high-resolution tiles' patches
  joined into one grid, the padding around the image cut off, a newline token after each row; the model's own
  packing function is run on the tokens' (tile, row, column) to place them;
- Idefics3 / SmolVLM: the image cut into ``rows x columns`` tiles (``<row_r_col_c>`` tokens name them) and a global
  thumbnail last; each tile's patches pixel-shuffled ``s x s`` into one token per block, row by row.
The location tests (tests/unit/test_image_text_layouts.py) check every mapping with a bright square.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from attnviz.maps.image_cells import NOT_A_CELL, ImageCells, joined, one_grid
from attnviz.pretrained.image_text.load import IDEFICS, QWEN, LoadedImageText
from attnviz.pretrained.image_text.qwen import qwen_view

TILE_TAG = re.compile(r"<row_(\d+)_col_(\d+)>")


def cells(loaded: LoadedImageText, inputs: dict[str, torch.Tensor]) -> ImageCells:
    """The tile and cell of every image token (the captioner's every key), in the order the model reads them."""
    config = loaded.model.config
    family = loaded.family
    if loaded.kind == "captioner":
        vision = config.encoder if family == "vision-encoder-decoder" else config.vision_config
        side = _side(inputs["pixel_values"].shape[-1], vision.patch_size)
        return one_grid(_side(inputs["pixel_values"].shape[-2], vision.patch_size), side, leading=1)
    if family in IDEFICS:
        return _idefics(loaded, inputs)
    if family == "llava_next":
        return _llava_next(loaded, inputs)
    if family in QWEN:
        _, height, width = (int(n) for n in inputs["image_grid_thw"][0])
        merge = config.vision_config.spatial_merge_size
        return one_grid(height // merge, width // merge)
    vision = config.vision_config
    side = _side(inputs["pixel_values"].shape[-1], vision.patch_size)
    full = family == "llava" and config.vision_feature_select_strategy == "full"
    return one_grid(_side(inputs["pixel_values"].shape[-2], vision.patch_size), side, leading=int(full))


def _side(pixels: int, patch: int) -> int:
    return pixels // patch


def _idefics(loaded: LoadedImageText, inputs: dict[str, torch.Tensor]) -> ImageCells:
    """Tiles in reading order (``<row_r_col_c>``), then the global thumbnail; each an ``n x n`` grid of shuffled
    blocks, n = patches per side / scale factor."""
    config = loaded.model.config
    n = _side(inputs["pixel_values"].shape[-1], config.vision_config.patch_size) // config.scale_factor
    tokens = loaded.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())
    tags = [match.groups() for match in map(TILE_TAG.fullmatch, tokens) if match]
    names = [f"tile row {row}, column {column}" for row, column in tags]
    global_name = "global thumbnail" if tags else "image"
    return joined([one_grid(n, n, name) for name in (*names, global_name)])


def _llava_next(loaded: LoadedImageText, inputs: dict[str, torch.Tensor]) -> ImageCells:
    """Tile 0 the base image, tile 1 the high-resolution grid (its kept rows and columns renumbered from 0)."""
    cells, _, side, _ = _llava_next_packed(loaded, inputs)
    return ImageCells(("base image", "high-resolution tiles"), ((side, side), _kept_shape(cells)), cells)


def _kept_shape(cells: np.ndarray) -> tuple[int, int]:
    high = (cells[:, 0] == 1) & (cells[:, 1] != NOT_A_CELL)
    return int(cells[high, 1].max()) + 1, int(cells[high, 2].max()) + 1


def _llava_next_packed(loaded: LoadedImageText, inputs: dict[str, torch.Tensor]):
    """(cells, (top, left) of the kept part of the high-resolution grid, patches per tile side, tiles per row):
    each token's (tile, row, column) packed by the model's own ``pack_image_features`` (unpadding and newlines
    included)."""
    from transformers.models.llava_next.modeling_llava_next import get_anyres_image_grid_shape

    config = loaded.model.config
    side = config.vision_config.image_size // config.vision_config.patch_size
    size = inputs["image_sizes"][0]
    tiles_high, tiles_wide = get_anyres_image_grid_shape(
        size, config.image_grid_pinpoints, config.vision_config.image_size
    )
    row, column = np.divmod(np.arange(side * side), side)
    parts = [np.stack([np.zeros_like(row), row, column], -1)]
    for tile_row in range(tiles_high):
        for tile_column in range(tiles_wide):
            parts.append(np.stack([np.ones_like(row), tile_row * side + row, tile_column * side + column], -1))
    features = torch.tensor(np.stack(parts), dtype=torch.float64)  # [1 + tiles, side * side, (tile, row, column)]
    newline = torch.tensor([1.0, NOT_A_CELL, NOT_A_CELL], dtype=torch.float64)
    packed, _ = loaded.model.model.pack_image_features([features], inputs["image_sizes"], "default", newline)
    cells = packed[0].round().long().numpy()
    high = (cells[:, 0] == 1) & (cells[:, 1] != NOT_A_CELL)
    top, left = cells[high, 1].min(), cells[high, 2].min()
    cells[high, 1] -= top
    cells[high, 2] -= left
    return cells, (int(top), int(left)), side, tiles_wide


def image_positions(loaded: LoadedImageText, input_ids: torch.Tensor, n_keys: int) -> np.ndarray:
    """Where the image tokens are: sequence indices of a decoder's image placeholders, or every key of a
    captioner's cross-attention (its keys are the image encoder's tokens)."""
    if loaded.kind == "captioner":
        return np.arange(n_keys)
    token_id = _image_token_id(loaded)
    return np.flatnonzero(input_ids[0].cpu().numpy() == token_id)


def _image_token_id(loaded: LoadedImageText) -> int:
    config = loaded.model.config
    for name in ("image_token_id", "image_token_index"):
        value = getattr(config, name, None)
        if value is not None:
            return int(value)
    return int(loaded.tokenizer.convert_tokens_to_ids(loaded.processor.image_token))


def views(loaded: LoadedImageText, inputs: dict[str, torch.Tensor]) -> tuple[np.ndarray, ...]:
    """Per tile, the pixels the model saw (its input, normalisation undone), uint8 ``[height, width, 3]``."""
    processor = loaded.processor
    processor = getattr(processor, "image_processor", processor)
    if loaded.family in QWEN:
        return (qwen_view(inputs["pixel_values"], inputs["image_grid_thw"], processor),)
    pixels = inputs["pixel_values"]
    tiles = pixels.reshape(-1, *pixels.shape[-3:]).double().numpy()
    mean = np.asarray(getattr(processor, "image_mean", None) or [0.0, 0.0, 0.0])[:, None, None]
    std = np.asarray(getattr(processor, "image_std", None) or [1.0, 1.0, 1.0])[:, None, None]
    views = [(np.clip(tile * std + mean, 0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0) for tile in tiles]
    return tuple(views) if loaded.family != "llava_next" else _stitched(loaded, inputs, views)


def _stitched(loaded: LoadedImageText, inputs: dict[str, torch.Tensor], views: list[np.ndarray]):
    """LLaVA-NeXT's base view, and its high-resolution tiles joined into one picture, cut to the kept cells."""
    cells, (top, left), _, wide = _llava_next_packed(loaded, inputs)
    rows, columns = _kept_shape(cells)
    patch = loaded.model.config.vision_config.patch_size
    tiles = views[1:]
    joined = np.concatenate(
        [np.concatenate(tiles[r * wide : (r + 1) * wide], axis=1) for r in range(len(tiles) // wide)]
    )
    cut = joined[top * patch : (top + rows) * patch, left * patch : (left + columns) * patch]
    return views[0], np.ascontiguousarray(cut)
