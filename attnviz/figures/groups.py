"""Multi-head as groups: one bar per attention head, one colour per model (from the 'heads' results JSON)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import HEAD_COLORS, escape


def head_bars(
    series: dict[str, tuple[Sequence[str], Sequence[float]]], y_title: str, percent: bool = False
) -> go.Figure:
    """Grouped bars: for each named model, one bar per head label (``"L0 H1"``) with its value."""
    fig = go.Figure()
    for index, (name, (labels, values)) in enumerate(series.items()):
        fig.add_trace(
            go.Bar(
                x=[escape(label) for label in labels],
                y=np.asarray(values, dtype=np.float64),
                name=escape(name),
                marker_color=HEAD_COLORS[index % len(HEAD_COLORS)],
                hovertemplate=f"{escape(name)}, %{{x}}: %{{y:{'.1%' if percent else '.3g'}}}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        xaxis=dict(title=dict(text="cross-attention head (layer, head)"), type="category"),
        yaxis=dict(
            title=dict(text=y_title), tickformat=".0%" if percent else None, range=[0, 1.02] if percent else None
        ),
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1.0, xanchor="right"),
        height=340,
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return fig
