"""Real browser: the generation page's slider moves from one answer token to the next and the view follows."""

from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
import torch
from browser_check import need_chromium

from attnviz import hf
from attnviz.generation import generate, step_row
from benchmarks.browser_support import browser_page, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "generation.png"
PROMPT = "The cat sat on the mat because"
ROW_BARS = """() => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
    return Array.from(plot._fullData[0].y);  // the first chart: the chosen token's row, layer 0 head 0
}"""


def test_moving_the_slider_shows_the_next_tokens_row(tmp_path):
    from hf_models import save_tiny

    need_chromium()
    torch.set_num_threads(1)
    folder = save_tiny("gpt2", tmp_path / "tiny-gpt2")
    expected = generate(hf.load(str(folder)), PROMPT, max_new_tokens=6, cap=64)
    rows = [step_row(expected, expected.maps["self"], step).head(0, 0)[0] for step in range(expected.steps)]
    with streamlit_server() as url, browser_page(height=1800) as page:
        page.goto(f"{url}/generation?gen_model={quote(str(folder))}&gen_prompt={quote(PROMPT)}&gen_new=6")
        wait_for_app(page)
        assert page.locator("[data-testid=stException]").count() == 0
        np.testing.assert_allclose(page.evaluate(ROW_BARS), rows[0], atol=1e-5)
        assert "Step 0:" in page.locator("[data-testid=stMain]").inner_text()
        thumb = page.locator('input[aria-label="Answer token (step)"]')
        thumb.focus()
        for _ in range(2):  # one step at a time: each press reruns the page
            thumb.press("ArrowRight")
            wait_for_app(page)
        page.wait_for_function("() => document.querySelector('[data-testid=stMain]').innerText.includes('Step 2:')")
        wait_for_app(page)
        drawn = page.evaluate(ROW_BARS)
        assert len(drawn) == len(rows[2]) == len(rows[0]) + 2  # two more tokens of context
        np.testing.assert_allclose(drawn, rows[2], atol=1e-5)
        assert "gen_step=2" in page.url
        page.screenshot(path=str(SCREENSHOT), full_page=True)
