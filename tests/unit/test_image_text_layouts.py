"""Where each image token comes from: a bright square in one patch must change the image token that
attnviz.pretrained.image_text.layouts says is that patch's cell, and the overlay grid must light that cell.

The vision towers are made token-local (every attention output projection zeroed: each token then keeps its own
patch embedding through the layers), so only the square's patch's token changes; what reaches the text model (a
decoder's input embeddings at the image positions, a captioner's encoder states) is compared with and without it.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from attnviz.maps.image_cells import ImageCells, one_grid
from attnviz.pretrained.image_text import flow, layouts, run
from attnviz.pretrained.image_text import load as image_text

from vlm_models import save_tiny_vlm

OUT_PROJECTIONS = ("self_attn.out_proj", "self_attn.projection", "attention.o_proj", "attn.proj")


def token_local(loaded) -> None:
    vision = dict(llava="vision_tower", llava_next="vision_tower", paligemma="vision_tower", idefics3="vision_model")
    vision |= dict(qwen2_vl="visual", qwen2_5_vl="visual", smolvlm="vision_model")
    model = loaded.model
    if loaded.family in vision:
        tower = getattr(model.model, vision[loaded.family])
    else:
        tower = model.encoder if loaded.family == "vision-encoder-decoder" else model.vision_model
    for name, module in tower.named_modules():
        if name.endswith(OUT_PROJECTIONS):
            torch.nn.init.zeros_(module.weight)
            torch.nn.init.zeros_(module.bias)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = image_text.load(str(save_tiny_vlm(name, tmp_path_factory.mktemp(name))))
            token_local(cache[name])
        return cache[name]

    return get


@torch.no_grad()
def image_states(loaded, image) -> np.ndarray:
    """What the text side receives for each image token, in image-token order: [image_token, dim]."""
    prepared = run._prepare(loaded, image, "where")
    seen = {}

    def after(module, args, out) -> None:
        seen["states"] = out[0][0]

    def before(module, args, kwargs) -> None:
        seen["states"] = kwargs["inputs_embeds"][0]

    if loaded.kind == "captioner":
        tower = loaded.model.encoder if loaded.family == "vision-encoder-decoder" else loaded.model.vision_model
        handle = tower.register_forward_hook(after)
    else:
        inner = loaded.model.model
        text = getattr(inner, "language_model", None) or inner.text_model
        handle = text.register_forward_pre_hook(before, with_kwargs=True)
    try:
        run._forward(loaded, prepared, prepared.context)
    finally:
        handle.remove()
    states = seen["states"].numpy()
    positions = layouts.image_positions(loaded, prepared.inputs.get("input_ids"), len(states))
    return states[positions], layouts.cells(loaded, prepared.inputs)


def changed_tokens(loaded, size: int, square: tuple[int, int, int]) -> tuple[np.ndarray, ImageCells]:
    """How much each image token changed when a white ``square`` (top, left, side) is drawn on grey."""
    grey = np.full((size, size, 3), 90, dtype=np.uint8)
    bright = grey.copy()
    top, left, side = square
    bright[top : top + side, left : left + side] = 255
    plain, cells = image_states(loaded, Image.fromarray(grey))
    lit, _ = image_states(loaded, Image.fromarray(bright))
    change = np.abs(lit - plain).max(-1)
    assert change.max() > 0
    return change / change.max(), cells  # BLIP's vision weights start at 1e-10: only relative changes tell


@pytest.mark.parametrize("family", ["llava", "paligemma", "vit-gpt2", "blip"])
def test_square_lights_its_patch_cell(local, family):
    loaded = local(family)
    change, cells = changed_tokens(loaded, 32, (16, 8, 8))  # 8-pixel patches: patch row 2, column 1
    lit = np.flatnonzero(change > 1e-3)
    assert len(lit) == 1, lit
    assert tuple(cells.cells[lit[0]]) == (0, 2, 1)
    grid = cells.grid(change, 0)
    assert np.unravel_index(np.nanargmax(grid), grid.shape) == (2, 1)


@pytest.mark.parametrize("family", ["idefics3", "smolvlm"])
def test_idefics3_square_lights_its_tile_cell_and_the_thumbnail(local, family):
    loaded = local(family)
    # a 64-pixel image: 2 x 2 tiles of 32 and a 32-pixel thumbnail; 8-pixel patches shuffled 2 x 2 into 16-pixel cells
    change, cells = changed_tokens(loaded, 64, (48, 8, 8))  # tile (row 2, column 1), cell (1, 0); thumbnail (1, 0)
    assert cells.tiles == (*(f"tile row {r}, column {c}" for r in (1, 2) for c in (1, 2)), "global thumbnail")
    lit = {tuple(cells.cells[token]) for token in np.flatnonzero(change > 1e-3)}
    assert lit == {(2, 1, 0), (4, 1, 0)}
    tile = cells.grid(change, 2)
    assert np.unravel_index(np.nanargmax(tile), tile.shape) == (1, 0)


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl"])  # 2.5: windows of 2 x 2 patches reordered and back
def test_qwen_square_lights_its_merged_block_and_the_view_shows_it(local, family):
    loaded = local(family)
    # 64 pixels: 8 x 8 patches of 8, merged 2 x 2 into a 4 x 4 grid; the square is patch (5, 2), block (2, 1)
    change, cells = changed_tokens(loaded, 64, (40, 16, 8))
    assert cells.shapes == ((4, 4),)
    lit = np.flatnonzero(change > 1e-3)
    assert len(lit) == 1 and tuple(cells.cells[lit[0]]) == (0, 2, 1)
    bright = np.full((64, 64, 3), 90, dtype=np.uint8)
    bright[40:48, 16:24] = 255
    prepared = run._prepare(loaded, Image.fromarray(bright), "where")
    (view,) = layouts.views(loaded, prepared.inputs)
    assert view.shape == (64, 64, 3)
    assert np.abs(view.astype(int) - bright).max() <= 1  # the patches put back where they were


def test_llava_next_square_lights_its_high_resolution_cell_and_the_base_cell(local):
    loaded = local("llava_next")
    # 64 pixels: 2 x 2 tiles of 32 (4 x 4 patches of 8 each) joined into an 8 x 8 grid, and the base image at 32;
    # a 4-pixel square at (36, 20) is high-resolution patch (4, 2), and base patch (2, 1) once halved
    change, cells = changed_tokens(loaded, 64, (36, 20, 4))
    assert cells.tiles == ("base image", "high-resolution tiles") and cells.shapes == ((4, 4), (8, 8))
    assert (cells.cells[:, 1] == -1).sum() == 8  # a newline token after each of the 8 rows
    for tile, cell in ((1, (4, 2)), (0, (2, 1))):
        grid = cells.grid(change, tile)
        assert np.unravel_index(np.nanargmax(grid), grid.shape) == cell
    bright = np.full((64, 64, 3), 90, dtype=np.uint8)
    bright[36:40, 20:24] = 255
    base, high = layouts.views(loaded, run._prepare(loaded, Image.fromarray(bright), "where").inputs)
    assert base.shape == (32, 32, 3) and np.abs(high.astype(int) - bright).max() <= 1


def test_llava_next_cuts_the_padding_of_a_wide_image(local):
    loaded = local("llava_next")
    grey = Image.fromarray(np.full((16, 64, 3), 90, dtype=np.uint8))  # 64 x 16 padded to 64 x 32: 4 rows, 1 kept
    prepared = run._prepare(loaded, grey, "where")
    cells = layouts.cells(loaded, prepared.inputs)
    rows, columns = cells.shapes[1]
    assert (rows, columns) == (2, 8)  # the padding rows above and below the image are not tokens
    assert len(layouts.image_positions(loaded, prepared.inputs["input_ids"], 0)) == cells.n_tokens
    assert (cells.cells[:, 1] == -1).sum() == rows
    assert layouts.views(loaded, prepared.inputs)[1].shape == (rows * 8, 64, 3)


def test_one_grid_and_grid_layout():
    cells = one_grid(2, 3, leading=1)
    assert cells.cells.tolist()[:3] == [[0, -1, -1], [0, 0, 0], [0, 0, 1]]
    grid = cells.grid(np.arange(7, dtype=float), 0)
    np.testing.assert_array_equal(grid, [[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match="outside"):
        ImageCells(("image",), ((2, 2),), np.array([[0, 2, 0]]))
    with pytest.raises(ValueError, match="values for"):
        cells.grid(np.zeros(3), 0)


@pytest.mark.parametrize("family", ["llava", "paligemma", "vit-gpt2", "blip"])
def test_attention_flow_is_the_towers_rollout_by_hand(tmp_path, family):
    """F from the tower's own eager attentions, rolled out by hand: A = (I + head mean) / 2 per layer, rows
    renormalised, multiplied from the first layer on; the class token's row or column dropped where it is no
    image token. (Tiled, merged and shuffled image tokens: tests/unit/test_image_text_flow.py.)"""
    loaded = image_text.load(str(save_tiny_vlm(family, tmp_path / family)))
    image = Image.fromarray(np.random.default_rng(2).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    found = flow.flow_matrix(loaded, image)
    tower, _, has_class = flow._tower(loaded)
    loaded.model.set_attn_implementation("eager") if family != "blip" else None
    with torch.no_grad():
        out = tower(pixel_values=run._prepare(loaded, image, "").inputs["pixel_values"], output_attentions=True)
    result = np.eye(out.attentions[0].shape[-1])
    for attention in out.attentions:
        mixed = 0.5 * np.eye(len(result)) + 0.5 * attention[0].double().numpy().mean(0)
        result = (mixed / mixed.sum(-1, keepdims=True)) @ result
    if loaded.kind == "captioner":
        result[:, 0] = 0
    elif has_class:
        result = result[1:, 1:]
    np.testing.assert_allclose(found, result, atol=1e-5)
    assert found.shape == (len(result), layouts.cells(loaded, run._prepare(loaded, image, "x").inputs).n_tokens)
