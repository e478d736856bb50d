"""The long-input page (pages/long.py) shows exactly the model's own attention, reduced by numpy here.

A tiny random Mistral (grouped keys, sliding window 64) is saved to a folder with the packaged tokenizer
(its limit lifted to 4,096 tokens), so the page reads 700 tokens: past the window, and past 512, so the head
view is reduced (block max or mean over 2 x 2 tokens). Expected numbers come from the model's eager
attention with ``output_attentions=True``, reduced independently below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import transformers as tf
from streamlit.testing.v1 import AppTest

import attnviz.long.stream
from attnviz.pretrained import hf
from attnviz.text.tokens import clean_token

from chart_data import charts, heatmap_z, labels

pytestmark = pytest.mark.usefixtures("operator")  # tiny models in local folders, and the local limits

APP = Path(__file__).resolve().parents[2] / "app.py"
WORDS = (
    "the",
    "model",
    "reads",
    "every",
    "word",
    "of",
    "this",
    "long",
    "text",
    "and",
    "attends",
    "to",
    "some",
    "of",
    "them",
    "more",
    "than",
    "others",
)


def words(n: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(rng.choice(WORDS, n))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tiny-mistral")
    config = tf.MistralConfig(
        vocab_size=30522,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        sliding_window=64,
        max_position_embeddings=4096,
        initializer_range=0.5,
    )
    torch.manual_seed(0)
    tf.MistralForCausalLM(config).save_pretrained(path)
    tokenizer = tf.AutoTokenizer.from_pretrained(hf.packaged_path())
    tokenizer.model_max_length = 4096
    tokenizer.save_pretrained(path)
    return str(path)


def eager(folder: str, text: str) -> tuple[np.ndarray, list[str]]:
    """Every head's full map ``[layer, head, query, key]`` from the model's eager attention, and the ids' tokens."""
    model = tf.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").eval()
    tokenizer = tf.AutoTokenizer.from_pretrained(folder)
    ids = tokenizer(text, truncation=True, max_length=4096)["input_ids"]
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), output_attentions=True, use_cache=False)
    return torch.stack(out.attentions)[:, 0].numpy(), tokenizer.convert_ids_to_tokens(ids)


