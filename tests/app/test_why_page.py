"""The 'Why attention, measured' page: shipped results drawn as they are, live and capped reruns."""

from pathlib import Path

import numpy as np
import pytest
from browser_check import app_in_browser
from streamlit.testing.v1 import AppTest

from attnviz.builtin import experiments
from attnviz.builtin.experiments import softmax_scale
from attnviz.builtin.models.registry import MODELS

from chart_data import charts, decode

APP = Path(__file__).resolve().parents[2] / "app.py"


def open_page(page: str = "pages/why.py") -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    at.switch_page(page)
    return at.run()


def series(spec: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {trace["name"]: (decode(trace["x"]), decode(trace["y"])) for trace in spec["data"]}


@pytest.fixture(scope="module")
def page() -> AppTest:
    return open_page()


def test_the_page_runs_and_draws_every_section(page):
    assert not page.exception, page.exception
    assert not page.error, [e.value for e in page.error]
    assert [h.value.split(".")[0] for h in page.header][:7] == ["1", "2", "3", "4", "5", "6", "7"]
    drawn = set(charts(page))
    assert {"why_bottleneck", "why_accumulation", "why_entropy", "why_gradient", "why_cost_seconds"} <= drawn
    assert "why_memory" in drawn
    commands = " ".join(c.value for c in page.caption)
    assert all(experiments.COMMANDS[name] in commands for name in experiments.EXPERIMENT_NAMES)


def test_the_bottleneck_chart_is_the_shipped_results_file(page):
    shipped = experiments.load("bottleneck")
    for task in shipped["tasks"]:
        page.selectbox(key="why_task").set_value(task).run()
        drawn = series(charts(page)["why_bottleneck"])
        for model, rows in shipped["tasks"][task].items():
            x, y = drawn[MODELS[model].title]
            np.testing.assert_array_equal(x, [r["length"] for r in rows])
            np.testing.assert_array_equal(y, [r["exact_match"] for r in rows])


def test_the_accumulation_chart_is_the_shipped_results_file(page):
    shipped = experiments.load("accumulation")["models"]["rnn-additive"]
    page.selectbox(key="why_model").set_value("rnn-additive").run()
    drawn = series(charts(page)["why_accumulation"])
    np.testing.assert_array_equal(drawn["free decoding"][1], shipped["free"])
    np.testing.assert_array_equal(drawn["teacher forcing"][1], shipped["forced"])


def test_the_softmax_section_is_live(page):
    page.slider(key="why_keys").set_value(64).run()
    expected = softmax_scale.random_qk(keys=64, queries=200)
    drawn = series(charts(page)["why_entropy"])
    np.testing.assert_allclose(drawn["unscaled"][1], [r["unscaled"]["entropy"] for r in expected])
    np.testing.assert_allclose(drawn["scaled"][1], [r["scaled"]["entropy"] for r in expected])


def test_a_hosted_rerun_of_the_cost_is_capped(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    at = open_page()
    at.button(key="why_button_attention-cost").click().run()
    assert not at.exception, at.exception
    lengths = series(charts(at)["why_cost_seconds"])["dot"][0]
    assert lengths.max() == 256 and "your rerun" in " ".join(c.value for c in at.caption)
    at.button(key="why_button_accumulation").click().run()
    assert not at.exception, at.exception
    assert "300 fresh reverse words" in " ".join(c.value for c in at.caption)  # 50 of each length 10-15


@pytest.mark.parametrize(
    "page_file", ["pages/temporal.py", "pages/self_attention.py", "pages/memory.py", "pages/hierarchical.py"]
)
def test_the_pages_an_experiment_belongs_to_link_to_it(page_file):
    at = open_page(page_file)
    links = [element.proto for element in at.get("page_link")]
    assert any(link.page.endswith("why.py") or "why" in link.page for link in links), links


@pytest.mark.browser
def test_in_a_browser_the_bottleneck_draws_one_line_per_model():
    with app_in_browser("why") as (page, shots):
        assert page.locator("h1").first.inner_text() == "Why attention, measured"
        assert page.locator("[data-testid=stException]").count() == 0
        first = page.locator(".js-plotly-plot").first
        assert first.locator(".scatterlayer .trace").count() == len(experiments.load("bottleneck")["tasks"]["reverse"])
        page.screenshot(path=str(shots / "why-bottleneck.png"))


def test_the_memory_chart_is_the_shipped_results_file(page):
    shipped = experiments.load("memory")
    drawn = series(charts(page)["why_memory"])
    for model, rows in shipped["models"].items():
        x, y = drawn[MODELS[model].title]
        np.testing.assert_array_equal(x, [r["length"] for r in rows])
        np.testing.assert_array_equal(y, [r["wrong_bits"] for r in rows])
    text = " ".join(m.value for m in page.markdown)
    trained = np.mean([r["wrong_bits"] for r in shipped["models"]["ntm"] if r["length"] <= 20])
    assert f"NTM **{trained:.3f}**" in text and f"LSTM {shipped['parameters']['lstm']:,}" in text


def test_a_hosted_rerun_of_the_memory_experiment_is_capped(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    at = open_page()
    at.button(key="why_button_memory").click().run()
    assert not at.exception, at.exception
    lengths = series(charts(at)["why_memory"])["Neural Turing Machine"][0]
    assert lengths.max() == 40 and "50 sequences per length" in " ".join(c.value for c in at.caption)


def test_the_hierarchy_section_draws_the_shipped_results_file(page):
    shipped = experiments.load("hierarchy")
    bars = {trace["name"]: decode(trace["y"]) for trace in charts(page)["why_hierarchy"]["data"]}
    han, mean = shipped["models"]["han"], shipped["models"]["han-mean"]
    np.testing.assert_array_equal(bars[MODELS["han"].title], [han["accuracy"], han["top_sentence_is_evidence"]])
    np.testing.assert_array_equal(bars[MODELS["han-mean"].title], [mean["accuracy"]])
    gap = 100 * (han["accuracy"] - mean["accuracy"])
    side = "worse" if gap > 0 else "better"
    assert any(f"**{abs(gap):.1f} points** {side}" in m.value for m in page.markdown)
    drawn = series(charts(page)["why_hierarchy_groups"])
    for model, rows in shipped["by_length"].items():
        np.testing.assert_array_equal(drawn[MODELS[model].title][0], [r["sentences"] for r in rows])
        np.testing.assert_array_equal(drawn[MODELS[model].title][1], [r["accuracy"] for r in rows])
    for group in ("by_distractors", "by_mentions"):
        page.radio(key="why_han_group").set_value(group).run()
        drawn = series(charts(page)["why_hierarchy_groups"])
        for model, rows in shipped[group].items():
            np.testing.assert_array_equal(drawn[MODELS[model].title][1], [r["accuracy"] for r in rows])
    learned = shipped["learning"]
    behind = 100 * (learned["at_budget"]["han"] - learned["at_budget"]["han-mean"])
    assert any(
        f"({learned['budget']} steps," in m.value and f"**{behind:.1f} points** behind" in m.value
        for m in page.markdown
    )
    page.radio(key="why_han_group").set_value("learning").run()
    drawn = series(charts(page)["why_hierarchy_learning"])
    for model, curve in learned["curves"].items():
        np.testing.assert_array_equal(drawn[MODELS[model].title][0], [step for step, _ in curve])
        np.testing.assert_array_equal(drawn[MODELS[model].title][1], [score for _, score in curve])


def test_a_hosted_rerun_of_the_hierarchy_is_capped(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    at = open_page()
    at.button(key="why_button_hierarchy").click().run()
    assert not at.exception, at.exception
    assert "200 fresh documents, and 50 per length or count" in " ".join(c.value for c in at.caption)
    assert all(r["n"] == 50 for r in at.session_state["why_rerun_hierarchy"]["by_length"]["han"])


@pytest.mark.browser
def test_in_a_browser_the_hierarchy_section_draws_both_models():
    with app_in_browser("why") as (page, shots):
        header = page.get_by_text("7. A hierarchical task where attention must pick the evidence")
        header.scroll_into_view_if_needed()
        assert page.locator("[data-testid=stException]").count() == 0
        bars = page.locator(".js-plotly-plot").filter(has=page.locator(".barlayer"))
        assert bars.first.locator(".barlayer .trace").count() == 2  # han and han-mean
        page.wait_for_timeout(500)
        page.screenshot(path=str(shots / "why-hierarchy.png"))


@pytest.mark.browser
def test_in_a_browser_the_memory_section_draws_both_models():
    with app_in_browser("why") as (page, shots):
        page.get_by_text("6. Memory: an LSTM against a Neural Turing Machine").scroll_into_view_if_needed()
        assert page.locator("[data-testid=stException]").count() == 0
        plot = page.locator(".js-plotly-plot").filter(has_text="wrong bits").first
        names = plot.locator(".legend .legendtext").all_text_contents()  # SVG text: no innerText
        assert sorted(names) == sorted(MODELS[m].title for m in ("ntm", "lstm")), names
        page.wait_for_timeout(500)
        page.screenshot(path=str(shots / "why-memory.png"))
