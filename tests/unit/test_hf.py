import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from attnviz.maps import storage
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract

from hf_models import FAMILY, save_tiny

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """name -> LoadedModel, each loaded from its own folder through attnviz.pretrained.hf.load."""
    cache = {}

    def get(name: str) -> hf.LoadedModel:
        if name not in cache:
            folder = save_tiny(name, tmp_path_factory.mktemp(name))
            cache[name] = hf.load(str(folder))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def minilm():
    return hf.load()


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("name", list(FAMILY))
def test_every_family_returns_the_expected_maps(tiny, name):
    loaded = tiny(name)
    assert loaded.family == FAMILY[name]
    result = extract(
        loaded, "The cat sat on the mat.", target="Le chat." if FAMILY[name] == "encoder-decoder" else None
    )
    expected = {"encoder": {"self": "self"}, "decoder": {"self": "causal"}}
    expected["encoder-decoder"] = {"encoder": "self", "decoder": "causal", "cross": "cross"}
    assert {k: m.kind for k, m in result.maps.items()} == expected[loaded.family]
    for attn in result.maps.values():
        assert attn.n_layers == 2 and attn.n_heads == 4
        np.testing.assert_allclose(attn.weights.sum(-1), 1.0, atol=1e-5)
        if attn.kind == "causal":
            assert not np.triu(attn.weights, k=1).any()
    if loaded.family == "encoder-decoder":
        cross = result.maps["cross"]
        assert cross.key_tokens == result.maps["encoder"].key_tokens
        assert cross.query_tokens[:3] == ("[CLS]", "le", "chat")  # the tokens being predicted
        assert result.maps["decoder"].n_queries == cross.n_queries


def test_encoder_decoder_generates_a_target_when_none_is_given(tiny):
    result = extract(tiny("t5"), "The cat sat.", max_new_tokens=5)
    assert any("greedy output" in w for w in result.warnings)
    assert 1 <= result.maps["cross"].n_queries <= 6


def test_bert_attention_equals_recomputation_from_its_projections(tiny):
    loaded = tiny("bert")
    captured = {}
    hooks = []
    for i, layer in enumerate(loaded.model.encoder.layer):
        for part in ("query", "key"):
            module = getattr(layer.attention.self, part)
            hooks.append(module.register_forward_hook(lambda m, a, out, key=(i, part): captured.__setitem__(key, out)))
    try:
        attn = extract(loaded, "Attention is all you need, isn't it?").maps["self"]
    finally:
        for hook in hooks:
            hook.remove()
    for i in range(2):
        q, k = (captured[(i, p)][0].double().numpy().reshape(-1, 4, 8).transpose(1, 0, 2) for p in ("query", "key"))
        np.testing.assert_allclose(attn.weights[i], softmax(q @ k.transpose(0, 2, 1) / math.sqrt(8)), atol=1e-5)


def test_gpt2_attention_equals_recomputation_from_its_projections(tiny):
    loaded = tiny("gpt2")
    captured = {}
    hooks = [
        block.attn.c_attn.register_forward_hook(lambda m, a, out, i=i: captured.__setitem__(i, out))
        for i, block in enumerate(loaded.model.transformer.h)
    ]
    try:
        attn = extract(loaded, "The quick brown fox jumps over the lazy dog").maps["self"]
    finally:
        for hook in hooks:
            hook.remove()
    T = attn.n_queries
    for i in range(2):
        qkv = captured[i][0].double().numpy()
        q, k = (qkv[:, j * 32 : (j + 1) * 32].reshape(T, 4, 8).transpose(1, 0, 2) for j in (0, 1))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(8) + np.triu(np.full((T, T), -np.inf), k=1)
        np.testing.assert_allclose(attn.weights[i], softmax(scores), atol=1e-5)


def test_packaged_minilm_layer_equals_recomputation_on_a_real_sentence(minilm):
    layer = minilm.model.encoder.layer[3].attention.self
    captured = {}
    hooks = [
        getattr(layer, p).register_forward_hook(lambda m, a, out, p=p: captured.__setitem__(p, out))
        for p in ("query", "key")
    ]
    try:
        attn = extract(minilm, "The animal didn't cross the street because it was too tired.").maps["self"]
    finally:
        for hook in hooks:
            hook.remove()
    assert (attn.n_layers, attn.n_heads) == (6, 12)
    q, k = (
        captured[p][0].double().numpy().reshape(attn.n_queries, 12, 32).transpose(1, 0, 2) for p in ("query", "key")
    )
    np.testing.assert_allclose(attn.weights[3], softmax(q @ k.transpose(0, 2, 1) / math.sqrt(32)), atol=1e-5)


def test_token_labels_are_readable_special_tokens_flagged_and_duplicates_kept(minilm):
    attn = extract(minilm, "the cat saw the cat").maps["self"]
    assert attn.query_tokens == ("[CLS]", "the", "cat", "saw", "the", "cat", "[SEP]")
    assert attn.query_special == (True, False, False, False, False, False, True)


