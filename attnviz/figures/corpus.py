"""Figures of a corpus job's results: every head's distribution of a statistic, a head x statistic grid, and the
histogram of a search's matches."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import COLORSCALE, escape
from attnviz.maps.statistics import REGISTRY


def head_labels(layers: int, heads: int) -> list[str]:
    """``L0 H0``, ``L0 H1``, ... in layer-major order."""
    return [f"L{layer} H{head}" for layer in range(layers) for head in range(heads)]


def distributions(labels: Sequence[str], quantiles: dict[str, np.ndarray], mean: np.ndarray, name: str) -> go.Figure:
    """Statistic ``name`` of :mod:`attnviz.maps.statistics` across sentences, one box per head from precomputed
    quantiles: whiskers q05 and q95, box q25 to q75, line at the median, dashed line at the mean. ``quantiles``
    holds arrays ``q05 q25 q50 q75 q95``, one value per head."""
    as_list = lambda q: np.asarray(quantiles[q], np.float32).tolist()
    title = REGISTRY[name].label
    fig = go.Figure(
        go.Box(
            x=list(labels),
            lowerfence=as_list("q05"),
            q1=as_list("q25"),
            median=as_list("q50"),
            q3=as_list("q75"),
            upperfence=as_list("q95"),
            mean=np.asarray(mean, np.float32).tolist(),
            boxmean=True,
            name=escape(title),
            marker_color="#440154",
            hoverinfo="x+y",
        )
    )
    fig.update_layout(
        yaxis=dict(title=dict(text=escape(title))),
        xaxis=dict(title=dict(text="head (whiskers: 5% and 95% of sentences; box: 25% to 75%)"), tickangle=-60),
        height=420,
        margin=dict(l=10, r=10, t=10, b=10),
        showlegend=False,
    )
    return fig


def statistic_grid(values: np.ndarray, labels: Sequence[str], statistics: Sequence[str]) -> go.Figure:
    """``[head, statistic]`` means of the head statistics named ``statistics`` (their labels on the columns): each
    column coloured from its own lowest (0) to highest head (1); the cell
    text and the hover give the value itself."""
    values = np.asarray(values, np.float64)
    low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    scaled = (values - low) / np.where(high > low, high - low, 1.0)
    fig = go.Figure(
        go.Heatmap(
            z=scaled.astype(np.float32),
            x=[REGISTRY[name].label for name in statistics],
            y=list(labels),
            zmin=0.0,
            zmax=1.0,
            colorscale=COLORSCALE,
            text=np.round(values, 2).astype(np.float32),
            texttemplate="%{text}",
            customdata=values.astype(np.float32),
            hovertemplate="%{y}, %{x}: %{customdata:.3f}<extra></extra>",
            colorbar=dict(title=dict(text="column: lowest head 0, highest 1")),
        )
    )
    fig.update_layout(
        xaxis=dict(side="top"),
        yaxis=dict(autorange="reversed"),
        height=int(min(1600, 120 + 16 * len(labels))),
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return fig


def histogram(edges: np.ndarray, counts: np.ndarray, name: str) -> go.Figure:
    """Rows per bin of statistic ``name`` (``edges`` ``[bins + 1]``, ``counts`` ``[bins]``, counted by the search
    engine over every matching row), one bar per bin."""
    edges = np.asarray(edges, np.float64)
    title = REGISTRY[name].label
    fig = go.Figure(
        go.Bar(
            x=((edges[:-1] + edges[1:]) / 2).astype(np.float32),
            y=np.asarray(counts, np.int64),
            width=np.diff(edges).astype(np.float32),
            customdata=np.stack([edges[:-1], edges[1:]], -1).astype(np.float32),
            hovertemplate="%{customdata[0]:.3f} to %{customdata[1]:.3f}: %{y} rows<extra></extra>",
            marker_color="#440154",
        )
    )
    fig.update_layout(
        xaxis=dict(title=dict(text=escape(title))),
        yaxis=dict(title=dict(text="rows")),
        height=260,
        margin=dict(l=10, r=10, t=10, b=10),
        bargap=0.05,
    )
    return fig
