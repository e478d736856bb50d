"""Browser timings: cold start, submit -> heatmap drawn, overview drawn, server peak memory."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser_support import browser_page, chromium_path, streamlit_server, wait_for_app  # noqa: E402

DRAWN_TICKS = """n => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
    return !!plot && plot.querySelectorAll('g.xtick text').length >= n
        && !!plot.querySelector('.heatmaplayer image, .hm image');
}"""
OVERVIEW_DRAWN = """() => {
    const panel = [...document.querySelectorAll('[role=tabpanel]')].find(p => p.offsetParent !== null);
    return !!panel && !!panel.querySelector('.js-plotly-plot .hm image, .js-plotly-plot .heatmaplayer image');
}"""


def peak_memory_mb(pid: int) -> float:
    """The server's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def browser(sentence_words: list[str], repeats: int) -> dict | None:
    """Times measured in headless chromium against `streamlit run app.py` (None without chromium)."""
    if chromium_path() is None:
        return None
    start = time.perf_counter()
    with streamlit_server() as url, browser_page(height=1400) as page:
        page.goto(f"{url}/home")
        wait_for_app(page, settle_ms=300)
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .hm image').length >= 2")
        cold_start = time.perf_counter() - start
        page.goto(f"{url}/pretrained")
        wait_for_app(page)
        submit, overview = [], []
        for run in range(repeats):
            box = page.locator("textarea").first
            box.fill(" ".join([f"run{run}"] + sentence_words))  # a new text each run: the model really runs
            t0 = time.perf_counter()
            box.press("Control+Enter")
            page.wait_for_function(DRAWN_TICKS, arg=20, timeout=60_000)
            submit.append(time.perf_counter() - t0)
            wait_for_app(page, settle_ms=200)
            t0 = time.perf_counter()
            page.get_by_role("tab", name="All heads").click()
            page.wait_for_function(OVERVIEW_DRAWN, timeout=60_000)
            overview.append(time.perf_counter() - t0)
            wait_for_app(page, settle_ms=200)
            page.get_by_role("tab", name="Single head").click()
            wait_for_app(page, settle_ms=200)
        memory = peak_memory_mb(url.pid)
    return {
        "cold_start_s": cold_start,
        "submit_s": statistics.median(submit),
        "overview_s": statistics.median(overview),
        "server_peak_mb": memory,
    }
