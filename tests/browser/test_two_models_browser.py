"""Real browser on the 'Two models' page: MiniLM and a byte-level BPE GPT-2 on the same words, drawn."""

from urllib.parse import quote

import numpy as np
import pytest
from browser_check import app_in_browser
from two_models_support import pool_by_hand, save_tiny_bpe_gpt2

from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract
from benchmarks.browser_support import tick_labels

pytestmark = pytest.mark.browser
TEXT = "Don't stop, friend."
WORDS = ["Don", "'t", "stop", ",", "friend", "."]
PLOTTED = """() => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
    return plot._fullData.filter(t => t.type === 'heatmap').map(t => Array.from(t.z, row => Array.from(row)));
}"""


def test_two_tokenizers_side_by_side_in_a_browser(tmp_path, operator):
    folder = save_tiny_bpe_gpt2(tmp_path / "bpe-gpt2")
    path = f"two_models?two_text={quote(TEXT)}&two_b_model={quote(str(folder))}&two_layer=5&two_head_a=3"
    with app_in_browser(path, height=1700) as (page, shots):
        assert page.locator("h1").first.inner_text() == "Two models side by side"
        assert page.locator("[data-testid=stException]").count() == 0
        assert "aligned by character offsets" in page.locator("[data-testid=stMain]").inner_text()
        assert tick_labels(page) == WORDS and tick_labels(page, "x2tick") == WORDS
        left, right = (np.array(z) for z in page.evaluate(PLOTTED))
        minilm = extract(hf.load(), TEXT).primary.weights[5, 3]
        bpe = extract(hf.load(str(folder)), TEXT).primary.weights[2, 0]  # 6 layers vs 3: layer 5 -> layer 2
        np.testing.assert_allclose(left, pool_by_hand(minilm, [(1,), (2, 3), (4,), (5,), (6,), (7,)]), atol=1e-6)
        np.testing.assert_allclose(
            right, pool_by_hand(bpe, [(0,), (1,), (2, 3, 4), (5,), (6, 7, 8, 9), (10,)]), atol=1e-6
        )
        assert page.locator(".js-plotly-plot").count() >= 2  # the pair and the head-pair distances
        page.screenshot(path=str(shots / "two-models.png"), full_page=True)
