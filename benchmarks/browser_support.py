"""Start `streamlit run app.py` on 127.0.0.1 and drive Debian's chromium with Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository: app.py lives here
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerURL(str):
    """The server's base URL; ``pid`` is its process id, ``log`` the file its stdout and stderr go to."""

    pid: int
    log: Path


@contextlib.contextmanager
def streamlit_server(timeout: float = 60.0, port: int | None = None, env: dict[str, str] | None = None):
    """Yield the base URL (a str with ``.pid``) of a fresh `streamlit run app.py` on loopback (a free port unless
    ``port`` is given); ``env`` adds environment variables (e.g. ATTNVIZ_HOSTED)."""
    port = port or free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    with tempfile.NamedTemporaryFile(prefix="attnviz-server-", suffix=".log") as log:  # not a pipe nobody reads
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = ServerURL(f"http://127.0.0.1:{port}")
        url.pid, url.log = process.pid, Path(log.name)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                        break
                if process.poll() is not None:
                    raise RuntimeError(url.log.read_text(errors="replace"))
                time.sleep(0.3)
            else:
                raise TimeoutError(f"streamlit did not answer on {url} within {timeout:.0f} s")
            yield url
        finally:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            if process.poll() is None:
                process.kill()


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 1000):
    """A Playwright page in headless Debian chromium (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


IDLE_JS = """() => !document.querySelector(
    '[data-testid=stStatusWidgetRunningIcon], [data-testid=stSpinner], [data-testid=stSkeleton]')"""


def wait_for_app(page, timeout_ms: int = 60_000, settle_ms: int = 1_000) -> None:
    """Wait until the page's title is drawn and the app has been idle (not running) for ``settle_ms``."""
    page.wait_for_selector("h1", timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    idle_since = None
    while time.monotonic() < deadline:
        if page.evaluate(IDLE_JS):
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= settle_ms / 1000:
                return
        else:
            idle_since = None
        page.wait_for_timeout(100)
    raise TimeoutError("the app kept running")


DRAWN_WORD = "w => [...document.querySelectorAll('.js-plotly-plot g.xtick text')].some(t => t.textContent === w)"
PLOTTED_Z = """() => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
    return Array.from(plot._fullData[0].z, row => Array.from(row));  // plotly's decoded copy of the data
}"""


def tick_labels(page, axis: str = "xtick") -> list[str]:
    """Tick labels of the first visible plotly chart."""
    return page.evaluate(
        """axis => {
            const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
            return [...plot.querySelectorAll('g.' + axis + ' text')].map(t => t.textContent);
        }""",
        axis,
    )
