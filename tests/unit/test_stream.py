"""Streaming extraction (attnviz/long/stream.py) equals the model's own eager attention, for every decoder family.

Tiny random models are built from configs (nothing downloaded), with large initial weights so that heads are
peaked (softcapping then changes numbers) and inputs longer than the sliding windows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers as tf

from attnviz.figures.overview import downsample
from attnviz.long.stream import _band, stream, visible_spans
from attnviz.maps.attention_map import AttentionMap
from attnviz.maps.statistics import REGISTRY, head_statistics

SMALL = dict(
    vocab_size=64,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=3,
    num_attention_heads=4,
    initializer_range=0.5,
)
DECODERS = {
    "llama (GQA)": lambda: tf.LlamaForCausalLM(tf.LlamaConfig(**SMALL, num_key_value_heads=2)),
    "qwen2 (GQA)": lambda: tf.Qwen2ForCausalLM(tf.Qwen2Config(**SMALL, num_key_value_heads=1)),
    "mistral (sliding window 8)": lambda: tf.MistralForCausalLM(
        tf.MistralConfig(**SMALL, num_key_value_heads=2, sliding_window=8)
    ),
    "gemma2 (softcap, alternating windows)": lambda: tf.Gemma2ForCausalLM(
        tf.Gemma2Config(**SMALL, num_key_value_heads=2, head_dim=8, sliding_window=8, attn_logit_softcapping=2.0)
    ),
    "phi": lambda: tf.PhiForCausalLM(tf.PhiConfig(**SMALL)),
    "gpt-neox": lambda: tf.GPTNeoXForCausalLM(tf.GPTNeoXConfig(**SMALL)),
    "gpt2": lambda: tf.GPT2LMHeadModel(
        tf.GPT2Config(vocab_size=64, n_embd=32, n_layer=3, n_head=4, n_positions=64, initializer_range=0.5)
    ),
}
LENGTH = 37  # past every window; not a multiple of the thumbnail blocks or the chunk


def tiny(build) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build().eval()
    model.set_attn_implementation("eager")
    return model


def labelled(n: int) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """Token labels with punctuation every fifth place and a special first token."""
    return tuple("," if i % 5 == 3 else f"t{i}" for i in range(n)), tuple(i == 0 for i in range(n))


def eager_maps(model, ids) -> tuple[np.ndarray, torch.Tensor]:
    with torch.no_grad():
        out = model(input_ids=ids, output_attentions=True, use_cache=False)
    return torch.stack(out.attentions)[:, 0].float().numpy(), out.logits


@pytest.mark.parametrize("family", list(DECODERS))
def test_streamed_attention_is_the_models_own_eager_attention(family, softmax_path):
    model = tiny(DECODERS[family])
    ids = torch.randint(0, 64, (1, LENGTH), generator=torch.Generator().manual_seed(1))
    full, logits = eager_maps(model, ids)
    tokens, special = labelled(LENGTH)
    streamed = stream(model, ids, tokens, special, chunk=6, side=8)
    assert model.config._attn_implementation == "eager"  # put back
    # any head, on demand, at full fidelity; and a window of rows
    for layer in range(full.shape[0]):
        for head in range(full.shape[1]):
            np.testing.assert_allclose(streamed.head(layer, head, chunk=5), full[layer, head], atol=1e-5)
    np.testing.assert_allclose(streamed.head(2, 3, rows=slice(10, 21)), full[2, 3, 10:21], atol=1e-5)
    # thumbnails and statistics from the stream equal those of the whole map
    np.testing.assert_allclose(streamed.thumbnails, downsample(full, 8), atol=1e-6)
    attn = AttentionMap(full, tokens, tokens, "causal", query_special=special, key_special=special)
    expected = head_statistics(attn, streamed.windows, names=list(REGISTRY))  # windows: each layer's own
    assert set(streamed.statistics) == set(REGISTRY)
    for name, values in expected.items():
        atol = 2e-5 if name.endswith("_aside") else 1e-6  # float32 row entropies, divided by the weight left
        np.testing.assert_allclose(streamed.statistics[name], values, rtol=1e-6, atol=atol, err_msg=name)
    # with the first token set aside (rows renormalised): entropies and thumbnails
    for name, windows in (("entropy_aside", [None] * 3), ("window_entropy_aside", streamed.windows)):
        np.testing.assert_allclose(streamed.statistics[name], entropy_aside(full, windows), atol=2e-5, err_msg=name)
    np.testing.assert_allclose(streamed.thumbnails_aside, thumbnails_aside(full, 8), atol=1e-6)


def renormalised_without_first(full: np.ndarray) -> np.ndarray:
    """``[..., query, key]`` with key 0's weight set to 0 and every row renormalised (an emptied row stays 0)."""
    rest = np.asarray(full, np.float64).copy()
    rest[..., 0] = 0.0
    total = rest.sum(-1, keepdims=True)
    return np.divide(rest, total, out=np.zeros_like(rest), where=total > 0)


