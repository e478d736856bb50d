"""Attention laid over an image: one map over the picture, every head at once as one tiled figure.

The image is a ``go.Image`` (pixel centres at integer x, y); the weights are a ``go.Heatmap`` of the grid
cells placed over the pixels they cover, transparent at 0 and more opaque (yellow to red) as the weight
grows, so the picture shows through where attention is low. Gold objects
are outlined along their mask's pixel edges.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.common import escape

OVERLAY = [[0.0, "rgba(255, 230, 0, 0)"], [0.5, "rgba(255, 140, 0, 0.55)"], [1.0, "rgba(255, 0, 80, 0.85)"]]
OUTLINE = "#ff2d55"
GAP = 4  # pixels between tiles


def to_rgb(image: np.ndarray) -> np.ndarray:
    """(3, H, W) floats in [0, 1] or (H, W, 3) uint8 -> (H, W, 3) uint8."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return np.clip(np.round(np.moveaxis(image, 0, -1) * 255), 0, 255).astype(np.uint8)


def outline(mask: np.ndarray) -> tuple[list[float | None], list[float | None]]:
    """The edges between mask pixels and the rest, as line segments (x, y with None between segments)."""
    mask = np.pad(np.asarray(mask, dtype=bool), 1)
    xs: list[float | None] = []
    ys: list[float | None] = []
    vertical = np.nonzero(mask[1:-1, 1:] != mask[1:-1, :-1])  # an edge left of pixel column x
    for y, x in zip(*vertical, strict=True):
        xs += [x - 0.5, x - 0.5, None]
        ys += [y - 0.5, y + 0.5, None]
    horizontal = np.nonzero(mask[1:, 1:-1] != mask[:-1, 1:-1])  # an edge above pixel row y
    for y, x in zip(*horizontal, strict=True):
        xs += [x - 0.5, x + 0.5, None]
        ys += [y - 0.5, y - 0.5, None]
    return xs, ys


def _cell_heatmap(cells: np.ndarray, height: int, width: int, x0: float = 0.0, zmax: float | None = None) -> go.Heatmap:
    rows, cols = cells.shape
    return go.Heatmap(
        z=np.asarray(cells, dtype=np.float32),
        x0=x0 + (width / cols - 1) / 2,
        dx=width / cols,
        y0=(height / rows - 1) / 2,
        dy=height / rows,
        colorscale=OVERLAY,
        zmin=0.0,
        zmax=float(np.nanmax(cells)) if zmax is None else zmax,
        hoverinfo="skip",
        colorbar=dict(title="weight", thickness=12),
        hoverongaps=False,
    )


def _cell_points(cells: np.ndarray, height: int, width: int) -> go.Scatter:
    """Invisible markers on the cell centres: hover says the cell and its weight, and a click selects the cell
    (plotly selects points of scatter traces, not heatmap cells)."""
    rows, cols = cells.shape
    r, c = np.divmod(np.arange(rows * cols), cols)
    return go.Scatter(
        x=(c + 0.5) * width / cols - 0.5,
        y=(r + 0.5) * height / rows - 0.5,
        mode="markers",
        name="cells",
        marker=dict(symbol="square", size=12, opacity=0.0),
        customdata=np.stack([r, c, cells.reshape(-1)], -1),
        hovertemplate="cell (%{customdata[0]}, %{customdata[1]}): %{customdata[2]:.3f}<extra></extra>",
        unselected=dict(marker=dict(opacity=0.0)),
        selected=dict(marker=dict(opacity=0.0)),
    )


def _layout(fig: go.Figure, height: int, width: int, title: str, pixels: int = 360) -> go.Figure:
    fig.update_xaxes(visible=False, range=[-0.5, width - 0.5], constrain="domain")
    fig.update_yaxes(visible=False, range=[height - 0.5, -0.5], scaleanchor="x", constrain="domain")
    fig.update_layout(
        title=dict(text=escape(title), x=0.0),
        height=pixels,
        margin=dict(l=5, r=5, t=40, b=5),
        showlegend=False,
        clickmode="event+select",
    )
    return fig


