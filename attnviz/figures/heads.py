"""Views of one head: its query x key heatmap, the BertViz-style head view, one decoding step's bars."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import (
    AXIS_TITLES,
    COLORSCALE,
    HEAD_COLORS,
    add_gold_links,
    escape,
    figure_height,
    token_axis,
    token_hover,
    token_labels,
    token_margins,
    token_ticks,
)
from attnviz.maps.attention_map import AttentionMap
from attnviz.text.scripts import tick_angle


def heatmap(
    attn: AttentionMap,
    layer: int,
    head: int,
    gold: Sequence[frozenset[int]] | None = None,
    title: str = "",
    stretch: bool = False,
) -> go.Figure:
    """One head as a query x key heatmap, hover 'query → key: weight', optional gold links.

    The colour scale runs from 0 to 1 so that heads compare honestly; ``stretch`` maps this head's
    largest weight to the top colour instead (more contrast for diffuse heads, and says so).
    """
    weights = attn.head(layer, head).astype(np.float32)
    y_title, x_title = AXIS_TITLES.get(attn.kind, ("query", "key"))
    x_axis, y_axis = token_axis(attn.key_tokens, x_title), token_axis(attn.query_tokens, y_title)
    angle = tick_angle(attn.key_tokens)
    layout = dict(  # given to the constructor: update_layout() costs as much again (it is on every submission)
        xaxis=dict(side="bottom", tickangle=angle, automargin=False, **x_axis),
        yaxis=dict(autorange="reversed", automargin=False, **y_axis),
        margin=dict(r=10, t=40 if title else 10, **token_margins(x_axis["ticktext"], y_axis["ticktext"], angle)),
        height=figure_height(attn.n_queries),
    )
    layout["title"] = dict(text=escape(title)) if title else {}
    fig = go.Figure(
        go.Heatmap(
            z=weights,
            x=np.arange(attn.n_keys),
            y=np.arange(attn.n_queries),
            zmin=0.0,
            zmax=float(weights.max()) if stretch else 1.0,
            colorscale=COLORSCALE,
            **token_hover(attn.query_tokens, attn.key_tokens),
            colorbar=dict(title=dict(text="weight (stretched)" if stretch else "weight")),
        ),
        layout=layout,
    )
    if gold is not None:
        add_gold_links(fig, gold)
    return fig


def head_view(attn: AttentionMap, layer: int, heads: Sequence[int], threshold: float = 0.05) -> go.Figure:
    """BertViz-style lines from each query (left) to the keys (right) it attends, one colour per head."""
    fig = go.Figure()
    for head in heads:
        for trace in _head_lines(attn.head(layer, head), head, threshold):
            fig.add_trace(trace)
    for x, tokens, anchor in ((0.0, attn.query_tokens, "right"), (1.0, attn.key_tokens, "left")):
        fig.add_trace(
            go.Scatter(
                x=np.full(len(tokens), x),
                y=np.arange(len(tokens)),
                mode="text",
                text=token_labels(tokens),
                textposition=f"middle {anchor}",
                showlegend=False,
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        xaxis=dict(visible=False, range=[-0.6, 1.6]),
        yaxis=dict(visible=False, autorange="reversed"),
        height=figure_height(max(attn.n_queries, attn.n_keys)),
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
    )
    return fig


def _head_lines(weights: np.ndarray, head: int, threshold: float) -> list[go.Scatter]:
    """One head's query -> key lines in four bands of weight (thicker and darker as the weight grows)."""
    color, traces = HEAD_COLORS[head % len(HEAD_COLORS)], []
    for low, high in ((threshold, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.01)):
        qs, ks = np.nonzero((weights >= low) & (weights < high))
        if not len(qs):
            continue
        traces.append(
            go.Scatter(
                x=np.tile(np.array([0.0, 1.0, np.nan]), len(qs)),
                y=np.column_stack([qs, ks, np.full(len(qs), np.nan)]).reshape(-1).astype(np.float32),
                mode="lines",
                line=dict(color=color, width=1 + 3 * high),
                opacity=min(1.0, 0.15 + high * 0.8),
                name=f"head {head}",
                legendgroup=f"head {head}",
                showlegend=low == threshold,
                hoverinfo="skip",
            )
        )
    return traces


def step_bars(attn: AttentionMap, step: int) -> go.Figure:
    """Decoding step ``step``: how much attention each key token got (layer 0, head 0)."""
    weights = attn.head(0, 0)[step].astype(np.float32)
    fig = go.Figure(
        go.Bar(
            x=np.arange(attn.n_keys),
            y=weights,
            marker=dict(color=weights, colorscale=COLORSCALE, cmin=0.0, cmax=1.0),
            customdata=np.array(token_labels(attn.key_tokens), dtype=object),
            hovertemplate="%{customdata}: %{y:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title=dict(text="key (source token)"), **token_ticks(attn.key_tokens)),
        yaxis=dict(title=dict(text="attention weight"), range=[0, 1]),
        height=280,
        margin=dict(l=10, r=10, t=10, b=10),
    )
    return fig
