"""Real browser: `streamlit run app.py` on 127.0.0.1, driven by Playwright in Debian's chromium."""

import os
from pathlib import Path

import pytest

from attnviz import hf
from attnviz.extract import extract

from browser_support import browser_page, chromium_path, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
PAGES = {
    "home": "attnviz: see attention",
    "temporal": "Temporal attention in a seq2seq RNN",
    "self-attention": "Multi-head self-attention in a tiny Transformer",
    "pretrained": "Attention in a pretrained model",
    "compare": "Temporal vs multi-head attention, side by side",
    "analysis": "Corpus statistics and differences",
}
SHOTS = Path(os.environ.get("ATTNVIZ_SCREENSHOTS", "/tmp/attnviz-screenshots"))


@pytest.fixture(scope="module")
def page():
    if chromium_path() is None:
        message = "chromium is not installed (apt-get install chromium); browser tests need /usr/bin/chromium"
        if os.environ.get("ATTNVIZ_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server() as url, browser_page(height=1600) as p:
        p.base_url = url
        yield p


def tick_labels(page, axis: str = "xtick") -> list[str]:
    return page.evaluate(
        """axis => {
            const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
            return [...plot.querySelectorAll('g.' + axis + ' text')].map(t => t.textContent);
        }""",
        axis,
    )


@pytest.mark.parametrize("path, title", list(PAGES.items()))
def test_each_page_opens_and_draws(page, path, title):
    page.goto(f"{page.base_url}/{path}")
    wait_for_app(page)
    assert page.locator("h1").first.inner_text() == title
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.locator(".js-plotly-plot").count() >= 1
    page.screenshot(path=str(SHOTS / f"{path}.png"))


def test_typing_a_sentence_on_the_pretrained_page_draws_its_tokens(page):
    sentence = "Attention lets every word look at every other word."
    page.goto(f"{page.base_url}/pretrained")
    wait_for_app(page)
    box = page.locator("textarea").first
    box.fill(sentence)
    box.press("Control+Enter")
    wait_for_app(page)
    expected = list(extract(hf.load(), sentence).maps["self"].key_tokens)
    page.wait_for_function(
        "n => [...document.querySelectorAll('.js-plotly-plot g.xtick text')].length >= n", arg=len(expected)
    )
    assert tick_labels(page) == expected
    assert tick_labels(page, "ytick") == expected
    page.screenshot(path=str(SHOTS / "pretrained-typed.png"))
