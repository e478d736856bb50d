"""Figures of head ablation: the importance grid, importance against a head statistic, layers, what changed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.analysis import head_grid
from attnviz.figures.common import COLORSCALE, escape

CHANGE_TITLES = {
    "shift": ("1 - cosine of each token's embedding, ablated vs clean", "token"),
    "top": ("probability of the next token, before and after", "next token"),
    "target": ("log-probability of each target token, before and after", "target token"),
}


def _scale(values: np.ndarray) -> dict:
    """A diverging scale centred on 0 for values of both signs, else the house scale from 0."""
    if values.size and values.min() < 0:
        limit = float(max(np.abs(values).max(), 1e-12))
        return dict(colorscale="RdBu_r", zmin=-limit, zmax=limit, zmid=0.0)
    return dict(colorscale=COLORSCALE, zmin=0.0, zmax=float(max(values.max(), 1e-12)) if values.size else 1.0)


def importance_grid(effect: np.ndarray, title: str) -> go.Figure:
    """``effect`` ``[layer, head]`` as a :func:`~attnviz.figures.analysis.head_grid` on a scale from 0, or centred
    on 0 where some heads' effects are negative."""
    values = np.asarray(effect, dtype=np.float32)
    return head_grid(values, title, fmt=".3g", scale=_scale(values))


def importance_scatter(effect: np.ndarray, statistic: np.ndarray, statistic_label: str, title: str, rho: float):
    """One point a head: the statistic (x) against its importance (y), Spearman's rho in the title."""
    effect = np.asarray(effect, dtype=np.float32)
    layers, heads = effect.shape
    names = [f"layer {layer} head {head}" for layer in range(layers) for head in range(heads)]
    fig = go.Figure(
        go.Scatter(
            x=np.asarray(statistic, dtype=np.float32).ravel(),
            y=effect.ravel(),
            mode="markers",
            text=names,
            hovertemplate="%{text}<br>" + escape(statistic_label) + " %{x:.3f}<br>importance %{y:.4g}<extra></extra>",
        )
    )
    shown = "undefined (constant)" if np.isnan(rho) else f"{rho:+.2f}"
    fig.update_layout(
        title=dict(text=f"Spearman's rho over {effect.size} heads: {shown}"),
        xaxis=dict(title=dict(text=escape(statistic_label))),
        yaxis=dict(title=dict(text=escape(title))),
        height=380,
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return fig


def layer_bars(effect: np.ndarray, title: str) -> go.Figure:
    """``effect`` ``[layer]``: every head of a layer ablated together."""
    values = np.asarray(effect, dtype=np.float32)
    fig = go.Figure(
        go.Bar(
            x=np.arange(len(values)),
            y=values,
            hovertemplate="layer %{x}: %{y:.4g}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title=dict(text="layer (all heads ablated)"), tickmode="linear", dtick=1),
        yaxis=dict(title=dict(text=escape(title))),
        height=300,
        margin=dict(l=10, r=10, t=20, b=10),
    )
    return fig


def change_bars(kind: str, labels: Sequence[str], before: np.ndarray, after: np.ndarray) -> go.Figure:
    """What one ablation changed (:class:`attnviz.pretrained.ablate.changes.Change`): bars before and after, or
    each token's shift."""
    title, unit = CHANGE_TITLES[kind]
    ticks = [escape(label) for label in labels]
    positions = np.arange(len(labels))
    fig = go.Figure()
    series = [("ablated", after)] if kind == "shift" else [("before", before), ("after", after)]
    for name, values in series:
        fig.add_trace(
            go.Bar(
                x=positions,
                y=np.asarray(values, dtype=np.float32),
                name=name,
                customdata=ticks,
                hovertemplate="%{customdata}: %{y:.4g}<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        title=dict(text=escape(title)),
        xaxis=dict(title=dict(text=unit), tickmode="array", tickvals=positions, ticktext=ticks),
        height=340,
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return fig
