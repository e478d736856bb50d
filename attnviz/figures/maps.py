"""Views of one AttentionMap: a head, all heads, the head view, a comparison, one decoding step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from attnviz.attention import AttentionMap
from attnviz.figures.common import (
    AXIS_TITLES,
    COLORSCALE,
    HEAD_COLORS,
    _add_gold,
    _height,
    _hover,
    _labels,
    _ticks,
    escape,
)


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
    fig = go.Figure(
        go.Heatmap(
            z=weights,
            x=np.arange(attn.n_keys),
            y=np.arange(attn.n_queries),
            zmin=0.0,
            zmax=float(weights.max()) if stretch else 1.0,
            colorscale=COLORSCALE,
            **_hover(attn.query_tokens, attn.key_tokens),
            colorbar=dict(title=dict(text="weight (stretched)" if stretch else "weight")),
        )
    )
    if gold is not None:
        _add_gold(fig, gold)
    y_title, x_title = AXIS_TITLES.get(attn.kind, ("query", "key"))
    fig.update_layout(
        title=dict(text=escape(title)) if title else None,
        xaxis=dict(title=dict(text=x_title), side="bottom", tickangle=-60, **_ticks(attn.key_tokens)),
        yaxis=dict(title=dict(text=y_title), autorange="reversed", **_ticks(attn.query_tokens)),
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        height=_height(attn.n_queries),
    )
    return fig


OVERVIEW_CELLS = 110_000  # the browser draws a heatmap image of this many cells in well under a second


def thumbnail_side(attn: AttentionMap) -> int:
    """Side of each head's thumbnail: at most 64, and small enough that all heads fit OVERVIEW_CELLS."""
    return int(max(8, min(64, np.sqrt(OVERVIEW_CELLS / (attn.n_layers * attn.n_heads)))))


def overview_grid(attn: AttentionMap, max_side: int | None = None) -> np.ndarray:
    """All heads tiled side by side into ``[layers * side, heads * side]``, each block-averaged to at most
    ``max_side`` x ``max_side`` cells.
    """
    tiles = downsample(attn.weights, max_side or thumbnail_side(attn))  # (L, H, rows, cols)
    L, H, rows, cols = tiles.shape
    return tiles.transpose(0, 2, 1, 3).reshape(L * rows, H * cols)


def downsample(weights: np.ndarray, max_side: int) -> np.ndarray:
    """Block-average the last two axes ``[..., query, key]`` so that neither exceeds ``max_side``.

    Blocks at the edge that are only partly filled average over their real cells only.
    """
    *lead, q, k = weights.shape
    fq, fk = int(np.ceil(q / max_side)), int(np.ceil(k / max_side))
    if fq == 1 and fk == 1:
        return weights.astype(np.float32)
    rows, cols = int(np.ceil(q / fq)), int(np.ceil(k / fk))
    padded = np.zeros((*lead, rows * fq, cols * fk), dtype=np.float64)
    padded[..., :q, :k] = weights
    counts = np.zeros((rows * fq, cols * fk))
    counts[:q, :k] = 1
    block = lambda a: a.reshape(*a.shape[:-2], rows, fq, cols, fk).sum(axis=(-3, -1))  # noqa: E731
    return (block(padded) / block(counts)).astype(np.float32)


