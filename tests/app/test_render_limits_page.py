"""The paper popover under the render limits: a hung render is one sentence, and a visitor's renders a minute
are capped with one sentence (the operator's are not)."""

import kaleido
import pytest
from render_hang import HangingBrowser, group
from test_export_page import open_popover
from test_pages import open_page

from attnviz.app.messages import plain
from attnviz.figures import export

KEY = "rnn_heatmap_paper"
TEXT = "the red car sees my old dog"


def press(at):
    at.button(key=f"{KEY}-render").click().run()
    assert not at.exception, at.exception
    return [e.value for e in at.error]


@pytest.mark.timeout(60)
def test_a_hung_render_is_stopped_and_said_in_one_sentence(monkeypatch):
    monkeypatch.setattr(kaleido, "Kaleido", HangingBrowser)
    monkeypatch.setattr(export, "RENDER_SECONDS", 1)
    HangingBrowser.started.clear()
    at = open_popover(open_page("pages/temporal.py", rnn_text=TEXT), KEY)
    assert press(at) == [plain("The export took longer than 1 s and was stopped.")]
    assert group(HangingBrowser.started[-1]) == set()


def quick_renders(monkeypatch):
    monkeypatch.setattr(export, "to_bytes", lambda fig, chosen: b"<svg/>")
    return open_popover(open_page("pages/temporal.py", rnn_text=TEXT), KEY)


def test_a_visitor_gets_six_renders_a_minute_then_one_sentence(monkeypatch):
    at = quick_renders(monkeypatch)
    for _ in range(6):
        assert press(at) == []
    assert press(at) == [plain("At most 6 figures can be rendered a minute here: wait a moment, then render again.")]


def test_the_operator_is_not_rate_limited(monkeypatch, operator):
    at = quick_renders(monkeypatch)
    assert all(press(at) == [] for _ in range(8))
