"""The one check every browser test makes before it starts chromium."""

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


@contextlib.contextmanager
def app_in_browser(path: str, height: int = 1400):
    """A fresh `streamlit run` and headless chromium on the page ``path``, drawn; yields (page, the folder
    screenshots go to: $ATTNVIZ_SCREENSHOTS, else /tmp/attnviz-screenshots)."""
    from benchmarks.browser_support import browser_page, streamlit_server, wait_for_app

    need_chromium()
    shots = Path(os.environ.get("ATTNVIZ_SCREENSHOTS", "/tmp/attnviz-screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with streamlit_server() as url, browser_page(height=height) as page:
        page.goto(f"{url}/{path}")
        wait_for_app(page)
        yield page, shots
