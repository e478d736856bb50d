"""Real browser: the Corpus page opens a results folder and draws its distributions, grid and search table."""

import pytest
from browser_check import need_chromium

from attnviz.corpus import pipeline as corpus_pipeline
from benchmarks.browser_support import browser_page, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
SENTENCES = ["The cat sat on the mat.", "Attention is all you need.", "Where did the river go after the rain?"]
BOXES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(p => p.data || [])
    .flat().filter(t => t.type === 'box').map(t => t.x.length)"""


def test_the_corpus_page_draws_a_results_folder(tmp_path, operator):  # a folder on the server
    need_chromium()
    (tmp_path / "c.txt").write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    corpus_pipeline.run(tmp_path / "c.txt", tmp_path / "out", corpus_pipeline.Options(shard_size=2))
    with streamlit_server() as url, browser_page(height=2400) as page:
        page.goto(f"{url}/analysis")
        wait_for_app(page, timeout_ms=240_000)
        page.get_by_text("Open a results folder").click()
        wait_for_app(page, timeout_ms=240_000)
        box = page.locator("input[aria-label='Results folder (the --out of python -m attnviz corpus)']")
        box.fill(str(tmp_path / "out"))
        box.press("Enter")
        wait_for_app(page, timeout_ms=240_000)
        page.wait_for_function(f"() => ({BOXES})().length > 0", timeout=60_000)
        assert page.evaluate(BOXES) == [72]  # one box per head of MiniLM
        assert page.locator("[data-testid=stException]").count() == 0
        assert page.locator("[data-testid=stDataFrame]").count() >= 2  # head patterns and the search table
        main = page.locator("[data-testid=stMain]").inner_text()
        assert "3 sentences through all-MiniLM-L6-v2" in main and "Search: the sentences behind a number" in main
