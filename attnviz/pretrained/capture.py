"""Every layer's attention of a short input, written straight into the one array attnviz keeps.

``output_attentions=True`` makes the model's eager attention allocate a new tensor for the scores, the scaled
scores, the masked scores and the weights of every layer, hand the weights back, and leaves attnviz to stack
them (another copy) and turn them into an :class:`~attnviz.maps.attention_map.AttentionMap` (one more). At 512 tokens
that was more time than the rest of MiniLM's forward pass. While :func:`captured` runs a model, every layer of
a family whose eager attention has the standard form (:data:`attnviz.pretrained.eager.STANDARD`) computes its
scores and softmax in place in its own slice of one ``[layer, head, query, key]`` float32 array, the same
arithmetic as that eager function, and returns no weights; other families, and any other caller of the same
model meanwhile, get the model's own eager attention. ``tests/unit/test_capture.py`` checks the weights and
outputs against eager attention family by family.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from attnviz.maps.attention_map import ROW_SUM_TOLERANCE
from attnviz.maps.buffers import POOL
from attnviz.pretrained.eager import eager_of, is_standard, scores_into
from attnviz.pretrained.implementation import NotSwitchable, attention_implementation, register

NAME = "attnviz_capture"


class Captured(NamedTuple):
    weights: np.ndarray  # [layer, head, query, key] float32, read-only
    rows_checked: bool  # every row sums to 1 within ROW_SUM_TOLERANCE (checked as it was computed)


class _Run:
    """The array one forward pass fills, allocated at the first layer (when the shapes are known)."""

    def __init__(self, n_layers: int):
        self.n_layers, self.layer = n_layers, 0
        self.weights: np.ndarray | None = None
        self.returned: list[torch.Tensor | None] = []  # weights a layer handed back instead (not standard)
        self.rows_ok = True  # every row computed here sums to 1 within the tolerance (NaN fails)

    def slab(self, heads: int, queries: int, keys: int) -> torch.Tensor | None:
        shape = (self.n_layers, heads, queries, keys)
        if self.weights is None:
            self.weights = POOL.take(shape)  # memory already mapped, when a block is free
        if self.weights.shape != shape or self.layer >= self.n_layers:
            return None
        return torch.from_numpy(self.weights[self.layer])


_ACTIVE: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("attnviz_capture_run", default=None)


def _attention(module, query, key, value, attention_mask, **kwargs):
    eager = eager_of(module)
    run = _ACTIVE.get()
    if run is None:  # another caller of the shared model: its own eager attention
        return eager(module, query, key, value, attention_mask, **kwargs)
    slab = None
    if query.shape[0] == 1 and is_standard(eager, module, query, attention_mask):
        slab = run.slab(query.shape[1], query.shape[2], key.shape[2])
    if slab is None:
        output, weights = eager(module, query, key, value, attention_mask, **kwargs)
        run.returned.append(weights)
    else:
        output = _into(slab, query, key, value, attention_mask, kwargs)
        run.rows_ok = run.rows_ok and bool(((slab.sum(-1) - 1).abs() <= ROW_SUM_TOLERANCE).all())  # read while hot
        run.returned.append(None)
    run.layer += 1
    return output, None


def _into(slab: torch.Tensor, query, key, value, mask, kwargs: dict) -> torch.Tensor:
    """Eager attention's weights computed in ``slab`` ``[heads, queries, keys]``; returns the layer's output."""
    heads, dim = query.shape[1], query.shape[3]
    scaling = kwargs.get("scaling")
    scores = scores_into(slab[None], query, key, mask, dim**-0.5 if scaling is None else scaling, kwargs.get("softcap"))
    torch.softmax(scores, -1, out=scores)
    kv_heads, width = key.shape[1], key.shape[2]
    output = torch.matmul(scores.view(1, kv_heads, -1, width), value)
    return output.view(1, heads, query.shape[2], dim).transpose(1, 2)


@functools.cache
def _register() -> None:
    """Make :data:`NAME` an attention implementation of transformers, at the first capture."""
    register(NAME, _attention)


@torch.no_grad()
def captured(model: torch.nn.Module, run_model: Callable[[], object], n_layers: int) -> Captured | None:
    """``[layer, head, query, key]`` float32 weights of every attention layer (``n_layers`` of them, in the
    order they run) while ``run_model()`` calls ``model`` once on one sequence (read-only, owned by the caller),
    and whether every row was checked to sum to 1 (as :class:`~attnviz.maps.attention_map.AttentionMap` would). None
    when the model cannot take attnviz's attention function or ran another number of attention layers through
    it (then ask the model for its attentions the usual way)."""
    _register()
    run = _Run(n_layers)
    token = _ACTIVE.set(run)
    try:
        with attention_implementation(model, NAME):
            run_model()
    except NotSwitchable:  # a model class without the attention interface
        return None
    finally:
        _ACTIVE.reset(token)
    if len(run.returned) != n_layers:
        return None
    if run.weights is None:  # no layer of a family attnviz computes itself: the model's own weights, stacked
        stacked = np.ascontiguousarray(torch.stack([w[0] for w in run.returned]).float().cpu().numpy())
        stacked.setflags(write=False)
        return Captured(stacked, False)
    checked = run.rows_ok
    for layer, returned in enumerate(run.returned):
        if returned is not None:  # a layer whose family's attention attnviz does not compute itself
            run.weights[layer] = returned[0].float().cpu().numpy()
            checked = False
    run.weights.setflags(write=False)
    return Captured(run.weights, checked)
