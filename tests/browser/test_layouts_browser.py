"""Real browser: CJK ticks drawn per character with an installed CJK font (no tofu), RTL labels isolated."""

import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from browser_check import app_in_browser
from conftest import skip_or_fail

from benchmarks.browser_support import tick_labels

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TEXT = "日本の山と川は美しい。北京大学的学生"
EXPECTED = ["[CLS]", *"日本の山と川は美しい。北京大学的学生", "[SEP]"]  # MiniLM knows every one of these characters


def test_a_cjk_font_is_installed_so_characters_are_not_drawn_as_boxes():
    """Skips with its reason where the font is missing (a newcomer's machine); fails in CI, which installs it."""
    if shutil.which("fc-list") is None:
        skip_or_fail("fontconfig is not installed", "ATTNVIZ_REQUIRE_BROWSER")
    for language in ("zh", "ja", "ko"):
        found = subprocess.run(["fc-list", f":lang={language}", "family"], capture_output=True, text=True).stdout
        if not found.strip():
            skip_or_fail(
                f"no font for {language}: apt-get install fonts-wqy-microhei (see README)", "ATTNVIZ_REQUIRE_BROWSER"
            )


def test_cjk_ticks_read_one_character_each_in_the_browser():
    with app_in_browser(f"pretrained?hf_text={quote(TEXT)}", height=1100) as (page, shots):
        page.wait_for_function(
            "n => [...document.querySelectorAll('.js-plotly-plot g.xtick text')].length >= n", arg=len(EXPECTED)
        )
        assert tick_labels(page) == EXPECTED
        assert tick_labels(page, "ytick") == EXPECTED
        page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(shots / "cjk.png"))


def test_rtl_ticks_keep_typed_order_and_isolates_in_the_browser():
    text = "ספר (חדש)"
    with app_in_browser(f"pretrained?hf_text={quote(text)}&hf_words=True") as (page, _):
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot g.xtick text').length >= 6")
        assert tick_labels(page) == ["[CLS]", "\u2067ספר\u2069", "(", "\u2067חדש\u2069", ")", "[SEP]"]
