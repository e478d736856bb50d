"""Attention next to attribution: the four scores as grouped bars, and their rank correlations as a grid."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import HEAD_COLORS, escape, token_labels, token_ticks


def score_bars(tokens: Sequence[str], shares: dict[str, np.ndarray], title: str = "", unit: str = "token") -> go.Figure:
    """Grouped bars: for each token, each score as its share of the score's total magnitude (0 to 1)."""
    fig = go.Figure()
    positions = np.arange(len(tokens))
    labels = token_labels(tokens)
    for index, (name, values) in enumerate(shares.items()):
        fig.add_trace(
            go.Bar(
                x=positions,
                y=np.asarray(values, dtype=np.float64),
                name=escape(name),
                customdata=labels,
                marker_color=HEAD_COLORS[index % len(HEAD_COLORS)],
                hovertemplate=f"{escape(name)}, %{{customdata}}: %{{y:.3f}}<extra></extra>",
            )
        )
    fig.update_layout(
        title=dict(text=escape(title), y=0.98, yanchor="top"),  # above the legend's rows, never under them
        barmode="group",
        xaxis=dict(title=dict(text=unit), **token_ticks(tokens)),
        yaxis=dict(title=dict(text="share of the score's total |value|"), rangemode="tozero"),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0.0, xanchor="left"),
        height=420,
        margin=dict(l=10, r=10, t=110, b=10),
    )
    return fig


def correlation_grid(names: Sequence[str], matrix: np.ndarray, over: str = "tokens") -> go.Figure:
    """Spearman's rank correlation of every pair of scores, -1 to 1, each cell labelled with its value."""
    labels = [escape(n) for n in names]
    values = np.asarray(matrix, dtype=np.float64)
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            text=[[f"{v:.2f}" for v in row] for row in values],
            texttemplate="%{text}",
            hovertemplate="%{y} vs %{x}: ρ = %{z:.3f}<extra></extra>",
            colorbar=dict(title=dict(text="Spearman ρ")),
        )
    )
    fig.update_layout(
        title=dict(text=f"Rank correlation of |score| over the {over}"),
        yaxis=dict(autorange="reversed"),
        height=380,
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return fig