def blocks(weights: np.ndarray, fq: int, fk: int, how: str) -> np.ndarray:
    """Block mean or max over the last two axes, edge blocks over their real cells: a plain loop."""
    *lead, q, k = weights.shape
    out = np.zeros((*lead, -(-q // fq), -(-k // fk)))
    for i in range(out.shape[-2]):
        for j in range(out.shape[-1]):
            block = weights[..., i * fq : (i + 1) * fq, j * fk : (j + 1) * fk]
            out[..., i, j] = block.max(axis=(-2, -1)) if how == "max" else block.mean(axis=(-2, -1))
    return out


def renormalised(weights: np.ndarray) -> np.ndarray:
    rest = weights[:, 1:].astype(np.float64)
    total = rest.sum(-1, keepdims=True)
    return np.where(total > 0, rest / np.where(total > 0, total, 1), 0.0)


def open_long(**params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    at.switch_page("pages/long.py")
    for key, value in params.items():
        at.session_state[key] = value
    return at.run()


def test_overview_head_view_and_zoom_are_the_models_own_attention(folder):
    text = words(700)
    full, tokens = eager(folder, text)
    n = full.shape[-1]
    assert 512 < n <= 1024
    at = open_long(long_model=folder, long_text=text, long_layer=1, long_head=2, long_zq=300, long_zk=100)
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    found = charts(at)
    thumbnails = blocks(full, -(-n // 32), -(-n // 32), "mean")  # [layer, head, rows, cols]
    layers, heads, rows, cols = thumbnails.shape
    tiled = thumbnails.transpose(0, 2, 1, 3).reshape(layers * rows, heads * cols)
    np.testing.assert_allclose(heatmap_z(found["long_overview"]), tiled, atol=1e-6)
    # the head, block max over 2 x 2 tokens (700 tokens > 512 cells), titled so
    np.testing.assert_allclose(heatmap_z(found["long_head_chart"]), blocks(full[1, 2], 2, 2, "max"), atol=1e-5)
    assert "block max over 2 x 2 tokens" in found["long_head_chart"]["layout"]["title"]["text"]
    # the zoom window at full resolution, with its tokens on the axes
    np.testing.assert_allclose(heatmap_z(found["long_zoom_chart"]), full[1, 2, 300:556, 100:356], atol=1e-5)
    assert labels(found["long_zoom_chart"], "xaxis") == [clean_token(t) for t in tokens[100:356:2]]  # 128 labels
    assert labels(found["long_zoom_chart"], "yaxis") == [clean_token(t) for t in tokens[300:556:2]]
    at.radio(key="long_how").set_value("mean").run()
    np.testing.assert_allclose(heatmap_z(charts(at)["long_head_chart"]), blocks(full[1, 2], 2, 2, "mean"), atol=1e-5)
    assert "block mean over 2 x 2 tokens" in charts(at)["long_head_chart"]["layout"]["title"]["text"]


def test_statistics_are_sink_mass_and_window_entropy_of_the_full_maps(folder, softmax_path):
    text = words(300, seed=1 if softmax_path == "fused" else 11)  # another input: the store would answer the same
    full, _ = eager(folder, text)
    at = open_long(long_model=folder, long_text=text)
    assert not [c.value for c in at.caption if "The softmax runs on" in c.value]  # the path asked for runs
    found = charts(at)
    n = full.shape[-1]
    assert n > 64  # past the window: a query after the first 64 cannot see the first token
    np.testing.assert_allclose(heatmap_z(found["long_sink"]), full[..., :64, 0].mean(-1), atol=1e-6)
    seen = np.minimum(np.arange(n) + 1, 64)  # causal, window 64
    plogp = -(full * np.log(np.where(full > 0, full, 1))).sum(-1)
    expected = (plogp[..., 1:] / np.log(seen[1:])).mean(-1)  # the first query sees one key: no entropy
    np.testing.assert_allclose(heatmap_z(found["long_entropy"]), expected, atol=1e-5)


def test_setting_the_first_token_aside_renormalises_every_row_and_says_so(folder):
    text = words(60, seed=2)
    full, _ = eager(folder, text)
    at = open_long(long_model=folder, long_text=text, long_layer=0, long_head=3, long_aside=True)
    assert not at.exception
    shown = heatmap_z(charts(at)["long_head_chart"])
    expected = renormalised(full[0, 3])
    np.testing.assert_allclose(shown, expected, atol=1e-5)
    sums = shown.astype(np.float64).sum(-1)
    np.testing.assert_allclose(sums[1:], 1.0, atol=1e-5)  # every row over the keys that remain
    assert sums[0] == 0  # the first query saw only the first token: nothing remains
    assert "first token set aside" in charts(at)["long_head_chart"]["layout"]["title"]["text"]
    assert any("first token is set aside" in i.value for i in at.info)
    np.testing.assert_allclose(heatmap_z(charts(at)["long_zoom_chart"]), expected, atol=1e-5)
    n = full.shape[-1]
    assert any(f"queries 0-{n - 1}, keys 1-{n - 1} " in c.value for c in at.caption)  # token positions
    # the overview and the entropy grid follow the toggle: renormalised rows, key 0 no longer a cell
    rest = full[..., 1:].astype(np.float64)
    total = rest.sum(-1, keepdims=True)
    p = np.concatenate([np.zeros_like(rest[..., :1]), np.where(total > 0, rest / np.where(total > 0, total, 1), 0)], -1)
    starts = np.arange(0, n, -(-n // 32))
    cells = np.ones((n, n))
    cells[:, 0] = 0
    sums = np.add.reduceat(np.add.reduceat(p, starts, -2), starts, -1)
    thumbnails = sums / np.add.reduceat(np.add.reduceat(cells, starts, 0), starts, 1)
    layers, heads, rows, cols = thumbnails.shape
    tiled = thumbnails.transpose(0, 2, 1, 3).reshape(layers * rows, heads * cols)
    np.testing.assert_allclose(heatmap_z(charts(at)["long_overview"]), tiled, atol=1e-6)
    seen = np.minimum(np.arange(n) + 1, 64) - (np.arange(n) < 64)  # causal, window 64, key 0 not counted
    plogp = -(p * np.log(np.where(p > 0, p, 1))).sum(-1)
    expected = (plogp[..., seen > 1] / np.log(seen[seen > 1])).mean(-1)
    np.testing.assert_allclose(heatmap_z(charts(at)["long_entropy"]), expected, atol=2e-5)
    assert any("first token set aside" in c.value for c in at.caption)


def test_moving_sliders_and_options_never_runs_the_model_again(folder, monkeypatch):
    calls = []
    real = attnviz.long.stream.stream
    monkeypatch.setattr(attnviz.long.stream, "stream", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = open_long(long_model=folder, long_text=words(200, seed=3) + " counting runs")
    at.slider(key="long_layer").set_value(1).run()
    at.slider(key="long_head").set_value(3).run()
    at.radio(key="long_how").set_value("mean").run()
    at.toggle(key="long_aside").set_value(True).run()
    at.number_input(key="long_zq").set_value(50).run()
    assert not at.exception
    assert calls == [1]  # one streamed forward pass served every view


def test_an_uploaded_text_file_is_what_runs(folder):
    text = words(120, seed=4)
    full, _ = eager(folder, text)
    at = open_long(long_model=folder, long_text="something else entirely")
    at.file_uploader(key="long_upload").set_value(("doc.txt", text.encode("utf-8"), "text/plain")).run()
    assert not at.exception and not at.error
    assert any("Reading doc.txt" in c.value.replace("\\", "") for c in at.caption)
    np.testing.assert_allclose(heatmap_z(charts(at)["long_head_chart"]), blocks(full[0, 0], 1, 1, "max"), atol=1e-5)


@pytest.mark.parametrize(
    "data, sentence",
    [
        (b"\xff\xfe\x00b\x00a\x00d", "The file is not UTF-8 text: upload a plain .txt file."),
        (b"a" * 1_600_001, "The file is 1,600,001 bytes; this page reads text files of up to 1,600,000 bytes."),
    ],
)
def test_a_bad_upload_is_one_clear_sentence(data, sentence):
    at = open_long()
    at.file_uploader(key="long_upload").set_value(("bad.txt", data, "text/plain")).run()
    assert not at.exception
    assert [e.value.replace("\\", "") for e in at.error] == [sentence]


@pytest.mark.parametrize(
    "text, sentence",
    [
        ("   ", "Type or upload some text first."),
        ("[SEP] [CLS]", "This text holds no ordinary tokens, only special ones: type some words."),
    ],
)
def test_bad_text_is_one_clear_sentence(text, sentence):
    at = open_long(long_text=text)
    assert not at.exception
    assert [e.value.replace("\\", "") for e in at.error] == [sentence]


def test_the_default_page_runs_the_packaged_model_on_its_sample():
    at = open_long()
    assert not at.exception and not at.error and not at.warning
    assert set(charts(at)) == {"long_overview", "long_sink", "long_entropy", "long_head_chart", "long_zoom_chart"}
    tiles = heatmap_z(charts(at)["long_overview"])
    assert tiles.shape[0] % 6 == 0 and tiles.shape[1] % 12 == 0  # MiniLM: 6 layers x 12 heads
    assert "encoder model, reads up to 512 tokens" in at.caption[0].value.replace("\\", "")


def test_a_second_long_run_while_this_sessions_first_is_in_flight_is_one_sentence(folder, monkeypatch):
    from attnviz.app import long as long_ui

    at = open_long(long_model=folder, long_text=words(50, seed=5))
    assert not at.exception and not at.warning and at.session_state[long_ui.RUNNING] is False  # freed after its run
    calls = []
    monkeypatch.setattr(attnviz.long.stream, "stream", lambda *a, **k: calls.append(1))
    at.session_state[long_ui.RUNNING] = True  # as while this session's first run is in its forward pass
    at.text_area(key="long_text").set_value(words(60, seed=6)).run()
    assert not at.exception and calls == []
    assert [w.value.replace("\\", "") for w in at.warning] == [long_ui.BUSY]
