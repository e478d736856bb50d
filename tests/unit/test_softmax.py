"""The streaming extraction's softmax paths (attnviz/long/softmax.py): the default (torch's operations), the
compiled one (torch.compile) and the opt-in C kernel give the same set-aside entropy as float64 arithmetic, even
for a head with all but 1e-8 of its weight on the first token; the compiled path never makes a page wait; and a
setting attnviz does not know stops the app with one sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import need_native, skip_or_fail
from streamlit.testing.v1 import AppTest

from attnviz import settings
from attnviz.long import softmax
from attnviz.long.reduce import Reducer

APP = Path(__file__).resolve().parents[2] / "app.py"
HEADS, ROWS, KEYS = 2, 8, 2048


def sink_scores(seed: int = 0) -> torch.Tensor:
    """``[1, heads, rows, keys]``: each row puts about 1 - 1e-8 of its weight on the first key."""
    generator = torch.Generator().manual_seed(seed)
    scores = np.log(1e-8 / (KEYS - 1)) + 0.5 * torch.randn(1, HEADS, ROWS, KEYS, generator=generator)
    scores[..., 0] = 0.0
    return scores.contiguous()


def exact_aside(scores: torch.Tensor) -> np.ndarray:
    """Per head, the mean over rows of the entropy of each row without its first key, renormalised, divided by
    the log of the keys left (float64)."""
    s = scores[0].double().numpy()
    rest = np.exp(s[..., 1:] - s.max(-1, keepdims=True))
    rest /= rest.sum(-1, keepdims=True)
    return (-(rest * np.log(rest)).sum(-1) / np.log(KEYS - 1)).mean(-1)


def set_aside_entropy(scores: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(the reducer's "entropy_aside" from the rows the chosen path gives, the first weights) for ``scores``."""
    reducer = Reducer(HEADS, KEYS, np.zeros(KEYS, bool), np.zeros(KEYS, bool), (1, 64), "self")
    weights, rows = softmax.rows(scores, torch.empty_like(scores), (0, reducer.layout.fk, reducer.layout.n_cols))
    first = weights[0, ..., 0].clone()
    reducer.add(weights[0], 0, 0, rows=rows)
    with np.errstate(invalid="ignore"):  # thumbnail cells of query rows this test has none of
        return reducer.result()[1]["entropy_aside"], first


@pytest.fixture(scope="module")
def compiled():
    """torch.compile's path, compiled (once per test process); its failure is a failure here."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ATTNVIZ_SOFTMAX", "compiled")
        softmax.warm().join(timeout=600)
    if softmax._COMPILED["function"] is None:
        skip_or_fail(f"torch.compile failed here: {softmax._COMPILED['error']}", "ATTNVIZ_REQUIRE_NATIVE")


@pytest.mark.parametrize("path", ["torch", "compiled", "c"])
def test_the_set_aside_entropy_of_a_sink_head_is_exact(path, monkeypatch, request):
    monkeypatch.setenv("ATTNVIZ_SOFTMAX", path)
    if path == "c":
        need_native()
    if path == "compiled":
        request.getfixturevalue("compiled")
        assert softmax.status() == "torch.compile (Inductor)"
    scores = sink_scores()
    want = exact_aside(scores)
    found, first = set_aside_entropy(scores)
    assert (first > 1 - 3e-8).all() and want.min() > 0.5  # a strong sink, and something left to measure
    np.testing.assert_allclose(found, want, atol=1e-5)


def test_the_default_is_torchs_operations(monkeypatch):
    monkeypatch.delenv("ATTNVIZ_SOFTMAX", raising=False)
    assert settings.softmax() == "torch" and softmax.status() == "torch's operations"
    assert softmax.warm() is None  # nothing to build or compile


def test_the_compiled_path_equals_torchs(compiled, monkeypatch):
    """Widths on both sides of Inductor's 4,096-key reduction (two graphs), and rows of one key."""
    monkeypatch.setenv("ATTNVIZ_SOFTMAX", "compiled")
    for shape in [(1, 3, 5, 1), (1, 3, 7, 300), (1, 2, 3, 4096), (1, 2, 3, 5000)]:
        scores = torch.randn(shape) * 4
        scores[..., -1] = torch.finfo(torch.float32).min  # a masked key
        weights, rows = softmax.rows(scores.clone(), torch.empty(shape), None)
        want, want_rows = softmax.eager(scores.clone(), torch.empty(shape))
        np.testing.assert_allclose(weights.numpy(), want.numpy(), atol=1e-7)
        for name in ("entropy", "max"):
            np.testing.assert_allclose(rows[name].numpy(), want_rows[name].numpy(), atol=2e-6)


def test_while_compiling_or_after_a_failure_torchs_path_answers(monkeypatch):
    """The page never waits for the compiler: no compiled function yet (or a failed compilation) is torch's path,
    said so in the page's sentence."""
    monkeypatch.setenv("ATTNVIZ_SOFTMAX", "compiled")
    monkeypatch.setattr(softmax, "_COMPILED", {"function": None, "thread": "started", "error": None})
    scores = torch.randn(1, 2, 3, 10)
    weights, rows = softmax.rows(scores.clone(), torch.empty(1, 2, 3, 10), None)
    np.testing.assert_allclose(weights.numpy(), torch.softmax(scores, -1).numpy(), atol=1e-7)
    assert softmax.status() == "torch's operations (torch.compile is still compiling)"
    monkeypatch.setattr(softmax.torch, "compile", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no g++")))
    softmax._compile()
    assert softmax._COMPILED["function"] is None
    assert softmax.status() == "torch's operations (torch.compile failed here: no g++)"


@pytest.mark.parametrize(("name", "value"), [("ATTNVIZ_SOFTMAX", "off"), ("ATTNVIZ_SOFTMAX", "maybe")])
def test_an_unknown_softmax_stops_the_app_with_one_sentence(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(settings.SettingError, match="is not a setting attnviz knows"):
        settings.softmax()
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    [message] = [e.value for e in at.error]
    assert message.startswith(f"ATTNVIZ_SOFTMAX='{value}' is not a setting") and "Use torch (the default)" in message
    assert not at.title


@pytest.mark.parametrize("value", ["0", "1", "off"])
def test_the_retired_switch_is_refused_not_ignored(monkeypatch, value):
    """ATTNVIZ_NATIVE once switched the C kernel off with 0 and left it on for any other value."""
    monkeypatch.setenv("ATTNVIZ_NATIVE", value)
    with pytest.raises(settings.SettingError, match=f"ATTNVIZ_NATIVE='{value}' is no longer read"):
        settings.softmax()


@pytest.mark.parametrize(("value", "path"), [("", "torch"), ("Torch", "torch"), ("compiled", "compiled"), ("c", "c")])
def test_known_values_choose_a_path(monkeypatch, value, path):
    monkeypatch.setenv("ATTNVIZ_SOFTMAX", value)
    assert settings.softmax() == path
