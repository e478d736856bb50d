"""A vision tower's own eager attention weights, per layer and per tile, as the model computes its image features.

:func:`tower_blocks` runs the model's ``get_image_features`` with every attention call going through the family's
own ``eager_attention_forward`` and keeps the weights each call returns: a call's batch rows are separate tiles
(LLaVA-NeXT's base image and tiles, Idefics3's tiles and thumbnail), and a call made once per chunk of one
sequence (Qwen2-VL's vision attention splits its patches at ``cu_seqlens``: whole images, or Qwen2.5-VL's windows)
gives one block each. :func:`block_diagonal` puts a layer's chunks back into one ``[head, patch, patch]`` matrix.
"""

from __future__ import annotations

import contextvars
import functools

import numpy as np
import torch

from attnviz.pretrained.eager import eager_of
from attnviz.pretrained.image_text.load import LoadedImageText
from attnviz.pretrained.implementation import attention_implementation, register

NAME = "attnviz_tower"
IMAGE_INPUTS = ("pixel_values", "image_sizes", "pixel_attention_mask", "image_grid_thw")

_CALLS: contextvars.ContextVar[list | None] = contextvars.ContextVar("attnviz_tower_calls", default=None)


def _attention(module, query, key, value, attention_mask, **kwargs):
    output, weights = eager_of(module)(module, query, key, value, attention_mask, **kwargs)
    calls = _CALLS.get()
    if calls is not None:
        calls.append((module, weights.detach().double().cpu()))
    return output, weights


@functools.cache
def _register() -> None:
    register(NAME, _attention)


@torch.no_grad()
def tower_blocks(loaded: LoadedImageText, inputs: dict[str, torch.Tensor]) -> list[list[np.ndarray]]:
    """Per attention layer of the vision tower (in the order they run), the weights of each tile or chunk in call
    order: float64 ``[head, patch, patch]`` arrays."""
    _register()
    calls: list = []
    token = _CALLS.set(calls)
    try:
        with attention_implementation(loaded.model, NAME):
            loaded.model.model.get_image_features(**{name: inputs[name] for name in IMAGE_INPUTS if name in inputs})
    finally:
        _CALLS.reset(token)
    layers: dict[int, list[np.ndarray]] = {}
    for module, weights in calls:
        layers.setdefault(id(module), []).extend(weights.numpy())
    return list(layers.values())


def block_diagonal(blocks: list[np.ndarray]) -> np.ndarray:
    """One sequence's chunks (``[head, n_i, n_i]``, in order) as one ``[head, n, n]`` matrix, zero between them."""
    size = sum(block.shape[-1] for block in blocks)
    out = np.zeros((blocks[0].shape[0], size, size))
    start = 0
    for block in blocks:
        stop = start + block.shape[-1]
        out[:, start:stop, start:stop] = block
        start = stop
    return out
