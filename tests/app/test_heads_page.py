"""The multi-head section of the 'Why attention' page and the 1-head model on the self-attention page."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz.app.why_heads import SHORT
from attnviz.builtin import experiments

from chart_data import charts, decode

APP = Path(__file__).resolve().parents[2] / "app.py"


def open_page(page: str = "pages/why.py") -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    at.switch_page(page)
    return at.run()


@pytest.fixture(scope="module")
def page() -> AppTest:
    return open_page()


def test_the_section_shows_the_shipped_results(page):
    assert not page.exception, page.exception
    assert any(h.value.startswith("5. Multi-head") for h in page.header)
    shipped = experiments.load("heads")["models"]
    [table] = [t.value for t in page.dataframe if "heads × width" in t.value.columns]
    assert list(table["parameters"]) == [r["parameters"] for r in shipped.values()]
    assert list(table["exact match"]) == [round(r["exact_match"], 4) for r in shipped.values()]
    drawn = {trace["name"]: decode(trace["y"]) for trace in charts(page)["why_agreement"]["data"]}
    for name, result in shipped.items():
        np.testing.assert_array_equal(drawn[SHORT[name]], [h["agreement"] for h in result["per_head"]])
    assert f"{shipped['transformer']['parameters']:,}" in " ".join(m.value for m in page.markdown)


def test_the_example_maps_are_the_results_file(page):
    example = experiments.load("heads")["example"]
    page.radio(key="why_heads_layer").set_value(0).run()
    panels = [decode(trace["z"]) for trace in charts(page)["why_heads_maps"]["data"] if trace["type"] == "heatmap"]
    expected = [example["maps"]["transformer-1head"][0][0], *example["maps"]["transformer"][0]]
    assert len(panels) == 5
    for drawn, weights in zip(panels, expected, strict=True):
        np.testing.assert_allclose(drawn, weights, rtol=1e-6)


def test_a_hosted_rerun_is_capped(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    at = open_page()
    at.button(key="why_button_heads").click().run()
    assert not at.exception, at.exception
    assert "50 fresh reverse words" in " ".join(c.value for c in at.caption) and "your rerun" in " ".join(
        c.value for c in at.caption
    )


def test_the_self_attention_page_offers_the_one_head_model_on_reverse_only():
    at = open_page("pages/self_attention.py")
    assert not at.exception, at.exception
    assert not [r for r in at.radio if r.key == "tf_model"]  # translate: the 4-head Transformer only
    at.selectbox(key="tf_task").set_value("reverse")
    at.text_input(key="tf_text").set_value("attention").run()
    at.radio(key="tf_model").set_value("transformer-1head").run()
    assert not at.exception, at.exception
    assert not [s for s in at.slider if s.key == "tf_head"]  # one head: no head slider
    assert any("noitnetta" in m.value for m in at.markdown)
    links = [element.proto.label for element in at.get("page_link")]
    assert any("multi-head as groups" in label for label in links), links


@pytest.mark.browser
def test_in_a_browser_the_section_draws_its_maps_and_bars():
    from browser_check import app_in_browser

    from benchmarks.browser_support import wait_for_app

    with app_in_browser("why") as (page, shots):
        header = page.get_by_role("heading", name="5. Multi-head attention as groups")
        header.evaluate("element => element.scrollIntoView({block: 'start'})")
        wait_for_app(page)
        assert page.locator("[data-testid=stException]").count() == 0
        heads = page.locator(".js-plotly-plot").filter(has_text="cross-attention head (layer, head)")
        assert heads.locator(".barlayer .trace").count() == 4  # 2 charts x 2 models (other sections draw bars too)
        assert page.locator(".js-plotly-plot .heatmaplayer").count() >= 5  # 4 heads and 1 head, one input
        page.screenshot(path=str(shots / "why-heads.png"))
