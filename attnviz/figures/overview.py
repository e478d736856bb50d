"""All heads at once: block-averaged thumbnails tiled into one heatmap, and which head a click is on."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import COLORSCALE, token_margins
from attnviz.maps.attention_map import AttentionMap

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
    block = lambda a: a.reshape(*a.shape[:-2], rows, fq, cols, fk).sum(axis=(-3, -1))
    return (block(padded) / block(counts)).astype(np.float32)


def overview(attn: AttentionMap, max_side: int | None = None) -> go.Figure:
    """Every layer x head as thumbnails in one heatmap trace; hover or click a tile to open that head.

    Thumbnails ship as uint8 (weight x 255, 1/255 resolution) so that 72 heads stay under ~0.5 MB.
    """
    grid = overview_grid(attn, max_side)
    rows, cols = grid.shape[0] // attn.n_layers, grid.shape[1] // attn.n_heads
    thumbnails = go.Heatmap(
        z=np.round(np.clip(grid, 0, 1) * 255).astype(np.uint8),
        zmin=0,
        zmax=255,
        colorscale=COLORSCALE,
        hoverinfo="skip",
        colorbar=dict(
            title=dict(text="weight"), tickvals=[0, 64, 128, 191, 255], ticktext=["0", "0.25", "0.5", "0.75", "1"]
        ),
    )
    return go.Figure(  # the layout given to the constructor: update_layout() costs as much again
        [thumbnails, _tile_centres(attn, rows, cols)],
        layout=dict(
            shapes=_tile_borders(attn, rows, cols),
            xaxis=dict(title=dict(text="head"), side="top", automargin=False, **_tile_axis(attn.n_heads, cols)),
            yaxis=dict(
                title=dict(text="layer"), autorange="reversed", automargin=False, **_tile_axis(attn.n_layers, rows)
            ),
            hovermode="closest",
            hoverdistance=-1,
            margin=_margins(attn),
            height=int(min(900, max(280, 90 * attn.n_layers + 80))),
        ),
    )


def _margins(attn: AttentionMap) -> dict:
    """Room for the layer numbers and title on the left and the head numbers and title on top, fixed so that
    plotly does not lay the chart out twice (figures.common.token_margins says why)."""
    numbers = token_margins([], [str(attn.n_layers - 1)], 0)
    return dict(l=numbers["l"], r=10, t=numbers["b"], b=10)  # the head axis sits on top: its labels are level


def _tile_centres(attn: AttentionMap, rows: int, cols: int) -> go.Scatter:
    """One invisible point per tile: hover names the head, a click opens it."""
    layer, head = np.meshgrid(np.arange(attn.n_layers), np.arange(attn.n_heads), indexing="ij")
    return go.Scatter(
        x=(head.ravel() + 0.5) * cols - 0.5,
        y=(layer.ravel() + 0.5) * rows - 0.5,
        mode="markers",
        marker=dict(size=max(4, min(40, 600 // max(attn.n_heads, 1))), opacity=0),
        customdata=np.stack([layer.ravel(), head.ravel()], -1).astype(np.int16),
        hovertemplate="layer %{customdata[0]} head %{customdata[1]}: click to open<extra></extra>",
        showlegend=False,
    )


def _tile_borders(attn: AttentionMap, rows: int, cols: int) -> list[dict]:
    """White lines between the heads (vertical) and the layers (horizontal)."""
    line = dict(color="white", width=2)
    shapes = [
        dict(type="line", xref="x", yref="paper", x0=h * cols - 0.5, x1=h * cols - 0.5, y0=0, y1=1, line=line)
        for h in range(1, attn.n_heads)
    ]
    return shapes + [
        dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=i * rows - 0.5, y1=i * rows - 0.5, line=line)
        for i in range(1, attn.n_layers)
    ]


def _tile_axis(count: int, side: int) -> dict:
    """An axis labelled 0..count-1 at the centre of each tile of ``side`` cells."""
    return dict(
        tickmode="array",
        tickvals=[(i + 0.5) * side - 0.5 for i in range(count)],
        ticktext=[str(i) for i in range(count)],
        showgrid=False,
        zeroline=False,
    )


def tile_at(attn: AttentionMap, x: float, y: float, max_side: int | None = None) -> tuple[int, int]:
    """(layer, head) of the overview tile under grid position (x, y)."""
    max_side = max_side or thumbnail_side(attn)
    rows, cols = (int(np.ceil(n / np.ceil(n / max_side))) for n in (attn.n_queries, attn.n_keys))
    layer = min(max(int((y + 0.5) // rows), 0), attn.n_layers - 1)
    return layer, min(max(int((x + 0.5) // cols), 0), attn.n_heads - 1)
