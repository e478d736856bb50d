"""The 'Figure for a paper' control: a press renders the exact view on screen into a download; nothing before."""

import io
import xml.etree.ElementTree as ET

from PIL import Image
from test_pages import builtin, open_page

from attnviz import figures
from attnviz.app.paper import opener
from attnviz.builtin.tasks import get_task
from attnviz.figures import export

TEXT = "the red car sees my old dog"


def open_popover(at, key: str):
    """Open the 'Figure for a paper' popover ``key`` as a click does (its contents are drawn only while open)."""
    at.session_state[opener(key)] = True
    return at.run()


def downloads(at) -> dict[str, str]:
    return {d.key: d.label for d in at.get("download_button")}


def test_the_temporal_page_renders_the_view_on_screen_into_an_svg_download():
    at = open_page("pages/temporal.py", rnn_text=TEXT)
    nothing_yet = "rnn_heatmap_paper-download" not in downloads(at) and "rnn_heatmap_paper-file" not in at.session_state
    assert nothing_yet
    open_popover(at, "rnn_heatmap_paper")
    at.selectbox(key="rnn_heatmap_paper-font_family").set_value("DejaVu Serif")
    at.button(key="rnn_heatmap_paper-render").click().run()
    assert not at.exception, at.exception
    assert downloads(at)["rnn_heatmap_paper-download"] == "Download attnviz-translate-rnn-additive.svg"

    result = builtin("translate", "rnn-additive", TEXT)
    attn = result.maps["temporal"]
    gold = get_task("translate").reference(result.source).gold_rows(result.output)
    view = figures.heatmap(attn, 0, 0, gold=gold)  # what the page draws (gold overlay on by default)
    chosen = export.options(font_family="DejaVu Serif")
    stored = at.session_state["rnn_heatmap_paper-file"]
    assert stored["data"] == export.to_bytes(view, chosen)
    texts = {"".join(t.itertext()) for t in ET.fromstring(stored["data"]).iter("{http://www.w3.org/2000/svg}text")}
    assert set(attn.key_tokens) | set(attn.query_tokens) <= texts

    at.text_input(key="rnn_text").set_value("my old dog sees the red car").run()  # another view: no stale file
    assert "rnn_heatmap_paper-download" not in downloads(at)
    assert "The view changed since the figure was rendered: render it again." in [c.value for c in at.caption]


def test_the_pretrained_page_gives_a_print_resolution_png_and_bad_sizes_are_one_sentence():
    text = "Attention is all you need."
    at = open_popover(open_page("pages/pretrained.py", hf_text=text, hf_layer="4", hf_head="7"), "hf_heatmap_paper")
    at.radio(key="hf_heatmap_paper-fmt").set_value("png")
    at.number_input(key="hf_heatmap_paper-width").set_value(3.5)
    at.number_input(key="hf_heatmap_paper-height").set_value(3.0)
    at.button(key="hf_heatmap_paper-render").click().run()
    assert not at.exception, at.exception
    assert downloads(at)["hf_heatmap_paper-download"] == "Download attnviz-pretrained-self-layer4-head7.png"
    png = Image.open(io.BytesIO(at.session_state["hf_heatmap_paper-file"]["data"]))
    assert png.size == (1050, 900)  # 3.5 x 3 in at 300 dpi

    at.number_input(key="hf_heatmap_paper-width").set_value(60.0).run()
    at.button(key="hf_heatmap_paper-render").click().run()
    assert "hf_heatmap_paper-download" not in downloads(at)
    assert [e.value for e in at.error] == [
        "A figure of 60 x 3 in is 5760 x 288 pixels\\: each side must be 100 to 4000 pixels \\(1\\.04 to 41\\.7 "
        "inches\\)\\."
    ]


def test_a_closed_popover_draws_nothing_and_keeps_the_options_chosen():
    at = open_popover(open_page("pages/pretrained.py", hf_text="Attention is all you need."), "hf_heatmap_paper")
    at.radio(key="hf_heatmap_paper-fmt").set_value("png")
    at.number_input(key="hf_heatmap_paper-dpi").set_value(150)
    at.button(key="hf_heatmap_paper-render").click().run()
    assert downloads(at)["hf_heatmap_paper-download"] == "Download attnviz-pretrained-self-layer0-head0.png"
    at.session_state[opener("hf_heatmap_paper")] = False  # closed, as a click outside it does
    at.run()
    at.text_area(key="hf_text").set_value("Another sentence entirely.").run()  # reruns while it is closed
    assert "hf_heatmap_paper-download" not in downloads(at)
    assert not [r for r in at.radio if r.key == "hf_heatmap_paper-fmt"]
    at = open_popover(at, "hf_heatmap_paper")
    assert at.radio(key="hf_heatmap_paper-fmt").value == "png"
    assert at.number_input(key="hf_heatmap_paper-dpi").value == 150
    assert not at.warning and not at.exception  # kept values, not a widget given a value twice
    assert "The view changed since the figure was rendered: render it again." in [c.value for c in at.caption]
