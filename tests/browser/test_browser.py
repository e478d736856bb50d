"""Real browser: `streamlit run app.py` on 127.0.0.1, driven by Playwright in Debian's chromium."""

import contextlib
import os
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import numpy as np
import pytest
from browser_check import need_chromium

from attnviz.builtin import home
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract
from benchmarks.browser import HOME_DRAWN
from benchmarks.browser_support import (
    DRAWN_WORD,
    PLOTTED_Z,
    browser_page,
    streamlit_server,
    tick_labels,
    wait_for_app,
)
from benchmarks.proxy import forwarding_proxy

pytestmark = pytest.mark.browser
PAGES = {
    "home": "attnviz: see attention",
    "temporal": "Temporal attention in a seq2seq RNN",
    "self_attention": "Multi-head self-attention in a tiny Transformer",
    "pretrained": "Attention in a pretrained model",
    "compare": "Temporal vs multi-head attention, side by side",
    "analysis": "Corpus statistics and differences",
    "memory": "Attention over memory: a Neural Turing Machine",
    "hierarchical": "Hierarchical attention",
    "spatial": "Spatial attention",
    "why": "Why attention, measured",
    "long": "Attention on long inputs",
    "attribution": "Attention vs attribution",
    "generation": "Generation step by step",
    "two_models": "Two models side by side",
    "heads": "Which heads matter",
    "image_to_text": "Image to text",
}
STATIC_PICTURES = {"home"}  # four SVG pictures until the visitor switches on "Interactive pictures"
# image_to_text: no model by default (the operator gives one); generation draws: its default is the packaged decoder
NO_CHART_BY_DEFAULT = {"image_to_text", *STATIC_PICTURES}
SHOTS = Path(os.environ.get("ATTNVIZ_SCREENSHOTS", "/tmp/attnviz-screenshots"))


@pytest.fixture(scope="module")
def page():
    need_chromium()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server() as url, browser_page(height=1600) as p:
        p.base_url = url
        yield p


def test_every_page_url_matches_its_file_so_a_fresh_server_finds_deep_links():
    app = (Path(__file__).resolve().parents[2] / "app.py").read_text()
    pairs = re.findall(r'"pages/(\w+)\.py".*?url_path="([\w-]+)"', app, re.S)
    assert all(file == url for file, url in pairs), pairs  # Streamlit's first run knows pages by file name
    assert {file for file, _ in pairs} == set(PAGES)


def test_a_fresh_servers_first_request_to_a_page_comes_through_app_py():
    """Streamlit serves a fresh server's first request in legacy pages/ mode (attnviz/app/legacy_pages.py):
    without the guard this page would come without app.py's navigation and sidebar."""
    need_chromium()
    with streamlit_server() as url, browser_page() as fresh:
        fresh.goto(f"{url}/temporal")  # the very first request of this server
        wait_for_app(fresh)
        assert fresh.locator("h1").first.inner_text() == PAGES["temporal"]
        sidebar = fresh.locator("[data-testid=stSidebar]").inner_text()
        assert "shows what attention looks at" in sidebar  # app.py's sidebar caption
        assert "Hierarchical attention" in sidebar  # app.py's navigation, with its page titles


@contextlib.contextmanager
def _through(url: str, headers: dict[str, str] | None):
    """The server's URL straight, or that of a loopback reverse proxy adding ``headers`` to every request."""
    if headers is None:
        yield url
    else:
        with forwarding_proxy(urlsplit(url).port, headers) as proxied:
            yield proxied


def test_only_a_browser_that_opened_the_operator_link_may_load_a_local_folder(tmp_path, monkeypatch):
    """ATTNVIZ_HOSTED unset: a browser straight on loopback and one behind a proxy (with or without a forwarding
    header) are visitors, who get the allow-list and one sentence that tells nothing about the folder; the same
    browser that opens the link the server printed (once per process) is the operator, and the token leaves its
    address bar."""
    from hf_models import save_tiny

    need_chromium()
    monkeypatch.delenv("ATTNVIZ_HOSTED", raising=False)
    folder = quote(str(save_tiny("gpt2", tmp_path / "tiny-gpt2")))
    with streamlit_server() as url:
        for headers in (None, {}, {"X-Forwarded-For": "203.0.113.7"}):
            with _through(url, headers) as entry, browser_page() as browser:
                browser.goto(f"{entry}/pretrained?hf_model={folder}")
                wait_for_app(browser)
                text = browser.locator("[data-testid=stMain]").inner_text()
                assert "only loads these models for visitors" in text and "decoder model" not in text, text[:300]
                assert "becomes the operator" in browser.locator("[data-testid=stSidebar]").inner_text()
                [token] = re.findall(r"/\?operator=([\w-]+)", url.log.read_text())  # printed once, so far
                browser.goto(f"{entry}/pretrained?hf_model={folder}&operator={token}")
                wait_for_app(browser)
                text = browser.locator("[data-testid=stMain]").inner_text()
                assert "decoder model" in text and "only loads these models" not in text, text[:300]
                assert "You are the operator" in browser.locator("[data-testid=stSidebar]").inner_text()
                assert "operator" not in urlsplit(browser.url).query and token not in browser.url
        assert url.log.read_text().count("?operator=") == 1  # six sessions, one line


