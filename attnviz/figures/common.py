"""What every figure builder shares: colours, escaped labels, token ticks, token hover, gold links."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz import scripts

COLORSCALE = "Viridis"


HEAD_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#ad494a",
)


AXIS_TITLES = {
    "self": ("query token", "key token"),
    "causal": ("query token (sees only earlier tokens)", "key token"),
    "cross": ("query (token being emitted)", "key (source token)"),
    "temporal": ("query (decoder step)", "key (source token)"),
    "memory-write": ("time step", "memory slot written"),
    "memory-read": ("time step", "memory slot read"),
}


def escape(label: str) -> str:
    """A token as inert text: plotly renders <a>, <b>, <br> in labels, so escape them."""
    return html.escape(label, quote=False).replace("\n", "\\n")


def token_labels(tokens: Sequence[str]) -> list[str]:
    """Every token escaped for plotly, right-to-left ones isolated (attnviz/scripts.py)."""
    return [scripts.readable(escape(t)) for t in tokens]


def token_ticks(tokens: Sequence[str], max_ticks: int = 80) -> dict:
    """Integer tick positions with token labels (repeated tokens stay distinct): every k-th, k the least that fits."""
    step = scripts.label_step(len(tokens), max_ticks)
    positions = list(range(0, len(tokens), step))
    return dict(tickmode="array", tickvals=positions, ticktext=[scripts.readable(escape(tokens[i])) for i in positions])


def token_axis(tokens: Sequence[str], title: str, max_ticks: int = 80) -> dict:
    """A token axis: its ticks, and its title saying the thinning rule and right-to-left order where they apply."""
    note = scripts.axis_note(tokens, scripts.label_step(len(tokens), max_ticks))
    return dict(title=dict(text=escape(title + note)), **token_ticks(tokens, max_ticks))


HOVER_CELLS = 128 * 128  # above this, per-cell token hover would dominate the payload


def token_hover(query_tokens: Sequence[str], key_tokens: Sequence[str], value: str = ".3f") -> dict:
    """Heatmap hover 'query → key: weight' with tokens for maps up to HOVER_CELLS cells; positions for larger
    ones (their tokens stay on the axes). ``value`` formats the weight (e.g. "+.3f" for differences).
    """
    if len(query_tokens) * len(key_tokens) > HOVER_CELLS:
        return dict(hovertemplate=f"query #%{{y}} → key #%{{x}}: %{{z:{value}}}<extra></extra>")
    queries, keys = token_labels(query_tokens), token_labels(key_tokens)
    hover = np.array([[f"{q} → {k}" for k in keys] for q in queries], dtype=object)
    return dict(customdata=hover, hovertemplate=f"%{{customdata}}: %{{z:{value}}}<extra></extra>")


def figure_height(rows: int) -> int:
    """A height in pixels that gives ``rows`` rows of a heatmap room for their labels."""
    return int(min(900, max(320, 140 + 22 * rows)))


def add_gold_links(
    fig: go.Figure, gold: Sequence[frozenset[int]], row: int | None = None, col: int | None = None
) -> None:
    links = [(j, i) for i, js in enumerate(gold) for j in sorted(js)]
    if not links:
        return
    x, y = zip(*links)
    trace = go.Scatter(
        x=np.array(x),
        y=np.array(y),
        mode="markers",
        name="gold alignment",
        marker=dict(symbol="square-open", size=11, color="#ff2d55", line=dict(width=2)),
        hovertemplate="gold link<extra></extra>",
        showlegend=row in (None, 1) and col in (None, 1),
    )
    fig.add_trace(trace, row=row, col=col)
    fig.update_layout(legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1.0, xanchor="right"))
