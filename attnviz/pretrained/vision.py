"""Pretrained vision transformers: load by Hub id or local folder, run on an image, return self-attention.

Families: ViT, DeiT (class and distillation tokens), BEiT, DINOv2 (with or without register tokens),
and the vision towers of CLIP and SigLIP (SigLIP has no class token). Images go through the model's own
``AutoImageProcessor`` (the Pillow implementation: no torchvision); attention is eager. Class,
distillation and register tokens come first and are flagged special; the patches follow in row-major
order, and the map's ``grid`` says how many rows and columns of patches there are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained import hf

VISION_TYPES = (
    "vit",
    "deit",
    "beit",
    "dinov2",
    "dinov2_with_registers",
    "clip",
    "clip_vision_model",
    "siglip",
    "siglip_vision_model",
)


@dataclass(frozen=True)
class LoadedVision:
    name: str
    model_type: str
    model: torch.nn.Module  # the vision tower, eval mode, no gradients
    processor: object
    patch_size: int
    registers: int  # DINOv2 register tokens (0 for the others)


def load_vision(model_id: str) -> LoadedVision:
    """Load a vision transformer by Hub id or local folder; ModelLoadError with one sentence if it won't."""
    name = model_id.strip()
    location = hf.location_of(name)
    give = "Give the path of a folder holding config.json, weights and preprocessor_config.json."
    return hf.local_then_hub(name, location, lambda local_only: _load(name, location, local_only), give)


def _load(name: str, location, local_only: bool) -> LoadedVision:
    from transformers import AutoConfig, AutoImageProcessor, AutoModel

    options = dict(trust_remote_code=False, local_files_only=local_only)
    config = AutoConfig.from_pretrained(location, **options)
    if config.model_type not in VISION_TYPES:
        raise ValueError(f"a {config.model_type} model is not a vision transformer attnviz reads")
    model = AutoModel.from_pretrained(location, attn_implementation="eager", **options)
    processor = AutoImageProcessor.from_pretrained(location, use_fast=False, **options)
    if hasattr(model, "vision_model") and hasattr(config, "vision_config"):  # a full CLIP / SigLIP
        model, config = model.vision_model, config.vision_config
    model.eval().requires_grad_(False)
    return LoadedVision(
        name,
        config.model_type,
        model,
        processor,
        int(config.patch_size),
        int(getattr(config, "num_register_tokens", 0) or 0),
    )


def special_labels(loaded: LoadedVision) -> tuple[str, ...]:
    """The tokens in front of the patches, in order."""
    if loaded.model_type.startswith("siglip"):
        return ()
    if loaded.model_type == "deit":
        return ("[CLS]", "[DIST]")
    return ("[CLS]", *(f"[REG {i}]" for i in range(loaded.registers)))


def pixel_values(loaded: LoadedVision, image) -> torch.Tensor:
    """The processor's input for one PIL image: (1, 3, height, width)."""
    return loaded.processor(images=image, return_tensors="pt")["pixel_values"]


def model_view(loaded: LoadedVision, image) -> np.ndarray:
    """The image as the model sees it (resized, cropped), (3, height, width) in [0, 1]: what attention is over."""
    pixels = pixel_values(loaded, image)[0].double().numpy()
    mean = np.asarray(getattr(loaded.processor, "image_mean", None) or [0.0, 0.0, 0.0])[:, None, None]
    std = np.asarray(getattr(loaded.processor, "image_std", None) or [1.0, 1.0, 1.0])[:, None, None]
    return np.clip(pixels * std + mean, 0, 1).astype(np.float32)


@torch.no_grad()
def extract_image(loaded: LoadedVision, image) -> AttentionMap:
    """Every layer's and head's self-attention over [special tokens] + patches, float32 [layer, head, T, T]."""
    pixels = pixel_values(loaded, image)
    output = loaded.model(pixel_values=pixels, output_attentions=True)
    weights = torch.stack([a[0] for a in output.attentions]).double()  # (layers, heads, T, T)
    grid = (pixels.shape[-2] // loaded.patch_size, pixels.shape[-1] // loaded.patch_size)
    special = special_labels(loaded)
    if len(special) + grid[0] * grid[1] != weights.shape[-1]:
        raise ValueError(
            f"{loaded.name}: {weights.shape[-1]} tokens, but {len(special)} special tokens and a "
            f"{grid[0]} x {grid[1]} patch grid"
        )
    tokens = (*special, *(f"patch ({r}, {c})" for r in range(grid[0]) for c in range(grid[1])))
    flags = tuple(i < len(special) for i in range(len(tokens)))
    weights = (weights / weights.sum(-1, keepdim=True)).float().numpy()
    return AttentionMap(weights, tokens, tokens, "self", loaded.name, flags, flags, grid=grid)
