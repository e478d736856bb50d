"""Browser timings: cold start, submit -> heatmap drawn, overview drawn, slider -> redrawn, server peak memory."""

from __future__ import annotations

import contextlib
import functools
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
# The home page's four pictures are SVG images (attnviz/builtin/results/home/); drawn once each has loaded
# and has a size.
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

HEAD_SHOWN = """head => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
    const title = plot && plot.querySelector('.gtitle');
    return !!title && title.textContent.endsWith(`head ${head}`) && !!plot.querySelector('.hm image');
}"""


ARM = """kind => {
    window.__attnviz_t0 = window.__attnviz_t1 = undefined;
    window.addEventListener(kind, e => { window.__attnviz_t0 = e.timeStamp; }, {capture: true, once: true});
}"""


def timed(page, event: str, action, drawn_js: str, arg=None, timeout_ms: int = 30_000) -> tuple[float, float]:
    """(in the page, from Python) seconds from ``action`` to ``drawn_js`` true. In the page: from the input event
    (``event``: "keydown", "mousedown") to the first animation frame that finds the view drawn, which is what a
    visitor waits; from Python it also counts Playwright's round trips (about 0.1-0.25 s here)."""
    page.evaluate(ARM, event)
    stamp = f"arg => {{ const ok = ({drawn_js})(arg); if (ok) window.__attnviz_t1 ??= performance.now(); return ok; }}"
    start = time.perf_counter()
    action()
    page.wait_for_function(stamp, arg=arg, timeout=timeout_ms)
    wall = time.perf_counter() - start
    return page.evaluate("() => (window.__attnviz_t1 - window.__attnviz_t0) / 1000"), wall


def slider_move(page) -> tuple[float, float]:
    """One arrow key on the Head slider until the single-head heatmap is drawn for the new head."""
    thumb = page.locator("input[type=range][aria-label=Head]")
    value, top = int(thumb.get_attribute("value")), int(thumb.get_attribute("max"))
    key, new = ("ArrowRight", value + 1) if value < top else ("ArrowLeft", value - 1)
    thumb.focus()
    return timed(page, "keydown", lambda: thumb.press(key), HEAD_SHOWN, new)


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
        page.goto(f"{url}/")  # the default page lives at the root
        wait_for_app(page, settle_ms=300)
        page.wait_for_function(HOME_DRAWN, timeout=60_000)
        cold_start = time.perf_counter() - start
        page.goto(f"{url}/pretrained")
        wait_for_app(page)
        times, timeouts = {"submit": [], "overview": [], "slider": []}, 0
        for run in range(repeats):
            box = page.locator("textarea").first
            marker = MARKERS[run % len(MARKERS)]  # a new text each run, so the model really runs
            box.fill(" ".join([marker] + sentence_words))
            submit = functools.partial(box.press, "Control+Enter")
            try:  # its first token is on the axis
                times["submit"].append(timed(page, "keydown", submit, DRAWN_TICKS, marker))
            except PlaywrightTimeout:
                timeouts += 1
                continue
            wait_for_app(page, settle_ms=200)
            tab = page.get_by_role("tab", name="All heads")
            times["overview"].append(timed(page, "mousedown", tab.click, OVERVIEW_DRAWN, timeout_ms=60_000))
            wait_for_app(page, settle_ms=200)
            page.get_by_role("tab", name="Single head").click()
            wait_for_app(page, settle_ms=200)
            times["slider"].append(slider_move(page))
            wait_for_app(page, settle_ms=200)
        memory = peak_memory_mb(url.pid)
    return {
        "cold_start_s": cold_start,
        **{f"{name}_s": statistics.median(t[0] for t in pairs) for name, pairs in times.items()},
        **{f"{name}_wall_s": statistics.median(t[1] for t in pairs) for name, pairs in times.items()},
        "server_peak_mb": memory,
        "timeouts": timeouts,
    }