def overview(attn: AttentionMap, max_side: int | None = None) -> go.Figure:
    """Every layer x head as thumbnails in one heatmap trace; hover or click a tile to open that head.

    Thumbnails ship as uint8 (weight x 255, 1/255 resolution) so that 72 heads stay under ~0.5 MB.
    """
    grid = overview_grid(attn, max_side)
    rows, cols = grid.shape[0] // attn.n_layers, grid.shape[1] // attn.n_heads
    layer, head = np.meshgrid(np.arange(attn.n_layers), np.arange(attn.n_heads), indexing="ij")
    fig = go.Figure(
        [
            go.Heatmap(
                z=np.round(np.clip(grid, 0, 1) * 255).astype(np.uint8), zmin=0, zmax=255, colorscale=COLORSCALE,
                hoverinfo="skip",
                colorbar=dict(title=dict(text="weight"), tickvals=[0, 64, 128, 191, 255],
                              ticktext=["0", "0.25", "0.5", "0.75", "1"]),
            ),
            go.Scatter(  # one invisible point per tile: hover names the head, a click opens it
                x=(head.ravel() + 0.5) * cols - 0.5, y=(layer.ravel() + 0.5) * rows - 0.5, mode="markers",
                marker=dict(size=max(4, min(40, 600 // max(attn.n_heads, 1))), opacity=0),
                customdata=np.stack([layer.ravel(), head.ravel()], -1).astype(np.int16),
                hovertemplate="layer %{customdata[0]} head %{customdata[1]}: click to open<extra></extra>",
                showlegend=False,
            ),
        ]
    )  # fmt: skip
    line = dict(color="white", width=2)
    shapes = [
        dict(type="line", xref="x", yref="paper", x0=h * cols - 0.5, x1=h * cols - 0.5, y0=0, y1=1, line=line)
        for h in range(1, attn.n_heads)
    ]
    shapes += [dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=i * rows - 0.5, y1=i * rows - 0.5, line=line)
               for i in range(1, attn.n_layers)]  # fmt: skip
    fig.update_layout(
        shapes=shapes,
        xaxis=dict(
            title=dict(text="head"), tickmode="array", tickvals=[(h + 0.5) * cols - 0.5 for h in range(attn.n_heads)],
            ticktext=[str(h) for h in range(attn.n_heads)], showgrid=False, zeroline=False, side="top",
        ),
        yaxis=dict(
            title=dict(text="layer"), tickmode="array", tickvals=[(i + 0.5) * rows - 0.5 for i in range(attn.n_layers)],
            ticktext=[str(i) for i in range(attn.n_layers)], autorange="reversed", showgrid=False, zeroline=False,
        ),
        hovermode="closest", hoverdistance=-1,
        margin=dict(l=10, r=10, t=30, b=10),
        height=int(min(900, max(280, 90 * attn.n_layers + 80))),
    )  # fmt: skip
    return fig


def tile_at(attn: AttentionMap, x: float, y: float, max_side: int | None = None) -> tuple[int, int]:
    """(layer, head) of the overview tile under grid position (x, y)."""
    max_side = max_side or thumbnail_side(attn)
    rows, cols = (int(np.ceil(n / np.ceil(n / max_side))) for n in (attn.n_queries, attn.n_keys))
    layer = min(max(int((y + 0.5) // rows), 0), attn.n_layers - 1)
    return layer, min(max(int((x + 0.5) // cols), 0), attn.n_heads - 1)


def head_view(attn: AttentionMap, layer: int, heads: Sequence[int], threshold: float = 0.05) -> go.Figure:
    """BertViz-style lines from each query (left) to the keys (right) it attends, one colour per head."""
    fig = go.Figure()
    n_q, n_k = attn.n_queries, attn.n_keys
    for head in heads:
        weights = attn.head(layer, head)
        color = HEAD_COLORS[head % len(HEAD_COLORS)]
        for low, high in ((threshold, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.01)):
            qs, ks = np.nonzero((weights >= low) & (weights < high))
            if not len(qs):
                continue
            x = np.tile(np.array([0.0, 1.0, np.nan]), len(qs))
            y = np.column_stack([qs, ks, np.full(len(qs), np.nan)]).reshape(-1).astype(np.float32)
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines",
                    line=dict(color=color, width=1 + 3 * high),
                    opacity=min(1.0, 0.15 + high * 0.8),
                    name=f"head {head}",
                    legendgroup=f"head {head}",
                    showlegend=low == threshold,
                    hoverinfo="skip",
                )
            )
    for x, tokens, anchor, count in ((0.0, attn.query_tokens, "right", n_q), (1.0, attn.key_tokens, "left", n_k)):
        fig.add_trace(
            go.Scatter(
                x=np.full(count, x),
                y=np.arange(count),
                mode="text",
                text=_labels(tokens),
                textposition=f"middle {anchor}",
                showlegend=False,
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        xaxis=dict(visible=False, range=[-0.6, 1.6]),
        yaxis=dict(visible=False, autorange="reversed"),
        height=_height(max(n_q, n_k)),
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
    )
    return fig


def comparison(
    panels: Sequence[tuple[str, np.ndarray]],
    query_tokens: Sequence[str],
    key_tokens: Sequence[str],
    gold: Sequence[frozenset[int]] | None = None,
    columns: int = 3,
) -> go.Figure:
    """Several [query, key] maps of one input in a grid, on one colour scale, gold links on each."""
    columns = max(1, min(columns, len(panels)))
    n_rows = int(np.ceil(len(panels) / columns))
    fig = make_subplots(
        rows=n_rows, cols=columns, subplot_titles=[escape(t) for t, _ in panels],
        horizontal_spacing=0.04, vertical_spacing=0.3 / n_rows,
    )  # fmt: skip
    hover = np.array([[f"{q} → {k}" for k in _labels(key_tokens)] for q in _labels(query_tokens)], dtype=object)
    for index, (_, weights) in enumerate(panels):
        row, col = index // columns + 1, index % columns + 1
        fig.add_trace(
            go.Heatmap(
                z=np.asarray(weights, dtype=np.float32), coloraxis="coloraxis", customdata=hover,
                hovertemplate="%{customdata}: %{z:.3f}<extra></extra>",
            ),
            row=row, col=col,
        )  # fmt: skip
        if gold is not None:
            _add_gold(fig, gold, row=row, col=col)
        fig.update_xaxes(tickangle=-60, **_ticks(key_tokens, 40), row=row, col=col)
        fig.update_yaxes(autorange="reversed", showticklabels=col == 1, **_ticks(query_tokens, 40), row=row, col=col)
    fig.update_layout(
        coloraxis=dict(colorscale=COLORSCALE, cmin=0.0, cmax=1.0, colorbar=dict(title=dict(text="weight"))),
        height=n_rows * (160 + 18 * len(query_tokens)),
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return fig


def step_bars(attn: AttentionMap, step: int) -> go.Figure:
    """Decoding step ``step``: how much attention each key token got (layer 0, head 0)."""
    weights = attn.head(0, 0)[step].astype(np.float32)
    fig = go.Figure(
        go.Bar(
            x=np.arange(attn.n_keys),
            y=weights,
            marker=dict(color=weights, colorscale=COLORSCALE, cmin=0.0, cmax=1.0),
            customdata=np.array(_labels(attn.key_tokens), dtype=object),
            hovertemplate="%{customdata}: %{y:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title=dict(text="key (source token)"), **_ticks(attn.key_tokens)),
        yaxis=dict(title=dict(text="attention weight"), range=[0, 1]),
        height=280,
        margin=dict(l=10, r=10, t=10, b=10),
    )
    return fig
