"""The streaming fast path (attnviz/long/chunks.py) against each family's own eager attention, on one chunk
of queries over a band of keys, with grouped keys, soft caps and masks; its row statistics by hand."""

import sys

import numpy as np
import pytest
import torch
from test_stream import DECODERS, tiny

from attnviz.long import chunks
from attnviz.long.chunks import chunk_attention, widen
from attnviz.long.reduce import Layout
from attnviz.long.stream import _Run, zero_where_visible
from attnviz.pretrained.eager import eager_of, is_standard


def attention_module(model) -> torch.nn.Module:
    return next(m for name, m in model.named_modules() if name.endswith(("self_attn", "attn", "attention")))


def chunk_inputs(module, heads: int, kv_heads: int, dim: int):
    """Queries 5..11 of 12 over keys 2..11 (a band), a causal additive mask, large scores (peaked rows)."""
    generator = torch.Generator().manual_seed(4)
    query = torch.randn(1, heads, 7, dim, generator=generator) * 3
    key = torch.randn(1, kv_heads, 10, dim, generator=generator) * 3
    value = torch.randn(1, kv_heads, 10, dim, generator=generator)
    rows, keys = torch.arange(5, 12)[:, None], torch.arange(2, 12)[None, :]
    mask = torch.where(keys <= rows, 0.0, torch.finfo(torch.float32).min)[None, None]
    return query, key, value, mask


@pytest.mark.parametrize("family", list(DECODERS))
def test_a_chunk_equals_the_familys_own_eager_attention(family, softmax_path):
    model = tiny(DECODERS[family])
    module = attention_module(model)
    eager = sys.modules[type(module).__module__].eager_attention_forward
    config = model.config
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    query, key, value, mask = chunk_inputs(module, heads, kv_heads, dim)
    options = {"scaling": dim**-0.5 * 0.9, "dropout": 0.0, "sliding_window": 8}
    if "gemma2" in family:
        options["softcap"] = 2.0
    assert is_standard(eager, module, query, mask)
    expected_out, expected = eager(module, query, key, value, mask, **options)
    out, weights, rows = chunk_attention(query, key, value, mask, **options)
    np.testing.assert_allclose(weights.numpy(), expected.numpy(), atol=1e-6)
    np.testing.assert_allclose(out.numpy(), expected_out.numpy(), atol=1e-5)
    p = expected[0].double().numpy()
    logs = np.log(np.where(p > 0, p, 1.0))
    np.testing.assert_allclose(rows["entropy"].numpy(), -(p * logs).sum(-1), atol=2e-5)
    np.testing.assert_allclose(rows["max"].numpy(), p.max(-1), atol=1e-6)


def test_only_known_families_in_eval_mode_and_float32_take_the_fast_path():
    model = tiny(DECODERS["llama (GQA)"])
    module = attention_module(model)
    eager = sys.modules[type(module).__module__].eager_attention_forward
    query, _, _, mask = chunk_inputs(module, 4, 2, 8)
    assert is_standard(eager, module, query, mask) and is_standard(eager, module, query, None)
    assert not is_standard(eager, module, query.double(), mask)
    assert not is_standard(eager, module, query, mask.bool())
    assert not is_standard(lambda *a, **k: None, module, query, mask)  # a function of no known family
    module.train()
    assert not is_standard(eager, module, query, mask)


