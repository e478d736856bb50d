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

import numpy as np
import torch

from attnviz.maps.statistics import REGISTRY, Rows


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
    ):
        self.n_keys, self.kind, self.window, self.factors = n_keys, kind, window, factors
        not_first = np.arange(n_keys) > 0
        self.marks = torch.from_numpy(np.stack([special, punctuation, not_first]).astype(np.float32))  # [3, keys]
        self.sums = {name: np.zeros(n_heads) for name in REGISTRY}
        self.counted = dict.fromkeys(REGISTRY, 0)
        rows, cols = math.ceil(n_keys / factors[0]), math.ceil(n_keys / factors[1])
        self.blocks = np.zeros((n_heads, rows, cols))
        self.blocks_aside = np.zeros((n_heads, rows, cols))  # with the first token set aside, rows renormalised
        self.n_queries = 0

    def columns(self, q0: int, k0: int, width: int) -> torch.Tensor:
        """``[width, 4]`` per key of ``k0 .. k0 + width - 1``: the special, punctuation and not-first marks and the
        key's offset from ``q0``. :meth:`add` needs each row's weighted sum of these; an attention that computes
        them along with its output passes them back as ``rows["sums"]``."""
        offsets = torch.arange(k0 - q0, k0 - q0 + width, dtype=torch.float32)
        return torch.cat([self.marks[:, k0 : k0 + width], offsets[None]]).T

    def layout(self, k0: int) -> tuple[int, int, int]:
        """``(k0, keys per thumbnail column, columns)``: the key blocks that :meth:`add` sums each row into, for a
        chunk whose first key is ``k0`` (an attention that sums them itself passes them back as
        ``rows["blocks"]``)."""
        return k0, self.factors[1], self.blocks.shape[2]

    def add(self, w: torch.Tensor, q0: int, k0: int = 0, causal: bool = False, rows: dict | None = None) -> None:
        """Fold in ``w`` = float32 weights ``[head, rows, keys]`` of the queries ``q0, q0 + 1, ...`` over the
        keys ``k0, k0 + 1, ...`` (every key outside them has weight 0 for these rows); ``causal``: no row has
        weight on a key after itself; ``rows``: each row's "entropy" and "max" ``[head, rows]`` where the
        attention computed them already, and "sums" ``[head, rows, 4]``, each row's weighted sum of
        :meth:`columns`, and "blocks" ``[head, rows, columns]``, its sums over :meth:`layout`'s key blocks (else
        they are computed here). ``w`` is used up."""
        heads, c, width = w.shape
        given, positions = rows, np.arange(q0, q0 + c)
        sums = None if given is None else given.get("sums")
        self.n_queries += c
        with torch.no_grad():
            if sums is None:  # one matrix-vector product per mark (an (n x 3) product is slower)
                flat = w.reshape(heads * c, width)
                marked = [(flat @ self.marks[column, k0 : k0 + width]).view(heads, c) for column in range(3)]
            else:
                marked = [sums[..., column] for column in range(3)]
            rest = marked[2]  # each row's weight off the first key
            first = w[..., 0] if k0 == 0 else torch.zeros(heads, c)
            later = None if sums is None else sums[..., 3]
            self._thumbnails(w, q0, k0, rest, None if given is None else given.get("blocks"))
            entropy = torch.special.entr(w).sum(-1) if given is None else given["entropy"]  # -p log p; 0 log 0 = 0
            rows = Rows(
                positions,
                self.n_keys,
                self.n_keys,
                self.kind,
                self.window,
                first=_rows(first),
                rest=_rows(rest),
                special=_rows(marked[0]),
                punctuation=_rows(marked[1]),
                own=self._diagonal(w, positions, k0),
                previous=self._diagonal(w, positions - 1, k0),
                next=self._diagonal(w, positions + 1, k0),
                distance=self._distance(w, q0, k0, causal, rest.double() + first.double(), later),
                max=_rows(w.amax(-1) if given is None else given["max"]),
                entropy=_rows(entropy),
            )
        for name, statistic in REGISTRY.items():  # each statistic's own term, as the whole-map function applies it
            values, counted = statistic.term(rows)
            self.sums[name] += values[:, counted].sum(-1)
            self.counted[name] += int(counted.sum())

    def _distance(self, w: torch.Tensor, q0: int, k0: int, causal: bool, total: torch.Tensor, later=None) -> np.ndarray:
        """``[head, rows]`` each row's mean |query - key|. Causal rows: sum_k w (r - k) = (r - q0) * total -
        sum_k w (k - q0), one matrix-vector product unless ``later`` holds it already (keys counted from the
        chunk, so nothing large cancels)."""
        heads, c, width = w.shape
        offsets = torch.arange(k0 - q0, k0 - q0 + width, dtype=torch.float32)
        if causal:
            if later is None:
                later = (w.reshape(heads * c, width) @ offsets).view(heads, c)
            return (torch.arange(c, dtype=torch.float64) * total - later.double()).numpy()
        distance = (torch.arange(c, dtype=torch.float32)[:, None] - offsets).abs_()
        return _rows((w * distance).sum(-1))

    def _diagonal(self, w: torch.Tensor, keys: np.ndarray, k0: int) -> np.ndarray:
        """``[head, rows]`` the weight each of the chunk's rows gives to its key in ``keys`` (0 where that key is
        outside the chunk's band of keys or the input)."""
        columns = keys - k0
        inside = (columns >= 0) & (columns < w.shape[2])
        out = np.zeros(w.shape[:2])
        out[:, inside] = _rows(w[:, np.flatnonzero(inside), columns[inside]])
        return out

    def _thumbnails(self, w: torch.Tensor, q0: int, k0: int, rest: torch.Tensor, keys=None) -> None:
        """Fold the chunk into both thumbnails' block sums (as is, and with the first key set aside and each row
        renormalised by ``rest``): the keys are summed into blocks first (one pass over the weights, unless
        ``keys`` holds those sums already), then one small batched product sums the query rows of each block for
        both. Chunks start on a block row."""
        fq, fk = self.factors
        heads, c, _ = w.shape
        n_rows = math.ceil(c / fq)
        if keys is None:
            keys = key_blocks(w, k0, fk, self.blocks.shape[2])  # [head, row, key block]
        aside = keys.clone()
        if k0 == 0:  # the first key set aside: its block summed again without it (a difference would cancel)
            aside[..., 0] = w[..., 1:fk].sum(-1)
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
