"""Faults in a real server and real browsers (loopback only): a browser closed mid-run, a server restart."""

from urllib.parse import parse_qs, quote, urlsplit

import numpy as np
import pytest
from browser_check import need_chromium

from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract
from benchmarks.browser_support import (
    DRAWN_WORD,
    PLOTTED_Z,
    browser_page,
    free_port,
    streamlit_server,
    tick_labels,
    wait_for_app,
)

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def needs_chromium():
    need_chromium()


def view_url(base: str, text: str, layer: int, head: int) -> str:
    return f"{base}/pretrained?hf_layer={layer}&hf_head={head}&hf_text={quote(text)}"


def assert_shows(page, text: str, layer: int, head: int) -> None:
    """The page's single-head chart is exactly MiniLM's attention for ``text`` at (layer, head)."""
    expected = extract(hf.load(), text).maps["self"]
    page.wait_for_function(DRAWN_WORD, arg=expected.key_tokens[-2], timeout=120_000)
    wait_for_app(page)
    assert tick_labels(page) == list(expected.key_tokens)
    np.testing.assert_allclose(np.array(page.evaluate(PLOTTED_Z)), expected.head(layer, head), atol=1e-6)


def test_a_browser_closed_mid_run_leaves_the_other_sessions_working():
    long_text = " ".join(f"word{i}" for i in range(400))  # a run long enough to be closed in the middle
    with streamlit_server() as url, browser_page() as other:
        leaving = other.context.browser.new_page()
        leaving.goto(view_url(url, long_text, 0, 0), wait_until="commit")
        leaving.wait_for_timeout(1_500)  # the server is running it now
        leaving.close()
        text = "The session that stayed still gets its own attention."
        other.goto(view_url(url, text, 3, 5))
        assert_shows(other, text, 3, 5)
        again = other.context.browser.new_page()  # and a new visitor is served as usual
        again.goto(view_url(url, "A new visitor arrives.", 1, 1))
        assert_shows(again, "A new visitor arrives.", 1, 1)


def test_a_share_link_reopens_the_same_view_after_the_server_restarts():
    text = "Share this view with a colleague."
    port = free_port()
    with streamlit_server(port=port) as url, browser_page() as page:
        page.goto(view_url(url, text, 4, 7))
        assert_shows(page, text, 4, 7)
        page.get_by_test_id("stExpander").get_by_text("Share this view").click()
        link = page.locator("[data-testid=stCode] code").last.inner_text().strip()
    assert parse_qs(urlsplit(link).query)["hf_head"] == ["7"]
    with streamlit_server(port=port), browser_page() as page:  # a new process: nothing of the old one is left
        page.goto(link)
        assert_shows(page, text, 4, 7)
