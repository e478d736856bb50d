"""Figures of the long-input page: every head's thumbnail tiled, one head reduced to a screen, a zoom window.

Plotly only (no streamlit). The head view's axes are token positions (each cell sits at the centre of the
tokens it covers), so a box selection on it reads directly as a window of tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import COLORSCALE, escape, token_hover, token_ticks


def tiled(thumbnails: np.ndarray) -> np.ndarray:
    """``[layer, head, rows, cols]`` -> one grid ``[layer * rows, head * cols]`` (heads left to right)."""
    layers, heads, rows, cols = thumbnails.shape
    return thumbnails.transpose(0, 2, 1, 3).reshape(layers * rows, heads * cols)


def overview(thumbnails: np.ndarray) -> go.Figure:
    """Every layer x head's block-mean thumbnail in one heatmap trace, white lines between heads and layers.

    Colours stretch to the largest block mean (long inputs spread each row over many keys, so block means are
    small); the colour bar says the scale."""
    layers, heads, rows, cols = thumbnails.shape
    grid = tiled(np.asarray(thumbnails, dtype=np.float32))
    top = float(grid.max()) if grid.size and grid.max() > 0 else 1.0
    trace = go.Heatmap(
        z=grid,
        zmin=0.0,
        zmax=top,
        colorscale=COLORSCALE,
        hoverinfo="skip",
        colorbar=dict(title=dict(text="block mean")),
    )
    line = dict(color="white", width=2)
    shapes = [
        dict(type="line", xref="x", yref="paper", x0=h * cols - 0.5, x1=h * cols - 0.5, y0=0, y1=1, line=line)
        for h in range(1, heads)
    ]
    shapes += [
        dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=i * rows - 0.5, y1=i * rows - 0.5, line=line)
        for i in range(1, layers)
    ]
    fig = go.Figure([trace, _tile_centres(layers, heads, rows, cols)])
    fig.update_layout(
        shapes=shapes,
        hovermode="closest",
        hoverdistance=-1,
        xaxis=dict(title=dict(text="head"), side="top", **_tile_axis(heads, cols)),
        yaxis=dict(title=dict(text="layer"), autorange="reversed", **_tile_axis(layers, rows)),
        margin=dict(l=10, r=10, t=30, b=10),
        height=int(min(900, max(280, 70 * layers + 80))),
    )
    return fig


def _tile_centres(layers: int, heads: int, rows: int, cols: int) -> go.Scatter:
    """One invisible point per tile: hover names the head, a click opens it."""
    layer, head = np.meshgrid(np.arange(layers), np.arange(heads), indexing="ij")
    return go.Scatter(
        x=(head.ravel() + 0.5) * cols - 0.5,
        y=(layer.ravel() + 0.5) * rows - 0.5,
        mode="markers",
        marker=dict(size=max(4, min(40, 600 // max(heads, 1))), opacity=0),
        customdata=np.stack([layer.ravel(), head.ravel()], -1).astype(np.int16),
        hovertemplate="layer %{customdata[0]} head %{customdata[1]}: click to open<extra></extra>",
        showlegend=False,
    )


def tile_at(x: float, y: float, rows: int, cols: int) -> tuple[int, int]:
    """(layer, head) of the overview tile under grid position (x, y), for tiles of ``rows`` x ``cols`` cells."""
    return int((y + 0.5) // rows), int((x + 0.5) // cols)


def _tile_axis(count: int, side: int) -> dict:
    return dict(
        tickmode="array",
        tickvals=[(i + 0.5) * side - 0.5 for i in range(count)],
        ticktext=[str(i) for i in range(count)],
        showgrid=False,
        zeroline=False,
    )


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
    weights: np.ndarray, query_tokens: Sequence[str], key_tokens: Sequence[str], start: tuple[int, int], title: str
) -> go.Figure:
    """A window of one head at full resolution, token labels on both axes, positions from ``start`` (first
    query, first key) in the hover; colours stretch to the window's largest weight (the colour bar says so)."""
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
