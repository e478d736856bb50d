"""Every page runs under AppTest; the charts show exactly the attention the library computes."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz import figures
from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.models.seq2seq import decode, force
from attnviz.builtin.tasks import get_task
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract

from chart_data import charts, heatmap_z, labels, ticktext
from chart_data import decode as decode_array

APP = Path(__file__).resolve().parents[2] / "app.py"
PAGES = ["pages/home.py", "pages/temporal.py", "pages/self_attention.py", "pages/pretrained.py", "pages/compare.py"]


def open_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()  # st.navigation registers the pages
    at.switch_page(page)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def builtin(task_name: str, model_name: str, text: str):
    task = get_task(task_name)
    return decode(load_shipped(task_name, model_name), task, [task.tokenize(text)])[0]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_exception(page):
    at = open_page(page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert charts(at) or page == "pages/home.py" and at.get("image"), "every page draws at least one chart"


def test_temporal_page_shows_exactly_the_rnn_attention_and_follows_the_input():
    at = open_page("pages/temporal.py")
    at.text_input(key="rnn_text").set_value("the red car sees my old dog").run()
    expected = builtin("translate", "rnn-additive", "the red car sees my old dog").maps["temporal"]
    spec = charts(at)["rnn_heatmap"]
    np.testing.assert_array_equal(heatmap_z(spec), expected.head(0, 0))
    assert labels(spec) == list(expected.key_tokens)
    assert labels(spec, "yaxis") == list(expected.query_tokens)
    assert "la voiture rouge voit mon vieux chien" in " ".join(m.value for m in at.markdown)

    at.radio(key="rnn_score").set_value("dot").run()
    dot = builtin("translate", "rnn-dot", "the red car sees my old dog").maps["temporal"]
    np.testing.assert_array_equal(heatmap_z(charts(at)["rnn_heatmap"]), dot.head(0, 0))

    at.selectbox(key="rnn_task").set_value("dates").run()
    at.text_input(key="rnn_text").set_value("23/11/26").run()
    dates = builtin("dates", "rnn-dot", "23/11/26").maps["temporal"]
    spec = charts(at)["rnn_heatmap"]
    np.testing.assert_array_equal(heatmap_z(spec), dates.head(0, 0))
    assert ticktext(spec) == ["23", "/", "11", "/", "26"]


def test_temporal_step_through_shows_one_decoding_step():
    at = open_page("pages/temporal.py", rnn_text="the red car sees my old dog")
    at.slider(key="rnn_step").set_value(3).run()
    expected = builtin("translate", "rnn-additive", "the red car sees my old dog").maps["temporal"]
    bars = decode_array(charts(at)["rnn_step_bars"]["data"][0]["y"])
    np.testing.assert_array_equal(bars, expected.head(0, 0)[2])
    assert any("To emit **rouge**" in m.value for m in at.markdown)


def test_unknown_words_give_a_clear_message_and_the_page_survives():
    at = open_page("pages/temporal.py")
    at.text_input(key="rnn_text").set_value("the cat eats pizza").run()
    assert not at.exception
    assert "'pizza'" in at.error[0].value and "vocabulary" in at.error[0].value


def test_self_attention_page_layer_head_and_map_switches_change_the_chart():
    text = "the small cat does not see the red car"
    at = open_page("pages/self_attention.py", tf_text=text)
    maps = builtin("translate", "transformer", text).maps  # after the app set torch's threads: the same arithmetic
    np.testing.assert_array_equal(heatmap_z(charts(at)["tf_heatmap"]), maps["cross"].head(0, 0))
    at.slider(key="tf_layer").set_value(1).run()
    at.slider(key="tf_head").set_value(3).run()
    np.testing.assert_array_equal(heatmap_z(charts(at)["tf_heatmap"]), maps["cross"].head(1, 3))
    at.radio(key="tf_map").set_value("decoder").run()
    spec = charts(at)["tf_heatmap"]
    np.testing.assert_array_equal(heatmap_z(spec), maps["decoder"].head(1, 3))
    assert ticktext(spec, "yaxis")[0] == "&lt;bos&gt;"  # labels are escaped for plotly
    overview = decode_array(charts(at)["tf_overview"]["data"][0]["z"])
    assert overview.shape == (2 * maps["decoder"].n_queries, 4 * maps["decoder"].n_keys)


def test_query_params_restore_a_view():
    text = "my friend ate the cake of the dog"
    at = open_page("pages/self_attention.py", tf_text=text, tf_map="encoder", tf_layer="1", tf_head="2")
    expected = builtin("translate", "transformer", text).maps["encoder"]
    np.testing.assert_array_equal(heatmap_z(charts(at)["tf_heatmap"]), expected.head(1, 2))
    assert at.query_params["tf_head"] == "2"  # the URL keeps the view for sharing


def test_out_of_range_query_params_are_clamped():
    at = open_page("pages/self_attention.py", tf_layer="9", tf_head="-3")
    assert not at.exception
    assert at.slider(key="tf_layer").value == 1 and at.slider(key="tf_head").value == 0


def test_pretrained_page_default_model_matches_extraction():
    text = "The quick brown fox jumps over the lazy dog."
    at = open_page("pages/pretrained.py", hf_text=text, hf_layer="4", hf_head="7")
    expected = extract(hf.load(), text).maps["self"]
    spec = charts(at)["hf_heatmap"]
    np.testing.assert_array_equal(heatmap_z(spec), expected.head(4, 7))
    assert labels(spec) == list(expected.key_tokens)
    at.toggle(key="hf_hide").set_value(True).run()
    spec = charts(at)["hf_heatmap"]
    assert "[CLS]" not in ticktext(spec)
    np.testing.assert_allclose(heatmap_z(spec).sum(-1), 1.0, atol=1e-5)
    assert any("renormalised" in i.value for i in at.info)


def test_pretrained_page_offline_unknown_model_is_one_clear_sentence(silent_hub, operator):
    at = open_page("pages/pretrained.py", hf_model="someone/not-a-model")
    assert not at.exception
    assert "Hub cannot be reached" in at.error[0].value


def test_compare_page_table_and_panels_agree_with_forced_attention():
    text = "the red car sees my old dog"
    at = open_page("pages/compare.py", cmp_text=text)
    task = get_task("translate")
    example = task.reference(task.tokenize(text))
    cross = force(load_shipped("translate", "transformer"), task, example)["cross"]
    rnn = force(load_shipped("translate", "rnn-additive"), task, example)["temporal"]
    spec = charts(at)["cmp_figure"]
    heatmaps = [t for t in spec["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 1 + 8
    np.testing.assert_array_equal(decode_array(heatmaps[0]["z"]), rnn.head(0, 0))
    np.testing.assert_array_equal(decode_array(heatmaps[8]["z"]), cross.head(1, 3))
    table = at.dataframe[0].value
    assert len(table) == 3 + 8 and set(table["linked tokens"]) == {7}


def test_compare_page_outside_the_grammar_explains_itself():
    at = open_page("pages/compare.py", cmp_text="the cat see the dog")
    assert not at.exception
    assert "outside the task's rules" in at.error[0].value


# ---- analysis views (issue: analysis beyond pictures) ---------------------------------------------


def test_head_statistics_tab_shows_measured_numbers_and_a_click_opens_the_head():
    from attnviz.maps.statistics import head_statistics

    text = "The cat sat on the mat because it was tired."
    at = open_page("pages/pretrained.py", hf_text=text, hf_analysis="Head statistics")
    assert "hf_rollout_pair" not in charts(at)  # only the open analysis is computed and drawn
    expected = head_statistics(extract(hf.load(), text).maps["self"])
    spec = charts(at)["hf_stats_grid"]
    np.testing.assert_allclose(heatmap_z(spec), expected["previous"], atol=1e-6)
    patterns = at.dataframe[0].value
    assert patterns.loc[(patterns.layer == 0) & (patterns["head"] == 2), "pattern"].item() == "previous-token"
    at.session_state["hf_stats_grid"] = {"selection": {"points": [{"x": 2, "y": 0}], "point_indices": [2]}}
    at.run()
    assert (at.slider(key="hf_layer").value, at.slider(key="hf_head").value) == (0, 2)
    np.testing.assert_array_equal(heatmap_z(charts(at)["hf_heatmap"]), extract(hf.load(), text).maps["self"].head(0, 2))


def test_no_analysis_until_one_is_picked_then_it_follows_every_new_text():
    from attnviz.maps.statistics import head_statistics

    at = open_page("pages/pretrained.py", hf_text="Nothing is analysed until asked.")
    assert set(charts(at)) == {"hf_heatmap"} and not at.dataframe  # a submission draws one figure
    assert at.session_state["hf_analysis"] is None and "hf_analysis" not in at.query_params
    at.session_state["hf_analysis"] = "Head statistics"
    at.run()
    at.text_area(key="hf_text").set_value("A second sentence keeps the chosen analysis.").run()
    expected = head_statistics(extract(hf.load(), "A second sentence keeps the chosen analysis.").maps["self"])
    np.testing.assert_allclose(heatmap_z(charts(at)["hf_stats_grid"]), expected["previous"], atol=1e-6)
    assert at.query_params["hf_analysis"] == "Head statistics"  # the share link carries the choice


def test_only_the_open_view_is_drawn_and_a_clicked_tile_opens_its_head():
    text = "Only the open view is drawn."
    attn = extract(hf.load(), text).maps["self"]
    at = open_page("pages/pretrained.py", hf_text=text)
    assert "hf_heatmap" in charts(at) and not {"hf_overview", "hf_head_view"} & set(charts(at))
    at = open_page("pages/pretrained.py", hf_text=text, hf_tab="All heads")
    assert "hf_heatmap" not in charts(at)
    drawn = decode_array(charts(at)["hf_overview"]["data"][0]["z"])
    np.testing.assert_array_equal(drawn, figures.overview(attn).data[0].z)
    side = attn.n_queries  # a short input: one overview cell per token
    at.session_state["hf_overview"] = {"selection": {"points": [{"x": 5 * side + 1, "y": 3 * side + 1}]}}
    at.run()
    assert at.session_state["hf_tab"] == "Single head"
    assert (at.slider(key="hf_layer").value, at.slider(key="hf_head").value) == (3, 5)
    np.testing.assert_array_equal(heatmap_z(charts(at)["hf_heatmap"]), attn.head(3, 5))


def test_rollout_tab_matches_the_pure_function():
    from attnviz.maps.analysis import rollout

    text = "Rollout follows attention through the layers."
    at = open_page("pages/pretrained.py", hf_text=text, hf_layer="5", hf_analysis="Rollout")
    expected = rollout(extract(hf.load(), text).maps["self"])
    np.testing.assert_allclose(heatmap_z(charts(at)["hf_rollout_pair"]), expected.head(5, 0), atol=1e-6)


def test_analysis_page_differences_and_corpus():
    from attnviz.corpus.sentences import sample_sentences
    from attnviz.maps.analysis import average_statistics, head_distances
    from attnviz.maps.statistics import head_statistics

    at = open_page("pages/analysis.py", an_a="The cat sat on the mat.", an_b="The dog lay on the rug.")
    assert not at.exception
    model = hf.load()
    a, b = (extract(model, t).maps["self"] for t in ("The cat sat on the mat.", "The dog lay on the rug."))
    np.testing.assert_allclose(heatmap_z(charts(at)["an_distances"]), head_distances(a, b), atol=1e-6)
    corpus = average_statistics([head_statistics(extract(model, s).maps["self"]) for s in sample_sentences()])
    np.testing.assert_allclose(heatmap_z(charts(at)["an_stats_grid"]), corpus["previous"], atol=1e-5)
    at.text_input(key="an_b").set_value("Short.").run()
    assert "same token length" in at.error[0].value


def test_compare_page_differences_and_held_out_table():
    at = open_page("pages/compare.py", cmp_text="the red car sees my old dog")
    assert "cmp_difference" in charts(at)
    held_out = at.dataframe[1].value
    assert len(held_out) == 3 + 8 and held_out["agreement"].between(0, 1).all()


def test_pretrained_page_switches_to_a_local_decoder_model_and_probes_induction(tmp_path, operator):
    from hf_models import save_tiny

    folder = str(save_tiny("gpt2", tmp_path / "tiny-gpt2"))
    at = open_page("pages/pretrained.py", hf_model=folder, hf_text="one two three four", hf_analysis="Head statistics")
    assert not at.exception and not at.error
    expected = extract(hf.load(folder), "one two three four").maps["self"]
    np.testing.assert_array_equal(heatmap_z(charts(at)["hf_heatmap"]), expected.head(0, 0))
    assert "decoder model" in " ".join(c.value for c in at.caption)
    at.toggle(key="hf_induction").set_value(True).run()
    assert charts(at)["hf_induction_grid"]["data"][0]["z"]


def test_one_forward_pass_serves_every_view_and_slider_moves(monkeypatch):
    import attnviz.app.cache

    calls = []
    real = attnviz.app.cache.extract
    monkeypatch.setattr(attnviz.app.cache, "extract", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    text = "Counting forward passes while the sliders move, a unique sentence 4711."
    at = open_page("pages/pretrained.py", hf_text=text)
    at.slider(key="hf_layer").set_value(3).run()
    at.slider(key="hf_head").set_value(7).run()
    for tab in ("Rollout", "Head similarity", "Head statistics"):
        at.session_state["hf_analysis"] = tab
        at.run()
        assert not at.exception, tab
    assert calls == [text]
