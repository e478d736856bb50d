"""Streaming extraction: a model's attention reduced layer by layer while it runs, never held whole.

At 8,192 tokens one head's map is 268 MB in float32 and a 12 x 12 decoder's maps 38.7 GB, so long inputs
cannot go through :func:`attnviz.pretrained.extract.extract`. Here every attention layer of the model calls
:func:`_attention` (registered with transformers' ``AttentionInterface``), which runs the model's **own**
``eager_attention_forward`` (so softcapping, sliding windows, grouped keys and scaling are the family's own
code) on one chunk of queries at a time. Each chunk's weights are reduced at once into what the views need
(block-mean thumbnails and every head statistic) and freed; the chunk's output goes on through the model.
The layer's post-RoPE queries and keys and its mask are kept, so any single head can be recomputed exactly,
on demand (:meth:`Streamed.head`), without running the model again.

Memory: the largest attention tensor alive is ``heads x chunk x tokens``; what stays is the queries and keys
of every layer (``layers x (heads + kv_heads) x tokens x head_dim``). No mask is ever held whole: the mask of a
layer kind is a :class:`RowMask`, which builds the rows a chunk needs from transformers' own mask function when
the chunk runs (a dense float32 ``[n, n]`` mask was 4,096 MB at 32,768 tokens).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from transformers import AttentionInterface
from transformers.masking_utils import AttentionMaskInterface

from attnviz.long.chunks import Scratch, chunk_attention, widen
from attnviz.long.mask import RowMask, row_mask
from attnviz.long.reduce import Reducer, block_factors
from attnviz.maps.statistics import is_punctuation
from attnviz.pretrained.eager import eager_of, is_standard
from attnviz.pretrained.implementation import attention_implementation

NAME = "attnviz_stream"
_ACTIVE: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("attnviz_stream_run", default=None)
Progress = Callable[[int, int], None]  # told (layers done, layers)


@dataclass
class _Layer:
    """What recomputing any head of one layer exactly needs: the model's own eager function and its inputs."""

    module: torch.nn.Module
    eager: Callable
    query: torch.Tensor  # [1, heads, tokens, head_dim], post-RoPE
    key: torch.Tensor  # [1, kv_heads, tokens, head_dim], post-RoPE, not repeated
    mask: RowMask | torch.Tensor | None  # [1, 1, tokens, tokens] additive (shared by the layers of a kind)
    kwargs: dict
    spans: Spans | None = None  # each query's visible keys (from the mask)


