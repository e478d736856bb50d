"""Figures of the image-to-text page: the share of each layer's attention row on the image vs the text."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import escape


def image_share(shares: np.ndarray, token: str) -> go.Figure:
    """``shares`` ``[layer]`` (mean over heads) on the image tokens, the rest on text tokens, stacked per layer."""
    shares = np.asarray(shares, dtype=np.float32)
    layers = np.arange(len(shares))
    fig = go.Figure(
        [
            go.Bar(x=layers, y=shares, name="image tokens", marker_color="#d62728"),
            go.Bar(x=layers, y=1 - shares, name="text tokens", marker_color="#1f77b4"),
        ]
    )
    fig.update_traces(hovertemplate="layer %{x}: %{y:.3f}<extra>%{fullData.name}</extra>")
    fig.update_layout(
        barmode="stack",
        title=dict(text=escape(f"where '{token}' looks, layer by layer (mean over heads)"), x=0.0),
        xaxis=dict(title="layer", tickmode="array", tickvals=layers.tolist(), ticktext=[str(i) for i in layers]),
        yaxis=dict(title="share of the row", range=[0, 1]),
        height=320,
        margin=dict(l=50, r=10, t=40, b=40),
    )
    return fig
