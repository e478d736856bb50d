"""Reductions of attention weights that can be computed one chunk of queries at a time.

A :class:`Reducer` takes a layer's weights ``[head, query, key]`` in chunks of whole query rows and gives
the same numbers as the whole-map functions: every statistic of :mod:`attnviz.maps.statistics` (each chunk's rows
go through the statistic's own term, the sums are divided at the end) and
:func:`attnviz.figures.overview.downsample` (block means).

A chunk may hold only a band of keys (``k0`` onwards): a causal query row has no weight past itself, nor a
sliding-window row before its window, so the streaming extraction leaves those keys out. Every pass over a
chunk runs in torch, in float32 and on every thread (each reduction over the keys is one pass over the
weights); what is kept per query row (``[head, rows]``) is summed in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.maps.statistics import REGISTRY, Rows, band


def block_factors(n_queries: int, n_keys: int, side: int) -> tuple[int, int]:
    """Rows and columns per thumbnail cell so that neither side exceeds ``side`` (as ``downsample``)."""
    return math.ceil(n_queries / side), math.ceil(n_keys / side)


def key_blocks(w: torch.Tensor, k0: int, fk: int, n_cols: int) -> torch.Tensor:
    """``[head, rows, n_cols]`` sums of ``w`` (keys ``k0, k0 + 1, ...``) over blocks of ``fk`` keys: whole
    blocks as a view of ``w``, the partial blocks at either edge summed on their own (no padded copy)."""
    heads, rows, width = w.shape
    out = w.new_zeros(heads, rows, n_cols)
    end = k0 + width
    first, last = -(-k0 // fk), end // fk  # the whole blocks first .. last - 1 lie inside k0 .. end
    if first > last:  # the band lies inside one block
        out[..., k0 // fk] = w.sum(-1)
        return out
    if first < last:
        out[..., first:last] = w[..., first * fk - k0 : last * fk - k0].reshape(heads, rows, last - first, fk).sum(-1)
    if k0 < first * fk:  # the left edge's partial block
        out[..., k0 // fk] += w[..., : first * fk - k0].sum(-1)
    if last * fk < end:  # the right edge's partial block
        out[..., last] += w[..., last * fk - k0 :].sum(-1)
    return out


def _rows(values: torch.Tensor) -> np.ndarray:
    """``[head, rows]`` per-row values in float64."""
    return values.double().numpy()


@dataclass(frozen=True)
class Layout:
    """How a layer's rows are reduced: thumbnail blocks of ``fk`` keys in ``n_cols`` columns; ``columns`` ``[keys,
    4]`` per key of the input, its special, punctuation and not-first marks and its index (each row needs its
    weighted sum of these); ``causal``: no row has weight on a key after itself (the mean distance then comes from
    those sums, else from a pass over the weights)."""

    fk: int
    n_cols: int
    columns: torch.Tensor
    causal: bool = False


def row_terms(w: torch.Tensor, q0: int, k0: int, layout: Layout, have=()) -> dict[str, torch.Tensor]:
    """What :meth:`Reducer.add` needs from each row of ``w`` = float32 weights ``[head, rows, keys]`` of the
    queries ``q0, q0 + 1, ...`` over the keys ``k0, k0 + 1, ...``, except the names in ``have`` (an attention that
    computed them already): "entropy" and "max" ``[head, rows]``; "sums" ``[head, rows, 4]``, each row's weighted
    sum of ``layout.columns``; "blocks" ``[head, rows, n_cols]``, its sums over blocks of keys; "first" (its weight
    on key 0) and "first_block" (on the rest of key 0's block); "diagonal" ``[3, head, rows]``, its weight on the
    key before, at and after its own position; "distance" (its mean distance, unless ``layout.causal``). Each is a
    pass over the weights or less; the streaming path calls this on tiles small enough to stay in the cache."""
    heads, c, width = w.shape
    found: dict[str, torch.Tensor] = {}
    if "entropy" not in have:
        found["entropy"] = torch.special.entr(w).sum(-1)  # -p log p; 0 log 0 = 0
    if "max" not in have:
        found["max"] = w.amax(-1)
    if "sums" not in have:
        found["sums"] = (w.reshape(heads * c, width) @ layout.columns[k0 : k0 + width]).view(heads, c, 4)
    if "blocks" not in have:
        found["blocks"] = key_blocks(w, k0, layout.fk, layout.n_cols)
    first = k0 == 0
    found["first"] = w[..., 0].clone() if first else w.new_zeros(heads, c)
    found["first_block"] = w[..., 1 : layout.fk].sum(-1) if first else w.new_zeros(heads, c)
    found["diagonal"] = torch.stack([band(w, q0 - k0 + step) for step in (-1, 0, 1)])
    if not layout.causal:
        distance = (torch.arange(q0, q0 + c, dtype=torch.float32)[:, None] - torch.arange(k0, k0 + width)).abs_()
        found["distance"] = (w * distance).sum(-1)
    return found


class Reducer:
    """Sums over query rows, chunk by chunk; :meth:`result` divides them into the whole-map statistics."""

    def __init__(
        self,
        n_heads: int,
        n_keys: int,
        special,
        punctuation,
        factors: tuple[int, int],
        kind: str,
        window: int | None = None,
        causal: bool = False,
    ):
        self.n_keys, self.kind, self.window, self.factors = n_keys, kind, window, factors
        not_first = np.arange(n_keys) > 0
        marks = np.stack([special, punctuation, not_first, np.arange(n_keys)]).astype(np.float32)
        rows, cols = math.ceil(n_keys / factors[0]), math.ceil(n_keys / factors[1])
        self.layout = Layout(factors[1], cols, torch.from_numpy(marks.T.copy()), causal)
        self.sums = {name: np.zeros(n_heads) for name in REGISTRY}
        self.counted = dict.fromkeys(REGISTRY, 0)
        self.blocks = np.zeros((n_heads, rows, cols))
        self.blocks_aside = np.zeros((n_heads, rows, cols))  # with the first token set aside, rows renormalised
        self.n_queries = 0

    def add(self, w: torch.Tensor | None, q0: int, k0: int = 0, rows: dict | None = None) -> None:
        """Fold in the rows of the queries ``q0, q0 + 1, ...`` over the keys ``k0, k0 + 1, ...`` (every key outside
        them has weight 0 for these rows): ``w``, their float32 weights ``[head, rows, keys]`` (used up), or None
        where ``rows`` holds every term of :func:`row_terms` already; ``rows``: the terms an attention computed."""
        given = dict(rows or {})
        if w is not None:
            given = row_terms(w, q0, k0, self.layout, have=given) | given
        entropy = given["entropy"]
        heads, c = entropy.shape
        positions = np.arange(q0, q0 + c)
        self.n_queries += c
        sums, first = given["sums"], given["first"]
        rest = sums[..., 2]  # each row's weight off the first key
        self._thumbnails(q0, k0, rest, given["blocks"], given["first_block"])
        own = [_rows(d) for d in given["diagonal"]]
        if self.layout.causal:  # sum_k w (r - k) = r * total - sum_k w k, the sums counted from q0 in float64
            total = rest.double() + first.double()
            distance = (torch.arange(c, dtype=torch.float64) * total - (sums[..., 3].double() - q0 * total)).numpy()
        else:
            distance = _rows(given["distance"])
        rows = Rows(
            positions,
            self.n_keys,
            self.n_keys,
            self.kind,
            self.window,
            first=_rows(first),
            rest=_rows(rest),
            special=_rows(sums[..., 0]),
            punctuation=_rows(sums[..., 1]),
            own=own[1],
            previous=own[0],
            next=own[2],
            distance=distance,
            max=_rows(given["max"]),
            entropy=_rows(entropy),
        )
        for name, statistic in REGISTRY.items():  # each statistic's own term, as the whole-map function applies it
            values, counted = statistic.term(rows)
            self.sums[name] += values[:, counted].sum(-1)
            self.counted[name] += int(counted.sum())

    def _thumbnails(self, q0: int, k0: int, rest: torch.Tensor, keys: torch.Tensor, first_block: torch.Tensor) -> None:
        """Fold the rows' key-block sums ``keys`` ``[head, row, key block]`` into both thumbnails (as they are, and
        with the first key set aside and each row renormalised by ``rest``): one small batched product sums the
        query rows of each block for both. ``first_block``: each row's weight on the rest of key 0's block."""
        fq = self.factors[0]
        heads, c, _ = keys.shape
        n_rows = math.ceil(c / fq)
        aside = keys.clone()
        if k0 == 0:  # the first key set aside: its block summed again without it (a difference would cancel)
            aside[..., 0] = first_block
        rows = (torch.arange(c) // fq == torch.arange(n_rows)[:, None]).float()  # [block row, row]: 1 if inside
        scaled = rows * torch.where(rest > 0, 1.0 / rest, 0.0)[:, None, :]  # [head, block row, row]
        summed = torch.cat([torch.bmm(rows.expand(heads, n_rows, c), keys), torch.bmm(scaled, aside)], 1)
        summed = summed.double().numpy()
        start = q0 // fq
        self.blocks[:, start : start + n_rows] += summed[:, :n_rows]
        self.blocks_aside[:, start : start + n_rows] += summed[:, n_rows:]

    def result(self) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Block-mean thumbnails ``[head, rows, cols]``, every statistic ``[head]``, and the thumbnails with the
        first token set aside (its cell left out of the first column's means), float32."""
        q, fq, fk = self.n_queries, *self.factors
        rows, cols = self.blocks.shape[1:]
        cells = np.outer(  # real cells per block: the last row and column of blocks may be partly filled
            np.minimum(fq, q - fq * np.arange(rows)), np.minimum(fk, self.n_keys - fk * np.arange(cols))
        )
        stats = {name: self.sums[name] / max(self.counted[name], 1) for name in REGISTRY}
        aside_cells = cells.astype(float)
        aside_cells[:, 0] -= np.minimum(fq, q - fq * np.arange(rows))  # key 0 is not a cell once set aside
        aside = np.divide(self.blocks_aside, aside_cells, out=np.zeros_like(self.blocks_aside), where=aside_cells > 0)
        as32 = {n: v.astype(np.float32) for n, v in stats.items()}
        return (self.blocks / cells).astype(np.float32), as32, aside.astype(np.float32)
