"""Browser timings: cold start, submit -> heatmap drawn, overview drawn, server peak memory."""

from __future__ import annotations

import contextlib
import statistics
import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from benchmarks.browser_support import browser_page, chromium_path, streamlit_server, wait_for_app

# Each marker must be ONE token of the model: the detector waits for it as the first tick. "foxtrot" (WordPiece:
# fox ##tro ##t) never appeared, so every run of 6 or more submissions counted one drawn submission as lost.
MARKERS = ("alpha", "bravo", "charlie", "delta", "echo", "falcon", "golf", "hotel", "india", "juliet")
DRAWN_TICKS = """word => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
    const ticks = plot ? [...plot.querySelectorAll('g.xtick text')].map(t => t.textContent) : [];
    return ticks[1] === word && !!plot.querySelector('.hm image, .heatmaplayer image');
}"""
# The home page's four pictures are SVG images (attnviz/results/home/); drawn once each has loaded and has a size.
HOME_DRAWN = """() => {
    const pictures = [...document.querySelectorAll('[data-testid=stImage] img')];
    return pictures.length >= 4 && pictures.every(p => p.complete && p.naturalWidth > 0 && p.width > 100);
}"""
OVERVIEW_DRAWN = """() => {
    const tab = [...document.querySelectorAll('[role=tab]')].find(t => t.innerText.trim() === 'All heads');
    const panel = tab && document.getElementById(tab.getAttribute('aria-controls'));
    const image = panel && panel.querySelector('.js-plotly-plot .hm image');
    return !!image && panel.offsetParent !== null && image.getBoundingClientRect().width > 100;
}"""


def peak_memory_mb(pid: int) -> float:
    """The server's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def _timed_server():
    start = time.perf_counter()  # the browser is already up: cold start counts the app, not chromium
    with streamlit_server() as url:
        yield url, start


def browser(sentence_words: list[str], repeats: int) -> dict | None:
    """Times measured in headless chromium against `streamlit run app.py` (None without chromium)."""
    if chromium_path() is None:
        return None
    with browser_page(height=1400) as page, _timed_server() as (url, start):
        page.goto(f"{url}/home")
        wait_for_app(page, settle_ms=300)
        page.wait_for_function(HOME_DRAWN, timeout=60_000)
        cold_start = time.perf_counter() - start
        page.goto(f"{url}/pretrained")
        wait_for_app(page)
        submit, overview, timeouts = [], [], 0
        for run in range(repeats):
            box = page.locator("textarea").first
            marker = MARKERS[run % len(MARKERS)]  # a new text each run, so the model really runs
            box.fill(" ".join([marker] + sentence_words))
            t0 = time.perf_counter()
            box.press("Control+Enter")
            try:
                page.wait_for_function(DRAWN_TICKS, arg=marker, timeout=30_000)  # its first token is on the axis
            except PlaywrightTimeout:
                timeouts += 1
                continue
            submit.append(time.perf_counter() - t0)
            wait_for_app(page, settle_ms=200)
            t0 = time.perf_counter()
            page.get_by_role("tab", name="All heads").click()
            page.wait_for_function(OVERVIEW_DRAWN, timeout=60_000)
            overview.append(time.perf_counter() - t0)
            wait_for_app(page, settle_ms=200)
            page.get_by_role("tab", name="Single head").click()
            page.wait_for_timeout(300)
        memory = peak_memory_mb(url.pid)
    return {
        "cold_start_s": cold_start,
        "submit_s": statistics.median(submit),
        "overview_s": statistics.median(overview),
        "server_peak_mb": memory,
        "timeouts": timeouts,
    }
