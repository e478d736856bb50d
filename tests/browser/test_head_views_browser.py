"""The pretrained page's head views in a real browser: a tab switch reruns only the views (a fragment), and a
tile clicked in the overview opens that head, with the layer and head sliders above moved to it."""

from __future__ import annotations

import pytest
from browser_check import app_in_browser

from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract
from benchmarks.browser import OVERVIEW_DRAWN
from benchmarks.browser_support import tick_labels, wait_for_app

pytestmark = pytest.mark.browser
TEXT = "Every head of every layer, one click away: internationalisation, 注意力, and [brackets]."


def slider_value(page, label: str) -> str:
    """The value a slider shows ("Layer", then its value, then its range's ends)."""
    text = page.locator("[data-testid=stSlider]").filter(has_text=label).first.inner_text()
    return text.split()[1]


INSIDE = """() => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.offsetParent !== null).every(p => {
    const frame = p.querySelector('.main-svg').getBoundingClientRect();
    const texts = [...p.querySelectorAll('g.xtick text, g.ytick text, text.xtitle, text.ytitle')];
    return texts.length > 0 && texts.every(t => { const r = t.getBoundingClientRect();
        return r.left >= frame.left - 0.5 && r.right <= frame.right + 0.5 && r.bottom <= frame.bottom + 0.5; });
})"""


def labels_inside(page) -> bool:
    """Every tick label and axis title of the visible charts lies inside its chart (the margins are fixed, not
    measured by plotly: figures.common.token_margins)."""
    return page.evaluate(INSIDE)


def test_the_all_heads_tab_draws_the_overview_and_a_clicked_tile_opens_its_head():
    tokens = list(extract(hf.load(), TEXT).maps["self"].key_tokens)
    with app_in_browser("pretrained", height=1600) as (page, shots):
        box = page.locator("textarea").first
        box.fill(TEXT)
        box.press("Control+Enter")
        wait_for_app(page)
        assert tick_labels(page) == tokens
        assert labels_inside(page)
        page.get_by_role("tab", name="All heads").click()
        page.wait_for_function(OVERVIEW_DRAWN, timeout=30_000)
        wait_for_app(page)
        assert labels_inside(page)
        assert page.locator("textarea").first.input_value() == TEXT  # the rest of the page is untouched
        overview = next(p for p in page.locator(".js-plotly-plot").all() if p.is_visible())
        tiles = overview.locator(".nsewdrag").first.bounding_box()  # 6 layers x 12 heads of MiniLM
        page.mouse.click(tiles["x"] + tiles["width"] * 4.5 / 12, tiles["y"] + tiles["height"] * 1.5 / 6)
        page.wait_for_function("() => document.body.innerText.includes('layer 1, head 4')", timeout=30_000)
        wait_for_app(page)
        assert page.get_by_role("tab", name="Single head").get_attribute("aria-selected") == "true"
        assert (slider_value(page, "Layer"), slider_value(page, "Head")) == ("1", "4")
        assert tick_labels(page) == tokens
        assert page.locator("[data-testid=stException]").count() == 0
        page.screenshot(path=str(shots / "pretrained-tile-opened.png"))
