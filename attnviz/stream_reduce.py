"""Reductions of attention weights that can be computed one chunk of queries at a time.

A :class:`Reducer` takes a layer's weights ``[head, query, key]`` in chunks of whole query rows and gives
the same numbers as the whole-map functions: :func:`attnviz.analysis.head_statistics` (plus the sink mass and
the window-aware entropy) and :func:`attnviz.figures.overview.downsample` (block means). Pure numpy.
"""

from __future__ import annotations

import math

import numpy as np

ROW_STATISTICS = ("entropy", "distance", "special", "punctuation", "self", "previous", "next", "first", "max")


def block_factors(n_queries: int, n_keys: int, side: int) -> tuple[int, int]:
    """Rows and columns per thumbnail cell so that neither side exceeds ``side`` (as ``downsample``)."""
    return math.ceil(n_queries / side), math.ceil(n_keys / side)


def visible_count(kind: str, rows: np.ndarray, n_keys: int, window: int | None) -> np.ndarray:
    """How many keys each query row may see (as :func:`attnviz.analysis.visible_keys`, without the matrix)."""
    if kind == "causal":
        seen = rows + 1
        return np.minimum(seen, window) if window is not None else seen
    if window is None:
        return np.full(rows.shape, n_keys)
    return np.minimum(rows + window, n_keys) - np.maximum(rows - window + 1, 0)


class Reducer:
    """Sums over query rows, chunk by chunk; :meth:`result` divides them into the whole-map statistics."""

    def __init__(self, n_heads: int, n_keys: int, special, punctuation, factors: tuple[int, int], kind: str,
                 window: int | None = None):  # fmt: skip
        self.n_keys, self.kind, self.window, self.factors = n_keys, kind, window, factors
        self.special, self.punctuation = np.asarray(special, bool), np.asarray(punctuation, bool)
        self.sums = {name: np.zeros(n_heads) for name in (*ROW_STATISTICS, "window_entropy")}
        self.counted = {"entropy": 0, "window_entropy": 0}
        rows, cols = math.ceil(n_keys / factors[0]), math.ceil(n_keys / factors[1])
        self.blocks = np.zeros((n_heads, rows, cols))
        self.n_queries = 0

    def add(self, w: np.ndarray, q0: int) -> None:
        """Fold in ``w`` = float64 weights ``[head, rows, key]`` of the queries ``q0, q0 + 1, ...``."""
        heads, c, k = w.shape
        rows = np.arange(q0, q0 + c)
        index = np.arange(c)
        self.n_queries += c
        self._entropies(w, rows)
        self.sums["distance"] += (w * np.abs(rows[:, None] - np.arange(k))).sum(-1).sum(-1)
        self.sums["special"] += w[..., self.special].sum(-1).sum(-1)
        self.sums["punctuation"] += w[..., self.punctuation].sum(-1).sum(-1)
        on = rows < k
        self.sums["self"] += w[:, index[on], rows[on]].sum(-1)
        previous = (rows >= 1) & (rows - 1 < k)
        self.sums["previous"] += w[:, index[previous], rows[previous] - 1].sum(-1)
        following = rows + 1 < k
        self.sums["next"] += w[:, index[following], rows[following] + 1].sum(-1)
        self.sums["first"] += w[..., 0].sum(-1)
        self.sums["max"] += w.max(-1).sum(-1)
        self._thumbnail(w, q0)

    def _entropies(self, w: np.ndarray, rows: np.ndarray) -> None:
        plogp = -np.where(w > 0, w * np.log(np.where(w > 0, w, 1.0)), 0.0).sum(-1)  # [head, rows]
        for name, window in (("entropy", None), ("window_entropy", self.window)):
            seen = visible_count(self.kind, rows, self.n_keys, window)
            counted = seen > 1
            self.sums[name] += (plogp[:, counted] / np.log(seen[counted])).sum(-1)
            self.counted[name] += int(counted.sum())

    def _thumbnail(self, w: np.ndarray, q0: int) -> None:
        fq, fk = self.factors
        heads, c, k = w.shape
        rows, cols = math.ceil(c / fq), self.blocks.shape[2]
        padded = np.zeros((heads, rows * fq, cols * fk))
        padded[:, :c, :k] = w
        self.blocks[:, q0 // fq : q0 // fq + rows] += padded.reshape(heads, rows, fq, cols, fk).sum(axis=(-3, -1))

    def result(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Block-mean thumbnails ``[head, rows, cols]`` and every statistic ``[head]``, float32."""
        q, fq, fk = self.n_queries, *self.factors
        rows, cols = self.blocks.shape[1:]
        cells = np.outer(  # real cells per block: the last row and column of blocks may be partly filled
            np.minimum(fq, q - fq * np.arange(rows)), np.minimum(fk, self.n_keys - fk * np.arange(cols))
        )
        stats = {name: self.sums[name] / q for name in ("distance", "special", "punctuation", "self", "first", "max")}
        for name in ("previous", "next"):
            stats[name] = self.sums[name] / (q - 1) if q > 1 else np.zeros_like(self.sums[name])
        for name in ("entropy", "window_entropy"):
            stats[name] = self.sums[name] / self.counted[name] if self.counted[name] else np.zeros_like(self.sums[name])
        stats["sink"] = stats["first"]
        return (self.blocks / cells).astype(np.float32), {n: v.astype(np.float32) for n, v in stats.items()}
