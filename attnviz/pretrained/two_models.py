"""Two models on the same text: their words aligned, their layers matched by depth, their heads compared.

Pure functions (no torch, no streamlit). Each model's attention is pooled to one shared list of words, so
rows and columns match even when the tokenizers differ:

1. each tokenizer's words (the one grouping of :mod:`attnviz.text.words`: its ``word_ids``, whitespace tokens
   joined to a neighbouring word, CJK characters words of their own) become character spans of the text
   (:func:`as_spans`);
2. spans of the two sides that overlap are joined into one unit (:func:`align`): where both tokenizers
   split the text alike the units are their words; where they disagree (one splits "don't" at the
   apostrophe, the other doesn't) the unit is the smallest stretch of text both sides cover whole;
3. special tokens ([CLS], <s> ...) and words only one side read are left out, and named (:class:`Pair`'s
   ``left_out_a`` / ``left_out_b``, :func:`left_out_sentence`); every row is renormalised over the tokens that
   remain, then each unit's keys are summed and its queries averaged (:func:`pooled`, through ``analysis.pool``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from attnviz.maps.analysis import pool
from attnviz.maps.attention_map import AttentionMap
from attnviz.text import words
from attnviz.text.tokens import short_name

DEPTH_RULE = "layer i of model A is shown with layer round(i x (LB - 1) / (LA - 1)) of model B (halves round up)"
MAX_NOTES = 8  # disagreements (and left-out tokens of each side) listed by name; the rest are counted


@dataclass(frozen=True)
class Words:
    """One tokenisation's words: the character span and the token positions of each (special tokens in none)."""

    spans: tuple[tuple[int, int], ...]
    tokens: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Alignment:
    """The words both models are shown on: a label, a span and each side's token positions per unit."""

    labels: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    groups_a: tuple[tuple[int, ...], ...]
    groups_b: tuple[tuple[int, ...], ...]
    agree: bool  # every unit is one word of each tokenizer
    notes: tuple[str, ...]  # where and how the two tokenisations disagree, one sentence each


@dataclass(frozen=True)
class Pair:
    """Both models' attention pooled to the same words, and the tokens of each left out of them (by label)."""

    a: AttentionMap
    b: AttentionMap
    alignment: Alignment
    left_out_a: tuple[str, ...] = ()
    left_out_b: tuple[str, ...] = ()


def as_spans(
    groups: Sequence[Sequence[int]], offsets: Sequence[tuple[int, int]], special: Sequence[bool], text: str
) -> Words:
    """Word groups (:mod:`attnviz.text.words`) as spans of ``text``, spaces trimmed. A special token, and a word of
    whitespace only (one with no word beside it), has no span: it is in no word, so :func:`compare` names it."""
    spans, tokens = [], []
    for group in groups:
        if special[group[0]]:
            continue
        start, end = min(offsets[p][0] for p in group), max(offsets[p][1] for p in group)
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
            tokens.append(tuple(group))
    return Words(tuple(spans), tuple(tokens))


def tokenizer_spans(tokenizer, text: str, max_tokens: int) -> tuple[Words, int]:
    """(the words of ``text`` as a Hugging Face fast tokenizer splits it, its number of tokens), cut to
    ``max_tokens`` as attnviz.pretrained.extract cuts it; ValueError for a tokenizer that gives no character offsets."""
    encoding = tokenizer(text, truncation=True, max_length=max_tokens, return_offsets_mapping=True)
    groups = words.of_encoding(encoding, (text,)) if getattr(encoding, "is_fast", False) else None
    if groups is None:
        raise ValueError(
            "This model's tokenizer gives no character offsets (not a 'fast' tokenizer): its words can't be aligned."
        )
    special = [word is None for word in encoding.word_ids()]
    return as_spans(groups, encoding["offset_mapping"], special, text), len(encoding["input_ids"])


