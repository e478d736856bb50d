import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from attnviz.maps.analysis import (
    alignment_scores,
    alignment_shape,
    alignment_table,
    cross_rollout,
    drop_special,
    head_distances,
    head_patterns,
    head_similarity,
    induction_scores,
    js_distance,
    pool,
    rollout,
)
from attnviz.maps.attention_map import AttentionMap
from attnviz.maps.statistics import head_statistics, visible_count


def window_entropy(attn: AttentionMap, window: int | None = None) -> np.ndarray:
    return head_statistics(attn, (window,) * attn.n_layers)["window_entropy"]


def sink_mass(attn: AttentionMap, window: int | None = None) -> np.ndarray:
    return head_statistics(attn, (window,) * attn.n_layers)["sink"]


def test_attention_on_gold_scores_perfectly_and_aer_counts_the_unlinked_rows_link():
    gold = (frozenset({1}), frozenset(), frozenset({0}))
    weights = np.array([[0, 1, 0], [0.3, 0.3, 0.4], [1, 0, 0]], dtype=float)
    scores = alignment_scores([(weights, gold)])
    assert (scores["rows"], scores["agreement"], scores["mass_on_gold"]) == (2, 1.0, 1.0)
    # Och & Ney: A = {(0,1), (1,2), (2,0)}, G = {(0,1), (2,0)}: 1 - 2 * 2 / (3 + 2); the middle row's link is wrong
    assert scores["aer"] == pytest.approx(0.2)
    assert alignment_scores([(weights[[0, 2]], (gold[0], gold[2]))])["aer"] == 0.0


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


# ---- head statistics, patterns, rollout, differences ----------------------------------------------


def stacked(*heads, kind="self", tokens=None, special=None):
    """One layer whose heads are the given [n, n] matrices."""
    w = np.stack(heads)[None]
    n = w.shape[-1]
    tokens = tokens or [f"t{i}" for i in range(n)]
    return AttentionMap(w, tokens, tokens, kind, query_special=special or (), key_special=special or ())


N = 6
DIAGONAL = np.eye(N)
PREVIOUS = np.eye(N, k=-1) + np.eye(N)[0] * (np.arange(N) == 0)[:, None]  # row 0 can only look at itself
UNIFORM = np.full((N, N), 1 / N)
FIRST = np.zeros((N, N))
FIRST[:, 0] = 1