def test_the_mask_is_skipped_only_where_it_is_zero_for_every_query():
    """Rows 3-5 of a windowed causal mask (window 3) over 6 keys: keys 3..3 are seen by all three rows. The
    chunk's weights with the mask added only outside them equal the full addition; a mask that adds a bias where
    it shows a key is never skipped."""
    low = torch.finfo(torch.float32).min
    mask = torch.full((1, 1, 6, 6), low)
    for row in range(6):
        mask[0, 0, row, max(0, row - 2) : row + 1] = 0.0
    run = _Run(tuple("abcdef"), (False,) * 6, "causal", chunk=3, side=8, progress=None)
    run.spans(mask, 6)
    assert run.clear(mask, 3, 6, 1) == (2, 3)  # key 3, counted from key 1
    assert run.clear(mask, 0, 6, 0) is None  # no key is seen by rows 0 and 5 both
    generator = torch.Generator().manual_seed(5)
    query, key, value = (torch.randn(1, 2, *shape, generator=generator) for shape in ((3, 4), (5, 4), (5, 4)))
    block = mask[..., 3:6, 1:6]
    _, full, _ = chunk_attention(query, key, value, block)
    _, skipped, _ = chunk_attention(query, key, value, block, clear=(2, 3))
    np.testing.assert_array_equal(skipped.numpy(), full.numpy())
    _, wrong, _ = chunk_attention(query, key, value, block, clear=(0, 5))  # a row would see keys it may not
    assert not np.allclose(wrong.numpy(), full.numpy())
    biased = mask.clone()
    biased[0, 0, 5, 4] = -0.5  # an ALiBi-like bias on a visible key
    assert zero_where_visible(mask) and not zero_where_visible(biased)
    other = _Run(tuple("abcdef"), (False,) * 6, "causal", chunk=3, side=8, progress=None)
    other.spans(biased, 6)
    assert other.clear(biased, 3, 6, 1) is None


@pytest.mark.parametrize("causal", [True, False])
def test_the_streaming_path_gives_every_rows_terms_tile_by_tile_as_the_weights_would(causal, monkeypatch):
    """With ``reduce`` (the streaming path) the weights are not kept: every term the reducer needs comes back, tile
    by tile (tiles of 2 rows here), and equals what float64 arithmetic on the family's own eager weights gives; the
    key columns ride along with the values and leave the output alone."""
    monkeypatch.setattr(chunks, "MIN_TILE_ROWS", 2)
    monkeypatch.setattr(chunks, "TILE_FLOATS", 2 * 2 * 10)  # 2 key heads x 2 rows x 10 keys
    model = tiny(DECODERS["llama (GQA)"])
    module = attention_module(model)
    query, key, value, mask = chunk_inputs(module, 4, 2, 8)  # queries 5..11 over keys 2..11
    q0, k0, fk = 5, 2, 3
    marks = torch.rand(12, 4, generator=torch.Generator().manual_seed(6))
    marks[:, 3] = torch.arange(12.0)
    layout = Layout(fk, 4, marks, causal)
    out, weights, rows = chunk_attention(query, key, widen(value, marks[k0:]), mask, reduce=(layout, q0, k0))
    expected_out, expected = eager_of(module)(module, query, key, value, mask, dropout=0.0, scaling=8**-0.5)
    assert weights is None and chunks.tile_rows(2, 10, 7) == 2
    np.testing.assert_allclose(out.numpy(), expected_out.numpy(), atol=1e-5)
    w = expected[0].double().numpy()  # [heads, 7 rows, 10 keys]
    positions, keys = np.arange(q0, q0 + 7), np.arange(k0, k0 + 10)
    np.testing.assert_allclose(rows["sums"].numpy(), w @ marks[k0:].double().numpy(), atol=1e-5)
    blocks = np.stack([w[..., keys // fk == b].sum(-1) for b in range(4)], -1)
    np.testing.assert_allclose(rows["blocks"].numpy(), blocks, atol=1e-6)
    for step, diagonal in zip((-1, 0, 1), rows["diagonal"], strict=True):
        at = positions + step - k0  # each row's column for the key at its own position + step
        want = np.where(at < 10, w[:, np.arange(7), np.minimum(at, 9)], 0.0)
        np.testing.assert_allclose(diagonal.numpy(), want, atol=1e-6)
    assert not rows["first"].any() and not rows["first_block"].any()  # key 0 is outside the band
    if causal:
        assert "distance" not in rows
    else:
        want = (w * np.abs(positions[:, None] - keys)).sum(-1)
        np.testing.assert_allclose(rows["distance"].numpy(), want, atol=1e-4)
    p = np.where(w > 0, w, 1.0)
    np.testing.assert_allclose(rows["entropy"].numpy(), -(w * np.log(p)).sum(-1), atol=2e-5)
    np.testing.assert_allclose(rows["max"].numpy(), w.max(-1), atol=1e-6)