def test_word_pooling_maps_sub_tokens_to_words_and_keeps_rows_stochastic(minilm):
    tokens = extract(minilm, "Unbelievably, it worked.").maps["self"]
    assert tokens.query_tokens[1:6] == ("un", "bel", "ie", "va", "bly")
    words = extract(minilm, "Unbelievably, it worked.", word_level=True).maps["self"]
    assert words.query_tokens == ("[CLS]", "unbelievably", ",", "it", "worked", ".", "[SEP]")
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-5)
    # key mass of a word = sum over its sub-tokens; query row = mean over its sub-tokens
    expected = tokens.weights[:, :, 1:6, 1:6].sum(-1).mean(-1)
    np.testing.assert_allclose(words.weights[:, :, 1, 1], expected, atol=1e-6)


def test_sentence_pairs_use_token_types(minilm, tiny):
    attn = extract(minilm, "Where is the cat?", pair="On the mat.").maps["self"]
    assert attn.query_tokens == ("[CLS]", "where", "is", "the", "cat", "?", "[SEP]", "on", "the", "mat", ".", "[SEP]")
    encoding = minilm.tokenizer("Where is the cat?", "On the mat.", return_tensors="pt")
    assert encoding["token_type_ids"][0, -1] == 1
    with torch.no_grad():
        direct = minilm.model(**encoding, output_attentions=True).attentions
    np.testing.assert_allclose(attn.weights, torch.stack([a[0] for a in direct]).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="pairs are for encoder"):
        extract(tiny("gpt2"), "one sentence", pair="another")


def test_long_text_is_truncated_with_a_warning(minilm):
    result = extract(minilm, "word " * 700)
    assert result.maps["self"].n_queries == 512
    assert any("702 tokens" in w and "first 512" in w for w in result.warnings)


def test_empty_text_is_refused(minilm):
    with pytest.raises(ValueError, match="Type some text"):
        extract(minilm, "   ")


def test_unknown_model_offline_gives_one_clear_sentence_quickly(silent_hub):
    start = time.perf_counter()
    with pytest.raises(hf.ModelLoadError) as info:
        hf.load("someone/no-such-model")  # the real probe waits its 3 seconds on the silent endpoint
    assert 2.5 < time.perf_counter() - start < 30
    message = str(info.value)
    assert "Hub cannot be reached" in message and "local" in message and "\n" not in message


def test_missing_local_folder_is_a_clear_error(tmp_path):
    with pytest.raises(hf.ModelLoadError, match="Could not load"):
        hf.load(str(tmp_path / "nothing here" / "x"))


def test_hub_probe_is_refused_in_tests():
    assert hf.hub_reachable(timeout=0.5) is False  # the test socket guard refuses non-loopback connections


def test_hub_probe_gives_up_on_an_endpoint_that_never_answers(silent_hub):
    start = time.perf_counter()
    assert hf.hub_reachable(timeout=1.0) is False
    assert time.perf_counter() - start >= 0.9  # it waited for an answer, not just for the connection


def test_hub_probe_accepts_any_http_answer(monkeypatch):
    import http.server
    import threading

    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # tests/conftest.py sets it; the probe now honours it
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)  # answers 501
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        assert hf.hub_reachable(timeout=3.0) is True
    finally:
        server.shutdown()


def test_models_load_in_eval_mode_with_eager_attention(tiny):
    loaded = tiny("gpt2")
    assert not loaded.model.training
    assert loaded.model.config._attn_implementation == "eager"
    assert all(not p.requires_grad for p in loaded.model.parameters())
    assert loaded.device == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.slow  # the one real `python -m attnviz` run: a fresh interpreter imports torch (6-30 s)
def test_extract_command_writes_minilm_heads(tmp_path):
    out = tmp_path / "x.npz"
    command = [sys.executable, "-m", "attnviz", "extract", "--text", "The cat sat on the mat.", "--out", str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=300)
    maps = storage.load(out)
    assert list(maps) == ["self"]
    assert maps["self"].weights.shape == (6, 12, 9, 9)
    assert maps["self"].query_tokens[1:4] == ("the", "cat", "sat")


def test_induction_probe_repeats_random_tokens_and_scores_every_head(tiny):
    from attnviz.maps.analysis import induction_scores
    from attnviz.pretrained.extract import induction_probe

    probe = induction_probe(tiny("gpt2"), period=10)
    assert probe.kind == "causal" and probe.n_queries == 20
    assert probe.query_tokens[:10] == probe.query_tokens[10:]
    scores = induction_scores(probe, 10)
    assert scores.shape == (2, 4) and ((scores >= 0) & (scores <= 1)).all()
    with pytest.raises(ValueError, match="decoder"):
        induction_probe(tiny("bert"))


@pytest.mark.parametrize("model_id", ["y" * 100_000, "/tmp/" + "y" * 300])
def test_a_model_id_the_system_cannot_look_up_is_one_sentence(model_id):
    """A name too long for the file system (an operator's model box sent 100,000 characters) is an id that does not
    load, not an OSError the page does not expect (before: ``OSError: File name too long`` from ``is_dir``)."""
    with pytest.raises(hf.ModelLoadError, match="^Could not load"):
        hf.load(model_id)


def test_a_vision_model_id_the_system_cannot_look_up_is_one_sentence():
    from attnviz.pretrained.vision import load_vision

    with pytest.raises(hf.ModelLoadError, match="^Could not load"):
        load_vision("y" * 100_000)