def test_statistics_of_hand_built_heads():
    stats = head_statistics(stacked(DIAGONAL, PREVIOUS, UNIFORM, FIRST))
    np.testing.assert_allclose(
        stats["distance"][0], [0, 5 / 6, np.mean(np.abs(np.subtract.outer(range(N), range(N)))), 2.5]
    )
    np.testing.assert_allclose(stats["entropy"][0], [0, 0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(stats["self"][0], [1, 1 / 6, 1 / 6, 1 / 6])
    np.testing.assert_allclose(stats["previous"][0], [0, 1, 1 / 6, 1 / 5])
    np.testing.assert_allclose(stats["next"][0], [0, 0, 1 / 6, 0])
    np.testing.assert_allclose(stats["first"][0], [1 / 6, 2 / 6, 1 / 6, 1])
    np.testing.assert_allclose(stats["max"][0], [1, 1, 1 / 6, 1])


def test_patterns_label_each_hand_built_head():
    stats = head_statistics(
        stacked(
            DIAGONAL, PREVIOUS, UNIFORM, FIRST, np.eye(N, k=1) + np.eye(N)[N - 1] * (np.arange(N) == N - 1)[:, None]
        )
    )
    labels = [p["pattern"] for p in head_patterns(stats)]
    assert labels == ["diagonal", "previous-token", "broad", "first-token (sink)", "next-token"]
    assert head_patterns(stats)[0]["score"] == 1.0
    assert head_patterns(stats)[2]["score"] == pytest.approx(1.0)  # uniform: entropy 1


def test_special_and_punctuation_mass():
    w = np.zeros((4, 4))
    w[:, 0], w[:, 3] = 0.25, 0.75
    attn = stacked(w, tokens=["[CLS]", "hi", "there", "."], special=(True, False, False, False))
    stats = head_statistics(attn)
    assert stats["special"][0, 0] == pytest.approx(0.25) and stats["punctuation"][0, 0] == pytest.approx(0.75)


def test_causal_uniform_rows_have_entropy_one():
    causal = np.tril(np.ones((N, N)))
    causal /= causal.sum(-1, keepdims=True)
    assert head_statistics(stacked(causal, kind="causal"))["entropy"][0, 0] == pytest.approx(1.0)


def test_induction_score_finds_the_copy_head():
    period, n = 4, 8
    w = np.zeros((n, n))
    w[np.arange(n), np.maximum(np.arange(n) - period + 1, 0)] = 1  # i -> i - period + 1
    w[np.arange(n) < period] = 0
    w[np.arange(period), 0] = 1
    scores = induction_scores(
        stacked(w, np.tril(np.ones((n, n))) / np.tril(np.ones((n, n))).sum(-1, keepdims=True), kind="causal"), period
    )
    assert scores[0, 0] == 1.0 and scores[0, 1] < 0.3


def test_rollout_of_identity_layers_is_identity():
    attn = AttentionMap(np.broadcast_to(np.eye(N), (3, 2, N, N)), list("abcdef"), list("abcdef"), "self")
    np.testing.assert_allclose(rollout(attn).weights[:, 0], np.broadcast_to(np.eye(N), (3, N, N)), atol=1e-6)


def test_rollout_against_a_hand_computation():
    attn = AttentionMap(
        np.stack([np.stack([UNIFORM, DIAGONAL]), np.stack([FIRST, FIRST])]), list("abcdef"), list("abcdef"), "self"
    )
    first = 0.5 * np.eye(N) + 0.5 * (UNIFORM + DIAGONAL) / 2
    second = 0.5 * np.eye(N) + 0.5 * FIRST
    np.testing.assert_allclose(rollout(attn).weights[1, 0], second @ first, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (3, 2, 5, 5), elements=st.floats(0.01, 1.0)))
def test_rollout_of_a_causal_model_is_causal_and_stochastic(raw):
    w = np.tril(raw)
    w /= w.sum(-1, keepdims=True)
    out = rollout(AttentionMap(w, list("abcde"), list("abcde"), "causal")).weights
    assert not np.triu(out, k=1).any()
    np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-5)


def test_cross_rollout_routes_through_the_encoder():
    encoder = AttentionMap(np.broadcast_to(np.eye(3), (1, 1, 3, 3)), list("abc"), list("abc"), "self")
    cross_w = np.array([[[[0.2, 0.3, 0.5], [1, 0, 0]]]])
    cross = AttentionMap(cross_w, ["x", "y"], list("abc"), "cross")
    np.testing.assert_allclose(cross_rollout(cross, encoder).weights, cross_w, atol=1e-6)


def test_js_distance_bounds():
    assert js_distance(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(1.0)
    assert js_distance(np.array([0.3, 0.7]), np.array([0.3, 0.7])) == pytest.approx(0.0)


def test_head_distances_and_similarity():
    a = stacked(DIAGONAL, UNIFORM)
    assert head_distances(a, a).max() == 0
    sim = head_similarity(a)
    assert sim.shape == (2, 2) and sim[0, 0] == 0 and sim[0, 1] == sim[1, 0] > 0.5
    with pytest.raises(ValueError, match="same token length"):
        head_distances(a, stacked(np.eye(3)))


def test_alignment_shape_of_diagonal_and_anti_diagonal():
    assert alignment_shape(np.eye(5)) == {"monotonicity": 1.0, "diagonality": pytest.approx(1.0)}
    anti = alignment_shape(np.eye(5)[::-1])
    assert anti["monotonicity"] == 0.0 and anti["diagonality"] == pytest.approx(-1.0)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (2, 3, 4, 6), elements=st.floats(0.0, 1.0)).filter(lambda a: (a.sum(-1) > 0.01).all()))
