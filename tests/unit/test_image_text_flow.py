"""Attention flow for tiled, merged and shuffled image tokens (LLaVA-NeXT, Idefics3 / SmolVLM, Qwen2-VL /
Qwen2.5-VL) against a rollout by hand from the vision tower's own eager attentions: each tile (or the image) rolled
out, A = (I + head mean) / 2 per layer, rows renormalised; an image token of several patches flows as the mean of
its patches' rows, onto a token as the sum over that token's patches; tokens of different tiles do not mix."""

import numpy as np
import pytest
import torch
from PIL import Image
from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl
from transformers.models.qwen2_vl import modeling_qwen2_vl

from attnviz.pretrained.image_text import flow, layouts, run


def picture(width: int = 40, height: int = 30) -> Image.Image:
    return Image.fromarray(np.random.default_rng(3).integers(0, 256, (height, width, 3), dtype=np.uint8))


def by_hand(layers) -> np.ndarray:
    """Rollout of ``layers`` ``[head, n, n]`` (from the first on), float64."""
    result = np.eye(layers[0].shape[-1])
    for attention in layers:
        mixed = 0.5 * np.eye(len(result)) + 0.5 * np.asarray(attention, dtype=np.float64).mean(0)
        result = (mixed / mixed.sum(-1, keepdims=True)) @ result
    return result


def pooled_by_hand(rolled: np.ndarray, members: list[list[int]]) -> np.ndarray:
    """F[t, u] = mean over t's patches p of the sum over u's patches q of rolled[p, q]."""
    return np.array([[rolled[np.ix_(p, q)].sum(1).mean() for q in members] for p in members])


@torch.no_grad()
def eager_tower(loaded, pixels: torch.Tensor, layers: int | None = None) -> list[np.ndarray]:
    """Per tile, the rollout by hand from ``output_attentions`` of the tower run eagerly on ``pixels``."""
    tower = loaded.model.model.vision_tower if loaded.family == "llava_next" else loaded.model.model.vision_model
    previous = loaded.model.config._attn_implementation
    loaded.model.set_attn_implementation("eager")
    try:
        out = tower(pixel_values=pixels, output_attentions=True)
    finally:
        loaded.model.set_attn_implementation(previous)
    attentions = [a.double().numpy() for a in out.attentions[:layers]]  # [layer][tile, head, n, n]
    return [by_hand([a[tile] for a in attentions]) for tile in range(len(pixels))]


