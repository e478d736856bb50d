"""One chunk of queries' attention, computed as the standard eager attention of transformers computes it, without
its copies.

Every family attnviz streams (Llama, Mistral, Qwen2, Gemma 2, Phi, GPT-NeoX, GPT-2, BERT) has an
``eager_attention_forward`` of the same form: ``q k^T * scaling``, Gemma 2's soft cap ``tanh(s / cap) * cap``,
plus the additive mask, a float32 softmax, dropout (none in eval mode), then the weights times the values. Run
on a chunk, that function copies every grouped key and value head once per query head (``repeat_kv``) and
allocates a new tensor at each step. :func:`chunk_attention` does the same arithmetic on the un-repeated keys
(the query heads that share a key head are stacked, so one matrix product serves them) and scales, caps and
masks in place, in two buffers that every chunk reuses. ``tests/unit/test_stream.py`` and
``tests/unit/test_stream_attention.py`` check, family by family, that the weights and outputs equal the model's own
eager attention; a family not listed here streams through its own eager function instead.
"""

from __future__ import annotations

import math

import torch

from attnviz.long import softmax
from attnviz.long.reduce import Layout, row_terms
from attnviz.pretrained.eager import scores_into


class Scratch:
    """Float32 buffers that every chunk of a run reuses for its scores, weights and widened values. A new tensor
    of that size for each chunk can be a fresh mapping from the system, whose pages are zeroed before use, and the
    chunk-sized temporaries of every chunk fragmented the heap (the peak of a 4,000-token run grew chunk after
    chunk)."""

    def __init__(self):
        self.flat = [torch.empty(0), torch.empty(0)]  # a tile's scores and weights

    def take(self, index: int, shape: tuple[int, ...]) -> torch.Tensor:
        size = math.prod(shape)
        if self.flat[index].numel() < size:
            self.flat[index] = torch.empty(size)
        return self.flat[index][:size].view(shape)


TILE_FLOATS = 2**22  # scores a tile (16 MB): in the cache through the passes over it, yet a wide enough product
MIN_TILE_ROWS = 32  # fewer rows a tile and the calls cost more than the cache saves


