import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from attnviz.analysis import alignment_scores, drop_special, pool
from attnviz.attention import AttentionMap


def test_perfect_attention_on_gold_scores_perfectly():
    gold = (frozenset({1}), frozenset(), frozenset({0}))
    weights = np.array([[0, 1, 0], [0.3, 0.3, 0.4], [1, 0, 0]], dtype=float)
    scores = alignment_scores([(weights, gold)])
    assert scores == {"rows": 2, "agreement": 1.0, "mass_on_gold": 1.0, "aer": 0.0}


def test_alignment_scores_against_a_hand_count():
    gold = (frozenset({0, 1}), frozenset({2}), frozenset({2}))
    weights = np.array([[0.6, 0.3, 0.1], [0.5, 0.2, 0.3], [0.1, 0.1, 0.8]])
    scores = alignment_scores([(weights, gold)])
    assert scores["agreement"] == pytest.approx(2 / 3)
    assert scores["mass_on_gold"] == pytest.approx((0.9 + 0.3 + 0.8) / 3)
    assert scores["aer"] == pytest.approx(1 - 2 * 2 / (3 + 4))


def test_scores_pool_over_examples_by_rows():
    a = (np.eye(2), (frozenset({0}), frozenset({1})))
    b = (np.eye(2)[::-1], (frozenset({0}), frozenset({1})))
    assert alignment_scores([a, b])["agreement"] == 0.5


def test_rows_must_match_gold():
    with pytest.raises(ValueError, match="3 attention rows for 2"):
        alignment_scores([(np.eye(3), (frozenset(), frozenset()))])


def _map(weights, kind="self", special=None):
    n = weights.shape[-1]
    tokens = [f"t{i}" for i in range(n)]
    flags = special or (False,) * n
    return AttentionMap(weights, tokens, tokens, kind, query_special=flags, key_special=flags)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (2, 3, 6, 6), elements=st.floats(0.01, 1.0)))
def test_pooling_keeps_rows_stochastic_and_causal_maps_causal(raw):
    causal = np.tril(raw)
    causal /= causal.sum(-1, keepdims=True)
    groups = [[0], [1, 2], [3], [4, 5]]
    pooled = pool(_map(causal, "causal"), groups, groups, list("abcd"), list("abcd"))
    np.testing.assert_allclose(pooled.weights.sum(-1), 1.0, atol=1e-5)
    assert not np.triu(pooled.weights, k=1).any()


def test_drop_special_renormalises_over_ordinary_tokens():
    w = np.array([[[[0.5, 0.25, 0.25], [0.2, 0.4, 0.4], [0.6, 0.2, 0.2]]]])
    attn = _map(w, special=(True, False, False))
    dropped = drop_special(attn)
    assert dropped.query_tokens == ("t1", "t2")
    np.testing.assert_allclose(dropped.weights[0, 0], [[0.5, 0.5], [0.5, 0.5]], atol=1e-6)


def test_drop_special_with_only_special_tokens_says_so():
    with pytest.raises(ValueError, match="only special tokens"):
        drop_special(_map(np.full((1, 1, 2, 2), 0.5), special=(True, True)))