def entropy_aside(full: np.ndarray, windows) -> np.ndarray:
    """Mean over query rows of the renormalised rows' entropy over the keys each row may see except key 0
    (causal, sliding window), divided by the log of their count; rows that may see one key or none skipped."""
    p = renormalised_without_first(full)
    out = np.zeros(full.shape[:2])
    for layer, window in enumerate(windows):
        for head in range(full.shape[1]):
            values = []
            for row in range(full.shape[2]):
                low = 0 if window is None else max(0, row - window + 1)
                seen = len([key for key in range(low, row + 1) if key != 0])
                if seen > 1:
                    q = p[layer, head, row][p[layer, head, row] > 0]
                    values.append(-(q * np.log(q)).sum() / np.log(seen))
            out[layer, head] = np.mean(values)
    return out


def thumbnails_aside(full: np.ndarray, side: int) -> np.ndarray:
    """Block means of the renormalised maps, key 0 not counted as a cell of the first column of blocks."""
    p = renormalised_without_first(full)
    n = full.shape[-1]
    f = -(-n // side)
    cells = np.ones((n, n))
    cells[:, 0] = 0.0
    count = np.add.reduceat(np.add.reduceat(cells, np.arange(0, n, f), 0), np.arange(0, n, f), 1)
    total = np.add.reduceat(np.add.reduceat(p, np.arange(0, n, f), -2), np.arange(0, n, f), -1)
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


def test_the_model_computes_the_same_output_while_streamed():
    model = tiny(DECODERS["gemma2 (softcap, alternating windows)"])
    ids = torch.randint(0, 64, (1, LENGTH), generator=torch.Generator().manual_seed(2))
    hidden = []  # the last hidden states (streaming runs the model without its head: no logits are needed)
    hook = model.model.norm.register_forward_hook(lambda module, args, out: hidden.append(out.numpy()))
    eager_maps(model, ids)
    streamed = stream(model, ids, *labelled(LENGTH), chunk=4, side=8)
    hook.remove()
    np.testing.assert_allclose(hidden[1], hidden[0], atol=1e-5)  # streamed vs eager, every position
    assert streamed.windows == (8, None, 8)  # Gemma 2 alternates sliding and global layers


def test_an_encoder_streams_too(softmax_path):
    model = tiny(lambda: tf.BertModel(tf.BertConfig(**SMALL)))
    ids = torch.randint(0, 64, (1, 20), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = torch.stack(model(input_ids=ids, output_attentions=True).attentions)[:, 0].numpy()
    tokens, special = labelled(20)
    streamed = stream(model, ids, tokens, special, kind="self", chunk=3, side=6)
    np.testing.assert_allclose(streamed.head(1, 2), full[1, 2], atol=1e-5)
    attn = AttentionMap(full, tokens, tokens, "self", query_special=special, key_special=special)
    np.testing.assert_allclose(streamed.statistics["entropy"], head_statistics(attn)["entropy"], atol=1e-6)
    np.testing.assert_allclose(streamed.thumbnails, downsample(full, 6), atol=1e-6)


MEMORY_PROBE = """
import json, resource, sys, torch, transformers as tf
from attnviz.long.stream import _band, stream, visible_spans
n = int(sys.argv[1])
config = tf.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=n)
torch.manual_seed(0)
model = tf.LlamaForCausalLM(config).eval()
model.set_attn_implementation("eager")
ids = torch.randint(0, 64, (1, n))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
s = stream(model, ids, tuple(map(str, range(n))), (False,) * n, chunk=64, side=64)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_mb": (after - before) / 1024, "rows": float(s.head(1, 3, rows=slice(n - 1, n)).sum())}))
"""


def test_memory_stays_far_below_the_full_map_at_thousands_of_tokens():
    n = 5000
    full_map_mb = 2 * 4 * n * n * 4 / 2**20  # every head's map in float32: 763 MB
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(n)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
        timeout=600,
    )
    found = json.loads(out.stdout)
    assert abs(found["rows"] - 1.0) < 1e-5  # the last query's row, recomputed on demand, is a distribution
    # the additive eager mask (95 MB at 5,000 tokens) and one chunk's temporaries, not the maps (measured: ~150 MB)
    assert found["grew_mb"] < full_map_mb / 3, found


def test_each_query_keeps_only_the_keys_its_mask_lets_it_see():
    """A causal mask with a window of 3 over 6 tokens, built by hand: row r sees keys max(0, r - 2) .. r."""
    low = torch.finfo(torch.float32).min
    mask = torch.full((1, 1, 6, 6), low)
    for row in range(6):
        mask[0, 0, row, max(0, row - 2) : row + 1] = 0.0
    first, last = visible_spans(mask, 6)
    assert first.tolist() == [0, 0, 0, 1, 2, 3] and last.tolist() == [0, 1, 2, 3, 4, 5]
    assert _band((first, last), 3, 5, 6) == (1, 5)  # rows 3-4 need keys 1-4 only
    mask[0, 0, 4] = low  # a row that sees nothing keeps every key (its weights are the model's to decide)
    assert visible_spans(mask, 6)[0][4] == 0 and visible_spans(mask, 6)[1][4] == 5
    assert visible_spans(torch.zeros(1, 1, 1, 6), 6) is None  # a mask broadcast over queries: every key stays
    assert visible_spans(None, 6) is None