def test_statistics_stay_in_range_for_any_row_stochastic_map(raw):
    w = raw / raw.sum(-1, keepdims=True)
    attn = AttentionMap(w, list("abcd"), list("abc.ef"), "cross", key_special=(True,) + (False,) * 5)
    stats = head_statistics(attn)
    for name, value in stats.items():
        assert value.shape == (2, 3) and np.isfinite(value).all(), name
        if name != "distance":
            assert (value >= -1e-6).all() and (value <= 1 + 1e-6).all(), name
    assert (stats["distance"] <= 5 + 1e-6).all()
    for pattern in head_patterns(stats):
        assert pattern["pattern"] in {"diagonal", "previous-token", "next-token", "first-token (sink)", "broad"}


def test_alignment_table_scores_each_map_and_leaves_the_eos_row_out_of_the_shape():
    diagonal_then_eos = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 0]])  # <eos> jumps back left
    gold = [frozenset({0}), frozenset({1}), frozenset({2}), frozenset()]
    [row] = alignment_table([("RNN", "temporal", diagonal_then_eos)], gold, ends_with_eos=True)
    assert (row["model"], row["map"], row["rows"], row["agreement"]) == ("RNN", "temporal", 3, 1.0)
    assert row["monotonicity"] == 1.0 and row["diagonality"] == pytest.approx(1.0)
    [with_eos] = alignment_table([("RNN", "temporal", diagonal_then_eos)], gold, ends_with_eos=False)
    assert with_eos["monotonicity"] == pytest.approx(2 / 3)  # the <eos> step moves left


# ---- attention sinks and window-aware entropy (shared with the any-length issue) ------------------


def test_window_entropy_is_one_for_a_head_uniform_over_what_it_may_see():
    n = 6
    causal = np.tril(np.ones((n, n))) / np.arange(1, n + 1)[:, None]  # uniform over keys <= query
    window = 3
    rows, cols = np.indices((n, n))
    in_window = (cols <= rows) & (rows - cols < window)
    windowed = in_window / in_window.sum(-1, keepdims=True)  # uniform over the last 3 keys
    attn = AttentionMap(np.stack([causal, windowed])[None], list("abcdef"), list("abcdef"), "causal")
    assert window_entropy(attn)[0, 0] == pytest.approx(1.0)
    # without the window the windowed head looks focused: query 3 spreads over 3 of 4 keys, so log 3 / log 4
    expected = np.mean([1.0, 1.0] + [np.log(3) / np.log(q + 1) for q in range(3, n)])
    assert window_entropy(attn)[0, 1] == pytest.approx(expected, rel=1e-6)
    assert window_entropy(attn, window=3)[0, 1] == pytest.approx(1.0)
    assert visible_count("causal", np.arange(4), 4, window=2).tolist() == [1, 2, 2, 2]
    assert visible_count("self", np.arange(4), 4, None).tolist() == [4, 4, 4, 4]
    assert visible_count("self", np.arange(4), 4, 2).tolist() == [2, 3, 3, 2]


def test_window_entropy_of_an_encoder_counts_every_key_and_a_one_hot_head_scores_zero():
    n = 4
    uniform = np.full((n, n), 1 / n)
    half = np.tile([0.5, 0.5, 0, 0], (n, 1))  # log 2 / log 4 = 0.5 for every query
    attn = AttentionMap(np.stack([uniform, half, np.eye(n)])[None], list("abcd"), list("abcd"), "self")
    np.testing.assert_allclose(window_entropy(attn)[0], [1.0, 0.5, 0.0], atol=1e-6)
    single = AttentionMap(np.ones((1, 1, 1, 1)), ["a"], ["a"], "causal")
    assert window_entropy(single)[0, 0] == 0.0  # no query sees more than one key


def test_sink_mass_is_the_weight_on_the_first_key():
    sink = np.tile([0.9, 0.1, 0.0], (3, 1))
    spread = np.tile([0.2, 0.3, 0.5], (3, 1))
    attn = AttentionMap(np.stack([sink, spread])[None], list("abc"), list("abc"), "self")
    np.testing.assert_allclose(sink_mass(attn)[0], [0.9, 0.2], atol=1e-7)
    assert sink_mass(attn).shape == (1, 2) and sink_mass(attn).dtype == np.float32
