"""The one check every browser test makes before it starts chromium."""

import os

import pytest

from benchmarks.browser_support import chromium_path

MISSING = "chromium is not installed (apt-get install chromium); browser tests need /usr/bin/chromium"


def need_chromium() -> None:
    """Skip the test where chromium is missing; fail it instead in CI (ATTNVIZ_REQUIRE_BROWSER=1)."""
    if chromium_path() is None:
        if os.environ.get("ATTNVIZ_REQUIRE_BROWSER"):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
