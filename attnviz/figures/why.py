"""The 'why attention' experiments as line charts: one series per model or setting, read from results JSON."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import HEAD_COLORS, escape

DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def lines(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    x_title: str,
    y_title: str,
    title: str = "",
    log_x: bool = False,
    log_y: bool = False,
    percent: bool = False,
) -> go.Figure:
    """One line with markers per named (x, y) series; ``percent`` shows y in [0, 1] as percentages."""
    fig = go.Figure()
    for index, (name, (x, y)) in enumerate(series.items()):
        fig.add_trace(
            go.Scatter(
                x=np.asarray(x, dtype=np.float64),
                y=np.asarray(y, dtype=np.float64),
                name=escape(name),
                mode="lines+markers",
                line=dict(color=HEAD_COLORS[index % len(HEAD_COLORS)], dash=DASHES[index % len(DASHES)]),
                hovertemplate=f"{escape(name)}: %{{x}} → %{{y:{'.1%' if percent else '.4g'}}}<extra></extra>",
            )
        )
    fig.update_layout(
        title=dict(text=escape(title)) if title else None,
        xaxis=dict(title=dict(text=x_title), type="log" if log_x else "linear"),
        yaxis=dict(
            title=dict(text=y_title),
            type="log" if log_y else "linear",
            tickformat=".0%" if percent else None,
            range=[-0.02, 1.02] if percent else None,
        ),
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1.0, xanchor="right"),
        height=380,
        margin=dict(l=10, r=10, t=60, b=10),
    )
    return fig


def shade(fig: go.Figure, start: float, end: float, label: str) -> go.Figure:
    """Grey band over x in [start, end] with a label (e.g. lengths beyond training)."""
    fig.add_vrect(
        x0=start,
        x1=end,
        fillcolor="#888",
        opacity=0.12,
        line_width=0,
        annotation_text=escape(label),
        annotation_position="top left",
    )
    return fig
