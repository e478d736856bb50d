"""AttentionMap -> plotly Figure. One function per view; never imports streamlit."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from attnviz.attention import AttentionMap

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


def _labels(tokens: Sequence[str]) -> list[str]:
    return [escape(t) for t in tokens]


def _ticks(tokens: Sequence[str], max_ticks: int = 80) -> dict:
    """Integer tick positions with token labels (repeated tokens stay distinct), thinned to fit."""
    step = max(1, int(np.ceil(len(tokens) / max_ticks)))
    positions = list(range(0, len(tokens), step))
    return dict(tickmode="array", tickvals=positions, ticktext=[escape(tokens[i]) for i in positions])


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


HOVER_CELLS = 128 * 128  # above this, per-cell token hover would dominate the payload


def _hover(query_tokens: Sequence[str], key_tokens: Sequence[str]) -> dict:
    """Hover 'query → key: weight' with tokens for small maps; positions for large ones (tokens on the axes)."""
    if len(query_tokens) * len(key_tokens) > HOVER_CELLS:
        return dict(hovertemplate="query #%{y} → key #%{x}: %{z:.3f}<extra></extra>")
    queries, keys = _labels(query_tokens), _labels(key_tokens)
    hover = np.array([[f"{q} → {k}" for k in keys] for q in queries], dtype=object)
    return dict(customdata=hover, hovertemplate="%{customdata}: %{z:.3f}<extra></extra>")


def _height(rows: int) -> int:
    return int(min(900, max(320, 140 + 22 * rows)))


def _add_gold(fig: go.Figure, gold: Sequence[frozenset[int]], row: int | None = None, col: int | None = None) -> None:
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


def head_grid(values: np.ndarray, title: str, zmax: float | None = 1.0, fmt: str = ".2f") -> go.Figure:
    """A ``[layer, head]`` statistic as a layer x head heatmap with the value in each cell (click a cell)."""
    values = np.asarray(values, dtype=np.float32)
    layers, heads = values.shape
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=np.arange(heads),
            y=np.arange(layers),
            zmin=0.0,
            zmax=zmax if zmax is not None else float(np.nanmax(values)),
            colorscale=COLORSCALE,
            texttemplate="%{z:" + fmt + "}",
            hovertemplate="layer %{y} head %{x}: %{z:" + fmt + "}<extra></extra>",
            colorbar=dict(title=dict(text=escape(title))),
        )
    )
    fig.update_layout(
        xaxis=dict(title=dict(text="head"), tickmode="linear", dtick=1, side="top"),
        yaxis=dict(title=dict(text="layer"), tickmode="linear", dtick=1, autorange="reversed"),
        height=int(min(700, 120 + 42 * layers)),
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return fig


def difference(
    a: np.ndarray, b: np.ndarray, query_tokens: Sequence[str], key_tokens: Sequence[str], title: str = ""
) -> go.Figure:
    """``a - b`` for two ``[query, key]`` maps on a diverging scale centred on 0."""
    diff = np.asarray(a, np.float32) - np.asarray(b, np.float32)
    limit = float(max(np.abs(diff).max(), 1e-6))
    hover = np.array([[f"{q} → {k}" for k in _labels(key_tokens)] for q in _labels(query_tokens)], dtype=object)
    fig = go.Figure(
        go.Heatmap(
            z=diff, zmin=-limit, zmax=limit, zmid=0.0, colorscale="RdBu_r", customdata=hover,
            hovertemplate="%{customdata}: %{z:+.3f}<extra></extra>", colorbar=dict(title=dict(text="difference")),
        )
    )  # fmt: skip
    fig.update_layout(
        title=dict(text=escape(title)) if title else None,
        xaxis=dict(title=dict(text="key"), tickangle=-60, **_ticks(key_tokens)),
        yaxis=dict(title=dict(text="query"), autorange="reversed", **_ticks(query_tokens)),
        height=_height(len(query_tokens)),
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
    )
    return fig


def similarity(distances: np.ndarray, n_heads: int) -> go.Figure:
    """Head-to-head Jensen-Shannon distance matrix (0: the two heads attend identically)."""
    n = distances.shape[0]
    names = [f"L{i // n_heads} H{i % n_heads}" for i in range(n)]
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(distances, np.float32), x=np.arange(n), y=np.arange(n), zmin=0.0, zmax=1.0,
            colorscale="Viridis_r", customdata=np.array([[f"{a} vs {b}" for b in names] for a in names], dtype=object),
            hovertemplate="%{customdata}: JS distance %{z:.3f}<extra></extra>",
            colorbar=dict(title=dict(text="JS distance")),
        )
    )  # fmt: skip
    ticks = dict(tickmode="array", tickvals=list(range(0, n, n_heads)), ticktext=names[::n_heads])
    fig.update_layout(
        xaxis=dict(**ticks), yaxis=dict(autorange="reversed", **ticks), height=min(800, 200 + 8 * n),
        margin=dict(l=10, r=10, t=10, b=10),
    )  # fmt: skip
    return fig


def document(words: Sequence[Sequence[str]], word_weights: np.ndarray, sentence_weights: np.ndarray) -> go.Figure:
    """A document as rows of words shaded by word attention, with a bar of sentence attention per row."""
    rows, width = len(words), max(len(s) for s in words)
    text = [[escape(s[j]) if j < len(s) else "" for j in range(width)] for s in words]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.8, 0.2], shared_yaxes=True, horizontal_spacing=0.02,
                        subplot_titles=["word attention (within each sentence)", "sentence attention"])  # fmt: skip
    fig.add_trace(
        go.Heatmap(
            z=np.asarray(word_weights, np.float32), text=text, texttemplate="%{text}", zmin=0.0, zmax=1.0,
            colorscale="Blues", hovertemplate="%{text}: %{z:.3f}<extra></extra>", showscale=False, hoverongaps=False,
        ),
        row=1, col=1,
    )  # fmt: skip
    labels = [f"sentence {i + 1}" for i in range(rows)]
    fig.add_trace(
        go.Bar(x=np.asarray(sentence_weights, np.float32), y=np.arange(rows), orientation="h", marker_color="#d62728",
               customdata=np.array(labels, dtype=object), hovertemplate="%{customdata}: %{x:.3f}<extra></extra>"),
        row=1, col=2,
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=list(range(rows)), ticktext=labels, row=1, col=1)
    fig.update_xaxes(visible=False, row=1, col=1)
    fig.update_xaxes(range=[0, 1], row=1, col=2)
    fig.update_layout(height=120 + 48 * rows, margin=dict(l=10, r=10, t=40, b=10), showlegend=False)
    return fig


def bits(sequence: np.ndarray, output: np.ndarray) -> go.Figure:
    """The pattern given to the NTM next to its copy (probability of each bit being 1)."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=["input pattern", "NTM output (probability of 1)"])  # fmt: skip
    for col, values in enumerate((sequence, output), start=1):
        fig.add_trace(
            go.Heatmap(z=np.asarray(values, np.float32), zmin=0, zmax=1, colorscale="Greys", showscale=col == 2,
                       hovertemplate="step %{y}, bit %{x}: %{z:.2f}<extra></extra>"),
            row=1, col=col,
        )  # fmt: skip
        fig.update_xaxes(title=dict(text="bit"), dtick=1, row=1, col=col)
    fig.update_yaxes(title=dict(text="time step"), autorange="reversed", dtick=1, row=1, col=1)
    fig.update_layout(height=160 + 22 * len(sequence), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def memory(contents: np.ndarray, title: str = "") -> go.Figure:
    """Memory contents ``[slot, width]`` on a diverging scale."""
    limit = float(max(np.abs(contents).max(), 1e-6))
    fig = go.Figure(
        go.Heatmap(z=np.asarray(contents, np.float32).T, zmin=-limit, zmax=limit, zmid=0, colorscale="RdBu_r",
                   hovertemplate="slot %{x}, element %{y}: %{z:.3f}<extra></extra>")
    )  # fmt: skip
    fig.update_layout(
        title=dict(text=escape(title)) if title else None, xaxis=dict(title=dict(text="memory slot"), dtick=2),
        yaxis=dict(title=dict(text="element")), height=300, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
    )  # fmt: skip
    return fig
