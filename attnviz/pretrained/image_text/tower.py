"""A vision tower's attention rollout per tile, folded from its own eager weights while it computes the image features.

:func:`tower_rollouts` runs the model's ``get_image_features`` with every attention call going through the family's
own ``eager_attention_forward``, and folds each layer's head-mean weights into each tile's running rollout as soon
as the next layer starts (one layer's weights held at a time, never every layer's). A call's batch rows are
separate tiles (LLaVA-NeXT's base image and tiles, Idefics3's tiles and thumbnail); calls made once per chunk of
one sequence (Qwen2-VL's vision attention splits its patches at ``cu_seqlens``: whole images, or Qwen2.5-VL's
windows) are one layer's blocks along the diagonal, zero between them.
"""

from __future__ import annotations

import contextvars
import functools

import numpy as np
import torch

from attnviz.maps.analysis import rollout_step
from attnviz.pretrained.eager import eager_of
from attnviz.pretrained.image_text.load import LoadedImageText
from attnviz.pretrained.implementation import attention_implementation, register

NAME = "attnviz_tower"
IMAGE_INPUTS = ("pixel_values", "image_sizes", "pixel_attention_mask", "image_grid_thw")


class Folder:
    """Running rollouts of a tower's tiles (float64 ``[patch, patch]`` each), fed one attention call at a time."""

    def __init__(self, layers: int | None, chunked: bool):
        self.layers, self.chunked = layers, chunked
        self.module: torch.nn.Module | None = None
        self.means: list[np.ndarray] = []  # the current layer's head means, per tile or chunk
        self.folded = 0
        self.rollouts: list[np.ndarray] = []

    def add(self, module: torch.nn.Module, weights: torch.Tensor) -> None:
        """One call's weights ``[batch, head, n, n]`` of ``module`` (a new module: the previous layer is done)."""
        if module is not self.module:
            self.fold()
            self.module = module
        self.means.extend(weights.detach().double().mean(1).cpu().numpy())

    def fold(self) -> None:
        """Multiply the current layer into each tile's rollout (up to ``layers`` layers)."""
        means, self.means = self.means, []
        if not means or (self.layers is not None and self.folded >= self.layers):
            return
        tiles = [block_diagonal(means)] if self.chunked else means
        if not self.rollouts:
            self.rollouts = [np.eye(len(tile)) for tile in tiles]
        self.rollouts = [rollout_step(tile) @ rolled for tile, rolled in zip(tiles, self.rollouts, strict=True)]
        self.folded += 1


_ACTIVE: contextvars.ContextVar[Folder | None] = contextvars.ContextVar("attnviz_tower_folder", default=None)


def _attention(module, query, key, value, attention_mask, **kwargs):
    output, weights = eager_of(module)(module, query, key, value, attention_mask, **kwargs)
    folder = _ACTIVE.get()
    if folder is not None:
        folder.add(module, weights)
    return output, None


@functools.cache
def _register() -> None:
    register(NAME, _attention)


@torch.no_grad()
def tower_rollouts(
    loaded: LoadedImageText, inputs: dict[str, torch.Tensor], layers: int | None, chunked: bool
) -> list[np.ndarray]:
    """Per tile, in the tower's order, the rollout through its first ``layers`` layers (all: None), float64
    ``[patch, patch]``; ``chunked``: a layer's calls are chunks of one sequence (Qwen), else each row a tile."""
    _register()
    folder = Folder(layers, chunked)
    token = _ACTIVE.set(folder)
    try:
        with attention_implementation(loaded.model, NAME):
            loaded.model.model.get_image_features(**{name: inputs[name] for name in IMAGE_INPUTS if name in inputs})
    finally:
        _ACTIVE.reset(token)
    folder.fold()
    return folder.rollouts


def block_diagonal(blocks: list[np.ndarray]) -> np.ndarray:
    """One sequence's chunks (``[n_i, n_i]``, in order) as one ``[n, n]`` matrix, zero between them."""
    size = sum(block.shape[-1] for block in blocks)
    out = np.zeros((size, size))
    start = 0
    for block in blocks:
        stop = start + block.shape[-1]
        out[start:stop, start:stop] = block
        start = stop
    return out
