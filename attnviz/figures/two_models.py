"""Two models on the same words: their heads side by side on one colour scale, and JS distances of head pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from attnviz.figures.common import COLORSCALE, escape, figure_height, token_hover, token_ticks
from attnviz.maps.attention_map import AttentionMap
from attnviz.text.tokens import short_name

DISTANCE_COLORS = "Magma"  # dark = heads that attend alike


def side_by_side(a: AttentionMap, b: AttentionMap, head_a: tuple[int, int], head_b: tuple[int, int]) -> go.Figure:
    """One head of each model (``(layer, head)`` each) over the same words, on one colour scale: 0 to the
    larger of the two heads' maxima."""
    left, right = a.head(*head_a), b.head(*head_b)
    titles = [
        f"{short_name(a.source)} · layer {head_a[0]}, head {head_a[1]}",
        f"{short_name(b.source)} · layer {head_b[0]}, head {head_b[1]}",
    ]
    fig = make_subplots(rows=1, cols=2, subplot_titles=[escape(t) for t in titles], horizontal_spacing=0.08)
    hover = token_hover(a.query_tokens, a.key_tokens)
    for col, weights in ((1, left), (2, right)):
        fig.add_trace(go.Heatmap(z=np.asarray(weights, np.float32), coloraxis="coloraxis", **hover), row=1, col=col)
        fig.update_xaxes(tickangle=-60, title_text="key word", **token_ticks(a.key_tokens, 40), row=1, col=col)
        fig.update_yaxes(autorange="reversed", **token_ticks(a.query_tokens, 40), row=1, col=col)
    fig.update_yaxes(title_text="query word", row=1, col=1)
    top = float(max(left.max(), right.max()))
    fig.update_layout(
        coloraxis=dict(colorscale=COLORSCALE, cmin=0.0, cmax=top, colorbar=dict(title=dict(text="weight"))),
        height=figure_height(len(a.query_tokens)) + 40,
        margin=dict(l=10, r=10, t=60, b=10),
    )
    return fig


def head_pairs(distances: np.ndarray, names: tuple[str, str], layers: tuple[int, int]) -> go.Figure:
    """``[head of A, head of B]`` JS distances of one pair of layers as a heatmap (dark = alike)."""
    title = f"JS distance: {names[0]} layer {layers[0]} (rows) vs {names[1]} layer {layers[1]} (columns)"
    return _distance_grid(
        distances,
        [f"head {h}" for h in range(distances.shape[0])],
        [f"head {h}" for h in range(distances.shape[1])],
        title,
        names,
    )


def all_head_pairs(distances: np.ndarray, heads: tuple[int, int], names: tuple[str, str]) -> go.Figure:
    """``[layer*head of A, layer*head of B]`` JS distances (``heads`` = heads per layer of A and of B)."""
    rows = [f"L{i // heads[0]} H{i % heads[0]}" for i in range(distances.shape[0])]
    columns = [f"L{j // heads[1]} H{j % heads[1]}" for j in range(distances.shape[1])]
    title = f"JS distance: every head of {names[0]} vs every head of {names[1]}"
    return _distance_grid(distances, rows, columns, title, names)


def _distance_grid(
    distances: np.ndarray, rows: Sequence[str], columns: Sequence[str], title: str, names: tuple[str, str]
) -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(distances, np.float32),
            zmin=0.0,
            zmax=1.0,
            colorscale=DISTANCE_COLORS,
            colorbar=dict(title=dict(text="JS distance")),
            **token_hover(rows, columns),
        )
    )
    fig.update_xaxes(title_text=escape(names[1]), tickangle=-60, **token_ticks(columns, 48))
    fig.update_yaxes(title_text=escape(names[0]), autorange="reversed", **token_ticks(rows, 48))
    fig.update_layout(
        title=dict(text=escape(title)), height=figure_height(len(rows)), margin=dict(l=10, r=10, t=50, b=10)
    )
    return fig
