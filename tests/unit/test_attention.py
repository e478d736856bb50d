import numpy as np
import pytest

from attnviz.maps import storage
from attnviz.maps.attention_map import AttentionError, AttentionMap


def uniform(layers=2, heads=3, q=4, k=5, kind="self") -> AttentionMap:
    weights = np.full((layers, heads, q, k), 1.0 / k, dtype=np.float32)
    return AttentionMap(weights, [f"q{i}" for i in range(q)], [f"k{j}" for j in range(k)], kind, "test")


def random_map(seed=0, layers=2, heads=3, q=4, k=5, kind="cross") -> AttentionMap:
    rng = np.random.default_rng(seed)
    w = rng.random((layers, heads, q, k)).astype(np.float64)
    w /= w.sum(-1, keepdims=True)
    return AttentionMap(
        w, ["the", "cat", "the", "<eos>"][:q] + ["x"] * max(0, q - 4), [f"k{j}" for j in range(k)], kind
    )


@pytest.mark.parametrize(
    "weights, q, k, kind, message",
    [
        (np.ones((3, 3)) / 3, 3, 3, "self", "4-D"),
        (np.ones((1, 1, 2, 3)) / 3, 3, 3, "self", "query tokens for 2"),
        (np.ones((1, 1, 2, 3)) / 3, 2, 4, "self", "key tokens for 3"),
        (np.full((1, 1, 2, 2), np.nan), 2, 2, "self", "NaN"),
        (np.array([[[[1.5, -0.5], [0.5, 0.5]]]]), 2, 2, "self", "non-negative"),
        (np.array([[[[0.5, 0.4], [0.5, 0.5]]]]), 2, 2, "self", "query 0 sums to 0.9"),
        (np.array([[[[0.5, 0.5], [0.5, 0.5]]]]), 2, 2, "causal", "zero above the diagonal"),
        (np.ones((1, 1, 2, 3)) / 3, 2, 3, "causal", "square"),
        (np.ones((1, 1, 2, 2)) / 2, 2, 2, "sideways", "kind must be one of"),
        (np.ones((1, 0, 2, 2)) / 2, 2, 2, "self", "empty"),
    ],
)
def test_validation_rejects_malformed_input_with_a_clear_message(weights, q, k, kind, message):
    with pytest.raises(AttentionError, match=message):
        AttentionMap(weights, [f"q{i}" for i in range(q)], [f"k{j}" for j in range(k)], kind)


def test_rows_within_tolerance_are_accepted_and_weights_become_read_only_float32():
    w = np.array([[[[0.50005, 0.5], [0.2, 0.8]]]])
    attn = AttentionMap(w, ["a", "b"], ["c", "d"], "cross")
    assert attn.weights.dtype == np.float32
    with pytest.raises(ValueError):
        attn.weights[0, 0, 0, 0] = 1.0
    w[0, 0, 0, 0] = 0.9  # the map copied its input
    assert attn.weights[0, 0, 0, 0] == np.float32(0.50005)


def test_causal_map_with_zero_upper_triangle_is_valid():
    w = np.tril(np.ones((3, 3)))
    w /= w.sum(-1, keepdims=True)
    attn = AttentionMap(w[None, None], ["a", "b", "c"], ["a", "b", "c"], "causal")
    assert attn.head(0, 0)[0, 1] == 0


def test_head_select_and_mean_heads():
    attn = random_map()
    assert attn.head(1, 2).shape == (4, 5)
    np.testing.assert_array_equal(attn.head(1, 2), attn.weights[1, 2])
    sub = attn.select(layers=[1], heads=[0, 2])
    assert sub.weights.shape == (1, 2, 4, 5)
    np.testing.assert_array_equal(sub.weights[0, 1], attn.weights[1, 2])
    mean = attn.mean_heads()
    assert mean.weights.shape == (2, 1, 4, 5)
    np.testing.assert_allclose(mean.weights[0, 0], attn.weights[0].mean(0), rtol=1e-6)
    with pytest.raises(IndexError, match="head 3 is out of range"):
        attn.head(0, 3)


def test_to_frame_is_a_long_table_with_tokens():
    attn = random_map()
    frame = attn.to_frame()
    assert len(frame) == 2 * 3 * 4 * 5
    row = frame[(frame.layer == 1) & (frame["head"] == 2) & (frame.query_pos == 2) & (frame.key_pos == 4)].iloc[0]
    assert row.query_token == "the" and row.key_token == "k4"
    assert row.weight == attn.weights[1, 2, 2, 4]
    assert np.allclose(frame.groupby(["layer", "head", "query_pos"]).weight.sum(), 1.0, atol=1e-5)


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_save_and_load_round_trip_exactly(tmp_path, suffix):
    maps = {"cross": random_map(1), "self": uniform(kind="self")}
    maps["special"] = AttentionMap(
        maps["cross"].weights,
        maps["cross"].query_tokens,
        maps["cross"].key_tokens,
        "cross",
        "src",
        query_special=(True, False, False, True),
    )
    path = storage.save(maps, tmp_path / f"maps{suffix}")
    loaded = storage.load(path)
    assert loaded.keys() == maps.keys()
    for name in maps:
        assert loaded[name] == maps[name]
        assert np.array_equal(loaded[name].weights, maps[name].weights)  # bit-exact


def test_npz_layout_names_each_map_with_tokens_beside_it(tmp_path):
    path = storage.save({"cross": random_map(2)}, tmp_path / "x.npz")
    with np.load(path) as npz:
        assert npz["cross"].dtype == np.float32 and npz["cross"].shape == (2, 3, 4, 5)
        assert list(npz["cross_query_tokens"]) == ["the", "cat", "the", "<eos>"]
        assert list(npz["cross_key_tokens"]) == [f"k{j}" for j in range(5)]


def test_csv_export_is_long_format(tmp_path):
    import pandas as pd

    path = storage.save({"a": random_map(3)}, tmp_path / "x.csv")
    frame = pd.read_csv(path)
    assert list(frame.columns) == [
        "map",
        "kind",
        "layer",
        "head",
        "query_pos",
        "query_token",
        "key_pos",
        "key_token",
        "weight",
    ]
    assert len(frame) == 120
    np.testing.assert_allclose(frame.weight.to_numpy(), random_map(3).weights.reshape(-1), rtol=1e-7)


def test_unknown_file_type_is_refused(tmp_path):
    with pytest.raises(ValueError, match="use a .npz, .json or .csv"):
        storage.save(uniform(), tmp_path / "x.txt")
