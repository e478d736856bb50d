import json

import numpy as np
import plotly.io as pio
import pytest

from attnviz import figures
from attnviz.figures.common import MAX_LABEL_CHARS
from attnviz.maps.attention_map import AttentionMap

from chart_data import decode

HOSTILE = '<a href="javascript:alert(1)">x</a>'


def random_map(layers=2, heads=3, q=5, k=6, kind="self", seed=0, tokens=None) -> AttentionMap:
    rng = np.random.default_rng(seed)
    w = rng.random((layers, heads, q, k)) ** 4
    w /= w.sum(-1, keepdims=True)
    keys = tokens or [f"k{j}" for j in range(k)]
    return AttentionMap(w, [f"q{i}" for i in range(q)], keys, kind)


def as_json(fig) -> dict:
    return json.loads(pio.to_json(fig))


def test_heatmap_ships_float32_that_decodes_to_the_map():
    attn = random_map()
    data = as_json(figures.heatmap(attn, 1, 2))["data"][0]
    assert data["z"]["dtype"] == "f4"
    np.testing.assert_array_equal(decode(data["z"]), attn.head(1, 2))


def test_heatmap_uses_integer_axes_so_repeated_tokens_stay_distinct():
    attn = random_map(k=4, tokens=["the", "cat", "the", "cat"])
    layout = as_json(figures.heatmap(attn, 0, 0))["layout"]
    assert layout["xaxis"]["tickvals"] == [0, 1, 2, 3]
    assert layout["xaxis"]["ticktext"] == ["the", "cat", "the", "cat"]
    assert layout["yaxis"]["title"]["text"] == "query token"


def test_heatmap_hover_says_query_key_and_weight():
    attn = random_map()
    trace = as_json(figures.heatmap(attn, 0, 0))["data"][0]
    assert trace["customdata"][2][3] == "q2 → k3"
    assert "%{z:.3f}" in trace["hovertemplate"]


def test_labels_are_escaped_everywhere():
    attn = random_map(k=2, tokens=[HOSTILE, "<b>bold</b>"])
    for fig in (figures.heatmap(attn, 0, 0), figures.head_view(attn, 0, [0])):
        text = pio.to_json(fig)
        assert "<a href" not in text and "<b>" not in text
    assert figures.escape(HOSTILE).startswith("&lt;a href=")


def test_gold_overlay_marks_each_gold_link():
    attn = random_map(q=3, k=3, kind="cross")
    fig = as_json(figures.heatmap(attn, 0, 0, gold=(frozenset({2}), frozenset(), frozenset({0, 1}))))
    gold = fig["data"][1]
    assert list(zip(decode(gold["x"]), decode(gold["y"]), strict=True)) == [(2, 0), (0, 2), (1, 2)]


def test_colour_scale_is_zero_to_one_unless_stretched():
    attn = random_map()
    assert as_json(figures.heatmap(attn, 0, 0))["data"][0]["zmax"] == 1.0
    stretched = as_json(figures.heatmap(attn, 0, 0, stretch=True))["data"][0]
    assert stretched["zmax"] == pytest.approx(float(attn.head(0, 0).max()))


def test_overview_is_one_heatmap_with_every_head_tiled_as_uint8():
    attn = random_map(layers=3, heads=4, q=5, k=6)
    fig = figures.overview(attn)
    assert [t.type for t in fig.data] == ["heatmap", "scatter"]  # the scatter marks tile centres for hover/click
    z = as_json(fig)["data"][0]["z"]
    assert z["dtype"] == "u1"
    grid = decode(z)
    assert grid.shape == (3 * 5, 4 * 6)
    np.testing.assert_array_equal(grid[5:10, 12:18], np.round(attn.head(1, 2) * 255))  # layer 1, head 2
    centres = fig.data[1]
    assert (
        figures.tile_at(centres.x[6], centres.y[6], figures.tile_shape(attn)) == (1, 2) == tuple(centres.customdata[6])
    )


def test_overview_payload_does_not_grow_with_the_square_of_the_length():
    sizes = [len(pio.to_json(figures.overview(random_map(layers=6, heads=12, q=n, k=n)))) for n in (128, 512)]
    assert sizes[1] < 1.5 * sizes[0] and sizes[1] < 1_500_000  # 4x the length would be 16x the cells


def test_downsampling_keeps_mass_and_block_structure():
    weights = np.eye(200, dtype=np.float32)
    small = figures.downsample(weights, 64)
    assert small.shape == (50, 50)
    uneven = figures.downsample(np.ones((2, 3, 130, 70)), 64)  # edge blocks average over real cells only
    assert uneven.shape == (2, 3, 44, 35) and np.allclose(uneven, 1.0)
    assert np.allclose(small.sum() * 4 * 4, weights.sum())  # block means x block size = mass
    assert (small.argmax(1) == np.arange(50)).all()  # the diagonal stays the diagonal


def test_head_view_draws_one_legend_entry_per_head_and_the_tokens():
    attn = random_map(heads=3)
    fig = figures.head_view(attn, 1, [0, 2])
    legend = [t.name for t in fig.data if t.showlegend]
    assert legend == ["head 0", "head 2"]
    text = [t for t in fig.data if t.mode == "text"]
    assert list(text[0].text) == list(attn.query_tokens) and list(text[1].text) == list(attn.key_tokens)
    lines = [t for t in fig.data if t.mode == "lines" and t.name == "head 0"]
    drawn = sum(np.isnan(np.asarray(t.y, dtype=float)).sum() for t in lines)
    assert drawn == int((attn.head(1, 0) >= 0.05).sum())  # one segment per weight above the threshold


def test_comparison_puts_every_panel_on_one_colour_axis():
    attn = random_map(heads=4, kind="cross")
    panels = [(f"head {h}", attn.head(0, h)) for h in range(4)]
    fig = figures.comparison(panels, attn.query_tokens, attn.key_tokens)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 4 and {t.coloraxis for t in heatmaps} == {"coloraxis"}
    np.testing.assert_array_equal(heatmaps[3].z, attn.head(0, 3))


def _views(attn):
    """Every query x key heatmap, built for head (0, 0) of ``attn``: single head, comparison, difference."""
    weights = attn.head(0, 0)
    return {
        "heatmap": figures.heatmap(attn, 0, 0),
        "comparison": figures.comparison([("a", weights)], attn.query_tokens, attn.key_tokens),
        "difference": figures.difference(weights, weights[::-1], attn.query_tokens, attn.key_tokens),
    }


@pytest.mark.parametrize("view", ["heatmap", "comparison", "difference"])
def test_small_maps_hover_with_their_tokens(view):
    attn = random_map(q=3, k=4, tokens=["the", HOSTILE, "sat", "."])
    trace = as_json(_views(attn)[view])["data"][0]
    hover = trace["customdata"]
    label = figures.escape(HOSTILE[: MAX_LABEL_CHARS - 1]) + "…"  # escaped, and cut as every label on a figure is
    assert len(hover) == 3 and hover[1] == ["q1 → the", f"q1 → {label}", "q1 → sat", "q1 → ."]
    assert trace["hovertemplate"].startswith("%{customdata}: %{z:")


@pytest.mark.parametrize("view", ["heatmap", "comparison", "difference"])
def test_large_maps_hover_with_positions_within_the_cell_budget(view):
    attn = random_map(layers=1, heads=1, q=200, k=200)  # 40,000 cells, over the 128 x 128 hover budget
    trace = as_json(_views(attn)[view])["data"][0]
    assert "customdata" not in trace
    assert trace["hovertemplate"].startswith("query #%{y} → key #%{x}: %{z:")
