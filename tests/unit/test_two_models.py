"""Two models on the same words: alignment on hand-made pairs, pooling, depth matching and JS distances, each
against an independent hand computation."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from two_models_support import bpe_tokenizer, js_by_hand, metaspace_tokenizer, pool_by_hand

from attnviz.maps.analysis import js_distance
from attnviz.maps.attention_map import AttentionMap
from attnviz.pretrained import hf
from attnviz.pretrained.two_models import (
    Words,
    align,
    all_pair_distances,
    as_spans,
    blocks,
    closest_pairs,
    compare,
    depth_table,
    head_pair_distances,
    left_out_sentence,
    matched_layer,
    pooled,
    tokenizer_spans,
)
from attnviz.text.words import of_word_ids

TEXT = "Don't stop, friend."


def random_map(layers, heads, tokens, kind="self", seed=0, source="m"):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(len(tokens)), size=(layers, heads, len(tokens)))
    if kind == "causal":
        w = np.tril(w)
        w /= w.sum(-1, keepdims=True)
    return AttentionMap(w.astype(np.float32), tuple(tokens), tuple(tokens), kind, source)


def test_words_come_from_word_ids_with_spaces_trimmed_and_special_tokens_left_out():
    # [CLS] "ab" split in two tokens, " cd" (offsets including its space), a space-only token, [SEP]
    tokens = ["[CLS]", "a", "b", "Ġcd", "Ġ", "[SEP]"]
    groups = of_word_ids([None, 0, 0, 1, 2, None], [None, 0, 0, 0, 0, None], tokens)
    assert groups == [[0], [1, 2], [3, 4], [5]]  # the trailing space joins the word before it
    special = [t.startswith("[") for t in tokens]
    words = as_spans(groups, [(0, 0), (0, 1), (1, 2), (2, 5), (5, 6), (0, 0)], special, "ab cd ")
    assert words == Words(spans=((0, 2), (3, 5)), tokens=((1, 2), (3, 4)))


def test_same_words_agree_and_keep_each_sides_tokens():
    a = Words(((0, 2), (3, 5)), ((1,), (2, 3)))
    b = Words(((0, 2), (3, 5)), ((0, 1), (2,)))
    alignment = align("ab cd", a, b)
    assert alignment.agree and alignment.notes == ()
    assert alignment.labels == ("ab", "cd")
    assert alignment.groups_a == ((1,), (2, 3)) and alignment.groups_b == ((0, 1), (2,))


def test_a_character_split_side_is_joined_into_the_other_sides_words_and_said():
    words = Words(((0, 2), (3, 5)), ((1,), (2, 3)))
    characters = Words(((0, 1), (1, 2), (3, 4), (4, 5)), ((0,), (1,), (2,), (3,)))
    alignment = align("ab cd", words, characters, "A", "B")
    assert alignment.labels == ("ab", "cd") and alignment.spans == ((0, 2), (3, 5))
    assert alignment.groups_a == ((1,), (2, 3)) and alignment.groups_b == ((0, 1), (2, 3))
    assert not alignment.agree
    assert alignment.notes == (
        "“ab”: A reads “ab”, B reads “a” + “b”; shown as one word.",
        "“cd”: A reads “cd”, B reads “c” + “d”; shown as one word.",
    )


def test_crossing_boundaries_make_the_smallest_stretch_both_read_whole():
    a = Words(((0, 2), (2, 3), (4, 5)), ((0,), (1,), (2,)))  # "ab" "c" "d"
    b = Words(((0, 1), (1, 3), (4, 5)), ((0,), (1, 2), (3,)))  # "a" "bc" "d"
    alignment = align("abc d", a, b)
    assert alignment.labels == ("abc", "d")
    assert alignment.groups_a == ((0, 1), (2,)) and alignment.groups_b == ((0, 1, 2), (3,))


def test_words_only_one_side_read_are_left_out_and_said():
    alignment = align("ab cd", Words(((0, 2), (3, 5)), ((0,), (1,))), Words(((0, 2),), ((0,),)))
    assert alignment.labels == ("ab",)
    assert alignment.notes == ("Left out, read by one model only (cut by its token limit?): “cd”.",)


def test_minilm_wordpiece_and_a_byte_level_bpe_align_by_character_offsets():
    minilm, count_a = tokenizer_spans(hf.load().tokenizer, TEXT, 512)
    bpe, count_b = tokenizer_spans(bpe_tokenizer(), TEXT, 512)
    assert count_a == 9 and count_b == 11  # [CLS] don ' t stop , friend . [SEP] / Don 't Ġs t op , Ġ fr ien d .
    alignment = align(TEXT, minilm, bpe, "MiniLM", "BPE")
    assert alignment.labels == ("Don", "'t", "stop", ",", "friend", ".")
    assert alignment.groups_a == ((1,), (2, 3), (4,), (5,), (6,), (7,))
    assert alignment.groups_b == ((0,), (1,), (2, 3, 4), (5,), (6, 7, 8, 9), (10,))
    assert alignment.notes == ("“'t”: MiniLM reads “'” + “t”, BPE reads “'t”; shown as one word.",)


def test_a_sentencepiece_style_tokenizer_keeps_punctuation_in_its_words_so_the_words_widen():
    minilm, _ = tokenizer_spans(hf.load().tokenizer, TEXT, 512)
    pieces, count = tokenizer_spans(metaspace_tokenizer(), TEXT, 512)
    alignment = align(TEXT, minilm, pieces, "MiniLM", "T5-like")
    assert alignment.labels == ("Don't", "stop,", "friend.")
    assert alignment.groups_a == ((1, 2, 3), (4, 5), (6, 7))
    assert sorted(p for g in alignment.groups_b for p in g) == list(range(count - 1))  # all but the final </s>
    assert len(alignment.notes) == 3


SPACED = "Don't  stop,\nfriend.\n\nThe cat   sat \n"


def hand_groups(tokenizer, text):
    """Word ids read here; a word whose tokens decode to whitespace only joins the next word (the previous one at
    the end of the text)."""
    encoding = tokenizer(text)
    by_id: dict = {}
    for position, word in enumerate(encoding.word_ids()):
        by_id.setdefault(word, []).append(position)
    groups, pending = [], []
    for group in by_id.values():
        if tokenizer.convert_tokens_to_string([encoding.tokens()[p] for p in group]).isspace():
            pending += group
        else:
            groups.append(pending + group)
            pending = []
    groups[-1] += pending
    return groups


def test_byte_level_space_and_newline_tokens_keep_their_weight_in_the_word_they_join():
    """Bug: 'Ġ', 'ĠĠ' and 'Ċ' tokens (not special) were dropped and their weight spread over the other words."""
    tokenizer = bpe_tokenizer()
    words, count = tokenizer_spans(tokenizer, SPACED, 512)
    tokens = tokenizer(SPACED).tokens()
    assert {"Ġ", "Ċ"} <= set(tokens) and count == len(tokens)
    groups = hand_groups(tokenizer, SPACED)
    assert sorted(p for g in groups for p in g) == list(range(count))  # every token in a word
    map_a, map_b = random_map(2, 2, tokens, seed=9, source="A"), random_map(1, 2, tokens, "causal", 10, "B")
    pair = compare(SPACED, map_a, words, map_b, words)
    assert pair.alignment.labels == ("Don", "'t", "stop", ",", "friend", ".", "The", "cat", "sat")
    for source, pooled_map in ((map_a, pair.a), (map_b, pair.b)):
        for layer, head in np.ndindex(source.weights.shape[:2]):
            rows = source.weights[layer, head]
            by_hand = np.array([[sum(rows[q, k] for k in g) for g in groups] for q in range(count)])
            summed = np.array([by_hand[g].mean(0) for g in groups])  # no renormalising: no token was left out
            np.testing.assert_allclose(pooled_map.weights[layer, head], summed, atol=1e-6)
            np.testing.assert_allclose(summed, pool_by_hand(source.weights[layer, head], groups), atol=1e-6)
    assert words.tokens == tuple(tuple(g) for g in groups)


def test_the_tokens_left_out_of_the_words_are_named_in_one_sentence():
    minilm, _ = tokenizer_spans(hf.load().tokenizer, TEXT, 512)
    cut, count = tokenizer_spans(bpe_tokenizer(), TEXT, 6)  # Don 't Ġs t op , (cut before "friend.")
    map_a = random_map(1, 1, ["[CLS]", "don", "'", "t", "stop", ",", "friend", ".", "[SEP]"], source="A")
    map_b = random_map(1, 1, ["Don", "'t", "s", "t", "op", ","][:count], source="B")
    pair = compare(TEXT, map_a, minilm, map_b, cut)
    assert pair.alignment.labels == ("Don", "'t", "stop", ",")
    assert pair.left_out_a == ("[CLS]", "friend", ".", "[SEP]") and pair.left_out_b == ()
    assert left_out_sentence(pair, "A", "B") == (
        "Tokens left out of the words, each row renormalised over the rest: [CLS], friend, ., [SEP] (A); none (B)."
    )
    whole, _ = tokenizer_spans(bpe_tokenizer(), TEXT, 512)
    same = compare(TEXT, random_map(1, 1, list("abcdefghijk"), source="B"), whole, map_a, minilm)
    assert left_out_sentence(same, "B", "A") == (
        "Tokens left out of the words, each row renormalised over the rest: none (B); [CLS], [SEP] (A)."
    )


def test_pooling_a_hand_made_map_gives_the_hand_computed_words():
    rows = [[0.2, 0.2, 0.2, 0.2, 0.2], [0.2, 0.3, 0.1, 0.2, 0.2], [0.1, 0.1, 0.4, 0.2, 0.2], [0, 0.5, 0.25, 0.25, 0]]
    attn = AttentionMap(np.array([[rows + [[0.2] * 5]]], np.float32), tuple("CxyzS"), tuple("CxyzS"), "self")
    result = pooled(attn, [(1,), (2, 3)], ["x", "yz"])
    # x: [.3 .1 .2] / .6 -> keys x=.5, yz=.5; y: [.1 .4 .2] / .7 -> [1/7, 6/7]; z: [.5 .25 .25] -> [.5 .5]
    np.testing.assert_allclose(result.weights[0, 0], [[0.5, 0.5], [9 / 28, 19 / 28]], atol=1e-6)
    assert result.query_tokens == result.key_tokens == ("x", "yz")


def test_both_maps_pooled_to_the_shared_words_equal_a_loop_computation():
    a_words = Words(((0, 3), (3, 4), (4, 5), (6, 10)), ((1,), (2,), (3,), (4,)))  # [CLS] don ' t stop [SEP]
    b_words = Words(((0, 3), (3, 5), (6, 10)), ((0,), (1,), (2, 3)))  # Don 't s top
    map_a = random_map(2, 3, ["[CLS]", "don", "'", "t", "stop", "[SEP]"], seed=1, source="A")
    map_b = random_map(3, 2, ["Don", "'t", "s", "top"], kind="causal", seed=2, source="B")
    pair = compare("Don't stop", map_a, a_words, map_b, b_words)
    assert pair.a.key_tokens == pair.b.key_tokens == ("Don", "'t", "stop")
    assert pair.b.kind == "causal" and not np.triu(pair.b.weights, k=1).any()
    for layer, head in np.ndindex(2, 3):
        expected = pool_by_hand(map_a.weights[layer, head], [(1,), (2, 3), (4,)])
        np.testing.assert_allclose(pair.a.weights[layer, head], expected, atol=1e-6)
    for layer, head in np.ndindex(3, 2):
        expected = pool_by_hand(map_b.weights[layer, head], [(0,), (1,), (2, 3)])
        np.testing.assert_allclose(pair.b.weights[layer, head], expected, atol=1e-6)


def test_layers_are_matched_by_relative_depth_halves_rounding_up():
    assert depth_table(12, 6) == [
        (0, 0),
        (1, 0),
        (2, 1),
        (3, 1),
        (4, 2),
        (5, 2),
        (6, 3),
        (7, 3),
        (8, 4),
        (9, 4),
        (10, 5),
        (11, 5),
    ]
    assert depth_table(6, 12) == [(0, 0), (1, 2), (2, 4), (3, 7), (4, 9), (5, 11)]  # 6.6 -> 7, 8.8 -> 9
    assert depth_table(3, 2) == [(0, 0), (1, 1), (2, 1)]  # 0.5 -> 1
    assert depth_table(1, 6) == [(0, 0)]
    assert [matched_layer(i, 6, 6) for i in range(6)] == list(range(6))


def test_head_pair_distances_equal_a_hand_computed_jensen_shannon():
    words = ("a", "b")
    a = AttentionMap(np.array([[[[1, 0], [0.5, 0.5]], [[0.5, 0.5], [0.5, 0.5]]]], np.float32), words, words, "self")
    b = AttentionMap(np.array([[[[0, 1], [1, 0]]]], np.float32), words, words, "self")
    distances = head_pair_distances(a, b, 0, 0)
    assert distances.shape == (2, 1)
    # head 0: rows [1,0] vs [0,1] -> 1; [.5,.5] vs [1,0] -> sqrt((log2(4/3) + .5 log2(2/3) + .5) / 2) = 0.5579
    assert js_by_hand([0.5, 0.5], [1, 0]) == pytest.approx(0.557923, abs=1e-6)
    np.testing.assert_allclose(distances[0, 0], (1 + 0.557923) / 2, atol=1e-6)
    np.testing.assert_allclose(distances[1, 0], (0.557923 + 0.557923) / 2, atol=1e-6)


def test_every_pair_and_the_closest_pairs_agree_with_the_hand_computation():
    words = ["w0", "w1", "w2", "w3"]
    a, b = random_map(3, 2, words, seed=3), random_map(2, 3, words, seed=4)
    grid = all_pair_distances(a, b)
    assert grid.shape == (6, 6)
    for la, ha, lb, hb in np.ndindex(3, 2, 2, 3):
        rows = [js_by_hand(a.weights[la, ha, q].tolist(), b.weights[lb, hb, q].tolist()) for q in range(4)]
        assert grid[la * 2 + ha, lb * 3 + hb] == pytest.approx(sum(rows) / 4, abs=1e-6)
    library = js_distance(a.weights[2].astype(np.float64)[:, None], b.weights[1].astype(np.float64)[None]).mean(-1)
    np.testing.assert_allclose(grid[4:6, 3:6], library, atol=1e-6)  # the same as attnviz.maps.analysis.js_distance
    closest = closest_pairs(a, b, count=3)
    matched = [(la, ha, lb, hb) for la, lb in depth_table(3, 2) for ha in range(2) for hb in range(3)]
    by_hand = sorted(grid[la * 2 + ha, lb * 3 + hb] for la, ha, lb, hb in matched)[:3]
    assert [row["distance"] for row in closest] == pytest.approx(by_hand, abs=1e-6)
    assert {(r["layer_a"], r["layer_b"]) for r in closest} <= set(depth_table(3, 2))


def test_long_inputs_are_compared_over_the_same_blocks_on_both_sides():
    words = [f"w{i}" for i in range(10)]
    groups = [(i,) for i in range(10)]
    pair = compare(
        " ".join(words),
        random_map(1, 2, words, seed=5),
        _spaced(words),
        random_map(2, 1, words, seed=6),
        _spaced(words),
    )
    small = blocks(pair, 4)  # 10 words in blocks of 3: w0-2, w3-5, w6-8, w9
    assert small.a.n_queries == small.b.n_queries == 4
    expected = pool_by_hand(pair.a.weights[0, 1], [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9,)])
    np.testing.assert_allclose(small.a.weights[0, 1], expected, atol=1e-6)
    assert blocks(pair, 10) is pair and len(groups) == 10


def _spaced(words):
    spans, start = [], 0
    for word in words:
        spans.append((start, start + len(word)))
        start += len(word) + 1
    return Words(tuple(spans), tuple((i,) for i in range(len(words))))


def test_the_side_by_side_figure_exports_as_svg_with_both_titles_every_word_and_one_colour_bar():
    from test_export import SVG, svg_texts

    from attnviz.figures import export
    from attnviz.figures.two_models import side_by_side

    words = ["Don", "'t", "stop"]
    a, b = random_map(2, 2, words, seed=7, source="/data/bert-ft/"), random_map(1, 2, words, "causal", 8, "gpt2")
    fig = side_by_side(a, b, (1, 0), (0, 1))
    data = export.to_bytes(fig, export.options(fmt="svg", width=7, height=3.5, colorscale="Greys"))
    texts = svg_texts(data)
    assert {"bert-ft · layer 1, head 0", "gpt2 · layer 0, head 1", "weight", "query word", "key word"} <= set(texts)
    assert texts.count("stop") == 4  # each word on both axes of both panels
    stops = [s.get("stop-color") for s in ET.fromstring(data).iter(f"{SVG}stop")]
    assert stops[0] == "rgb(255, 255, 255)" and stops[-1] == "rgb(0, 0, 0)"  # the one shared colour bar, in Greys
