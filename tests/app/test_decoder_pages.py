"""Every page that needs a decoder draws its charts with none given: the packaged decoder is the default, for a
visitor too (it is on the hosted allow-list), and the texts it was trained on bring their gold."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz.builtin.decoder import texts
from attnviz.maps.analysis import head_patterns, induction_mass
from attnviz.maps.statistics import head_statistics
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract
from attnviz.settings import DEFAULT_DECODER

from chart_data import charts, decode

APP = Path(__file__).resolve().parents[2] / "app.py"


def open_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    at.switch_page(page)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def assert_drawn(at: AppTest) -> dict:
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    found = charts(at)
    assert found, "the page draws its charts"
    return found


@pytest.mark.parametrize("page", ["pages/generation.py", "pages/heads.py", "pages/two_models.py"])
def test_a_page_that_needs_a_decoder_draws_with_none_given(page, monkeypatch):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")  # a visitor of a public demo: the allow-list holds the decoder
    at = open_page(page)
    assert_drawn(at)
    assert any(t.proto.placeholder.startswith(f"{DEFAULT_DECODER} (packaged, offline)") for t in at.text_input)


def test_generation_answers_the_default_prompt_and_rings_the_mirrored_letter():
    at = open_page("pages/generation.py", gen_step="1")
    found = assert_drawn(at)
    loaded = hf.load(DEFAULT_DECODER)
    assert loaded.family == "decoder" and loaded.name == DEFAULT_DECODER
    text = "Step 1: **n**"
    assert any(text in m.value for m in at.markdown), "the greedy answer's second token is the word's last letter"
    row = found["gen_row"]["data"]
    [gold] = [trace for trace in row if trace.get("name") == "gold"]
    prompt = "reverse: attention =>"
    expected = texts.gold(["", *prompt, " "])[len(prompt) + 1]  # the query after the answer's space
    assert decode(gold["x"]).tolist() == sorted(expected) == [len("reverse: attention")]  # the final 'n', <bos> = 0


def test_attribution_offers_the_packaged_decoder_and_its_measures():
    at = open_page("pages/attribution.py")
    at.button(key="attr_decoder").click().run()
    assert_drawn(at)
    assert at.text_input(key="attr_model").value == DEFAULT_DECODER
    assert any(s.label == "Predict the next token after" for s in at.selectbox)


def test_the_long_page_runs_the_packaged_decoder():
    at = open_page("pages/long.py", long_model=DEFAULT_DECODER)
    assert_drawn(at)
    assert any("decoder model" in c.value for c in at.caption)


def test_the_pretrained_heatmap_marks_the_induction_targets_of_a_repeat():
    repeat = "k4q.zm7x,b"
    at = open_page("pages/pretrained.py", hf_model=DEFAULT_DECODER, hf_text=repeat * 2, hf_layer="1", hf_head="0")
    found = assert_drawn(at)
    [gold] = [trace for trace in found["hf_heatmap"]["data"] if trace.get("name") == "gold alignment"]
    period = len(repeat)
    queries = range(1 + period, 1 + 2 * period)  # the second copy, after <bos>
    assert decode(gold["y"]).tolist() == list(queries)
    assert decode(gold["x"]).tolist() == [q - period + 1 for q in queries]
    attn = extract(hf.load(DEFAULT_DECODER), repeat * 2).maps["self"]
    assert np.allclose(attn.weights.sum(-1), 1, atol=1e-5)


def test_head_statistics_label_heads_with_their_induction_mass_where_a_token_repeats():
    text = "h,cc-fv," + "smt=kdo9b1 >pg" * 2  # a held-out repeat after its lead-in (docs/models.md)
    at = open_page("pages/pretrained.py", hf_model=DEFAULT_DECODER, hf_text=text, hf_analysis="Head statistics")
    assert_drawn(at)
    [table] = [t.value for t in at.dataframe if "why" in t.value.columns]
    attn = extract(hf.load(DEFAULT_DECODER), text).maps["self"]
    expected = head_patterns(head_statistics(attn) | {"induction": induction_mass(attn)})
    assert table["why"].tolist() == [row["why"] for row in expected]
    assert table["pattern"].tolist() == [row["pattern"] for row in expected]
    named = {(row["layer"], row["head"]): row for row in expected if row["pattern"] == "induction"}
    assert {(2, 1), (2, 3)} <= set(named)  # the induction heads docs/models.md names
    for (layer, head), row in named.items():
        mass = induction_mass(attn)[layer, head]
        why = f"{mass:.0%} of attention on the token after the previous occurrence of the query's token"
        assert mass >= 0.5 and row["why"] == why
    assert [(r["layer"], r["head"]) for r in expected if r["pattern"] == "previous-token"] == [(1, 3)]
