"""Many users at once: N browser sessions on one hosted `streamlit run`, each typing its own sentences.

``python -m benchmarks.load`` (16 sessions x 10 sentences) writes docs/reliability.md. Every submission
must draw exactly its own sentence's attention (tick labels and one head's weights against an independent
extraction); the report gives the submit -> drawn times and the server's memory after the 50th and the
last submission. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.browser_support import CHROMIUM_ARGS, IDLE_JS, PLOTTED_Z, chromium_path, streamlit_server

WORDS = ("apple", "river", "guitar", "window", "forest", "pencil", "engine", "garden", "rocket", "button",
         "candle", "island", "marble", "needle", "orange", "planet")  # fmt: skip
FIRST_TICK = """w => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
    const ticks = plot ? [...plot.querySelectorAll('g.xtick text')].map(t => t.textContent) : [];
    return ticks[1] === w && !!plot.querySelector('.hm image, .heatmaplayer image');
}"""
# The detectors run every POLL_MS, not on every animation frame (Playwright's default): at 60 checks a second
# in each of 16 pages, each forcing a layout, the benchmark's own checks took CPU from the app it measured.
POLL_MS = 50
# Each visitor types its sentence key by key, TYPING_MS apart (100 ms: 120 words a minute, a fast typist; a
# keystroke costs the browser a re-render but the server nothing until the submission). typing_ms=0 pastes the
# whole sentence at once: 16 visitors submitting back to back with no pause, a stress test beyond real use.
TYPING_MS = 100
TICKS = """() => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
    return [...plot.querySelectorAll('g.xtick text')].map(t => t.textContent);
}"""


@dataclass
class Load:
    """What happened: a time per drawn submission, the ones lost or wrong, memory samples."""

    times: list[float] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    memory_mb: dict[int, float] = field(default_factory=dict)


def sentence(session: int, index: int) -> str:
    return f"{WORDS[index % len(WORDS)]} is what session {session} types in sentence {index}."


def rss_mb(pid: int) -> float:
    """The process's resident memory now (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _type(box, text: str, typing_ms: int) -> None:
    """Put ``text`` in the box: key by key ``typing_ms`` apart, or pasted at once when ``typing_ms`` is 0."""
    if not typing_ms:
        await box.fill(text)
        return
    await box.fill("")
    await box.press_sequentially(text, delay=typing_ms)


async def _submit(page, text: str, expected, load: Load, pid: int, samples: tuple[int, ...], typing_ms: int) -> None:
    await page.wait_for_function(IDLE_JS, polling=POLL_MS, timeout=120_000)  # type when the page has finished
    box = page.locator("textarea").first
    await _type(box, text, typing_ms)
    start = time.perf_counter()
    await box.press("Control+Enter")
    try:
        await page.wait_for_function(FIRST_TICK, arg=expected.key_tokens[1], polling=POLL_MS, timeout=60_000)
    except Exception:  # not drawn within a minute: lost; say what the page showed instead
        shown = await box.input_value()
        running = not await page.evaluate(IDLE_JS)
        load.lost.append(f"{text!r}: box holds {shown!r}, app {'still running' if running else 'idle'}")
        return
    load.times.append(time.perf_counter() - start)
    if len(load.times) in samples:  # before any await: other sessions add their times while this one waits
        load.memory_mb[len(load.times)] = rss_mb(pid)
    ticks, plotted = await page.evaluate(TICKS), np.array(await page.evaluate(PLOTTED_Z))
    if ticks != list(expected.key_tokens) or not np.allclose(plotted, expected.head(0, 0), atol=1e-6):
        load.wrong.append(text)


async def _session(
    browser, url: str, number: int, per_session: int, texts: dict, load: Load, pid: int, samples, typing_ms: int
):
    """One visitor: open the pretrained page, then type ``per_session`` sentences one after the other."""
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    await page.goto(f"{url}/pretrained", timeout=120_000)
    await page.wait_for_selector("textarea", timeout=120_000)
    for index in range(per_session):
        text = sentence(number, index)
        await _submit(page, text, texts[text], load, pid, samples, typing_ms)
    await context.close()


async def _drive(
    url: str, pid: int, texts: dict, sessions: int, per_session: int, samples: tuple[int, ...], typing_ms: int
) -> Load:
    from playwright.async_api import async_playwright

    load = Load()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        await asyncio.gather(
            *(_session(browser, url, s, per_session, texts, load, pid, samples, typing_ms) for s in range(sessions))
        )
        await browser.close()
    return load


def run_load(sessions: int = 16, per_session: int = 10, typing_ms: int = TYPING_MS) -> dict:
    """Run the load against a fresh hosted server; the figures of docs/reliability.md."""
    from attnviz import hf
    from attnviz.extract import extract

    model = hf.load()
    texts = {sentence(s, i): extract(model, sentence(s, i)).maps["self"] for s in range(sessions)
             for i in range(per_session)}  # fmt: skip
    total = sessions * per_session
    samples = (min(50, total), total)
    with streamlit_server(env={"ATTNVIZ_HOSTED": "1"}) as url:
        started = time.perf_counter()
        load = asyncio.run(_drive(url, url.pid, texts, sessions, per_session, samples, typing_ms))
        seconds = time.perf_counter() - started
    times = sorted(load.times)
    return {
        "sessions": sessions, "submissions": total, "typing_ms": typing_ms, "drawn": len(times), "lost": len(load.lost),
        "wrong": len(load.wrong), "seconds": seconds,
        "median_s": statistics.median(times) if times else float("nan"),
        "p95_s": times[min(len(times) - 1, int(0.95 * len(times)))] if times else float("nan"),
        "memory_mb": load.memory_mb, "lost_details": load.lost,
    }  # fmt: skip


def report(result: dict) -> str:
    first, last = sorted(result["memory_mb"])[0], sorted(result["memory_mb"])[-1]
    growth = result["memory_mb"][last] - result["memory_mb"][first]
    return "\n".join([
        f"- {result['sessions']} browser sessions at once on one hosted `streamlit run` (ATTNVIZ_HOSTED=1), "
        f"{result['submissions']} submissions in {result['seconds']:.0f} s, "
        + (f"each sentence typed key by key {result['typing_ms']} ms apart" if result["typing_ms"]
           else "each sentence pasted at once and submitted as soon as the last one was drawn (no pause)"),
        f"- drawn {result['drawn']}, lost {result['lost']}, showing another session's attention {result['wrong']}",
        *(f"  - lost: {detail}" for detail in result["lost_details"]),
        f"- submit -> drawn: median {result['median_s']:.2f} s, p95 {result['p95_s']:.2f} s (budget p95 <= 5 s)",
        f"- server memory after submission {first}: {result['memory_mb'][first]:.0f} MB; after {last}: "
        f"{result['memory_mb'][last]:.0f} MB ({growth:+.0f} MB)",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--sentences", type=int, default=10, help="per session")
    parser.add_argument("--typing-ms", type=int, default=TYPING_MS, help="between keys; 0 pastes (no pause)")
    args = parser.parse_args(argv)
    print(report(run_load(args.sessions, args.sentences, args.typing_ms)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
