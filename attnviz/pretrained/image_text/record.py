"""Only the attention rows a page shows: per forward call, each tracked layer's last query rows over the context.

``generate`` with ``output_attentions=True`` keeps every step's attention of every layer, and its first step (the
prompt, hundreds of image tokens) is a full ``[query, key]`` map per layer. While :func:`recording` runs, every
attention layer computes its output with the implementation the model had (sdpa, usually), and each tracked layer
also computes, with its family's own eager function, the weights of its last ``rows`` queries only: the same
numbers eager attention gives those rows (rows of a softmax are independent), at the cost of ``rows x keys``
scores. While a decoder generates, a standard full-attention layer (:data:`attnviz.pretrained.eager.STANDARD`)
does not even do that at each step: it keeps its last query and mask row, and once generation ends each layer's
rows of every step are one product with the layer's final key cache (keys are only ever appended to it), so a
step costs the model nothing but a reference kept. Models whose attention does not go through transformers'
``AttentionInterface`` (BLIP's text decoder) hand their weights back from every call anyway: a forward hook keeps
their last rows.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import torch

from attnviz.pretrained.eager import eager_of, is_standard, scores_into
from attnviz.pretrained.implementation import attention_implementation, register

NAME = "attnviz_rows"


class Pending(NamedTuple):
    """A generation step's last query of a standard layer, whose row is computed once generation ends: its keys
    are the first ``keys`` of the layer's final key cache (a full-attention cache only appends)."""

    query: torch.Tensor  # [1, heads, 1, head_dim], after the rotary embedding
    mask: torch.Tensor | None  # [1, 1, 1, keys] additive, or None
    keys: int
    cache_layer: int
    scaling: float
    softcap: float | None


class Recorder:
    """Rows kept by one run: per forward call, per tracked layer, ``[heads, rows, keys]``. With ``defer`` (greedy
    generation of a decoder: one row a call), a standard layer keeps its query instead (:class:`Pending`), and
    :meth:`resolve` computes all of a layer's rows in one product from the final key cache."""

    def __init__(self, modules: Sequence[torch.nn.Module], rows: int | None, outputs: str, defer: bool = False):
        self.layer_of = {id(module): layer for layer, module in enumerate(modules)}
        self.n_layers, self.rows, self.outputs, self.defer = len(modules), rows, outputs, defer and rows == 1
        self.kept: list[torch.Tensor | Pending] = []  # in call order: layer 0 .. n-1 of call 0, then of call 1 ...

    def _check_order(self, module: torch.nn.Module) -> None:
        if len(self.kept) % self.n_layers != self.layer_of[id(module)]:
            raise RuntimeError("the tracked attention layers ran out of order: the kept rows would be mislabelled")

    def keep(self, module: torch.nn.Module, weights: torch.Tensor) -> None:
        """Keep the last rows of ``weights`` ``[1, heads, queries, keys]`` of a tracked layer."""
        self._check_order(module)
        rows = weights.shape[2] if self.rows is None else min(self.rows, weights.shape[2])
        self.kept.append(weights[0, :, -rows:].detach().float().cpu())

    def put_off(self, module: torch.nn.Module, pending: Pending) -> None:
        self._check_order(module)
        self.kept.append(pending)

    def resolve(self, cache) -> None:
        """Compute every :class:`Pending` row from ``cache`` (the generation's final key-value cache)."""
        for layer in range(self.n_layers):
            slots = [i for i in range(layer, len(self.kept), self.n_layers) if isinstance(self.kept[i], Pending)]
            if slots:
                rows = _pending_rows([self.kept[i] for i in slots], cache)
                for slot, row in zip(slots, rows):
                    self.kept[slot] = row

    def wants(self, module: torch.nn.Module) -> bool:
        return id(module) in self.layer_of

    @property
    def calls(self) -> int:
        if len(self.kept) % self.n_layers:
            raise RuntimeError(f"{len(self.kept)} layer rows kept: not a whole number of calls of {self.n_layers}")
        return len(self.kept) // self.n_layers

    def stacked(self, calls: range | None = None) -> np.ndarray:
        """The kept rows of ``calls`` (all by default) as float32 ``[layer, head, row, key]``: rows in call order,
        each padded with zeros on the right to the longest (a later step sees more keys)."""
        calls = range(self.calls) if calls is None else calls
        per_layer = [[self.kept[call * self.n_layers + layer] for call in calls] for layer in range(self.n_layers)]
        heads = per_layer[0][0].shape[0]
        rows = sum(part.shape[1] for part in per_layer[0])
        keys = max(part.shape[2] for part in per_layer[0])
        out = np.zeros((self.n_layers, heads, rows, keys), dtype=np.float32)
        for layer, parts in enumerate(per_layer):
            row = 0
            for part in parts:
                out[layer, :, row : row + part.shape[1], : part.shape[2]] = part.numpy()
                row += part.shape[1]
        return out