@pytest.mark.parametrize("path, title", list(PAGES.items()))
def test_each_page_opens_and_draws(page, path, title):
    page.goto(f"{page.base_url}/{path}")
    wait_for_app(page)
    assert page.locator("h1").first.inner_text() == title
    assert page.locator("[data-testid=stException]").count() == 0
    assert "Page not found" not in page.content()
    assert page.locator(".js-plotly-plot").count() >= (0 if path in NO_CHART_BY_DEFAULT else 1)
    if path in STATIC_PICTURES:
        page.wait_for_function(HOME_DRAWN, timeout=30_000)
    page.screenshot(path=str(SHOTS / f"{path}.png"))


def test_the_home_pictures_become_interactive_charts_of_the_same_maps(page):
    page.goto(f"{page.base_url}/")  # a later session at /home gets "Page not found"
    wait_for_app(page)
    page.wait_for_function(HOME_DRAWN, timeout=30_000)
    assert page.locator(".js-plotly-plot").count() == 0
    page.get_by_text("Interactive pictures").click()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .hm image').length >= 3", timeout=30_000)
    assert page.locator("[data-testid=stImage] img").count() == 0
    first = page.locator(".js-plotly-plot").first
    shown = [t.text_content() for t in first.locator("g.xtick text").all()]
    assert shown == list(home.shipped().temporal.key_tokens)


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


HOSTILE = '<a href="javascript:alert(1)">x</a> <img src=x onerror=alert(1)> **bold** $x$'


def test_hostile_text_creates_no_link_image_or_dialog(page):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{page.base_url}/pretrained?hf_words=True&hf_text={quote(HOSTILE)}")
    wait_for_app(page)
    page.goto(f"{page.base_url}/temporal?rnn_text={quote(HOSTILE)}")
    wait_for_app(page)
    for path in ("pretrained", "temporal"):
        page.goto(f"{page.base_url}/{path}")
        wait_for_app(page)
        box = page.locator("textarea" if path == "pretrained" else "input[aria-label='Input']").first
        box.fill(HOSTILE)
        box.press("Control+Enter" if path == "pretrained" else "Enter")
        wait_for_app(page)
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.locator("img[src='x']").count() == 0
        assert page.locator("[data-testid=stException]").count() == 0
        if path == "pretrained":
            assert "<" in tick_labels(page) and "**" in "".join(tick_labels(page))  # shown literally
        else:
            assert "'<'" in page.locator("[data-testid=stAlert]").first.inner_text()
    page.wait_for_timeout(500)
    assert dialogs == []


def test_eight_concurrent_sessions_each_get_their_own_attention(page):
    sentences = [
        f"Session {word} reads its own sentence about {word}."
        for word in ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
    ]
    model = hf.load()
    browser = page.context.browser
    sessions = [browser.new_page(viewport={"width": 1200, "height": 900}) for _ in sentences]
    try:
        for session, sentence in zip(sessions, sentences, strict=True):  # all eight run on the server at once
            session.goto(
                f"{page.base_url}/pretrained?hf_layer=2&hf_head=3&hf_text={quote(sentence)}", wait_until="commit"
            )
        for session, sentence in zip(sessions, sentences, strict=True):
            expected = extract(model, sentence).maps["self"]
            session.wait_for_function(DRAWN_WORD, arg=expected.key_tokens[-2], timeout=120_000)
            wait_for_app(session)
            assert tick_labels(session) == list(expected.key_tokens)
            np.testing.assert_allclose(np.array(session.evaluate(PLOTTED_Z)), expected.head(2, 3), atol=1e-6)
    finally:
        for session in sessions:
            session.close()


def test_the_sidebar_shows_every_page_under_its_section_with_none_folded_away(page):
    """(Last in the file: the module's shared page must not be open while the tests above start their own
    browsers.) app.py's st.navigation(SECTIONS, expanded=True): the three section headers and all 15 page links are on
    screen; Streamlit's default would show 10 and a 'View 4 more' button."""
    app = (Path(__file__).resolve().parents[2] / "app.py").read_text()
    titles = re.findall(r'st\.Page\(\s*"pages/\w+\.py",\s*title="([^"]+)"', app)
    assert len(titles) == len(PAGES)
    page.goto(f"{page.base_url}/")  # the default page; a second /home visit is "Page not found"
    wait_for_app(page)
    nav = page.locator("[data-testid=stSidebarNav]")
    for section in ("Start", "Built-in models", "Pretrained models"):
        assert nav.get_by_text(section, exact=True).is_visible(), section
    hidden = [t for t in titles if not nav.get_by_role("link", name=t).is_visible()]
    assert not hidden, hidden
    assert "View" not in nav.inner_text()  # no "View N more" / "View less"
