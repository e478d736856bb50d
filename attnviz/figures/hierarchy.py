"""The hierarchy experiment: the HAN and its mean-pooling baseline side by side, one bar group per measure."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import HEAD_COLORS, escape


def score_bars(scores: dict[str, dict[str, float]], measures: dict[str, str]) -> go.Figure:
    """Grouped bars: one trace per model (name -> {measure: value in [0, 1]}), one group per measure (key ->
    label); a measure a model does not have (the baseline has no evidence hits) is left out of its trace."""
    fig = go.Figure()
    for index, (name, values) in enumerate(scores.items()):
        shown = [m for m in measures if m in values]
        fig.add_trace(
            go.Bar(
                x=[measures[m] for m in shown],
                y=np.asarray([values[m] for m in shown], dtype=np.float64),
                name=escape(name),
                marker_color=HEAD_COLORS[index % len(HEAD_COLORS)],
                text=[f"{values[m]:.1%}" for m in shown],
                textposition="outside",
                hovertemplate=f"{escape(name)}: %{{x}} → %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        yaxis=dict(tickformat=".0%", range=[0, 1.1]),
        height=340,
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1.0, xanchor="right"),
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return fig
