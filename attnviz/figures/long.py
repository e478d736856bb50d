"""Figures of the long-input page: one head reduced to a screen, a zoom window (every head's thumbnail tiled
is :func:`attnviz.figures.overview.block_means`).

Plotly only (no streamlit). The head view's axes are token positions (each cell sits at the centre of the
tokens it covers), so a box selection on it reads directly as a window of tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import COLORSCALE, add_gold_links, escape, token_hover, token_ticks


def head(cells: np.ndarray, factors: tuple[int, int], title: str, key_offset: int = 0) -> go.Figure:
    """One head reduced to ``cells`` ``[rows, cols]`` of ``factors`` tokens each, on token-position axes (keys
    start at ``key_offset``: 1 when the first token is set aside). Box-select a region to zoom into it."""
    fq, fk = factors
    cells = np.asarray(cells, dtype=np.float32)
    trace = go.Heatmap(
        z=cells,
        x0=key_offset + (fk - 1) / 2,
        dx=fk,
        y0=(fq - 1) / 2,
        dy=fq,
        zmin=0.0,
        zmax=float(cells.max()) if cells.size and cells.max() > 0 else 1.0,
        colorscale=COLORSCALE,
        hovertemplate="queries from #%{y} · keys from #%{x}: %{z:.3f}<extra></extra>",
        colorbar=dict(title=dict(text="weight")),
    )
    fig = go.Figure(trace)
    fig.update_layout(
        title=dict(text=escape(title)),
        xaxis=dict(title=dict(text="key position"), side="bottom"),
        yaxis=dict(title=dict(text="query position"), autorange="reversed"),
        dragmode="select",
        margin=dict(l=10, r=10, t=40, b=10),
        height=640,
    )
    return fig


def zoom(
    weights: np.ndarray,
    query_tokens: Sequence[str],
    key_tokens: Sequence[str],
    start: tuple[int, int],
    title: str,
    gold: Sequence[frozenset[int]] | None = None,
) -> go.Figure:
    """A window of one head at full resolution, token labels on both axes, positions from ``start`` (first
    query, first key) in the hover; colours stretch to the window's largest weight (the colour bar says so).
    ``gold``: each query position's gold key positions (whole-input positions, those in the window are marked)."""
    weights = np.asarray(weights, dtype=np.float32)
    top = float(weights.max()) if weights.size and weights.max() > 0 else 1.0
    trace = go.Heatmap(
        z=weights,
        x0=start[1],
        dx=1,
        y0=start[0],
        dy=1,
        zmin=0.0,
        zmax=top,
        colorscale=COLORSCALE,
        colorbar=dict(title=dict(text="weight")),
        **token_hover(query_tokens, key_tokens),
    )
    fig = go.Figure(trace)
    if gold is not None:
        rows, columns = range(start[0], start[0] + len(query_tokens)), range(start[1], start[1] + len(key_tokens))
        add_gold_links(
            fig,
            [frozenset(k for k in keys if k in columns) if q in rows else frozenset() for q, keys in enumerate(gold)],
        )
    fig.update_layout(
        title=dict(text=escape(title)),
        xaxis=dict(title=dict(text="key"), tickangle=-60, **_shifted_ticks(key_tokens, start[1])),
        yaxis=dict(title=dict(text="query"), autorange="reversed", **_shifted_ticks(query_tokens, start[0])),
        margin=dict(l=10, r=10, t=40, b=10),
        height=int(min(900, max(360, 140 + 10 * len(query_tokens)))),
    )
    return fig


def _shifted_ticks(tokens: Sequence[str], start: int) -> dict:
    """Token labels (at most 128) at positions ``start, start + 1, ...``."""
    ticks = token_ticks(tokens, max_ticks=128)
    return ticks | dict(tickvals=[start + position for position in ticks["tickvals"]])
