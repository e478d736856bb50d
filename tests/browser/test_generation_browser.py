"""Real browser: the generation page's slider moves from one answer token to the next and the view follows."""

from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
import torch
from browser_check import need_chromium

from attnviz.app.generation import GENERATION
from attnviz.pretrained import hf
from attnviz.pretrained.generation import by_words, force, generate, step_row
from attnviz.settings import DEFAULT_DECODER
from benchmarks.browser_support import browser_page, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOT = SCREENSHOTS / "generation.png"
PROMPT = "The cat sat on the mat because"
DEFAULT_PROMPT = GENERATION.fields["prompt"].default
ROW_BARS = """() => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
    return Array.from(plot._fullData[0].y);  // the first chart: the chosen token's row, layer 0 head 0
}"""


def test_with_no_model_the_packaged_decoder_answers_offline_and_the_gold_is_ringed(tmp_path, monkeypatch):
    """A visitor, offline (the Hub unreachable), opens the page as it installs: the packaged decoder reverses the
    default word, and the chosen step's row rings the mirrored letter. The README's screenshot is this page."""
    need_chromium()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(1)
    loaded = hf.load(DEFAULT_DECODER)
    expected = generate(loaded, DEFAULT_PROMPT, max_new_tokens=8, cap=24)
    step = 1  # the first letter: layer 1 head 1 reads the word's last letter (not every step has such a head)
    word = DEFAULT_PROMPT.split()[1]
    gold = len("reverse: ") + len(word) - step + 1  # answer letter step - 1 is source letter n - step (<bos> is 0)
    every = step_row(expected, expected.maps["self"], step).weights[:, :, 0, gold]
    layer, head = np.unravel_index(int(every.argmax()), every.shape)  # the head that reads the gold letter most
    row = step_row(expected, expected.maps["self"], step).head(layer, head)[0]
    env = {"ATTNVIZ_HOSTED": "1", "HF_HUB_OFFLINE": "1"}
    with streamlit_server(env=env) as url, browser_page(height=1600) as page:
        page.goto(f"{url}/generation?gen_step={step}&gen_layer={layer}&gen_head={head}")
        wait_for_app(page)
        assert page.locator("[data-testid=stException]").count() == 0
        main = page.locator("[data-testid=stMain]").inner_text()
        assert f"Step {step}:" in main and "Red rings" in main
        np.testing.assert_allclose(page.evaluate(ROW_BARS), row, atol=1e-5)
        assert page.evaluate(GOLD_X) == [gold]
        assert row[gold] > 0.5  # the screenshot shows a head that reads the letter it writes
        page.screenshot(path=str(SCREENSHOT), full_page=False)


def test_moving_the_slider_shows_the_next_tokens_row(tmp_path, operator):
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


GOLD_X = """() => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.offsetParent !== null);
    return Array.from(plot._fullData.find(t => t.name === 'gold').x);
}"""


def test_the_word_level_toggle_redraws_the_row_by_word(tmp_path, operator):
    from two_models_support import save_tiny_bpe_gpt2

    need_chromium()
    torch.set_num_threads(1)
    folder = save_tiny_bpe_gpt2(tmp_path / "tiny-bpe-gpt2")
    result = force(hf.load(str(folder)), PROMPT, "it was tired, really tired.", cap=64)
    step = result.steps - 1
    row = step_row(result, result.maps["self"], step)
    words = by_words(result, "self", row, list(range(row.n_keys)))
    assert "because" in words.key_tokens and len(words.key_tokens) < row.n_keys  # words of several tokens
    with streamlit_server() as url, browser_page(height=1800) as page:
        answer = quote("it was tired, really tired.")
        page.goto(
            f"{url}/generation?gen_model={quote(str(folder))}&gen_prompt={quote(PROMPT)}&gen_mode=Feed%20in%20a%20"
            f"typed%20answer&gen_answer={answer}&gen_step={step}"
        )
        wait_for_app(page)
        np.testing.assert_allclose(page.evaluate(ROW_BARS), row.head(0, 0)[0], atol=1e-5)
        page.get_by_text("Word level (each word's tokens summed)").click()
        page.wait_for_function("() => document.querySelector('[data-testid=stMain]').innerText.includes('Word level:')")
        wait_for_app(page)
        np.testing.assert_allclose(page.evaluate(ROW_BARS), words.head(0, 0)[0], atol=1e-5)
        assert "gen_words=1" in page.url or "gen_words=true" in page.url.lower()
        page.screenshot(path=str(SCREENSHOTS / "generation-words.png"), full_page=True)