def align(text: str, a: Words, b: Words, name_a: str = "model A", name_b: str = "model B") -> Alignment:
    """Join overlapping words of the two sides into shared units (see the module's docstring)."""
    tagged = sorted(
        [(*span, 0, i) for i, span in enumerate(a.spans)] + [(*span, 1, i) for i, span in enumerate(b.spans)]
    )
    units: list[list] = []  # [start, end, words of A, words of B]
    for start, end, side, index in tagged:
        if not units or start >= units[-1][1]:
            units.append([start, end, [], []])
        units[-1][1] = max(units[-1][1], end)
        units[-1][2 + side].append(index)
    kept = [u for u in units if u[2] and u[3]]
    notes = [_difference(text, u, a, b, name_a, name_b) for u in kept if len(u[2]) != 1 or len(u[3]) != 1]
    if len(notes) > MAX_NOTES:
        notes = [*notes[:MAX_NOTES], f"... and {len(notes) - MAX_NOTES} more places where they split differently."]
    lost = [text[u[0] : u[1]] for u in units if not (u[2] and u[3])]
    if lost:
        quoted = ", ".join(f"“{word}”" for word in lost[:5])
        notes.append(f"Left out, read by one model only (cut by its token limit?): {quoted}.")
    group = lambda words, side: tuple(p for w in side for p in words.tokens[w])
    return Alignment(
        labels=tuple(text[u[0] : u[1]] for u in kept),
        spans=tuple((u[0], u[1]) for u in kept),
        groups_a=tuple(group(a, u[2]) for u in kept),
        groups_b=tuple(group(b, u[3]) for u in kept),
        agree=not notes,
        notes=tuple(notes),
    )


def _difference(text: str, unit: list, a: Words, b: Words, name_a: str, name_b: str) -> str:
    words = lambda side, indices: " + ".join(f"“{text[slice(*side.spans[i])]}”" for i in indices)
    return (
        f"“{text[unit[0] : unit[1]]}”: {name_a} reads {words(a, unit[2])}, {name_b} reads {words(b, unit[3])}; "
        "shown as one word."
    )


def pooled(attn: AttentionMap, groups: Sequence[Sequence[int]], labels: Sequence[str]) -> AttentionMap:
    """``attn`` on the shared words: tokens in no group (special ones) left out, each token's row renormalised
    over the tokens kept, then keys summed and queries averaged per group. ``[layer, head, word, word]``."""
    used = sorted({p for g in groups for p in g})
    w = attn.weights.astype(np.float64)[..., used, :][..., used]
    mass = w.sum(-1, keepdims=True)
    if not np.all(mass > 0):
        raise ValueError(f"{attn.source or 'A model'} puts all of some token's attention on special tokens.")
    index = {p: i for i, p in enumerate(used)}
    kept = AttentionMap(
        (w / mass).astype(np.float32),
        tuple(attn.query_tokens[p] for p in used),
        tuple(attn.key_tokens[p] for p in used),
        attn.kind,
        attn.source,
    )
    local = [[index[p] for p in g] for g in groups]
    return pool(kept, local, local, labels, labels)


def compare(text: str, map_a: AttentionMap, words_a: Words, map_b: AttentionMap, words_b: Words) -> Pair:
    """Both maps pooled to the words of :func:`align` (names for its notes come from the maps' labels)."""
    alignment = align(
        text, words_a, words_b, short_name(map_a.source or "model A"), short_name(map_b.source or "model B")
    )
    if not alignment.labels:
        raise ValueError("The two models share no words of this text: type some words.")
    return Pair(
        pooled(map_a, alignment.groups_a, alignment.labels),
        pooled(map_b, alignment.groups_b, alignment.labels),
        alignment,
        left_out(map_a, alignment.groups_a),
        left_out(map_b, alignment.groups_b),
    )


def left_out(attn: AttentionMap, groups: Sequence[Sequence[int]]) -> tuple[str, ...]:
    """The labels of the tokens of ``attn`` in none of ``groups``: what :func:`pooled` leaves out, in order."""
    used = {p for group in groups for p in group}
    return tuple(token for p, token in enumerate(attn.query_tokens) if p not in used)


