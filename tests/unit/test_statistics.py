"""Head statistics, one registry (attnviz/maps/statistics.py): the sink mass is window-aware, and the pretrained
page, the corpus job and the long-input page give the same numbers for the same map.

The sink mass is the mean first-token weight over the queries that can see the first token: in a sliding-window
layer a query past the window cannot, so counting it (as the sink mass once did) capped a head that attends to
the first token whenever it can at about window / tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import numpy as np
import pytest
import torch
import transformers as tf
from streamlit.testing.v1 import AppTest

from attnviz.corpus import compute
from attnviz.corpus import job as corpus_job
from attnviz.corpus.reader import Sentence
from attnviz.long import results as long_input
from attnviz.maps.attention_map import AttentionMap
from attnviz.maps.statistics import ASIDE_NAMES, REGISTRY, STATISTIC_NAMES, StatisticName, head_statistics
from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract
from attnviz.threads import one_thread

from chart_data import charts, heatmap_z

APP = Path(__file__).resolve().parents[2] / "app.py"
WINDOW = 8
TEXT = " ".join(["the model reads every word of this text and attends to some of them"] * 3)  # 40 tokens


def sink_head(n: int, window: int) -> np.ndarray:
    """``[query, key]`` causal, sliding window: all weight on the first token whenever the query can see it,
    else uniform over its window."""
    w = np.zeros((n, n))
    for row in range(n):
        if row < window:
            w[row, 0] = 1.0
        else:
            w[row, row - window + 1 : row + 1] = 1.0 / window
    return w


def test_the_registry_is_one_closed_set_and_keeps_the_corpus_columns():
    assert get_args(StatisticName) == STATISTIC_NAMES
    assert set(REGISTRY) == {*STATISTIC_NAMES, *ASIDE_NAMES}
    # the corpus job's Parquet columns, in their order: old results folders still read
    old = ("entropy", "distance", "special", "punctuation", "self", "previous", "next", "first", "max", "sink")
    assert corpus_job._columns() == ["sentence_id", "layer", "head", "tokens", *old, "window_entropy", "truncated"]
    assert all(REGISTRY[name].label and REGISTRY[name].description for name in REGISTRY)


def test_a_head_on_the_first_token_whenever_it_sees_it_has_sink_mass_one_in_a_sliding_window_layer():
    n, window = 20, 4
    uniform = np.tril(np.ones((n, n)))
    uniform[np.triu_indices(n, 1)] = 0
    in_window = uniform * (np.subtract.outer(np.arange(n), np.arange(n)) < window)
    in_window /= in_window.sum(-1, keepdims=True)
    tokens = [f"t{i}" for i in range(n)]
    attn = AttentionMap(np.stack([sink_head(n, window), in_window])[None], tokens, tokens, "causal")
    stats = head_statistics(attn, (window,))
    np.testing.assert_allclose(stats["sink"][0], [1.0, np.mean(1 / np.arange(1, window + 1))], atol=1e-7)
    np.testing.assert_allclose(stats["first"][0], [window / n, np.sum(1 / np.arange(1, window + 1)) / n], atol=1e-7)
    assert head_statistics(attn)["sink"][0, 0] == pytest.approx(window / n)  # no window given: every query sees it


def test_an_encoders_sliding_window_hides_the_first_token_from_queries_window_or_more_away():
    n, window = 6, 2
    w = np.zeros((n, n))
    w[:window, 0] = 1.0  # the queries that see the first token (|query - 0| < window) put all their weight on it
    w[np.arange(window, n), np.arange(window, n)] = 1.0
    attn = AttentionMap(w[None, None], list("abcdef"), list("abcdef"), "self")
    assert head_statistics(attn, (window,))["sink"][0, 0] == pytest.approx(1.0)
    assert head_statistics(attn)["sink"][0, 0] == pytest.approx(window / n)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> str:
    """A tiny random Gemma 2 (sliding window 8 on layers 0 and 2, global layer 1) with the packaged tokenizer."""
    path = tmp_path_factory.mktemp("tiny-gemma2")
    config = tf.Gemma2Config(
        vocab_size=30522,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        sliding_window=WINDOW,
        max_position_embeddings=512,
        initializer_range=0.5,
    )
    torch.manual_seed(0)
    tf.Gemma2ForCausalLM(config).save_pretrained(path)
    tf.AutoTokenizer.from_pretrained(hf.packaged_path()).save_pretrained(path)
    return str(path)


def test_the_pretrained_page_the_corpus_job_and_the_long_page_agree_on_a_sliding_window_decoder(folder, operator):
    loaded = hf.load(folder)
    with one_thread():  # the corpus job's arithmetic
        attn = extract(loaded, TEXT).primary
    n = attn.n_queries
    assert n > 3 * WINDOW
    windows = hf.layer_windows(loaded.model.config, attn)
    assert windows == (WINDOW, None, WINDOW)
    # the sink mass by hand: the first-token weight over the queries that see it (the first WINDOW in a sliding layer)
    full = attn.weights.astype(np.float64)
    by_hand = np.stack([full[layer, :, : window or n, 0].mean(-1) for layer, window in enumerate(windows)])
    whole = head_statistics(attn, windows)
    np.testing.assert_allclose(whole["sink"], by_hand, atol=1e-6)
    assert not np.allclose(whole["sink"][0], whole["first"][0], atol=1e-3)  # the window matters here

    with one_thread():  # the corpus job's batch (this sentence alone in its length: twice in one batch)
        rows = compute.statistics_of(loaded, [Sentence(0, TEXT)], False, 512)[0].statistics
    tokenised = long_input.tokenise(loaded, TEXT, 512)
    assert tokenised.tokens == attn.key_tokens
    streamed = long_input.run(loaded, tokenised)
    assert streamed.windows == windows
    for name in STATISTIC_NAMES:
        np.testing.assert_allclose(rows[name].reshape(whole[name].shape), whole[name], atol=1e-6, err_msg=name)
        np.testing.assert_allclose(streamed.statistics[name], whole[name], atol=1e-6, err_msg=name)

    at = AppTest.from_file(str(APP), default_timeout=300).run()
    at.switch_page("pages/pretrained.py")
    at.query_params.update(hf_model=folder, hf_text=TEXT, hf_analysis="Head statistics")
    at.run()
    at.selectbox(key="hf_metric").set_value("sink").run()
    assert not at.exception
    np.testing.assert_allclose(heatmap_z(charts(at)["hf_stats_grid"]), whole["sink"], atol=1e-6)
