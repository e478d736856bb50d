"""Figures of measurements: layer x head grids, differences, head-to-head similarity."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import COLORSCALE, escape, figure_height, token_axis, token_hover
from attnviz.maps.statistics import REGISTRY
from attnviz.text.scripts import tick_angle


def head_grid(
    values: np.ndarray, title: str, zmax: float | None = 1.0, fmt: str = ".2f", scale: dict | None = None
) -> go.Figure:
    """A ``[layer, head]`` statistic as a layer x head heatmap with the value in each cell (click a cell): colours
    from 0 to ``zmax`` (None: the largest value) on the house scale, unless ``scale`` gives the heatmap's own
    ``colorscale``, ``zmin``, ``zmax`` (and ``zmid``)."""
    values = np.asarray(values, dtype=np.float32)
    layers, heads = values.shape
    top = zmax if zmax is not None else float(np.nanmax(values))
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=np.arange(heads),
            y=np.arange(layers),
            texttemplate="%{z:" + fmt + "}",
            hovertemplate="layer %{y} head %{x}: %{z:" + fmt + "}<extra></extra>",
            colorbar=dict(title=dict(text=escape(title))),
            **(scale or dict(zmin=0.0, zmax=top, colorscale=COLORSCALE)),
        )
    )
    fig.update_layout(
        xaxis=dict(title=dict(text="head"), tickmode="linear", dtick=1, side="top"),
        yaxis=dict(title=dict(text="layer"), tickmode="linear", dtick=1, autorange="reversed"),
        height=int(min(700, 120 + 42 * layers)),
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return fig


def statistic_head_grid(values: np.ndarray, name: str) -> go.Figure:
    """A ``[layer, head]`` head statistic of :mod:`attnviz.maps.statistics` as a :func:`head_grid`: its label,
    its range (from 0 to its largest value, or to the largest head's for one the input's length bounds)."""
    upper = REGISTRY[name].upper
    return head_grid(values, REGISTRY[name].label, zmax=upper, fmt=".2f" if upper is not None else ".1f")


def difference(
    a: np.ndarray, b: np.ndarray, query_tokens: Sequence[str], key_tokens: Sequence[str], title: str = ""
) -> go.Figure:
    """``a - b`` for two ``[query, key]`` maps on a diverging scale centred on 0."""
    diff = np.asarray(a, np.float32) - np.asarray(b, np.float32)
    limit = float(max(np.abs(diff).max(), 1e-6))
    fig = go.Figure(
        go.Heatmap(
            z=diff,
            zmin=-limit,
            zmax=limit,
            zmid=0.0,
            colorscale="RdBu_r",
            colorbar=dict(title=dict(text="difference")),
            **token_hover(query_tokens, key_tokens, value="+.3f"),
        )
    )
    fig.update_layout(
        title=dict(text=escape(title)) if title else None,
        xaxis=dict(tickangle=tick_angle(key_tokens), **token_axis(key_tokens, "key")),
        yaxis=dict(autorange="reversed", **token_axis(query_tokens, "query")),
        height=figure_height(len(query_tokens)),
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
    )
    return fig


def similarity(distances: np.ndarray, n_heads: int) -> go.Figure:
    """Head-to-head Jensen-Shannon distance matrix (0: the two heads attend identically)."""
    n = distances.shape[0]
    names = [f"L{i // n_heads} H{i % n_heads}" for i in range(n)]
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(distances, np.float32),
            x=np.arange(n),
            y=np.arange(n),
            zmin=0.0,
            zmax=1.0,
            colorscale="Viridis_r",
            customdata=np.array([[f"{a} vs {b}" for b in names] for a in names], dtype=object),
            hovertemplate="%{customdata}: JS distance %{z:.3f}<extra></extra>",
            colorbar=dict(title=dict(text="JS distance")),
        )
    )
    ticks = dict(tickmode="array", tickvals=list(range(0, n, n_heads)), ticktext=names[::n_heads])
    fig.update_layout(
        xaxis=dict(**ticks),
        yaxis=dict(autorange="reversed", **ticks),
        height=min(800, 200 + 8 * n),
        margin=dict(l=10, r=10, t=10, b=10),
    )
    return fig
