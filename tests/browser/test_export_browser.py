"""Real browser: 'Figure for a paper' on the temporal page renders and downloads the view that is on screen."""

import xml.etree.ElementTree as ET

import pytest
from browser_check import app_in_browser

from benchmarks.browser_support import tick_labels, wait_for_app

pytestmark = pytest.mark.browser


def test_the_figure_button_downloads_an_svg_of_the_chart_on_screen():
    with app_in_browser("temporal") as (page, shots):
        on_screen = tick_labels(page)  # the key tokens across the heatmap
        page.get_by_text("Figure for a paper").first.click()
        page.get_by_text("Render figure").click()
        download_button = page.get_by_text("Download attnviz-translate-rnn-additive.svg")
        download_button.wait_for(timeout=60_000)
        wait_for_app(page)
        page.screenshot(path=str(shots / "figure-for-paper.png"))
        with page.expect_download() as event:
            download_button.click()
        download = event.value
        assert download.suggested_filename == "attnviz-translate-rnn-additive.svg"
        root = ET.parse(download.path()).getroot()
        texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert on_screen and set(on_screen) <= set(texts)
        assert {"weight", "query (decoder step)", "key (source token)"} <= set(texts)
        assert page.locator("[data-testid=stException]").count() == 0
