"""Real browser: the image-to-text page's slider moves from one answer token to the next and the overlay follows."""

from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
import torch
from browser_check import need_chromium

from attnviz.maps import image_rows
from attnviz.pretrained import images
from attnviz.pretrained.image_text import load as image_text
from attnviz.pretrained.image_text.run import generate
from benchmarks.browser_support import browser_page, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "image_to_text.png"
OVERLAY = """() => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
    return plot._fullData[1].z.map(row => Array.from(row));  // the first chart: the overlay's heatmap
}"""


def test_moving_the_slider_shows_the_next_tokens_overlay(tmp_path, operator):
    from vlm_models import save_tiny_vlm

    need_chromium()
    torch.set_num_threads(1)
    folder = save_tiny_vlm("llava", tmp_path / "tiny-llava")
    result = generate(image_text.load(str(folder)), images.sample().image, "Describe the picture.", 4, 64)
    grids = [
        result.cells.grid(image_rows.over_image(result.rows.weights[:, :, step], result.image_positions)[0].mean(0), 0)
        for step in range(result.steps)
    ]
    with streamlit_server() as url, browser_page(height=1800) as page:
        page.goto(f"{url}/image_to_text?i2t_model={quote(str(folder))}&i2t_new=4")
        wait_for_app(page)
        assert page.locator("[data-testid=stException]").count() == 0
        np.testing.assert_allclose(page.evaluate(OVERLAY), grids[0], atol=1e-5)
        thumb = page.locator('input[aria-label="Answer token (step)"]')
        thumb.focus()
        thumb.press("ArrowRight")
        wait_for_app(page)
        page.wait_for_function("() => document.querySelector('[data-testid=stMain]').innerText.includes('Step 1:')")
        wait_for_app(page)
        np.testing.assert_allclose(page.evaluate(OVERLAY), grids[1], atol=1e-5)
        assert "i2t_step=1" in page.url
        page.screenshot(path=str(SCREENSHOT), full_page=True)
