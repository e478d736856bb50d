"""Pretrained vision transformers, as tiny random models saved to a folder: attention equals a recomputation
from each layer's own query and key projections, special tokens are flagged, and the grid maps to pixels."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers as T
from PIL import Image

from attnviz.maps import grids, storage
from attnviz.pretrained import vision

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, image_size=32, patch_size=8
)
SQUARE = dict(size={"height": 32, "width": 32})
SQUARE_CROP = dict(**SQUARE, crop_size={"height": 32, "width": 32})
CROP = dict(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
FAMILIES = {
    "vit": (lambda: T.ViTModel(T.ViTConfig(**TINY)), lambda: T.ViTImageProcessor(**SQUARE), ("[CLS]",)),
    "deit": (
        lambda: T.DeiTModel(T.DeiTConfig(**TINY)),
        lambda: T.DeiTImageProcessor(**SQUARE_CROP),
        ("[CLS]", "[DIST]"),
    ),
    "beit": (lambda: T.BeitModel(T.BeitConfig(**TINY)), lambda: T.BeitImageProcessor(**SQUARE_CROP), ("[CLS]",)),
    "dinov2": (lambda: T.Dinov2Model(T.Dinov2Config(**TINY)), lambda: T.BitImageProcessor(**CROP), ("[CLS]",)),
    "dinov2-registers": (
        lambda: T.Dinov2WithRegistersModel(T.Dinov2WithRegistersConfig(**TINY, num_register_tokens=4)),
        lambda: T.BitImageProcessor(**CROP),
        ("[CLS]", "[REG 0]", "[REG 1]", "[REG 2]", "[REG 3]"),
    ),
    "clip": (lambda: T.CLIPVisionModel(T.CLIPVisionConfig(**TINY)), lambda: T.CLIPImageProcessor(**CROP), ("[CLS]",)),
    "siglip": (lambda: T.SiglipVisionModel(T.SiglipVisionConfig(**TINY)), lambda: T.SiglipImageProcessor(**SQUARE), ()),
}


def save_tiny(family: str, folder: Path) -> Path:
    build_model, build_processor, _ = FAMILIES[family]
    torch.manual_seed(0)
    build_model().save_pretrained(folder)
    build_processor().save_pretrained(folder)
    return folder


def picture(seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (32, 32, 3), dtype=np.uint8))


def recomputed(loaded: vision.LoadedVision, pixels: torch.Tensor) -> list[torch.Tensor]:
    """softmax(q k^T / sqrt(d)) per layer, from the hidden states entering each layer and its own projections."""
    model = loaded.model
    layers = getattr(model, "layers", None) or getattr(model.encoder, "layer", None) or model.encoder.layers
    inputs = []
    hooks = [
        layer.register_forward_pre_hook(
            lambda m, a, k: inputs.append(a[0] if a else k["hidden_states"]), with_kwargs=True
        )
        for layer in layers
    ]
    with torch.no_grad():
        model(pixel_values=pixels)
        for hook in hooks:
            hook.remove()
        result = []
        for layer, hidden in zip(layers, inputs, strict=True):
            norm = next(getattr(layer, n) for n in ("layernorm_before", "norm1", "layer_norm1") if hasattr(layer, n))
            attention = layer.attention if hasattr(layer, "attention") else layer.self_attn
            h = norm(hidden)[0]
            q, k = attention.q_proj(h), attention.k_proj(h)
            heads, d = 4, h.shape[-1] // 4
            q, k = q.view(-1, heads, d).transpose(0, 1), k.view(-1, heads, d).transpose(0, 1)
            result.append(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1))
    return result


@pytest.mark.parametrize("family", list(FAMILIES))
def test_attention_equals_a_recomputation_from_queries_and_keys(tmp_path, family):
    loaded = vision.load_vision(str(save_tiny(family, tmp_path / family)))
    attn = vision.extract_image(loaded, picture())
    specials = FAMILIES[family][2]
    assert attn.grid == (4, 4) and attn.n_layers == 2 and attn.n_heads == 4
    assert attn.query_tokens[: len(specials)] == specials and attn.query_tokens[len(specials)] == "patch (0, 0)"
    assert attn.key_special == tuple(i < len(specials) for i in range(len(specials) + 16))
    expected = recomputed(loaded, vision.pixel_values(loaded, picture()))
    for layer in range(2):
        np.testing.assert_allclose(attn.weights[layer], expected[layer].numpy(), atol=1e-5)


def test_a_one_hot_patch_lands_on_its_pixels():
    """Patch (1, 2) of a 4 x 4 grid over a 32 x 32 image covers rows 8-15 and columns 16-23."""
    weights = np.zeros((1, 1, 1, 17), np.float32)
    weights[0, 0, 0, 1 + 1 * 4 + 2] = 1.0
    tokens = ("[CLS]", *(f"patch ({r}, {c})" for r in range(4) for c in range(4)))
    special = (True,) + (False,) * 16
    from attnviz.maps.attention_map import AttentionMap

    attn = AttentionMap(weights, ("[CLS]",), tokens, "self", "", (True,), special, grid=(4, 4))
    pixels = grids.to_pixels(grids.cell_weights(attn, 0, 0, 0), 32, 32)
    expected = np.zeros((32, 32))
    expected[8:16, 16:24] = 1
    assert np.array_equal(pixels, expected)


def test_a_text_model_is_refused_in_one_sentence(tmp_path):
    folder = tmp_path / "bert"
    T.BertModel(
        T.BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=64)
    ).save_pretrained(folder)
    with pytest.raises(vision.hf.ModelLoadError, match="bert model is not a vision transformer"):
        vision.load_vision(str(folder))


def test_extract_command_writes_self_tokens_and_grid(tmp_path):
    from attnviz.cli.main import main

    folder = save_tiny("deit", tmp_path / "deit")
    image = tmp_path / "in.png"
    picture(1).save(image)
    out = tmp_path / "x.npz"
    assert main(["extract", "--model", str(folder), "--image", str(image), "--out", str(out)]) == 0
    maps = storage.load(out)
    assert list(maps) == ["self"] and maps["self"].grid == (4, 4)
    assert maps["self"].query_tokens[:2] == ("[CLS]", "[DIST]") and maps["self"].weights.dtype == np.float32
    with np.load(out) as npz:
        assert {"self", "self_query_tokens", "self_key_tokens", "self_grid"} <= set(npz.files)
        assert npz["self_grid"].tolist() == [4, 4]
