"""'Figure for a paper' under the views that lacked it: all heads and head view (pretrained), the analysis
page's pair views, the Why page and the long-inputs page. A press renders exactly the figure on screen.
"""

import html
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from test_export_page import downloads, open_popover
from test_pages import open_page

from attnviz import figures
from attnviz.figures import export
from attnviz.maps import analysis, statistics
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract

from chart_data import charts

pytestmark = pytest.mark.slow  # every test renders through kaleido, which starts a chromium: 5-25 s each

SVG = "{http://www.w3.org/2000/svg}text"
TEXT = "The cat sat on the mat because it was tired."


def svg_texts(data: bytes) -> set[str]:
    return {"".join(t.itertext()) for t in ET.fromstring(data).iter(SVG)}


def render(at, key: str):
    open_popover(at, key)
    assert at.button(key=f"{key}-render") is not None  # the popover's button is there before any press
    at.button(key=f"{key}-render").click().run()
    assert not at.exception, at.exception
    return at.session_state[f"{key}-file"]


def test_the_all_heads_tab_exports_the_tiled_overview_with_its_colour_bar():
    at = open_page("pages/pretrained.py", hf_text=TEXT, hf_tab="All heads")
    stored = render(at, "hf_overview_paper")
    assert downloads(at)["hf_overview_paper-download"] == "Download attnviz-pretrained-self-all-heads.svg"
    attn = extract(hf.load(), TEXT).maps["self"]
    assert stored["data"] == export.to_bytes(figures.overview(attn), export.options())
    texts = svg_texts(stored["data"])
    assert {"weight", "0", "0.25", "0.5", "0.75", "1", "head", "layer"} <= texts  # colour bar and axis titles


def test_the_head_view_tab_exports_its_lines_and_tokens():
    at = open_page("pages/pretrained.py", hf_text=TEXT, hf_tab="Head view", hf_layer="2", hf_head="3")
    stored = render(at, "hf_head_view_paper")
    assert downloads(at)["hf_head_view_paper-download"] == "Download attnviz-pretrained-self-layer2-lines.svg"
    attn = extract(hf.load(), TEXT).maps["self"]
    assert stored["data"] == export.to_bytes(figures.head_view(attn, 2, [3]), export.options())
    assert set(attn.key_tokens) <= svg_texts(stored["data"])


def test_the_analysis_pages_pair_views_export():
    a_text, b_text = "The cat sat on the mat.", "The dog lay on the rug."
    at = open_page("pages/analysis.py", an_a=a_text, an_b=b_text)
    a, b = (extract(hf.load(), t).maps["self"] for t in (a_text, b_text))
    stored = render(at, "an_distances_paper")
    grid = figures.head_grid(analysis.head_distances(a, b), "JS distance")
    assert stored["data"] == export.to_bytes(grid, export.options())
    stored = render(at, "an_difference_paper")
    assert downloads(at)["an_difference_paper-download"] == "Download attnviz-pair-difference-layer0-head0.svg"
    title = "A - B, layer 0 head 0 (tokens of A)"
    difference = figures.difference(a.head(0, 0), b.head(0, 0), a.query_tokens, a.key_tokens, title=title)
    assert stored["data"] == export.to_bytes(difference, export.options())


def test_the_why_page_exports_its_charts():
    at = open_page("pages/why.py")
    stored = render(at, "why_bottleneck_paper")
    assert downloads(at)["why_bottleneck_paper-download"] == "Download attnviz-why-bottleneck-reverse-exact_match.svg"
    assert {"source length (tokens)", "beyond training"} <= svg_texts(stored["data"])
    stored = render(at, "why_memory_paper")
    assert "Download attnviz-why-memory.svg" in downloads(at).values()


def test_the_long_page_exports_the_overview_and_the_head():
    at = open_page("pages/long.py")
    stored = render(at, "long_overview_paper")
    assert downloads(at)["long_overview_paper-download"] == "Download attnviz-long-all-heads.svg"
    assert {"head", "layer"} <= svg_texts(stored["data"])
    stored = render(at, "long_head_chart_paper")
    assert downloads(at)["long_head_chart_paper-download"] == "Download attnviz-long-layer0-head0-max.svg"
    assert any(t.startswith("layer 0, head 0") for t in svg_texts(stored["data"]))