_ACTIVE: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar("attnviz_rows_run", default=None)


def _output_function(module: torch.nn.Module, recorder: Recorder | None):
    """The function that computes the layer's output: the implementation the model had, else its eager one."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    if recorder is None or recorder.outputs == "eager" or recorder.outputs not in ALL_ATTENTION_FUNCTIONS:
        return eager_of(module)
    return ALL_ATTENTION_FUNCTIONS[recorder.outputs]


def _attention(module, query, key, value, attention_mask, **kwargs):
    recorder = _ACTIVE.get()
    output, weights = _output_function(module, recorder)(module, query, key, value, attention_mask, **kwargs)
    if recorder is None or not recorder.wants(module):
        return output, weights
    rows = query.shape[2] if recorder.rows is None else min(recorder.rows, query.shape[2])
    mask = None if attention_mask is None else attention_mask[..., -rows:, :]
    if weights is None and _deferrable(recorder, module, query[:, :, -rows:], mask, kwargs):
        scaling = kwargs.get("scaling")
        scaling = query.shape[-1] ** -0.5 if scaling is None else scaling
        last = query[:, :, -1:] if query.shape[2] == 1 else query[:, :, -1:].clone()  # not the prompt's whole query
        held = None if mask is None else (mask if attention_mask.shape[2] == 1 else mask.clone())
        recorder.put_off(module, Pending(last, held, key.shape[2], module.layer_idx, scaling, kwargs.get("softcap")))
        return output, None
    if weights is None:  # the weights of the kept rows only, as the family's eager attention computes them
        weights = _row_weights(module, query[:, :, -rows:], key, value, mask, kwargs)
    recorder.keep(module, weights)
    return output, None


def _deferrable(recorder: Recorder, module, query, mask, kwargs: dict) -> bool:
    """A standard full-attention layer of a decoder being generated from, whose keys its cache keeps whole."""
    plain = kwargs.get("sliding_window") is None and getattr(module, "layer_idx", None) is not None
    return recorder.defer and plain and query.shape[0] == 1 and is_standard(eager_of(module), module, query, mask)


def _pending_rows(pending: list[Pending], cache) -> list[torch.Tensor]:
    """The rows of one layer's pending queries, ``[heads, 1, keys]`` each: one product with the cached keys."""
    from transformers.cache_utils import DynamicLayer

    first = pending[0]
    layer = cache.layers[first.cache_layer]
    longest = max(p.keys for p in pending)
    if type(layer) is not DynamicLayer or layer.keys.shape[2] < longest:
        raise RuntimeError("the key cache does not hold every key the generation's queries saw")
    queries = torch.cat([p.query for p in pending], dim=2)  # [1, heads, steps, head_dim]
    mask = torch.full((1, 1, len(pending), longest), torch.finfo(torch.float32).min)
    for step, p in enumerate(pending):  # each step sees its own keys only, through its own mask
        mask[0, 0, step, : p.keys] = 0 if p.mask is None else p.mask[0, 0, -1]
    out = torch.empty((1, queries.shape[1], len(pending), longest), dtype=torch.float32)
    keys = layer.keys[:, :, :longest].contiguous()
    scores = scores_into(out, queries.contiguous(), keys, mask, first.scaling, first.softcap)
    weights = torch.softmax(scores, -1, out=scores)[0]
    return [weights[:, step : step + 1, : p.keys] for step, p in enumerate(pending)]


