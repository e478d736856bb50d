"""Attention over an image: the overlay is the map's cells, on the right pixels; all heads in one figure."""

import numpy as np

from attnviz import figures
from attnviz.builtin.tasks import scenes
from attnviz.figures.spatial import outline, to_rgb

from chart_data import decode


def cell_of_pixel(trace: dict, x: float, y: float) -> tuple[int, int]:
    """Which z cell a plotly heatmap with x0/dx, y0/dy draws at pixel (x, y): (row, column)."""
    return round((y - trace["y0"]) / trace["dy"]), round((x - trace["x0"]) / trace["dx"])


def test_overlay_is_the_cells_over_the_pixels_they_cover():
    scene = scenes.scenes(1, seed=0)[0]
    cells = np.zeros((8, 8), dtype=np.float32)
    cells[2, 5] = 1.0  # one-hot: cell (2, 5) covers pixels x 40..47, y 16..23
    fig = figures.image_attention(scene.image, cells, "t")
    image, heat = fig.data[0], fig.data[1]
    assert image.type == "image" and heat.type == "heatmap"
    assert np.array_equal(np.asarray(image.z), to_rgb(scene.image))
    assert np.array_equal(decode(heat.z), cells)
    points = fig.data[2]  # invisible markers on the cell centres: hover and click select a cell
    assert points.type == "scatter" and points.x[2 * 8 + 5] == 43.5 and points.y[2 * 8 + 5] == 19.5
    trace = heat.to_plotly_json()
    for y in range(64):
        for x in range(64):
            expected = (2, 5) if 40 <= x <= 47 and 16 <= y <= 23 else None
            hit = cell_of_pixel(trace, x, y)
            assert (hit == (2, 5)) == (expected is not None), (x, y)


def test_gold_object_outline_runs_along_the_mask_edge():
    mask = np.zeros((6, 6), dtype=bool)
    mask[1:3, 2:5] = True  # a 2 x 3 block: perimeter 10 pixel edges
    xs, ys = outline(mask)
    segments = [(xs[i], ys[i], xs[i + 1], ys[i + 1]) for i in range(0, len(xs), 3)]
    assert len(segments) == 10
    assert (1.5, 0.5, 1.5, 1.5) in segments  # left edge of pixel (row 1, column 2)
    assert (2.5, 2.5, 3.5, 2.5) in segments  # bottom edge of pixel (row 2, column 3)
    fig = figures.image_attention(np.zeros((3, 6, 6), np.float32), np.ones((2, 2)) / 4, gold=mask)
    assert fig.data[3].type == "scatter" and fig.data[3].name == "gold object"


def test_every_head_is_one_figure_with_one_image_and_one_heatmap():
    image = scenes.scenes(1, seed=1)[0].image
    per_head = np.random.default_rng(0).random((6, 8, 8)).astype(np.float32)
    fig = figures.heads_over_image(image, per_head, [f"head {h}" for h in range(6)], columns=4)
    assert [t.type for t in fig.data] == ["image", "heatmap"]
    z = np.asarray(fig.data[1].z, dtype=np.float32)
    assert z.shape == (16, 32)
    np.testing.assert_array_equal(z[0:8, 8:16], per_head[1])
    np.testing.assert_array_equal(z[8:16, 8:16], per_head[5])
    assert np.isnan(z[8:16, 16:]).all()  # two empty tiles in the second row
    x, y = np.asarray(fig.data[1].x), np.asarray(fig.data[1].y)
    assert x[8] == 64 + 4 + 3.5 and y[8] == 64 + 4 + 3.5  # head 5's first cell: tile (1, 1), pixel centre (3.5, 3.5)
    assert [a.text for a in fig.layout.annotations] == [f"head {h}" for h in range(6)]


def test_marked_query_cell_is_a_white_square_on_its_pixels():
    fig = figures.image_attention(np.zeros((3, 64, 64), np.float32), np.ones((8, 8)) / 64, marked=(3, 1))
    [shape] = fig.layout.shapes
    assert (shape.x0, shape.x1, shape.y0, shape.y1) == (7.5, 15.5, 23.5, 31.5)
