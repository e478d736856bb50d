"""Pure functions over attention weights and AttentionMaps: no torch, no streamlit, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from attnviz.attention import AttentionMap

Aligned = tuple[np.ndarray, Sequence[frozenset[int]]]  # ([target, source] weights, gold links per target)


def alignment_scores(pairs: Iterable[Aligned]) -> dict[str, float]:
    """Score ``[target, source]`` attention matrices against their gold links, pooled over all pairs.

    Only target rows with at least one gold link count (``rows``). ``agreement`` is the fraction of
    those rows whose argmax is a gold link; ``mass_on_gold`` the mean attention they put on gold links;
    ``aer`` the alignment error rate 1 - 2|A & G| / (|A| + |G|) of the argmax alignment A against the
    gold links G (all gold links counted as sure).
    """
    rows = hits = gold_links = 0
    mass = 0.0
    for weights, gold in pairs:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape[0] != len(gold):
            raise ValueError(f"{weights.shape[0]} attention rows for {len(gold)} gold target tokens")
        for i, links in enumerate(gold):
            if links:
                rows += 1
                hits += int(weights[i].argmax()) in links
                gold_links += len(links)
                mass += float(weights[i, sorted(links)].sum())
    if rows == 0:
        return {"rows": 0, "agreement": float("nan"), "mass_on_gold": float("nan"), "aer": float("nan")}
    return {
        "rows": rows,
        "agreement": hits / rows,
        "mass_on_gold": mass / rows,
        "aer": 1.0 - 2.0 * hits / (rows + gold_links),
    }


def pool(
    attn: AttentionMap,
    query_groups: Sequence[Sequence[int]],
    key_groups: Sequence[Sequence[int]],
    query_labels: Sequence[str],
    key_labels: Sequence[str],
) -> AttentionMap:
    """Pool token attention into groups (words): sum over a group's keys, mean over its queries.

    Rows still sum to 1, and a causal map stays causal when groups are contiguous and in order.
    Output ``[layer, head, len(query_groups), len(key_groups)]``.
    """
    w = attn.weights.astype(np.float64)
    keys = np.stack([w[..., list(g)].sum(axis=-1) for g in key_groups], axis=-1)
    pooled = np.stack([keys[..., list(g), :].mean(axis=-2) for g in query_groups], axis=-2)
    special = lambda flags, groups: tuple(all(flags[i] for i in g) for g in groups)  # noqa: E731
    return replace(
        attn,
        weights=pooled.astype(np.float32),
        query_tokens=tuple(query_labels),
        key_tokens=tuple(key_labels),
        query_special=special(attn.query_special, query_groups),
        key_special=special(attn.key_special, key_groups),
    )


def drop_special(attn: AttentionMap) -> AttentionMap:
    """Remove special-token queries and keys and renormalise each row over the keys that remain.

    A query that put no attention at all on ordinary tokens (in some layer or head) has nothing left to
    renormalise and is removed too. Raises ValueError when no ordinary token is left.
    """
    keys = [j for j, s in enumerate(attn.key_special) if not s]
    queries = [i for i, s in enumerate(attn.query_special) if not s]
    w = attn.weights[:, :, queries][..., keys].astype(np.float64)
    total = w.sum(axis=-1)  # (layer, head, query)
    kept = [q for q, ok in zip(queries, (total > 0).all(axis=(0, 1))) if ok] if keys else []
    if not kept:
        raise ValueError("nothing is left once special tokens are hidden: the text has only special tokens")
    w = w[:, :, [queries.index(q) for q in kept]]
    return replace(
        attn,
        weights=(w / w.sum(axis=-1, keepdims=True)).astype(np.float32),
        query_tokens=tuple(attn.query_tokens[i] for i in kept),
        key_tokens=tuple(attn.key_tokens[j] for j in keys),
        query_special=(False,) * len(kept),
        key_special=(False,) * len(keys),
    )