def _row_weights(module, query, key, value, mask, kwargs: dict) -> torch.Tensor:
    """``[1, heads, rows, keys]`` softmax weights of ``query``'s rows: for the standard families with
    :func:`attnviz.pretrained.eager.scores_into` (eager's arithmetic, without the weights x values product nor
    the copies of the shared key heads), else with the family's own eager function."""
    eager = eager_of(module)
    if not is_standard(eager, module, query, mask) or query.shape[0] != 1:
        return eager(module, query, key, value, mask, **kwargs)[1]
    heads, rows = query.shape[1], query.shape[2]
    out = torch.empty((1, heads, rows, key.shape[2]), dtype=torch.float32, device=query.device)
    scaling = kwargs.get("scaling")
    scaling = query.shape[-1] ** -0.5 if scaling is None else scaling
    scores = scores_into(out, query.contiguous(), key.contiguous(), mask, scaling, kwargs.get("softcap"))
    return torch.softmax(scores, -1, out=scores)


@functools.cache
def _register() -> None:
    register(NAME, _attention)


@contextmanager
def recording(
    model: torch.nn.Module, modules: Sequence[torch.nn.Module], rows: int | None, defer: bool = False
) -> Iterator[Recorder]:
    """Run the block with ``model``'s tracked attention ``modules`` (in layer order) keeping the last ``rows``
    query rows of each call (all rows when None), through the attention interface; ``defer``: see
    :class:`Recorder` (the caller then calls :meth:`Recorder.resolve` with the final cache)."""
    _register()
    recorder = Recorder(modules, rows, model.config._attn_implementation, defer)
    token = _ACTIVE.set(recorder)
    try:
        with attention_implementation(model, NAME):
            yield recorder
    finally:
        _ACTIVE.reset(token)


@contextmanager
def hooked(modules: Sequence[torch.nn.Module], rows: int | None) -> Iterator[Recorder]:
    """Like :func:`recording`, for modules that return ``(output, weights)`` from every call (BLIP's text
    attention): a forward hook keeps their last rows."""
    recorder = Recorder(modules, rows, "eager")
    handles = [module.register_forward_hook(lambda m, _, out: recorder.keep(m, out[1])) for module in modules]
    try:
        yield recorder
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def first_norms(layers: Sequence[torch.nn.Module]) -> Iterator[list[np.ndarray]]:
    """The L2 norm of every position's hidden state entering each of ``layers``, in the first call only (the
    prompt's pass): a list that fills with one float32 ``[position]`` array per layer."""
    norms: list[np.ndarray] = []

    def keep(module, args, kwargs) -> None:
        if len(norms) < len(layers):
            hidden = args[0] if args else kwargs["hidden_states"]
            norms.append(hidden[0].detach().float().norm(dim=-1).cpu().numpy())

    handles = [layer.register_forward_pre_hook(keep, with_kwargs=True) for layer in layers]
    try:
        yield norms
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def output_norms(module: torch.nn.Module) -> Iterator[list[np.ndarray]]:
    """The L2 norm of every position of ``module``'s first output (its last hidden state), in its first call only:
    a list that fills with one float32 ``[position]`` array (a captioner's image encoder, run once per answer)."""
    norms: list[np.ndarray] = []

    def keep(module, args, out) -> None:
        if not norms:
            norms.append(out[0][0].detach().float().norm(dim=-1).cpu().numpy())

    handle = module.register_forward_hook(keep)
    try:
        yield norms
    finally:
        handle.remove()
