"""Generation step by step: one answer token's attention over its context, every head of it, its probability."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import COLORSCALE, GOLD, escape, token_label, token_labels, token_ticks
from attnviz.maps.attention_map import AttentionMap

CHOSEN, OTHER = "#d62728", "#1f77b4"


def context_bars(
    row: AttentionMap, layer: int, head: int, title: str = "", unit: str = "token", gold: Sequence[int] = ()
) -> go.Figure:
    """One head's weights from the chosen token (a one-query map) over the tokens (or words) it could see; a red
    ring over each ``gold`` key (where the text says the chosen token comes from)."""
    weights = row.head(layer, head)[0].astype(np.float32)
    fig = go.Figure(
        go.Bar(
            x=np.arange(row.n_keys),
            y=weights,
            marker=dict(color=weights, colorscale=COLORSCALE, cmin=0.0, cmax=1.0, colorbar=dict(title="weight")),
            customdata=np.array(token_labels(row.key_tokens), dtype=object),
            hovertemplate=f"{token_label(row.query_tokens[0])} → %{{customdata}}: %{{y:.3f}}<extra></extra>",
            showlegend=False,
        )
    )
    if gold:
        fig.add_trace(
            go.Scatter(
                x=list(gold),
                y=weights[list(gold)],
                mode="markers",
                marker=dict(symbol="circle-open", size=16, color=GOLD, line=dict(width=3)),
                name="gold",
                hovertemplate="gold: %{y:.3f}<extra></extra>",
                showlegend=False,
            )
        )
    fig.update_layout(
        title=dict(text=escape(title)) if title else None,
        xaxis=dict(
            title=dict(text=f"context {unit} (prompt and answer so far)"), tickangle=-60, **token_ticks(row.key_tokens)
        ),
        yaxis=dict(title=dict(text="attention weight"), range=[0, 1]),
        height=340,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
    )
    return fig


def every_head(row: AttentionMap, title: str = "", unit: str = "token") -> go.Figure:
    """Every layer and head of the chosen token's row as one small grid: a row per (layer, head)."""
    weights = row.weights[:, :, 0].reshape(row.n_layers * row.n_heads, row.n_keys).astype(np.float32)
    names = [f"L{layer} H{head}" for layer in range(row.n_layers) for head in range(row.n_heads)]
    keys = token_labels(row.key_tokens)
    fig = go.Figure(
        go.Heatmap(
            z=weights,
            x=np.arange(row.n_keys),
            y=np.arange(len(names)),
            zmin=0.0,
            zmax=1.0,
            colorscale=COLORSCALE,
            customdata=np.array([[f"{name} → {key}" for key in keys] for name in names], dtype=object),
            hovertemplate="%{customdata}: %{z:.3f}<extra></extra>",
            colorbar=dict(title=dict(text="weight")),
        )
    )
    fig.update_layout(
        title=dict(text=escape(title)) if title else None,
        xaxis=dict(title=dict(text=f"context {unit}"), tickangle=-60, **token_ticks(row.key_tokens)),
        yaxis=dict(title=dict(text="layer, head"), autorange="reversed", **token_ticks(names)),
        height=int(min(900, max(260, 120 + 14 * len(names)))),
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
    )
    return fig


def alternatives(tokens: Sequence[str], probabilities: np.ndarray, chosen: str, chosen_probability: float) -> go.Figure:
    """The most probable tokens at one step, best first, and the chosen one (red; added last if not among them)."""
    labels, values = list(tokens), [float(p) for p in probabilities]
    if chosen not in labels:
        labels.append(f"{chosen} (the answer's)")
        values.append(float(chosen_probability))
    colors = [CHOSEN if label == chosen or label.endswith("(the answer's)") else OTHER for label in labels]
    fig = go.Figure(
        go.Bar(
            x=np.array(values, dtype=np.float64),
            y=np.arange(len(labels)),
            orientation="h",
            marker=dict(color=colors),
            customdata=np.array(token_labels(labels), dtype=object),
            hovertemplate="%{customdata}: p = %{x:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title=dict(text="probability (softmax of the logits)"), range=[0, 1]),
        yaxis=dict(autorange="reversed", **token_ticks(labels)),
        height=int(120 + 30 * len(labels)),
        margin=dict(l=10, r=10, t=10, b=10),
    )
    return fig


def answer_probabilities(answer: Sequence[str], probabilities: np.ndarray, step: int) -> go.Figure:
    """The probability of every answer token at its step; the chosen step in red."""
    colors = [CHOSEN if i == step else OTHER for i in range(len(answer))]
    fig = go.Figure(
        go.Bar(
            x=np.arange(len(answer)),
            y=np.asarray(probabilities, dtype=np.float64),
            marker=dict(color=colors),
            customdata=np.array(token_labels(answer), dtype=object),
            hovertemplate="step %{x}: %{customdata}, p = %{y:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title=dict(text="answer token (step)"), tickangle=-60, **token_ticks(answer)),
        yaxis=dict(title=dict(text="probability"), range=[0, 1]),
        height=260,
        margin=dict(l=10, r=10, t=10, b=10),
    )
    return fig
