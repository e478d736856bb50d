"""One overview tiler and one tile picker: a short map's overview and a long input's block means tile alike, and a
click on either opens the head under it."""

from __future__ import annotations

import numpy as np
from test_long_page import open_long

from attnviz import figures
from attnviz.figures.overview import downsample
from attnviz.maps.attention_map import AttentionMap

from chart_data import charts, decode


def random_map(layers: int, heads: int, n: int, seed: int = 0) -> AttentionMap:
    weights = np.random.default_rng(seed).random((layers, heads, n, n)).astype(np.float32)
    tokens = tuple(f"t{i}" for i in range(n))
    return AttentionMap(weights / weights.sum(-1, keepdims=True), tokens, tokens, "self")


def test_both_overviews_share_tiles_borders_axes_and_click_targets():
    attn = random_map(3, 5, 150)
    shape = figures.tile_shape(attn)
    thumbnails = downsample(attn.weights, figures.thumbnail_side(attn))
    assert thumbnails.shape == shape
    short, long = figures.overview(attn), figures.block_means(thumbnails)
    for part in ("shapes", "xaxis", "yaxis", "margin", "height"):
        assert short.layout[part] == long.layout[part], part
    np.testing.assert_array_equal(short.data[1].customdata, long.data[1].customdata)
    layers, heads, rows, cols = shape
    expected = np.concatenate([np.concatenate(list(thumbnails[layer]), axis=1) for layer in range(layers)], axis=0)
    np.testing.assert_allclose(long.data[0].z, expected, atol=0)  # tiles: layer rows down, heads across
    np.testing.assert_array_equal(short.data[0].z, np.round(expected * 255).astype(np.uint8))
    centres = long.data[1]
    for x, y, (layer, head) in zip(centres.x, centres.y, centres.customdata, strict=True):
        assert figures.tile_at(x, y, shape) == (layer, head)
        assert figures.tile_at(x - cols / 2 + 0.1, y + rows / 2 - 0.6, shape) == (layer, head)  # a tile's corners
    assert figures.tile_at(-5, 10_000, shape) == (layers - 1, 0)  # kept inside the grid


def test_a_click_on_a_long_inputs_tile_opens_that_head_once():
    at = open_long()
    tiles = charts(at)["long_overview"]
    centres = {tuple(c): (x, y) for x, y, c in zip(*(decode(tiles["data"][1][k]) for k in ("x", "y", "customdata")))}
    x, y = centres[(4, 7)]
    at.session_state["long_overview"] = {"selection": {"points": [{"x": float(x), "y": float(y)}]}}
    at.run()
    assert not at.exception
    assert (at.slider(key="long_layer").value, at.slider(key="long_head").value) == (4, 7)
    assert charts(at)["long_head_chart"]["layout"]["title"]["text"].startswith("layer 4, head 7")
    at.slider(key="long_head").set_value(2).run()  # the same click, still selected, no longer rules
    assert at.slider(key="long_head").value == 2