def tile_rows(kv_heads: int, width: int, chunk: int) -> int:
    """Query rows per tile: a power of two (at least :data:`MIN_TILE_ROWS`, at most the chunk) whose scores over
    ``width`` keys for every key head fill at most :data:`TILE_FLOATS`."""
    fit = max(1, TILE_FLOATS // max(1, kv_heads * width))
    return min(chunk, max(MIN_TILE_ROWS, 1 << (fit.bit_length() - 1)))


def chunk_attention(
    query,
    key,
    value,
    mask,
    scaling=None,
    softcap=None,
    scratch: Scratch | None = None,
    clear: tuple[int, int] | None = None,
    reduce: tuple[Layout, int, int] | None = None,
    **_,
):
    """(output ``[1, chunk, heads, head_dim]``, float32 weights ``[1, heads, chunk, keys]`` or None, and each row's
    terms ``[heads, chunk]``) of queries ``[1, heads, chunk, head_dim]`` over keys and values ``[1, kv_heads,
    keys, head_dim]`` (not repeated: query heads ``j * groups ... j * groups + groups - 1`` share key head ``j``,
    as ``repeat_kv`` orders them). ``clear``: the keys ``a .. b - 1`` where ``mask`` is 0 for every query.

    The chunk is computed a tile of query rows at a time (:func:`tile_rows`), each tile from its scores to its
    share of the output while it is in the cache. Each row's entropy and largest weight come from the scores (with
    ``m`` its largest score and ``Z = sum exp(s - m)``, the largest weight is ``1 / Z`` and the entropy ``log Z -
    sum p (s - m)``), by the path :mod:`attnviz.long.softmax` chose. Without ``reduce`` the weights come back
    whole. With ``reduce`` = ``(layout, q0, k0)`` (the streaming path: the chunk's first query and key are ``q0``
    and ``k0`` of the input) they are not kept: every term :func:`attnviz.long.reduce.row_terms` gives comes back
    instead, and ``value`` carries the layout's 4 key columns after the head's values (:func:`widen`), so each row's
    sums of them ride along with the output's matrix product."""
    batch, heads, chunk, dim = query.shape
    kv_heads, width = key.shape[1], key.shape[2]
    groups, scratch = heads // kv_heads, scratch or Scratch()
    scaling = dim**-0.5 if scaling is None else scaling
    weights = None if reduce is not None else query.new_empty(batch, heads, chunk, width)
    output = query.new_empty(batch, chunk, heads, dim)
    found: dict[str, torch.Tensor] = {}
    step = tile_rows(kv_heads, width, chunk)
    for group in range(groups):  # the query heads group, group + groups, ... share no key head: one tile's rows
        for a in range(0, chunk, step):
            b = min(chunk, a + step)
            tile = scratch.take(0, (1, kv_heads, b - a, width))
            scores_into(tile, query[:, group::groups, a:b], key, _rows(mask, a, b), scaling, softcap, clear)
            blocks = None if reduce is None else (reduce[2], reduce[0].fk, reduce[0].n_cols)
            w, terms = softmax.rows(tile, scratch.take(1, tile.shape), blocks, divided=reduce is None)
            scale = terms.pop("scale", None)  # the compiled pass's exponentials, each row still to divide by Z
            if reduce is not None:
                layout, q0, k0 = reduce
                linear = row_terms(w[0], q0 + a, k0, layout, have=("entropy", "max", "sums", *terms))
                terms |= linear if scale is None else {name: _divided(name, v, scale) for name, v in linear.items()}
            else:
                weights[0, group::groups, a:b] = w[0]
            part = torch.bmm(w[0], value[0])  # [kv_heads, rows, value columns]
            if scale is not None:
                part.mul_(scale[..., None])
            output[0, a:b, group::groups] = part[..., :dim].transpose(0, 1)
            if reduce is not None:
                terms["sums"] = part[..., dim : dim + 4]
            _gather(found, terms, group, groups, (heads, chunk), a)
    return output, weights, found


def _divided(name: str, values: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Row term ``name`` read from ``exp(s - m)`` divided by the row's sum (``scale`` ``[kv_heads, rows]`` is ``1 /
    Z``): "blocks" has the key blocks after the rows, "diagonal" three steps before the heads."""
    return values * (scale[..., None] if name == "blocks" else scale)


def _gather(found: dict, terms: dict, group: int, groups: int, shape: tuple[int, int], a: int) -> None:
    """Put a tile's per-row terms (``[..., kv_heads, rows, ...]``) into the chunk's (``[..., heads, chunk, ...]``):
    the tile holds query heads ``group, group + groups, ...`` and the chunk's rows ``a`` onwards."""
    for name, values in terms.items():
        lead = values.dim() - 2 - (name in ("sums", "blocks"))  # "diagonal" has a leading [3]
        if name not in found:
            found[name] = values.new_empty(*values.shape[:lead], *shape, *values.shape[lead + 2 :])
        index = (slice(None),) * lead + (slice(group, None, groups), slice(a, a + values.shape[lead + 1]))
        found[name][index] = values


def _rows(mask: torch.Tensor | None, a: int, b: int) -> torch.Tensor | None:
    """The mask's query rows ``a .. b - 1`` (a mask broadcast over queries keeps its one row)."""
    return None if mask is None or mask.shape[-2] == 1 else mask[..., a:b, :]


def widen(value: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """``value`` ``[1, kv_heads, keys, head_dim]`` with ``columns`` ``[keys, 4]`` after every head's values, then
    zeros up to a multiple of 8 columns (the matrix product runs faster on an aligned width): once per layer."""
    batch, kv_heads, width, dim = value.shape
    extra = columns.shape[1]
    out = value.new_zeros(batch, kv_heads, width, dim + extra + (-(dim + extra) % 8))
    out[..., :dim] = value
    out[..., dim : dim + extra] = columns
    return out
