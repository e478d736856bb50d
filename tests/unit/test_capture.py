"""The short path's in-place capture (attnviz/pretrained/capture.py) against each family's own eager attention, and the
AttentionMap rules it relies on (an adopted read-only array, rows checked once, no look-ahead)."""

import dataclasses

import numpy as np
import pytest
import torch
import transformers as tf
from test_stream import DECODERS, LENGTH, eager_maps, tiny

from attnviz.maps.attention_map import AttentionError, AttentionMap, _looks_ahead
from attnviz.maps.buffers import POOL
from attnviz.pretrained import hf
from attnviz.pretrained.capture import captured
from attnviz.pretrained.extract import extract

ENCODERS = {
    "bert": lambda: tf.BertModel(
        tf.BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
    ),
    "roberta (its own eager function: not computed in place)": lambda: tf.RobertaModel(
        tf.RobertaConfig(
            vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64
        )
    ),
}


def run_captured(model, ids):
    """(the capture's weights and row check, the model's own output while captured)."""
    outputs = []
    run = lambda: outputs.append(model(input_ids=ids, use_cache=False))
    done = captured(model, run, model.config.num_hidden_layers)
    return done, outputs[0]


@pytest.mark.parametrize("family", list(DECODERS))
def test_captured_weights_and_outputs_are_the_decoders_own_eager_attention(family):
    model = tiny(DECODERS[family])
    ids = torch.randint(0, 64, (1, LENGTH), generator=torch.Generator().manual_seed(1))
    full, logits = eager_maps(model, ids)
    done, out = run_captured(model, ids)
    assert model.config._attn_implementation == "eager"  # put back
    assert done.rows_checked and not done.weights.flags.writeable
    np.testing.assert_allclose(done.weights, full, atol=1e-5)
    np.testing.assert_allclose(out.logits.numpy(), logits.numpy(), atol=1e-5)


@pytest.mark.parametrize("family", list(ENCODERS))
def test_captured_weights_of_encoders_with_a_padding_mask(family):
    model = tiny(ENCODERS[family])
    ids = torch.randint(5, 64, (1, 19), generator=torch.Generator().manual_seed(2))
    mask = torch.ones_like(ids)
    mask[0, -4:] = 0  # the last four keys are padding: their weight must be 0 in every row
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask, output_attentions=True)
    outputs = []
    run = lambda: outputs.append(model(input_ids=ids, attention_mask=mask))
    done = captured(model, run, 2)
    np.testing.assert_allclose(done.weights, torch.stack(expected.attentions)[:, 0].numpy(), atol=1e-6)
    np.testing.assert_allclose(outputs[0].last_hidden_state, expected.last_hidden_state, atol=1e-5)
    assert (done.weights[..., -4:] == 0).all()
    assert done.rows_checked == family.startswith("bert")  # roberta's rows come back from its own function


def test_a_nan_row_is_not_called_checked_and_the_map_refuses_it():
    model = tiny(DECODERS["llama (GQA)"])
    with torch.no_grad():
        model.model.layers[1].self_attn.q_proj.weight[0, 0] = float("nan")
    ids = torch.randint(0, 64, (1, 9), generator=torch.Generator().manual_seed(1))
    done, _ = run_captured(model, ids)
    assert not done.rows_checked
    with pytest.raises(AttentionError, match="NaN"):
        AttentionMap(done.weights, [f"t{i}" for i in range(9)], [f"t{i}" for i in range(9)], "causal")


def test_the_packaged_minilm_through_extract_equals_its_eager_attention_and_is_not_copied():
    loaded = hf.load()
    text = "The cat sat on the mat because it was warm, and the dog watched it."
    result = extract(loaded, text)
    ids = torch.tensor([loaded.tokenizer(text)["input_ids"]])
    with torch.no_grad():
        expected = torch.stack(loaded.model(input_ids=ids, output_attentions=True).attentions)[:, 0].numpy()
    weights = result.primary.weights
    np.testing.assert_allclose(weights, expected, atol=1e-6)
    assert POOL.owns(weights) and not weights.flags.writeable  # the captured array itself, adopted
    assert loaded.model.config._attn_implementation == "eager"


def test_a_map_adopts_only_a_read_only_float32_array_that_owns_its_memory():
    rows = np.full((1, 1, 2, 2), 0.5, np.float32)
    assert not np.shares_memory(AttentionMap(rows, "ab", "ab", "self").weights, rows)  # writeable: copied
    rows.setflags(write=False)
    assert np.shares_memory(AttentionMap(rows, "ab", "ab", "self").weights, rows)
    view = rows[:, :, :1]
    assert not np.shares_memory(AttentionMap(view, "a", "ab", "self").weights, rows)  # a view: copied


def test_rows_checked_skips_only_the_row_pass_and_replace_does_not_carry_it():
    bad = np.full((1, 1, 2, 2), 0.3, np.float32)  # rows sum to 0.6
    attn = AttentionMap(bad, "ab", "ab", "self", rows_checked=True)  # the caller vouches for its rows
    with pytest.raises(AttentionError, match="sum to 1"):
        dataclasses.replace(attn, source="again")  # a new map checks its rows again
    with pytest.raises(AttentionError, match="sum to 1"):
        AttentionMap(bad, "ab", "ab", "self")
    ahead = np.array([[[[0.5, 0.5], [0.5, 0.5]]]], np.float32)
    with pytest.raises(AttentionError, match="above the diagonal"):
        AttentionMap(ahead, "ab", "ab", "causal", rows_checked=True)  # the other checks still run


@pytest.mark.parametrize("n", [1, 2, 63, 64, 65, 130])
def test_looking_ahead_is_found_wherever_it_is(n):
    generator = np.random.default_rng(n)
    lower = np.tril(generator.random((2, 3, n, n), dtype=np.float32))
    assert not _looks_ahead(lower)
    for q, k in [(0, n - 1), (n // 2, n // 2 + 1), (n - 2, n - 1)]:
        if not 0 <= q < k < n:
            continue
        ahead = lower.copy()
        ahead[1, 2, q, k] = 1e-30
        assert _looks_ahead(ahead) == bool(np.triu(ahead, k=1).any()) == True  # noqa: E712


def test_the_home_pages_imports_leave_transformers_unimported_until_a_capture_runs():
    """Importing transformers' model code takes seconds; the home page runs only attnviz's own models."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; from attnviz import figures; from attnviz.app import cache, panels; "
        "from attnviz.maps import grids; "
        "from attnviz.pretrained import extract, capture; from attnviz.long import chunks; "
        "assert 'transformers' not in sys.modules, 'imported transformers'; "
        "from attnviz.pretrained import hf; loaded = hf.load(); extract.extract(loaded, 'a cat'); "
        "from transformers import AttentionInterface; assert capture.NAME in AttentionInterface._global_mapping"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=300)
