"""What every figure builder shares: colours, escaped labels, token ticks, token hover, gold links."""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.text import scripts

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


MAX_LABEL_CHARS = 24  # a token's label on a figure, on screen and in an export: a longer one is cut with an ellipsis


def token_label(token: str) -> str:
    """A token as a figure's label: at most MAX_LABEL_CHARS characters (a longer one cut, ending in '…'), escaped for
    plotly, right-to-left text isolated (attnviz/text/scripts.py). A 5,000-character label would take the page."""
    short = token if len(token) <= MAX_LABEL_CHARS else token[: MAX_LABEL_CHARS - 1] + "…"
    return scripts.readable(escape(short))


def token_labels(tokens: Sequence[str]) -> list[str]:
    """Every token as a figure's label (:func:`token_label`)."""
    return [token_label(t) for t in tokens]


def token_ticks(tokens: Sequence[str], max_ticks: int = 80) -> dict:
    """Integer tick positions with token labels (repeated tokens stay distinct): every k-th, k the least that fits."""
    step = scripts.label_step(len(tokens), max_ticks)
    positions = list(range(0, len(tokens), step))
    return dict(tickmode="array", tickvals=positions, ticktext=[token_label(tokens[i]) for i in positions])


def token_axis(tokens: Sequence[str], title: str, max_ticks: int = 80) -> dict:
    """A token axis: its ticks, and its title saying the thinning rule and right-to-left order where they apply."""
    note = scripts.axis_note(tokens, scripts.label_step(len(tokens), max_ticks))
    return dict(title=dict(text=escape(title + note)), **token_ticks(tokens, max_ticks))


TICK_FONT_PX = 13  # tick labels on screen are 12-13 px; an export turns plotly's automargin back on (export.styled)
AXIS_TITLE_PX = 32  # an axis title and the gap to its tick labels


def label_width(label: str) -> float:
    """About how wide a tick label is drawn, in pixels: wide (CJK) characters count double, marks and format
    characters (RTL isolates) nothing."""
    width = 0.0
    for c in html.unescape(label):
        if unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        width += TICK_FONT_PX * (1.05 if unicodedata.east_asian_width(c) in ("W", "F") else 0.62)
    return width


def token_margins(x_labels: Sequence[str], y_labels: Sequence[str], x_angle: float) -> dict:
    """Left and bottom margins that hold the token labels and axis titles, for axes drawn with automargin off.

    With automargin on, plotly measures the labels after drawing and then lays the whole chart out again: on a
    64-token heatmap that second pass was about a third of a browser's time to redraw it (submit -> drawn
    0.72 -> 0.47 s, slider step 0.73 -> 0.40 s, measured with benchmarks.browser).
    """
    widest_y = max((label_width(t) for t in y_labels), default=0.0)
    widest_x = max((label_width(t) for t in x_labels), default=0.0)
    turn = math.radians(abs(x_angle))
    below = widest_x * math.sin(turn) + TICK_FONT_PX * math.cos(turn)
    return dict(l=math.ceil(widest_y + AXIS_TITLE_PX + 8), b=math.ceil(below + AXIS_TITLE_PX + 8))


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


GOLD = "#ff2d55"  # the colour of gold links and marks, on every figure


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
        marker=dict(symbol="square-open", size=11, color=GOLD, line=dict(width=2)),
        hovertemplate="gold link<extra></extra>",
        showlegend=row in (None, 1) and col in (None, 1),
    )
    fig.add_trace(trace, row=row, col=col)
    fig.update_layout(legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1.0, xanchor="right"))
