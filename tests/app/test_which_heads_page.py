"""The 'Which heads matter' page under AppTest: its figures hold exactly the ablation library's numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz.maps.statistics import head_statistics
from attnviz.pretrained import hf
from attnviz.pretrained.ablate import changes, grid, probes
from attnviz.pretrained.ablate.knockout import Edge, Site
from attnviz.pretrained.attribution import spearman
from attnviz.pretrained.extract import extract

from chart_data import charts, decode, heatmap_z
from hf_models import save_tiny

APP = Path(__file__).resolve().parents[2] / "app.py"
DEFAULT_TEXT = "The cat sat on the mat because it was tired."
VISITOR_TOKENS = 64


def open_page(**params) -> AppTest:
    """The page on MiniLM unless ``heads_model`` says otherwise (with no model it runs the packaged decoder)."""
    params = {"heads_model": hf.DEFAULT_MODEL} | params
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    at.switch_page("pages/heads.py")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


@pytest.fixture(scope="module")
def page() -> AppTest:
    return open_page()


@pytest.fixture(scope="module")
def minilm():
    loaded = hf.load()
    return loaded, probes.prepare(loaded, DEFAULT_TEXT, max_tokens=VISITOR_TOKENS)


def test_the_default_grid_is_every_minilm_head_zeroed(page, minilm):
    assert not page.exception, page.exception
    loaded, probe = minilm
    expected = grid.importance(loaded, probe, "zero").effect
    shown = heatmap_z(charts(page)["heads_grid"])
    assert shown.shape == (6, 12)
    np.testing.assert_allclose(shown, expected, rtol=1e-6, atol=1e-9)  # float32 in the figure
    assert any("72 heads, each knocked out" in c.value for c in page.caption)


def test_the_scatter_is_importance_against_the_statistic_with_spearmans_rho(page, minilm):
    loaded, probe = minilm
    effect = grid.importance(loaded, probe, "zero").effect
    entropy = head_statistics(extract(loaded, DEFAULT_TEXT).maps["self"])["entropy"]
    spec = charts(page)["heads_scatter"]
    np.testing.assert_allclose(decode(spec["data"][0]["x"]), entropy.ravel(), atol=1e-6)
    np.testing.assert_allclose(decode(spec["data"][0]["y"]), effect.ravel(), rtol=1e-6, atol=1e-9)
    assert f"{spearman(entropy.ravel(), effect.ravel()):+.2f}" in spec["layout"]["title"]["text"]


def test_a_clicked_head_shows_its_attention_beside_its_embedding_shift(minilm):
    loaded, probe = minilm
    at = open_page()
    at.session_state["heads_grid"] = {"selection": {"points": [{"x": 11, "y": 5}], "point_indices": [71]}}
    at.run()
    assert not at.exception, at.exception
    assert (at.slider(key="heads_layer").value, at.slider(key="heads_head").value) == (5, 11)
    np.testing.assert_array_equal(
        heatmap_z(charts(at)["heads_heatmap"]), extract(loaded, DEFAULT_TEXT).maps["self"].head(5, 11)
    )
    expected = changes.change(loaded, probe, Site("self", 5, (11,)), "zero")
    shift = charts(at)["heads_change"]["data"]
    assert len(shift) == 1 and shift[0]["name"] == "ablated"
    np.testing.assert_allclose(decode(shift[0]["y"]), expected.after, rtol=1e-5, atol=1e-9)


def test_a_link_asks_for_the_first_token_ablation_and_the_layer_bars(minilm):
    loaded, probe = minilm
    at = open_page(heads_ablation="first", heads_layer="2", heads_head="3")
    at.toggle(key="heads_layer_toggle").set_value(True).run()
    assert not at.exception, at.exception
    found = charts(at)
    np.testing.assert_allclose(
        heatmap_z(found["heads_grid"]), grid.importance(loaded, probe, "first").effect, rtol=1e-6, atol=1e-9
    )
    by_layer = grid.layer_importance(loaded, probe, "first").effect
    np.testing.assert_allclose(decode(found["heads_layers"]["data"][0]["y"]), by_layer, rtol=1e-6, atol=1e-9)
    assert "heads_ablation=first" in str(at.query_params) or at.query_params["heads_ablation"] == "first"


def test_a_tiny_decoder_with_kl_and_its_top_tokens_before_and_after(tmp_path, operator):
    folder = str(save_tiny("gpt2", tmp_path / "gpt2"))
    at = open_page(heads_model=folder, heads_measure="kl", heads_layer="1", heads_head="2")
    assert not at.exception, at.exception
    loaded = hf.load(folder)
    probe = probes.prepare(loaded, DEFAULT_TEXT, "kl", max_tokens=256)
    found = charts(at)
    np.testing.assert_allclose(heatmap_z(found["heads_grid"]), grid.importance(loaded, probe).effect, rtol=1e-5)
    expected = changes.change(loaded, probe, Site("self", 1, (2,)))
    bars = {trace["name"]: decode(trace["y"]) for trace in found["heads_change"]["data"]}
    np.testing.assert_allclose(bars["before"], expected.before, rtol=1e-5)
    np.testing.assert_allclose(bars["after"], expected.after, rtol=1e-5)


def test_a_visitors_text_is_cut_to_the_ablation_cap():
    at = open_page(heads_text="word " * 300)
    assert not at.exception, at.exception
    assert any(f"{VISITOR_TOKENS} tokens, 72 heads" in c.value for c in at.caption)


def test_one_edge_of_the_open_head_knocked_out(minilm):
    loaded, probe = minilm
    at = open_page(heads_layer="3", heads_head="5", heads_query="4", heads_key="2")
    assert not at.exception, at.exception
    expected = grid.knock_out_edge(loaded, probe, Edge("self", 3, 5, 4, 2))
    (metric,) = at.metric
    assert metric.value == f"{expected:.4g}"
    weight = extract(loaded, DEFAULT_TEXT).maps["self"].weights[3, 5, 4, 2]
    assert f"{weight:.4f}" in metric.proto.help