def left_out_sentence(pair: Pair, name_a: str, name_b: str) -> str:
    """One sentence naming each side's tokens left out of the words (each row renormalised over the rest)."""
    said = []
    for name, tokens in ((name_a, pair.left_out_a), (name_b, pair.left_out_b)):
        shown = ", ".join(tokens[:MAX_NOTES]) + (
            f" and {len(tokens) - MAX_NOTES} more" if len(tokens) > MAX_NOTES else ""
        )
        said.append(f"{shown or 'none'} ({name})")
    return "Tokens left out of the words, each row renormalised over the rest: " + "; ".join(said) + "."


def matched_layer(layer: int, layers_a: int, layers_b: int) -> int:
    """The layer of model B at the same relative depth as ``layer`` of model A (see DEPTH_RULE); exact integers."""
    if layers_a == 1:
        return 0
    return (2 * layer * (layers_b - 1) + (layers_a - 1)) // (2 * (layers_a - 1))


def depth_table(layers_a: int, layers_b: int) -> list[tuple[int, int]]:
    """(layer of A, its matched layer of B) for every layer of A."""
    return [(layer, matched_layer(layer, layers_a, layers_b)) for layer in range(layers_a)]


def head_pair_distances(a: AttentionMap, b: AttentionMap, layer_a: int, layer_b: int) -> np.ndarray:
    """``[head of A, head of B]`` JS distance between the two heads' rows, averaged over the shared words.

    The same number as ``analysis.js_distance``, computed as JS = H(m) - (H(p) + H(q)) / 2 (entropies in bits,
    m the mean of p and q): one logarithm per pair of rows instead of three, which the "all layers" grid needs.
    """
    p, q = a.weights[layer_a].astype(np.float64), b.weights[layer_b].astype(np.float64)  # [heads, word, word]
    mixed = _entropy((p[:, None] + q[None, :]) / 2)  # [head of A, head of B, word]
    js = mixed - (_entropy(p)[:, None] + _entropy(q)[None, :]) / 2
    return np.sqrt(np.clip(js, 0.0, 1.0)).mean(-1).astype(np.float32)


def _entropy(x: np.ndarray) -> np.ndarray:
    """Entropy in bits along the last axis (0 log 0 = 0)."""
    return -(x * np.log2(np.where(x > 0, x, 1.0))).sum(-1)


def all_pair_distances(a: AttentionMap, b: AttentionMap) -> np.ndarray:
    """``[layer*head of A, layer*head of B]``: :func:`head_pair_distances` for every pair of layers."""
    rows = [
        np.concatenate([head_pair_distances(a, b, la, lb) for lb in range(b.n_layers)], axis=1)
        for la in range(a.n_layers)
    ]
    return np.concatenate(rows, axis=0)


def closest_pairs(a: AttentionMap, b: AttentionMap, count: int = 5) -> list[dict]:
    """The ``count`` head pairs of depth-matched layers whose attention is closest (lowest JS distance)."""
    found = []
    for layer_a, layer_b in depth_table(a.n_layers, b.n_layers):
        distances = head_pair_distances(a, b, layer_a, layer_b)
        for (head_a, head_b), distance in np.ndenumerate(distances):
            found.append(dict(layer_a=layer_a, head_a=head_a, layer_b=layer_b, head_b=head_b, distance=float(distance)))
    return sorted(found, key=lambda row: row["distance"])[:count]


def blocks(pair: Pair, max_side: int) -> Pair:
    """The pair pooled into at most ``max_side`` contiguous blocks of words (the same blocks on both sides), so
    the cost of comparing every head pair stays bounded on long inputs; shorter inputs come back unchanged."""
    n = len(pair.alignment.labels)
    if n <= max_side:
        return pair
    size = -(-n // max_side)
    groups = [list(range(i, min(i + size, n))) for i in range(0, n, size)]
    labels = [f"{pair.alignment.labels[g[0]]} ..." for g in groups]
    shrink = lambda m: pool(replace(m, kind="self"), groups, groups, labels, labels)
    return replace(pair, a=shrink(pair.a), b=shrink(pair.b))