def image_attention(
    image: np.ndarray,
    cells: np.ndarray,
    title: str = "",
    gold: np.ndarray | None = None,
    marked: tuple[int, int] | None = None,
) -> go.Figure:
    """The image with ``cells`` (rows, cols) of attention over it; ``gold`` (H, W) bool outlined; ``marked``
    (row, col) a cell drawn as a white square (the query patch)."""
    rgb = to_rgb(image)
    height, width = rgb.shape[:2]
    fig = go.Figure(
        [go.Image(z=rgb, hoverinfo="skip"), _cell_heatmap(cells, height, width), _cell_points(cells, height, width)]
    )
    if gold is not None and np.any(gold):
        xs, ys = outline(gold)
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", line=dict(color=OUTLINE, width=2), name="gold object", hoverinfo="skip"
            )
        )
    if marked is not None:
        rows, cols = cells.shape
        h, w = height / rows, width / cols
        r, c = marked
        fig.add_shape(
            type="rect",
            x0=c * w - 0.5,
            x1=(c + 1) * w - 0.5,
            y0=r * h - 0.5,
            y1=(r + 1) * h - 0.5,
            line=dict(color="white", width=2),
        )
    return _layout(fig, height, width, title)


def heads_over_image(image: np.ndarray, per_head: np.ndarray, titles: Sequence[str], columns: int = 4) -> go.Figure:
    """Every head's cells over the image, as ONE figure: one tiled image trace and one tiled heatmap trace.

    ``per_head`` is (heads, rows, cols); tiles run left to right, ``columns`` a row, GAP pixels apart.
    """
    rgb = to_rgb(image)
    height, width = rgb.shape[:2]
    heads, rows, cols = per_head.shape
    columns = min(columns, heads)
    tile_rows = -(-heads // columns)
    canvas = np.full((tile_rows * (height + GAP) - GAP, columns * (width + GAP) - GAP, 3), 255, dtype=np.uint8)
    z = np.full((tile_rows * rows, columns * cols), np.nan, dtype=np.float32)
    for head in range(heads):
        r, c = divmod(head, columns)
        canvas[r * (height + GAP) : r * (height + GAP) + height, c * (width + GAP) : c * (width + GAP) + width] = rgb
        z[r * rows : (r + 1) * rows, c * cols : (c + 1) * cols] = per_head[head]
    fig = go.Figure(go.Image(z=canvas, hoverinfo="skip"))
    fig.add_trace(_tiled_heatmap(z, rows, cols, height, width, columns, tile_rows))
    for head, title in enumerate(titles):
        r, c = divmod(head, columns)
        fig.add_annotation(
            x=c * (width + GAP),
            y=r * (height + GAP),
            text=escape(title),
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font=dict(color="white", size=11),
            bgcolor="rgba(0,0,0,0.5)",
        )
    total_height, total_width = canvas.shape[:2]
    return _layout(fig, total_height, total_width, "every head", pixels=min(900, 60 + 200 * tile_rows))


def _tiled_heatmap(z, rows, cols, height, width, columns, tile_rows) -> go.Heatmap:
    """Cell centres of every tile in pixel coordinates (tiles are GAP apart, so x and y are given per cell)."""
    x = [c * (width + GAP) + (j + 0.5) * width / cols - 0.5 for c in range(columns) for j in range(cols)]
    y = [r * (height + GAP) + (i + 0.5) * height / rows - 0.5 for r in range(tile_rows) for i in range(rows)]
    heads = np.array(
        [[f"head {(i // rows) * columns + j // cols}" for j in range(z.shape[1])] for i in range(z.shape[0])],
        dtype=object,
    )
    return go.Heatmap(
        z=z,
        x=np.array(x),
        y=np.array(y),
        colorscale=OVERLAY,
        zmin=0.0,
        zmax=float(np.nanmax(z)),
        customdata=heads,
        hovertemplate="%{customdata}: %{z:.3f}<extra></extra>",
        hoverongaps=False,
        colorbar=dict(title="weight", thickness=12),
    )