def test_llava_next_flows_within_each_tile_and_the_cut_padding_takes_nothing(tiny_vlm):
    from transformers.models.llava_next.modeling_llava_next import image_size_to_num_patches

    loaded = tiny_vlm("llava_next")
    config = loaded.model.config
    inputs = run._prepare(loaded, picture(), "").inputs
    tiles = image_size_to_num_patches(inputs["image_sizes"][0], config.image_grid_pinpoints, 32)
    layers = config.vision_feature_layer % (config.vision_config.num_hidden_layers + 1)
    rollouts = [r[1:, 1:] for r in eager_tower(loaded, inputs["pixel_values"][0, :tiles], layers)]  # no [CLS]
    patches = rollouts[0].shape[0]
    index = torch.arange(tiles * patches, dtype=torch.float64).reshape(tiles, patches, 1)  # the model packs it
    packed, _ = loaded.model.model.pack_image_features([index], inputs["image_sizes"], "default", torch.tensor([-1.0]))
    where = packed[0][:, 0].round().long().numpy()  # each image token's tile * patches + patch, -1: a newline
    expected = np.zeros((len(where), len(where)))
    for t, u in np.ndindex(expected.shape):
        if where[t] >= 0 and where[u] >= 0 and where[t] // patches == where[u] // patches:
            expected[t, u] = rollouts[where[t] // patches][where[t] % patches, where[u] % patches]
    found = flow.flow_matrix(loaded, picture())
    np.testing.assert_allclose(found, expected, atol=1e-5)
    cells = layouts.cells(loaded, inputs)
    newlines = (where == -1).sum()
    assert newlines == cells.shapes[1][0] and len(where) - newlines < tiles * patches  # some padding was cut
    assert found.shape[0] == cells.n_tokens and (found[where == -1] == 0).all() and (found[:, where == -1] == 0).all()


@pytest.mark.parametrize("family", ["idefics3", "smolvlm"])
def test_idefics3_flows_per_tile_and_pools_each_shuffled_block(tiny_vlm, family):
    loaded = tiny_vlm(family)
    inputs = run._prepare(loaded, picture(), "").inputs
    pixels = inputs["pixel_values"][0]
    rollouts = eager_tower(loaded, pixels[(pixels != 0).flatten(1).any(1)])  # the model drops all-zero tiles
    side, scale = 4, loaded.model.config.scale_factor  # 32 px tiles of 8 px patches
    blocks = [
        [(scale * i + a) * side + scale * j + b for a in range(scale) for b in range(scale)]
        for i in range(side // scale)
        for j in range(side // scale)
    ]
    expected = np.zeros((len(rollouts) * len(blocks),) * 2)
    for tile, rolled in enumerate(rollouts):
        span = slice(tile * len(blocks), (tile + 1) * len(blocks))
        expected[span, span] = pooled_by_hand(rolled, blocks)
    found = flow.flow_matrix(loaded, picture())
    np.testing.assert_allclose(found, expected, atol=1e-5)
    assert len(rollouts) == 5 and found.shape[0] == layouts.cells(loaded, inputs).n_tokens


@torch.no_grad()
def qwen_by_hand(loaded, monkeypatch, inputs) -> np.ndarray:
    """The Qwen tower's rollout over patches in the processor's order, from the weights its own eager function
    returns for each chunk; Qwen2.5-VL's window order read off its first block's input against the patch
    embeddings."""
    module = modeling_qwen2_vl if loaded.family == "qwen2_vl" else modeling_qwen2_5_vl
    eager, calls = module.eager_attention_forward, []

    def recorded(attention, *args, **kwargs):
        output, weights = eager(attention, *args, **kwargs)
        calls.append((attention, weights[0].double().numpy()))
        return output, weights

    tower = loaded.model.model.visual
    seen = {}
    embed = tower.patch_embed.register_forward_hook(lambda m, a, out: seen.update(embedded=out))
    first = tower.blocks[0].register_forward_pre_hook(
        lambda m, args, kwargs: seen.update(entering=args[0]), with_kwargs=True
    )
    monkeypatch.setattr(module, "eager_attention_forward", recorded)
    previous = loaded.model.config._attn_implementation
    loaded.model.set_attn_implementation("eager")
    try:
        tower(inputs["pixel_values"], grid_thw=inputs["image_grid_thw"])
    finally:
        embed.remove(), first.remove(), loaded.model.set_attn_implementation(previous)
    layers = []
    for block in tower.blocks:
        chunks = [w for attention, w in calls if attention is block.attn]
        layer = np.zeros((chunks[0].shape[0], *(2 * [sum(c.shape[-1] for c in chunks)])))
        start = 0
        for chunk in chunks:
            layer[:, start : start + chunk.shape[-1], start : start + chunk.shape[-1]] = chunk
            start += chunk.shape[-1]
        layers.append(layer)
    rolled = by_hand(layers)  # in the tower's order
    distances = torch.cdist(seen["entering"].double(), seen["embedded"].double())
    order = distances.argmin(1).numpy()  # the tower's i-th patch is the processor's order[i]
    assert sorted(order) == list(range(len(order)))
    original = np.empty_like(rolled)
    original[np.ix_(order, order)] = rolled
    return original


@pytest.mark.parametrize("family, window", [("qwen2_vl", None), ("qwen2_5_vl", None), ("qwen2_5_vl", 32)])
def test_qwen_flows_through_each_layers_blocks_and_pools_each_merged_token(tiny_vlm, monkeypatch, family, window):
    """Qwen2.5-VL's tiny windows are one merged token each (its window order is then the patch order); windows of
    32 pixels (2 x 2 tokens) reorder the patches, which must be undone."""
    loaded = tiny_vlm(family)
    if window:
        monkeypatch.setattr(loaded.model.model.visual, "window_size", window)
    image = picture(64, 64)
    inputs = run._prepare(loaded, image, "").inputs
    rolled = qwen_by_hand(loaded, monkeypatch, inputs)
    expected = pooled_by_hand(rolled, [list(range(4 * t, 4 * t + 4)) for t in range(len(rolled) // 4)])
    found = flow.flow_matrix(loaded, image)
    np.testing.assert_allclose(found, expected, atol=1e-5)
    assert found.shape[0] == layouts.cells(loaded, inputs).n_tokens == 16


def test_qwen2_5_windows_keep_the_flow_within_their_2x2_blocks_of_tokens(tiny_vlm, monkeypatch):
    """Every layer windowed (no full-attention layer), windows of 2 x 2 merged tokens: a token's flow stays in its
    window, a 2 x 2 block of the 4 x 4 token grid, wherever the tower's window order put it."""
    loaded = tiny_vlm("qwen2_5_vl")
    tower = loaded.model.model.visual
    monkeypatch.setattr(tower, "fullatt_block_indexes", [])
    monkeypatch.setattr(tower, "window_size", 32)
    found = flow.flow_matrix(loaded, picture(64, 64))
    rows, columns = np.divmod(np.arange(16), 4)
    window = (rows // 2) * 2 + columns // 2
    same = window[:, None] == window[None, :]
    assert (found[~same] == 0).all() and (found[same] > 0).all()
    np.testing.assert_allclose(found.sum(1), 1, atol=1e-5)
