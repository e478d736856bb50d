"""The streaming extraction's softmax paths (attnviz/long/softmax.py): the default (torch.compile's pass), torch's
operations and the opt-in C kernel give the same set-aside entropy as float64 arithmetic, even
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


def test_the_default_is_the_compiled_pass_with_torchs_operations_until_it_is_ready(monkeypatch):
    monkeypatch.delenv("ATTNVIZ_SOFTMAX", raising=False)
    monkeypatch.setattr(softmax, "_COMPILED", {"function": None, "thread": "started", "error": None})
    assert settings.softmax() == "compiled"
    assert softmax.status() == "torch's operations (torch.compile is still compiling)"
    monkeypatch.setenv("ATTNVIZ_SOFTMAX", "torch")
    assert softmax.status() == "torch's operations" and softmax.warm() is None  # nothing to build or compile


def test_the_compiled_path_equals_torchs(compiled, monkeypatch):
    """Rows of two segments or more run compiled (the keys after the last whole segment by torch's operations),
    shorter rows take torch's path. Weights, entropy and largest weight agree either way, a masked key included."""
    monkeypatch.setenv("ATTNVIZ_SOFTMAX", "compiled")
    for shape, fused in [
        ((1, 3, 5, 1), False),
        ((1, 3, 7, 300), False),  # one segment
        ((1, 2, 3, 2 * softmax.SEGMENT), True),
        ((1, 2, 3, 700), True),  # two segments and 188 keys after them
        ((1, 2, 3, 4096), True),
        ((1, 4, 5, 8000), True),
    ]:
        scores = torch.randn(shape) * 4
        scores[..., -1] = torch.finfo(torch.float32).min  # a masked key
        assert (softmax.exponentials(scores.clone(), torch.empty(shape)) is not None) == fused, shape
        weights, rows = softmax.rows(scores.clone(), torch.empty(shape), None)
        want, want_rows = softmax.eager(scores.clone(), torch.empty(shape))
        np.testing.assert_allclose(weights.numpy(), want.numpy(), rtol=3e-6, atol=1e-7)  # Z summed in another order
        for name in ("entropy", "max"):
            np.testing.assert_allclose(rows[name].numpy(), want_rows[name].numpy(), atol=2e-6)


def test_the_streaming_extraction_gives_torchs_numbers_through_the_compiled_pass(compiled, monkeypatch):
    """A decoder with grouped keys streamed over 700 tokens (bands of 220, 440, 660 and 700 keys: the last two
    through the compiled pass, whose exponentials are never divided by their sum, each term read from them
    divided instead): every statistic, both thumbnails and the next layer's queries equal torch's path's."""
    import transformers as tf

    from attnviz.long.stream import stream

    torch.manual_seed(0)
    sizes = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
    config = tf.LlamaConfig(**sizes, num_key_value_heads=2, initializer_range=0.5, max_position_embeddings=700)
    model = tf.LlamaForCausalLM(config).eval()
    ids = torch.randint(0, 64, (1, 700), generator=torch.Generator().manual_seed(1))
    tokens, special = tuple(f"t{i}" for i in range(700)), (True,) + (False,) * 699
    found, calls, function = {}, [], softmax._COMPILED["function"]

    def counted(*args):  # a call that would compile again raises before it is counted
        result = function(*args)
        calls.append(settings.softmax())
        return result

    monkeypatch.setitem(softmax._COMPILED, "function", counted)
    for path in ("torch", "compiled"):
        monkeypatch.setenv("ATTNVIZ_SOFTMAX", path)
        found[path] = stream(model, ids, tokens, special, chunk=256, side=16)
    assert calls == ["compiled"] * 2 * 2 * 2  # 2 chunks a layer, 2 layers, 2 query heads a key head
    torch_path, compiled_path = found["torch"], found["compiled"]
    for name, values in torch_path.statistics.items():
        atol = 2e-5 if name.endswith("_aside") else 1e-6
        np.testing.assert_allclose(compiled_path.statistics[name], values, rtol=1e-6, atol=atol, err_msg=name)
    np.testing.assert_allclose(compiled_path.thumbnails, torch_path.thumbnails, atol=1e-6)
    np.testing.assert_allclose(compiled_path.thumbnails_aside, torch_path.thumbnails_aside, atol=1e-6)
    np.testing.assert_allclose(compiled_path.head(1, 3), torch_path.head(1, 3), atol=1e-5)  # from layer 0 outputs


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
    assert (
        message.startswith(f"ATTNVIZ_SOFTMAX='{value}' is not a setting")
        and "compiled (torch.compile, the default)" in message
    )
    assert not at.title


@pytest.mark.parametrize("value", ["0", "1", "off"])
def test_the_retired_switch_is_refused_not_ignored(monkeypatch, value):
    """ATTNVIZ_NATIVE once switched the C kernel off with 0 and left it on for any other value."""
    monkeypatch.setenv("ATTNVIZ_NATIVE", value)
    with pytest.raises(settings.SettingError, match=f"ATTNVIZ_NATIVE='{value}' is no longer read"):
        settings.softmax()


@pytest.mark.parametrize(
    ("value", "path"), [("", "compiled"), ("Torch", "torch"), ("compiled", "compiled"), ("c", "c")]
)
def test_known_values_choose_a_path(monkeypatch, value, path):
    monkeypatch.setenv("ATTNVIZ_SOFTMAX", value)
    assert settings.softmax() == path
