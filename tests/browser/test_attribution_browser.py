"""The 'Attention vs attribution' page in a real browser: both charts draw, with the four scores as bars."""

from __future__ import annotations

import pytest
from browser_check import app_in_browser

from benchmarks.browser_support import wait_for_app

pytestmark = pytest.mark.browser


def test_in_a_browser_the_page_draws_the_correlations_the_bars_and_follows_a_new_token():
    with app_in_browser("attribution", height=1500) as (page, shots):
        assert page.locator("h1").first.inner_text() == "Attention vs attribution"
        assert page.locator("[data-testid=stException]").count() == 0
        charts = page.locator(".js-plotly-plot")
        assert charts.count() == 2  # the correlation grid and the bars
        assert charts.first.locator(".heatmaplayer image, .heatmaplayer .hm").count() >= 1
        legend = charts.nth(1).locator(".legendtext").all_text_contents()
        assert legend == ["gradient x input", "integrated gradients", "attention rollout", "raw attention"]
        assert charts.nth(1).locator(".bars .point").count() == 4 * 13  # 13 MiniLM tokens, four scores each
        body = page.locator("body").inner_text()
        assert "Neither attention nor attribution is an explanation." in body
        assert "completeness error" in body
        page.screenshot(path=str(shots / "attribution.png"))
        page.locator("[data-testid=stSelectbox]").first.click()  # the token picker: choose "cat" instead
        page.get_by_role("option", name="2: cat").click()
        page.wait_for_function("() => document.body.innerText.includes('“cat” (position 2)')", timeout=60_000)
        wait_for_app(page)
        assert page.locator("[data-testid=stException]").count() == 0
        assert page.locator(".js-plotly-plot").count() == 2
