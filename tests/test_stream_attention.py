"""The streaming fast path (attnviz/stream_attention.py) against each family's own eager attention, on one chunk
of queries over a band of keys, with grouped keys, soft caps and masks; its row statistics by hand."""

import sys

import numpy as np
import pytest
import torch
from test_stream import DECODERS, tiny

from attnviz.stream_attention import chunk_attention, is_standard


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
def test_a_chunk_equals_the_familys_own_eager_attention(family):
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
