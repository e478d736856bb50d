"""All heads at once: block-averaged thumbnails tiled into one heatmap, and which head a click is on.

The one overview tiler: a short map's heads (:func:`overview`) and a long input's streamed block means
(:func:`block_means`) share the tiles, their borders, axes and click targets (:func:`tiles`)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import COLORSCALE, token_margins
from attnviz.maps.attention_map import AttentionMap

OVERVIEW_CELLS = 110_000  # the browser draws a heatmap image of this many cells in well under a second


def thumbnail_side(attn: AttentionMap) -> int:
    """Side of each head's thumbnail: at most 64, and small enough that all heads fit OVERVIEW_CELLS."""
    return int(max(8, min(64, np.sqrt(OVERVIEW_CELLS / (attn.n_layers * attn.n_heads)))))


def tile_shape(attn: AttentionMap, max_side: int | None = None) -> tuple[int, int, int, int]:
    """(layers, heads, rows, cols) of the overview's tiles: each head block-averaged to at most ``max_side``."""
    max_side = max_side or thumbnail_side(attn)
    rows, cols = (int(np.ceil(n / np.ceil(n / max_side))) for n in (attn.n_queries, attn.n_keys))
    return attn.n_layers, attn.n_heads, rows, cols


def tiled(thumbnails: np.ndarray) -> np.ndarray:
    """``[layer, head, rows, cols]`` -> one grid ``[layer * rows, head * cols]`` (heads left to right)."""
    layers, heads, rows, cols = thumbnails.shape
    return thumbnails.transpose(0, 2, 1, 3).reshape(layers * rows, heads * cols)


def overview_grid(attn: AttentionMap, max_side: int | None = None) -> np.ndarray:
    """All heads tiled side by side into ``[layers * side, heads * side]``, each block-averaged to at most
    ``max_side`` x ``max_side`` cells.
    """
    return tiled(downsample(attn.weights, max_side or thumbnail_side(attn)))


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
    colorbar = dict(
        title=dict(text="weight"), tickvals=[0, 64, 128, 191, 255], ticktext=["0", "0.25", "0.5", "0.75", "1"]
    )
    z = np.round(np.clip(grid, 0, 1) * 255).astype(np.uint8)
    trace = go.Heatmap(z=z, zmin=0, zmax=255, colorscale=COLORSCALE, hoverinfo="skip", colorbar=colorbar)
    return tiles(trace, tile_shape(attn, max_side))


def block_means(thumbnails: np.ndarray) -> go.Figure:
    """Every layer x head's block-mean thumbnail ``[layer, head, rows, cols]`` (a long input's) in one heatmap.

    Colours stretch to the largest block mean (long inputs spread each row over many keys, so block means are
    small); the colour bar says the scale."""
    grid = tiled(np.asarray(thumbnails, dtype=np.float32))
    top = float(grid.max()) if grid.size and grid.max() > 0 else 1.0
    colorbar = dict(title=dict(text="block mean"))
    trace = go.Heatmap(z=grid, zmin=0.0, zmax=top, colorscale=COLORSCALE, hoverinfo="skip", colorbar=colorbar)
    return tiles(trace, thumbnails.shape)


def tiles(trace: go.Heatmap, shape: tuple[int, int, int, int]) -> go.Figure:
    """The tiled ``trace`` of ``shape`` (layers, heads, rows, cols) with white lines between tiles, head and
    layer numbers on the axes and one invisible point per tile (hover names the head, a click opens it)."""
    layers, heads, rows, cols = shape
    return go.Figure(  # the layout given to the constructor: update_layout() costs as much again
        [trace, _tile_centres(shape)],
        layout=dict(
            shapes=_tile_borders(shape),
            xaxis=dict(title=dict(text="head"), side="top", automargin=False, **_tile_axis(heads, cols)),
            yaxis=dict(title=dict(text="layer"), autorange="reversed", automargin=False, **_tile_axis(layers, rows)),
            hovermode="closest",
            hoverdistance=-1,
            margin=_margins(layers),
            height=int(min(900, max(280, 90 * layers + 80))),
        ),
    )


def _margins(layers: int) -> dict:
    """Room for the layer numbers and title on the left and the head numbers and title on top, fixed so that
    plotly does not lay the chart out twice (figures.common.token_margins says why)."""
    numbers = token_margins([], [str(layers - 1)], 0)
    return dict(l=numbers["l"], r=10, t=numbers["b"], b=10)  # the head axis sits on top: its labels are level


def _tile_centres(shape: tuple[int, int, int, int]) -> go.Scatter:
    """One invisible point per tile: hover names the head, a click opens it."""
    layers, heads, rows, cols = shape
    layer, head = np.meshgrid(np.arange(layers), np.arange(heads), indexing="ij")
    return go.Scatter(
        x=(head.ravel() + 0.5) * cols - 0.5,
        y=(layer.ravel() + 0.5) * rows - 0.5,
        mode="markers",
        marker=dict(size=max(4, min(40, 600 // max(heads, 1))), opacity=0),
        customdata=np.stack([layer.ravel(), head.ravel()], -1).astype(np.int16),
        hovertemplate="layer %{customdata[0]} head %{customdata[1]}: click to open<extra></extra>",
        showlegend=False,
    )


def _tile_borders(shape: tuple[int, int, int, int]) -> list[dict]:
    """White lines between the heads (vertical) and the layers (horizontal)."""
    layers, heads, rows, cols = shape
    line = dict(color="white", width=2)
    shapes = [
        dict(type="line", xref="x", yref="paper", x0=h * cols - 0.5, x1=h * cols - 0.5, y0=0, y1=1, line=line)
        for h in range(1, heads)
    ]
    return shapes + [
        dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=i * rows - 0.5, y1=i * rows - 0.5, line=line)
        for i in range(1, layers)
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


def tile_at(x: float, y: float, shape: tuple[int, int, int, int]) -> tuple[int, int]:
    """(layer, head) of the tile under grid position (x, y) in an overview of ``shape`` (layers, heads, rows,
    cols), kept inside the grid."""
    layers, heads, rows, cols = shape
    layer = min(max(int((y + 0.5) // rows), 0), layers - 1)
    return layer, min(max(int((x + 0.5) // cols), 0), heads - 1)
