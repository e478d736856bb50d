"""The long-input page in a real browser: it draws the overview and a head, and a box drawn on the head zooms."""

from __future__ import annotations

import pytest
from browser_check import app_in_browser

from benchmarks.browser_support import wait_for_app

pytestmark = pytest.mark.browser
TEXT = " ".join(["attention over a long text spreads thin, but some heads keep looking at the first token"] * 26)
ZOOM_CAPTION = "Zoom at full resolution"


def zoom_caption(page) -> str:
    return page.get_by_text(ZOOM_CAPTION).first.inner_text()


def test_in_a_browser_the_page_draws_every_head_one_head_and_a_box_zooms():
    with app_in_browser("long", height=2400) as (page, shots):
        assert page.locator("h1").first.inner_text() == "Attention on long inputs"
        box = page.locator("textarea").first
        box.fill(TEXT)
        box.press("Control+Enter")
        wait_for_app(page)
        assert page.locator("[data-testid=stException]").count() == 0
        assert page.locator(".js-plotly-plot").count() == 5  # overview, sink, entropy, head, zoom
        overview = page.locator(".js-plotly-plot").first
        assert overview.locator(".heatmaplayer image, .heatmaplayer .hm").count() >= 1
        head = page.locator(".js-plotly-plot").nth(3)
        assert "block" not in head.locator(".gtitle").text_content()  # under 512 tokens: every token shown
        assert "queries 0-255, keys 0-255" in zoom_caption(page)
        page.screenshot(path=str(shots / "long.png"))
        tiles = overview.locator(".nsewdrag").first.bounding_box()  # 6 layers x 12 heads of MiniLM
        page.mouse.click(tiles["x"] + tiles["width"] * 3.5 / 12, tiles["y"] + tiles["height"] * 2.5 / 6)
        page.wait_for_function("() => document.body.innerText.includes('layer 2, head 3')", timeout=30_000)
        wait_for_app(page)
        head = page.locator(".js-plotly-plot").nth(3)
        assert head.locator(".gtitle").text_content().startswith("layer 2, head 3")
        head.scroll_into_view_if_needed()  # the mouse acts in the viewport: bring the head view into it first
        area = head.locator(".nsewdrag").first.bounding_box()  # drag a box in the lower right quarter
        page.mouse.move(area["x"] + area["width"] * 0.6, area["y"] + area["height"] * 0.7)
        page.mouse.down()
        page.mouse.move(area["x"] + area["width"] * 0.8, area["y"] + area["height"] * 0.9, steps=8)
        page.mouse.up()
        page.wait_for_function(
            f"() => !document.body.innerText.includes('{ZOOM_CAPTION}: queries 0-255, keys 0-255')", timeout=30_000
        )
        wait_for_app(page)
        assert "queries 0-255" not in zoom_caption(page)
        assert page.locator("[data-testid=stException]").count() == 0
        page.locator(".js-plotly-plot").nth(4).scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "long-head.png"))
