"""The 'Attention vs attribution' page under AppTest: its charts and table hold exactly the library's numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz.pretrained import attribution, hf
from attnviz.pretrained.attribution import SCORES

from chart_data import charts, decode
from hf_models import save_tiny

APP = Path(__file__).resolve().parents[2] / "app.py"
DEFAULT_TEXT = "The cat sat on the mat because it was tired."


def open_page(**params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    at.switch_page("pages/attribution.py")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def shown(at: AppTest) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(the bars' values by score, the correlation grid) decoded from the page's figures."""
    found = charts(at)
    bars = {trace["name"]: decode(trace["y"]) for trace in found["attr_bars"]["data"]}
    return bars, decode(found["attr_rho"]["data"][0]["z"])


def assert_page_shows(at: AppTest, expected: attribution.Attribution, layer: int = -1, head: int = -1) -> None:
    by_name = attribution.scores(expected, layer, head)
    bars, grid = shown(at)
    assert list(bars) == list(SCORES)
    for name in SCORES:
        np.testing.assert_allclose(bars[name], attribution.normalised(by_name[name]), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grid, attribution.correlations(by_name), rtol=1e-6)
    table = at.dataframe[0].value
    assert list(table["token"]) == list(expected.tokens)
    np.testing.assert_allclose(table["integrated gradients"], expected.integrated_gradients, rtol=1e-6, atol=1e-9)


def test_default_minilm_shows_the_librarys_scores_the_completeness_error_and_the_caveat():
    at = open_page()
    assert not at.exception and not at.error, [e.value for e in at.error]
    expected = attribution.attribute(hf.load(None), DEFAULT_TEXT, 1, steps=32)
    assert_page_shows(at, expected)
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    assert f"completeness error {expected.completeness_error:+.2e}" in captions
    assert "cosine similarity of the output vector of “the” (position 1)" in captions
    assert at.info[0].value.startswith("Neither attention nor attribution is an explanation.")
    at.selectbox(key="attr_head").set_value("2.5").run()  # layer 2, head 5 instead of the last layer's mean
    at.selectbox(key="attr_position").set_value(3).run()
    expected = attribution.attribute(hf.load(None), DEFAULT_TEXT, 3, steps=32)
    assert_page_shows(at, expected, 2, 5)


def test_a_tiny_gpt2_attributes_the_next_token_and_its_following_token(tmp_path, operator):
    folder = str(save_tiny("gpt2", tmp_path / "tiny-gpt2"))
    text = "one two three four five"
    at = open_page(attr_model=folder, attr_text=text, attr_position="2", attr_target="following", attr_steps="16")
    assert not at.exception and not at.error, [e.value for e in at.error]
    expected = attribution.attribute(hf.load(folder, device="cpu"), text, 2, "following", steps=16)
    assert_page_shows(at, expected)
    assert len(at.dataframe[0].value) == 3  # the prediction after token 2 reads tokens 0-2
    at.selectbox(key="attr_position").set_value(len(attribution.token_labels(hf.load(folder), text)) - 1).run()
    sentence = "The last token has no token after it: pick an earlier one, or the prediction."
    assert [e.value.replace("\\", "") for e in at.error] == [sentence]  # markdown shows the escaped text as this
    assert not at.exception


@pytest.mark.parametrize(
    "hosted, params, sentence",
    [
        ("0", dict(attr_steps="1000"), "Integrated gradients takes from 1 to 256 steps here, not 1000."),
        ("1", dict(attr_steps="65"), "Integrated gradients takes from 1 to 64 steps here, not 65."),
        (
            "1",
            dict(attr_text="word " * 200),
            "This text is 202 tokens; attribution here reads at most 128: shorten it.",
        ),
    ],
)
def test_caps_are_one_sentence(monkeypatch, hosted, params, sentence):
    monkeypatch.setenv("ATTNVIZ_HOSTED", hosted)
    at = open_page(**params)
    assert not at.exception
    assert [e.value.replace("\\", "") for e in at.error] == [sentence]
    assert not charts(at).get("attr_bars")


def test_hostile_text_stays_text_in_the_ticks_and_the_caption():
    at = open_page(attr_text="<b>bold</b> [a](http://x) $x$", attr_position="1")
    assert not at.exception and not at.error, [e.value for e in at.error]
    ticks = charts(at)["attr_bars"]["layout"]["xaxis"]["ticktext"]
    assert "&lt;" in ticks and "<" not in "".join(ticks)  # plotly would draw a raw <b> as markup
    assert "\\<" in at.caption[1].value  # the caption quotes the token with markdown escaped


def test_word_level_sums_each_words_tokens_by_the_tokenizers_own_words():
    text = "Tokenization is unbelievably tiresome."
    loaded = hf.load(None)
    encoding = loaded.tokenizer(text)
    at = open_page(attr_text=text, attr_position=3, attr_words="1")
    assert not at.exception and not at.error, [e.value for e in at.error]
    expected = attribution.scores(attribution.attribute(loaded, text, 3, steps=32))
    words: dict = {}  # word -> token positions, from word_ids read here (special tokens: groups of their own)
    for position, word in enumerate(encoding.word_ids()):
        words.setdefault(("special", position) if word is None else word, []).append(position)
    groups = list(words.values())
    assert any(len(group) > 1 for group in groups)  # the text has words of several WordPieces
    bars, grid = shown(at)
    summed = {name: np.array([expected[name][group].sum() for group in groups]) for name in SCORES}
    for name in SCORES:
        np.testing.assert_allclose(bars[name], attribution.normalised(summed[name]), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grid, attribution.correlations(summed), rtol=1e-6)
    table = at.dataframe[0].value
    assert list(table["word"]) == ["[CLS]", "tokenization", "is", "unbelievably", "tiresome", ".", "[SEP]"]
    assert any("every score is summed over each word" in c.value for c in at.caption)
    assert charts(at)["attr_bars"]["layout"]["xaxis"]["title"]["text"] == "word"
    assert charts(at)["attr_rho"]["layout"]["title"]["text"] == "Rank correlation of |score| over the words"
