"""A 5,000-character token label is cut to MAX_LABEL_CHARS with an ellipsis, on screen and in an export, so the
chart keeps its room (it shrank to 2 x 2 pixels while `figure` said 'wrote')."""

import xml.etree.ElementTree as ET

import numpy as np

from attnviz import figures
from attnviz.figures import export
from attnviz.figures.common import MAX_LABEL_CHARS
from attnviz.maps.attention_map import AttentionMap

SVG = "{http://www.w3.org/2000/svg}"
TOKENS = ("the", "x" * 5000, "cat")
CUT = "x" * (MAX_LABEL_CHARS - 1) + "…"


def attention() -> AttentionMap:
    return AttentionMap(np.full((1, 1, 3, 3), 1 / 3, np.float32), TOKENS, TOKENS, "self")


def test_the_screen_figure_cuts_the_label_and_keeps_its_margins():
    fig = figures.heatmap(attention(), 0, 0)
    assert list(fig.layout.xaxis.ticktext) == ["the", CUT, "cat"] == list(fig.layout.yaxis.ticktext)
    assert len(CUT) == MAX_LABEL_CHARS == 24
    assert fig.layout.margin.l < 400  # the margin holds 24 characters, not 5,000
    assert np.asarray(fig.data[0].customdata)[1, 1] == f"{CUT} → {CUT}"  # hover: the same labels


def test_the_exported_svg_draws_the_chart_with_the_cut_label():
    root = ET.fromstring(export.to_bytes(figures.heatmap(attention(), 0, 0), export.options()))
    [image] = root.iter(f"{SVG}image")  # the heatmap's cells, drawn as one image
    assert float(image.get("width")) > 200 and float(image.get("height")) > 150  # of a 576 x 432 page (was 2 x 2)
    assert CUT in {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}
