"""attnviz/long/results.py: the bytes-bounded store, block reductions, the zoom box and the upload reader."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers as tf

from attnviz.long import results as long_input
from attnviz.long.mask import RowMask
from attnviz.long.results import LongRun, Store, reduce_blocks, set_first_aside, stored_bytes, window_from_box
from attnviz.long.stream import stream

LAYERS, HEADS, KV_HEADS, HEAD_DIM = 2, 4, 2, 8


def streamed_llama(n: int):
    config = tf.LlamaConfig(
        vocab_size=64,
        hidden_size=HEADS * HEAD_DIM,
        intermediate_size=64,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    model = tf.LlamaForCausalLM(config).eval()
    model.set_attn_implementation("eager")
    ids = torch.randint(0, 64, (1, n), generator=torch.Generator().manual_seed(n))
    return stream(model, ids, tuple(map(str, range(n))), (False,) * n, side=16)


def test_stored_bytes_are_queries_keys_thumbnails_and_statistics_and_no_dense_mask():
    n = 100
    streamed = streamed_llama(n)
    queries_keys = LAYERS * (HEADS + KV_HEADS) * n * HEAD_DIM * 4  # float32, keys not repeated
    thumbnails = 2 * LAYERS * HEADS * 15 * 15 * 4  # 100 tokens in blocks of 7: 15 x 15 cells; and first set aside
    statistics = len(streamed.statistics) * LAYERS * HEADS * 4
    assert stored_bytes(streamed) == queries_keys + thumbnails + statistics  # no [n, n] causal mask (was 40,000 B)
    assert all(isinstance(layer.mask, RowMask) for layer in streamed.layers)
    config = tf.LlamaConfig(hidden_size=HEADS * HEAD_DIM, num_hidden_layers=LAYERS, num_attention_heads=HEADS)
    config.num_key_value_heads = KV_HEADS
    estimate = long_input.estimated_bytes(config, n, side=16)
    assert LongRun(streamed, n).nbytes <= estimate <= LongRun(streamed, n).nbytes + thumbnails  # known beforehand


def test_a_run_whose_result_would_pass_the_store_bound_is_refused_before_the_model_runs(tmp_path, monkeypatch):
    from attnviz.pretrained import hf

    from hf_models import save_tiny

    loaded = hf.load(str(save_tiny("llama", tmp_path / "llama")))
    text = "one two three four five six"
    needed = long_input.estimated_bytes(loaded.model.config, 8)
    monkeypatch.setattr("attnviz.long.stream.stream", lambda *a, **k: pytest.fail("the model must not run"))
    with pytest.raises(ValueError) as refused:
        long_input.run_text(loaded, text, max_tokens=64, max_bytes=needed - 1)
    mb = f"{needed / 2**20:,.0f} MB"
    said = f"8 tokens of {loaded.name} would hold about {mb}, more than the {(needed - 1) / 2**20:,.0f} MB this"
    assert str(refused.value) == said + " server keeps for long results: use fewer tokens."
    monkeypatch.undo()
    assert len(long_input.run_text(loaded, text, max_tokens=64, max_bytes=needed).streamed.tokens) == 8


def test_the_store_evicts_the_oldest_results_past_its_byte_bound():
    runs = {n: LongRun(streamed_llama(n), n) for n in (60, 80, 100)}
    sizes = {n: run.nbytes for n, run in runs.items()}
    store = Store(max_bytes=sizes[80] + sizes[100])
    store.put(("m", "a", 60), runs[60])
    store.put(("m", "b", 80), runs[80])
    assert store.bytes == sizes[60] + sizes[80]
    assert store.get(("m", "a", 60)) is runs[60]  # read: now the newest
    store.put(("m", "c", 100), runs[100])  # 60 + 80 + 100 passes the bound: the oldest (80) goes first
    assert store.keys() == [("m", "a", 60), ("m", "c", 100)]
    assert store.bytes == sizes[60] + sizes[100] <= store.max_bytes
    assert store.get(("m", "b", 80)) is None
    tiny = Store(max_bytes=1)  # a result larger than the bound is not kept, not even alone
    tiny.put(("m", "a", 60), runs[60])
    tiny.put(("m", "c", 100), runs[100])
    assert tiny.keys() == [] and tiny.bytes == 0


def test_block_max_and_mean_cover_partial_edge_blocks_by_their_real_cells():
    weights = np.arange(20, dtype=np.float32).reshape(4, 5)
    np.testing.assert_array_equal(reduce_blocks(weights, (3, 2), "max"), [[11, 13, 14], [16, 18, 19]])
    expected_mean = [
        [(0 + 1 + 5 + 6 + 10 + 11) / 6, (2 + 3 + 7 + 8 + 12 + 13) / 6, (4 + 9 + 14) / 3],
        [(15 + 16) / 2, (17 + 18) / 2, 19],
    ]
    np.testing.assert_allclose(reduce_blocks(weights, (3, 2), "mean"), expected_mean, rtol=1e-6)


def test_setting_the_first_token_aside_renormalises_rows_and_empties_a_row_that_had_only_it():
    weights = np.array([[1.0, 0.0, 0.0], [0.5, 0.25, 0.25], [0.2, 0.2, 0.6]], dtype=np.float32)
    np.testing.assert_allclose(set_first_aside(weights), [[0, 0], [0.5, 0.5], [0.25, 0.75]], rtol=1e-6)


def test_a_box_selection_opens_a_window_at_its_top_left_corner_kept_inside():
    box = {"x": [120.4, 180.0], "y": [40.6, 10.2]}  # a box dragged upwards
    assert window_from_box(box, n_queries=1000, n_keys=1000) == (10, 120)
    assert window_from_box({"x": [900, 990], "y": [950, 999]}, 1000, 1000) == (744, 744)
    assert window_from_box({"x": [-5, 3], "y": [-1, 2]}, 100, 100) == (0, 0)
    assert window_from_box({}, 100, 100) is None


@pytest.mark.parametrize(
    "data, sentence",
    [(b"ok \xe2\x9c\x93", None), (b"\xc3\x28", "not UTF-8"), (b"a\x00b", "not UTF-8"), (b"x" * 11, "11 bytes")],
)
def test_uploads_are_read_as_utf8_text_or_refused_in_one_sentence(data, sentence):
    if sentence is None:
        assert long_input.read_upload(data, 10) == "ok \u2713"
        return
    with pytest.raises(ValueError, match=sentence):
        long_input.read_upload(data, 10)


def test_the_readme_states_the_long_input_limits_settings_hold(monkeypatch):
    from pathlib import Path

    from attnviz import settings

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in readme.splitlines() if line.startswith("| long-input page")}
    local = settings.limits()
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    hosted = settings.limits()
    text = rows["long-input page: text (box or .txt upload)"]
    assert f"{hosted.max_long_chars:,} characters, a {hosted.max_long_upload_bytes:,}-byte file" in text
    assert f"{local.max_long_chars:,} characters, a {local.max_long_upload_bytes:,}-byte file" in text
    tokens = rows["long-input page: tokens a model reads"]
    assert f"| {hosted.max_long_tokens:,}, and" in tokens and f"| {local.max_long_tokens:,}, and" in tokens
    assert f"{settings.LONG_STORE_MB:,} MB" in rows["long-input page: streamed results kept per process"]


def test_a_run_reports_progress_layer_by_layer_and_an_encoder_decoder_is_refused(tmp_path):
    from attnviz.pretrained import hf

    from hf_models import save_tiny

    loaded = hf.load(str(save_tiny("llama", tmp_path / "llama")))
    tokenised = long_input.tokenise(loaded, "one two three four five six", max_tokens=5)
    assert len(tokenised.tokens) == 5 and tokenised.full_length == 8  # [CLS] six words [SEP], cut to five
    told = []
    result = long_input.run(loaded, tokenised, progress=lambda done, total: told.append((done, total)))
    assert told == [(1, 2), (2, 2)] and result.kind == "causal"
    seq2seq = hf.load(str(save_tiny("t5", tmp_path / "t5")))
    with pytest.raises(ValueError, match="is an encoder-decoder model; this page reads encoders and decoders"):
        long_input.tokenise(seq2seq, "some text", max_tokens=64)


def test_docs_long_states_the_sizes_the_code_uses():
    from pathlib import Path

    from attnviz import settings

    doc = " ".join((Path(__file__).resolve().parents[2] / "docs" / "long.md").read_text(encoding="utf-8").split())
    side, zoom, thumb = long_input.HEAD_SIDE, long_input.ZOOM_SIDE, long_input.OVERVIEW_SIDE
    stated = [f"at most {side} x {side} cells", f"at most {zoom} x {zoom} tokens", f"at most {thumb} x {thumb} cells"]
    stated += [f"at most {settings.limits().max_long_tokens:,} tokens", f"at most {settings.LONG_STORE_MB:,} MB"]
    for text in stated:
        assert text in doc, text


def test_a_stored_result_keeps_its_last_head_views_and_they_equal_fresh_ones():
    result = LongRun(streamed_llama(70), 70)
    first = result.head_view(1, 2, "max", False)
    assert result.head_view(1, 2, "max", False) is first  # a redraw reads the kept view
    np.testing.assert_array_equal(first.cells, long_input.head_view(result.streamed, 1, 2, "max", False).cells)
    for head in range(HEADS):
        for how in ("max", "mean"):
            result.head_view(0, head, how, True)  # eight more views: the first one is dropped
    assert len(result.views) == long_input.VIEWS_KEPT and (1, 2, "max", False) not in result.views
    assert result.head_view(1, 2, "max", False) is not first