def test_the_pretrained_pages_analysis_panels_export():
    attn = extract(hf.load(), TEXT).maps["self"]
    at = open_page("pages/pretrained.py", hf_text=TEXT, hf_analysis="Rollout", hf_layer="2", hf_head="3")
    stored = render(at, "hf_rollout_pair_paper")
    assert downloads(at)["hf_rollout_pair_paper-download"] == "Download attnviz-hf-rollout-layer2.svg"
    rolled = figures.heatmap(analysis.rollout(attn), 2, 0, title="rollout through layer 2 (all heads)")
    assert stored["data"] == export.to_bytes(rolled, export.options())
    stored = render(at, "hf_raw_pair_paper")
    raw = figures.heatmap(attn, 2, 3, title="raw: layer 2, head 3")
    assert stored["data"] == export.to_bytes(raw, export.options())
    at = open_page("pages/pretrained.py", hf_text=TEXT, hf_analysis="Head similarity")
    stored = render(at, "hf_similarity_paper")
    similar = figures.similarity(analysis.head_similarity(attn), attn.n_heads)
    assert stored["data"] == export.to_bytes(similar, export.options())
    at = open_page("pages/pretrained.py", hf_text=TEXT, hf_analysis="Head statistics")
    stored = render(at, "hf_stats_grid_paper")
    grid = figures.head_grid(statistics.head_statistics(attn)["previous"], "previous", zmax=1.0, fmt=".2f")
    assert stored["data"] == export.to_bytes(grid, export.options())
    assert "previous" in svg_texts(stored["data"])


def test_a_chart_drawn_with_a_paper_stem_exports_exactly_that_chart():
    """charts.chart(..., paper=stem) puts the popover under the chart it draws (the NTM page's bits and memory)."""
    from attnviz.builtin.checkpoints import load_shipped
    from attnviz.builtin.models import ntm

    at = open_page("pages/memory.py")
    assert open_popover(at, "ntm_memory_paper").button(key="ntm_memory_paper-render") is not None
    stored = render(at, "ntm_bits_paper")
    assert downloads(at)["ntm_bits_paper-download"] == "Download attnviz-ntm-bits.svg"
    pattern = np.random.default_rng(6).integers(0, 2, (6, 8)).astype(np.float32)  # the page's default
    run = ntm.run_copy(load_shipped("copy", "ntm"), pattern)
    assert stored["data"] == export.to_bytes(figures.bits(run.sequence, run.output), export.options())


def test_every_home_illustration_exports_the_figure_on_screen():
    at = open_page("pages/home.py")
    at.toggle(key="home-interactive").set_value(True).run()  # the charts, to compare the exports with
    for number in range(4):
        key = f"home-{number}_paper"
        stored = render(at, key)
        assert downloads(at)[f"{key}-download"] == f"Download attnviz-home-idea{number + 1}.svg"
        texts = svg_texts(stored["data"])
        spec = charts(at)[f"home-{number}"]
        shown = {html.unescape(t) for axis in ("xaxis", "yaxis") for t in spec["layout"][axis].get("ticktext", [])}
        assert (shown or number == 3) and shown <= texts, (number, shown - texts)  # every token label on screen
        title = spec["layout"].get("title", {}).get("text")
        assert title is None or html.unescape(title) in texts


@pytest.mark.parametrize(
    "page",
    [
        "home",
        "temporal",
        "self_attention",
        "compare",
        "memory",
        "hierarchical",
        "spatial",
        "analysis",
        "why",
        "two_models",
        "attribution",
        "long",
    ],
)
def test_every_chart_a_page_draws_has_its_figure_button(page):
    """Each page as a visitor first sees it: as many 'Figure for a paper' popovers as charts (one under each),
    all closed, so none of their widgets is drawn until one is opened."""
    at = open_page(f"pages/{page}.py")
    assert not at.exception
    drawn = [e.proto.id.split("-", 2)[-1] for e in at.get("plotly_chart")] or at.get("image")  # home: static pictures
    popovers = [p.proto.popover for p in at.get("popover") if p.proto.popover.label == "Figure for a paper"]
    assert drawn and len(popovers) == len(drawn), (drawn, popovers)
    assert not any(p.open for p in popovers)
    assert not [b.key for b in at.button if b.key and b.key.endswith("-render")]  # nothing inside is sent
    key = popovers[0].id.rsplit("-", 1)[0].split("-", 2)[-1]  # "$$ID-<hash>-<key>-open" -> the figure's key
    open_popover(at, key)
    assert [b.key for b in at.button if b.key and b.key.endswith("-render")] == [f"{key}-render"]
