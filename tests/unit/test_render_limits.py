"""Every render has a hard time limit: a browser that never answers is killed with its process group, and the
page and the CLI say so in one sentence."""

import asyncio
import time

import kaleido
import numpy as np
import pytest
from render_hang import HangingBrowser, group

from attnviz import figures
from attnviz.cli.main import main
from attnviz.figures import export
from attnviz.maps import storage
from attnviz.maps.attention_map import AttentionMap

STOPPED = "The export took longer than 1 s and was stopped."


@pytest.fixture
def hanging(monkeypatch):
    monkeypatch.setattr(kaleido, "Kaleido", HangingBrowser)
    monkeypatch.setattr(export, "RENDER_SECONDS", 1)
    HangingBrowser.started.clear()
    HangingBrowser.groups.clear()
    return HangingBrowser


def attention() -> AttentionMap:
    weights = np.full((1, 1, 2, 2), 0.5, np.float32)
    return AttentionMap(weights, ("a", "b"), ("a", "b"), "self")


@pytest.mark.timeout(30)
def test_a_render_that_hangs_is_stopped_in_time_and_its_browser_group_killed(hanging):
    began = time.monotonic()
    with pytest.raises(export.ExportError) as raised:
        export.to_bytes(figures.heatmap(attention(), 0, 0), export.options())
    assert str(raised.value) == STOPPED
    assert time.monotonic() - began < 4
    [pgid] = hanging.started
    assert len(hanging.groups[0]) >= 2  # the shell and its children were alive while the render hung
    assert group(pgid) == set()  # neither is left


@pytest.mark.timeout(30)
def test_the_cli_says_so_in_one_line_and_exits_2(hanging, tmp_path, capsys):
    storage.save({"encoder": attention()}, tmp_path / "maps.npz")
    out = tmp_path / "x.svg"
    assert main(["figure", "--npz", str(tmp_path / "maps.npz"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {STOPPED}"
    assert not out.exists() and group(hanging.started[0]) == set()


@pytest.mark.slow  # a real chromium starts (5-20 s on a busy machine)
@pytest.mark.timeout(120)
def test_a_real_chromium_that_never_answers_is_killed_with_every_process_it_started(monkeypatch):
    groups = []

    async def never(self, *args, **kwargs):
        groups.append((self.subprocess.pid, group(self.subprocess.pid)))
        await asyncio.Event().wait()

    monkeypatch.setattr(kaleido.Kaleido, "calc_fig", never)
    monkeypatch.setattr(export, "RENDER_SECONDS", 30)
    with pytest.raises(export.ExportError, match="^The export took longer than 30 s and was stopped.$"):
        export.to_bytes(figures.heatmap(attention(), 0, 0), export.options())
    [(pgid, members)] = groups
    assert pgid in members and len(members) >= 2  # chromium and its helpers (zygote, renderer, ...)
    assert group(pgid) == set()


def test_a_browser_that_fails_is_one_sentence(monkeypatch):
    from kaleido.errors import KaleidoError

    class Failing(HangingBrowser):
        async def __aenter__(self):
            return self  # no process: this browser fails at once

        async def calc_fig(self, *args, **kwargs):
            raise KaleidoError(525, "render failed\ndetails")

    monkeypatch.setattr(kaleido, "Kaleido", Failing)
    with pytest.raises(export.ExportError, match="^The browser that renders figures failed: Error 525: render failed$"):
        export.to_bytes(figures.heatmap(attention(), 0, 0), export.options())