@dataclass
class Streamed:
    """One long input's attention, reduced: thumbnails and statistics for every head, any head on demand."""

    tokens: tuple[str, ...]
    special: tuple[bool, ...]
    kind: str  # "causal" for decoders, "self" for encoders
    thumbnails: np.ndarray  # [layer, head, rows, cols] block means of the weights
    statistics: dict[str, np.ndarray]  # name -> [layer, head]
    windows: tuple[int | None, ...]  # each layer's sliding window (None: the layer sees every earlier key)
    layers: list[_Layer] = field(repr=False)
    thumbnails_aside: np.ndarray | None = None  # the thumbnails with the first token set aside, rows renormalised

    @property
    def n_layers(self) -> int:
        return self.thumbnails.shape[0]

    @property
    def n_heads(self) -> int:
        return self.thumbnails.shape[1]

    @torch.no_grad()
    def head(self, layer: int, head: int, rows: slice = slice(None), chunk: int = 512) -> np.ndarray:
        """``[query, key]`` float32 weights of one head, for the queries ``rows``, recomputed exactly with the
        model's own eager attention (chunk by chunk, so at most ``chunk x tokens`` floats at once)."""
        kept = self.layers[layer]
        groups = kept.query.shape[1] // kept.key.shape[1]
        query = kept.query[:, head : head + 1]
        key = kept.key[:, head // groups : head // groups + 1]  # the key head this query head shares
        module = _OneHead(kept.module)  # the model's eager function, told not to repeat the one key head
        start, stop, _ = rows.indices(query.shape[2])
        n = query.shape[2]
        parts = []
        for q0 in range(start, stop, chunk):
            q1 = min(stop, q0 + chunk)
            k0, k1 = _band(kept.spans, q0, q1, n)
            _, weights = kept.eager(
                module,
                query[:, :, q0:q1],
                key[:, :, k0:k1],
                key[:, :, k0:k1],
                _block(kept.mask, q0, q1, k0, k1),
                **kept.kwargs,
            )
            band = np.zeros((q1 - q0, n), np.float32)
            band[:, k0:k1] = weights[0, 0].float().numpy()
            parts.append(band)
        return np.concatenate(parts) if parts else np.zeros((0, query.shape[2]), np.float32)


class _OneHead:
    """An attention module as its eager function sees it when given one query head and its one key head: every
    attribute is the module's own, but no key head is repeated (grouped-query attention shares them)."""

    num_key_value_groups = 1

    def __init__(self, module: torch.nn.Module):
        self._module = module

    def __getattr__(self, name: str):
        return getattr(self._module, name)


class _Run:
    """The reductions of one forward pass, filled in by :func:`_attention` layer by layer."""

    def __init__(self, tokens, special, kind: str, chunk: int, side: int, progress: Progress | None):
        n_tokens, punctuation = len(tokens), [is_punctuation(t) for t in tokens]
        self.n_tokens, self.kind, self.chunk, self.progress = n_tokens, kind, chunk, progress
        self.special, self.punctuation = np.asarray(special, bool), np.asarray(punctuation, bool)
        self.factors = block_factors(n_tokens, n_tokens, side)
        self.layers: list[_Layer] = []
        self.reducers: list[Reducer] = []
        self.windows: list[int | None] = []
        self.total_layers = 0
        self.scratch = Scratch()
        # by mask (the layers of a kind share one): the mask, its spans, whether it is 0 wherever a key is visible
        self._spans: dict[int, tuple[torch.Tensor, Spans | None, bool]] = {}

    def spans(self, mask: torch.Tensor | None, n: int) -> Spans | None:
        if mask is None:
            return None
        if id(mask) not in self._spans:  # the mask is held, so its id stays its own
            spans = visible_spans(mask, n)
            self._spans[id(mask)] = (mask, spans, spans is not None and zero_where_visible(mask))
        return self._spans[id(mask)][1]

    def clear(self, mask: torch.Tensor | None, q0: int, q1: int, k0: int) -> tuple[int, int] | None:
        """The keys of the chunk (counted from ``k0``) that every query q0..q1 sees through a mask that is 0 there,
        so adding the mask there changes nothing; None if there are none or the mask is not known to be 0."""
        if mask is None or not self._spans[id(mask)][2]:
            return None
        first, last = self._spans[id(mask)][1]
        start, stop = int(first[q0:q1].max()) - k0, int(last[q0:q1].min()) + 1 - k0
        return (start, stop) if start < stop else None

    def run_layer(self, module, eager, query, key, value, mask, kwargs) -> torch.Tensor:
        window = kwargs.get("sliding_window")
        window = window if isinstance(window, int) else None
        n = query.shape[2]
        spans = self.spans(mask, n)
        causal = spans is not None and bool((spans[1] <= np.arange(n)).all())
        heads = query.shape[1]
        reducer = Reducer(heads, self.n_tokens, self.special, self.punctuation, self.factors, self.kind, window, causal)
        standard = is_standard(eager, module, query, mask)
        if standard:  # the reducer's key columns ride along with the values through the output's product
            value = widen(value, reducer.layout.columns)
        output = None
        step = self.factors[0] * max(1, self.chunk // self.factors[0])  # chunks hold whole thumbnail rows
        for q0 in range(0, n, step):
            q1 = min(n, q0 + step)
            k0, k1 = _band(spans, q0, q1, n)
            part, weights, rows = self._chunk(
                standard,
                module,
                eager,
                reducer,
                mask,
                (q0, q1, k0, k1),
                kwargs,
                query[:, :, q0:q1],
                key[:, :, k0:k1],
                value[:, :, k0:k1],
            )
            reducer.add(None if weights is None else weights[0].detach().float(), q0, k0, rows)
            del weights
            if output is None:  # [1, tokens, heads, head_dim], as eager attention returns it
                output = part.new_empty(part.shape[0], n, heads, query.shape[3])
            output[:, q0:q1] = part[..., : query.shape[3]]
        self.layers.append(_Layer(module, eager, query.detach(), key.detach(), mask, dict(kwargs), spans))
        self.reducers.append(reducer)
        self.windows.append(reducer.window)
        if self.progress is not None:
            self.progress(len(self.layers), self.total_layers)
        return output

    def _chunk(self, standard, module, eager, reducer, mask, bounds, kwargs, query, key, value):
        """One chunk of queries q0..q1 over keys k0..k1: (output, weights or None, the rows' terms or None)."""
        q0, q1, k0, k1 = bounds
        clear = self.clear(mask, q0, q1, k0) if standard else None
        block = _block(mask, q0, q1, k0, k1, clear)
        if not standard:  # the model's own eager attention; the reducer computes every term from the weights
            part, weights = eager(module, query, key, value, block, **kwargs)
            return part, weights, None
        reduce = (reducer.layout, q0, k0)
        return chunk_attention(query, key, value, block, **kwargs, scratch=self.scratch, clear=clear, reduce=reduce)


Spans = tuple[np.ndarray, np.ndarray]  # each query's first and last visible key


def visible_spans(mask: torch.Tensor | None, n: int) -> Spans | None:
    """Each query's first and last key not hidden by the additive ``mask`` (its most negative float: the
    weight there is exactly 0), or None where the mask hides nothing row by row (then every key is kept)."""
    if mask is None or not mask.is_floating_point() or tuple(mask.shape) != (1, 1, n, n):
        return None
    first, last = np.zeros(n, np.int64), np.full(n, n - 1)  # a row that sees no key keeps every key
    for q0 in range(0, n, 256):  # a band of rows at a time: no temporary the size of the mask
        rows = _block(mask, q0, min(n, q0 + 256), 0, n)[0, 0]
        seen = (rows > torch.finfo(mask.dtype).min / 2).to(torch.uint8)  # [query, key]
        some = seen.amax(-1).bool().numpy()
        first[q0 : q0 + 256][some] = seen.argmax(-1).numpy()[some]  # argmax: the first of the maxima
        last[q0 : q0 + 256][some] = n - 1 - seen.flip(-1).argmax(-1).numpy()[some]
    return first, last


def zero_where_visible(mask: torch.Tensor) -> bool:
    """Whether the additive ``mask`` ``[1, 1, query, key]`` is exactly 0 wherever it does not hide the key (as
    transformers' eager masks are), a band of rows at a time."""
    if isinstance(mask, RowMask):  # transformers' eager mask: 0 where a key is visible, the dtype's minimum elsewhere
        return True
    hidden = torch.finfo(mask.dtype).min / 2
    return all(bool(((band == 0) | (band <= hidden)).all()) for band in mask[0, 0].split(256))


def _band(spans: Spans | None, q0: int, q1: int, n: int) -> tuple[int, int]:
    """The keys k0..k1 that queries q0..q1 may see: a causal row has no weight after itself, a sliding-window
    row none before its window, so leaving those keys out of the chunk changes no number and saves the work."""
    if spans is None:
        return 0, n
    return int(spans[0][q0:q1].min()), int(spans[1][q0:q1].max()) + 1


def _block(mask, q0: int, q1: int, k0: int, k1: int, clear: tuple[int, int] | None = None) -> torch.Tensor | None:
    """The mask of queries q0..q1 over keys k0..k1 (a mask broadcast over queries keeps its one row). A row mask is
    built only outside ``clear`` (keys ``k0 + a .. k0 + b - 1``, where it is 0 and is never read): a causal chunk's
    diagonal block, not the whole band."""
    if mask is None:
        return None
    if isinstance(mask, RowMask):
        a, b = clear or (0, 0)
        block = torch.empty(1, 1, q1 - q0, k1 - k0, dtype=mask.dtype)
        if a > 0:
            block[..., :a] = mask.rows(q0, q1, k0, k0 + a)
        if b < k1 - k0 or a >= b:
            start = b if a < b else 0
            block[..., start:] = mask.rows(q0, q1, k0 + start, k1)
        return block
    rows = mask if mask.shape[-2] == 1 else mask[..., q0:q1, :]
    return rows[..., k0:k1]


def _attention(module, query, key, value, attention_mask, **kwargs):
    """Every attention layer calls this while streaming is registered: chunked eager attention, reduced."""
    eager = eager_of(module)
    run = _ACTIVE.get()
    if run is None:  # another caller of the same model: plain eager attention
        return eager(module, query, key, value, attention_mask, **kwargs)
    return run.run_layer(module, eager, query, key, value, attention_mask, kwargs), None


AttentionInterface.register(NAME, _attention)
AttentionMaskInterface.register(NAME, row_mask)  # eager attention's additive masks, built a block at a time


@torch.no_grad()
def stream(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    tokens: tuple[str, ...],
    special: tuple[bool, ...],
    kind: str = "causal",
    chunk: int = 256,
    side: int = 64,
    progress: Progress | None = None,
) -> Streamed:
    """Run ``model`` on ``input_ids`` ([1, tokens]) with its attention streamed; see the module doc. ``kind``:
    "causal" for decoders (a query sees the keys up to itself), "self" for encoders."""
    if len(tokens) != input_ids.shape[1] or len(special) != len(tokens):
        raise ValueError(f"{input_ids.shape[1]} ids need as many tokens and special flags")
    run = _Run(tokens, special, kind, chunk, side, progress)
    run.total_layers = getattr(model.config, "num_hidden_layers", 0)
    token = _ACTIVE.set(run)
    try:
        with attention_implementation(model, NAME):
            model.base_model(input_ids=input_ids.to(model.device), use_cache=False)  # no logits needed
    finally:
        _ACTIVE.reset(token)
    if not run.reducers:
        raise ValueError("The model ran no attention layer through attnviz's streaming function.")
    results = [reducer.result() for reducer in run.reducers]
    return Streamed(
        tokens=tuple(tokens),
        special=tuple(special),
        kind=kind,
        thumbnails=np.stack([r[0] for r in results]),
        statistics={name: np.stack([r[1][name] for r in results]) for name in results[0][1]},
        windows=tuple(run.windows),
        layers=run.layers,
        thumbnails_aside=np.stack([r[2] for r in results]),
    )
