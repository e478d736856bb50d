"""The Temporal and Why pages knock the RNN's attention out (attnviz/builtin/uniform.py) and show its numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnviz.builtin import uniform

APP = Path(__file__).resolve().parents[2] / "app.py"


def opened(page: str, toggle: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    at.switch_page(page)
    at = at.run()
    assert not at.dataframe or all("uniform" not in str(d.value) for d in at.dataframe)  # nothing until asked
    at.toggle(key=toggle).set_value(True).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.slow  # 200 examples decoded twice, the page's and the test's: 11 s on a busy machine
def test_the_temporal_page_shows_the_model_with_and_without_its_attention():
    at = opened("pages/temporal.py", "rnn_knockout")
    expected = uniform.knockout("translate", "rnn-additive")
    table = at.dataframe[-1].value
    for row, side in enumerate(("attention", "uniform")):
        assert table["exact match"][row] == expected[side]["exact_match"]
        assert table["token accuracy"][row] == expected[side]["token_accuracy"]
        assert table["loss (teacher-forced)"][row] == pytest.approx(expected[side]["loss"], rel=1e-6)
    assert at.get("page_link")  # to the heads page


def test_the_why_pages_bottleneck_section_shows_it_for_its_task():
    at = opened("pages/why.py", "why_knockout")
    task = at.selectbox(key="why_task").value
    expected = uniform.knockout(task, "rnn-additive")
    said = [c.value for c in at.caption if "attention made uniform" in c.value]
    assert said and f"exact match {expected['attention']['exact_match']:.0%} becomes" in said[0].replace("\\%", "%")
    assert f"becomes {expected['uniform']['exact_match']:.0%}" in said[0].replace("\\%", "%")


def test_the_self_attention_page_knocks_out_each_head_of_the_map():
    from attnviz.builtin import head_knockout

    from chart_data import charts, heatmap_z

    at = opened("pages/self_attention.py", "tf_knockout")
    expected = head_knockout.head_grid("translate", "transformer", "cross", n=head_knockout.PAGE_EXAMPLES)
    found = charts(at)
    np.testing.assert_allclose(heatmap_z(found["tf_knockout_exact"]), expected["exact_match"], atol=1e-6)
    np.testing.assert_allclose(heatmap_z(found["tf_knockout_loss"]), expected["loss"], rtol=1e-5, atol=1e-7)
