"""The one check every browser test makes before it starts chromium."""

import atexit
import contextlib
import os
from pathlib import Path

from conftest import skip_or_fail

from benchmarks.browser_support import chromium_path

MISSING = "chromium is not installed (apt-get install chromium); browser tests need /usr/bin/chromium"


def need_chromium() -> None:
    """Skip the test where chromium is missing; fail it instead in CI (ATTNVIZ_REQUIRE_BROWSER=1)."""
    if chromium_path() is None:
        skip_or_fail(MISSING, "ATTNVIZ_REQUIRE_BROWSER")


SERVER_SETTINGS = ("ATTNVIZ_HOSTED", "ATTNVIZ_SOFTMAX")  # what a test may set before the server starts
_servers: dict[tuple[str, ...], str] = {}
_running = contextlib.ExitStack()
atexit.register(_running.close)


def shared_server() -> str:
    """The base URL of one `streamlit run app.py` for the whole test session (one per combination of the
    settings a test asks for, e.g. the operator's ATTNVIZ_HOSTED=0), started on first use and stopped at exit."""
    from benchmarks.browser_support import streamlit_server

    settings = tuple(os.environ.get(name, "") for name in SERVER_SETTINGS)
    if settings not in _servers:
        _servers[settings] = _running.enter_context(streamlit_server())
    return _servers[settings]


@contextlib.contextmanager
def app_in_browser(path: str, height: int = 1400):
    """Headless chromium on the page ``path`` of the session's shared server, drawn; yields (page, the folder
    screenshots go to: $ATTNVIZ_SCREENSHOTS, else /tmp/attnviz-screenshots). A test that needs a fresh server
    process starts its own (benchmarks.browser_support.streamlit_server)."""
    from benchmarks.browser_support import browser_page, wait_for_app

    need_chromium()
    shots = Path(os.environ.get("ATTNVIZ_SCREENSHOTS", "/tmp/attnviz-screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    url = shared_server()
    with browser_page(height=height) as page:
        page.goto(f"{url}/{path}")
        wait_for_app(page)
        yield page, shots
