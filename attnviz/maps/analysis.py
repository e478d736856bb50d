"""Pure functions over attention weights and AttentionMaps: no torch, no streamlit, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from attnviz.maps.attention_map import AttentionMap

Aligned = tuple[np.ndarray, Sequence[frozenset[int]]]  # ([target, source] weights, gold links per target)


def alignment_scores(pairs: Iterable[Aligned]) -> dict[str, float]:
    """Score ``[target, source]`` attention matrices against their gold links, pooled over all pairs.

    Only target rows with at least one gold link count (``rows``). ``agreement`` is the fraction of
    those rows whose argmax is a gold link; ``mass_on_gold`` the mean attention they put on gold links;
    ``aer`` the alignment error rate of Och & Ney (2003), 1 - (|A & S| + |A & P|) / (|A| + |S|), with every
    gold link sure (S = P = G), so 1 - 2|A & G| / (|A| + |G|): A is the argmax link of *every* target row,
    rows without a gold link included (their links can only be wrong).
    """
    rows = hits = gold_links = argmax_links = 0
    mass = 0.0
    for weights, gold in pairs:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape[0] != len(gold):
            raise ValueError(f"{weights.shape[0]} attention rows for {len(gold)} gold target tokens")
        argmax_links += len(gold)  # A holds one link per target row, with or without a gold link
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
        "aer": 1.0 - 2.0 * hits / (argmax_links + gold_links),
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
    special = lambda flags, groups: tuple(all(flags[i] for i in g) for g in groups)
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


# ---- head patterns (Clark et al. 2019, "What does BERT look at?"); the statistics: attnviz.maps.statistics ----

PATTERNS = {
    "self": "diagonal",
    "previous": "previous-token",
    "next": "next-token",
    "sink": "first-token (sink)",
    "induction": "induction",
}
PLACES = {  # where a head of each pattern puts its attention
    "self": "the token itself",
    "previous": "the previous token",
    "next": "the next token",
    "sink": "the first token",
    "induction": "the token after the previous occurrence of the query's token",
}
PATTERN_THRESHOLD = 0.5


def head_patterns(stats: dict[str, np.ndarray]) -> list[dict]:
    """Label every head from its :func:`attnviz.maps.statistics.head_statistics` (and, where ``stats`` holds it,
    its :func:`induction_mass`): diagonal, previous-token, next-token, first-token (sink), induction or broad.

    A head gets the pattern whose attention mass is largest when that mass is at least :data:`PATTERN_THRESHOLD`;
    otherwise it is "broad" (score: its normalised entropy). ``why`` says the number that decided it.
    """
    layers, heads = stats["entropy"].shape
    labelled = []
    for layer in range(layers):
        for head in range(heads):
            name, score = max(((s, float(stats[s][layer, head])) for s in PATTERNS if s in stats), key=lambda x: x[1])
            if score >= PATTERN_THRESHOLD:
                label, basis = PATTERNS[name], f"{score:.0%} of attention on {PLACES[name]}"
            else:
                label, score = "broad", float(stats["entropy"][layer, head])
                basis = f"no position gets {PATTERN_THRESHOLD:.0%}; entropy {score:.2f}"
            labelled.append({"layer": layer, "head": head, "pattern": label, "score": score, "why": basis})
    return labelled


def induction_targets(tokens: Sequence[str], special: Sequence[bool] | None = None) -> list[int | None]:
    """For each position: the position after the previous occurrence of its token (the key an induction head reads,
    whose token comes next if the text repeats itself), or None (first occurrence, special token, or the previous
    occurrence is the token just before it)."""
    special = special or (False,) * len(tokens)
    last: dict[str, int] = {}
    targets: list[int | None] = []
    for position, (token, flag) in enumerate(zip(tokens, special, strict=True)):
        before = None if flag else last.get(token)
        targets.append(before + 1 if before is not None and before + 1 < position else None)
        if not flag:
            last[token] = position
    return targets


def induction_mass(attn: AttentionMap) -> np.ndarray | None:
    """``[layer, head]`` mean attention on the induction target (:func:`induction_targets`), over the queries that
    have one; None for a map that is not a square self-attention or has no repeated token. On the induction probe
    (distinct tokens, then the same again) it is :func:`induction_scores`."""
    if attn.kind not in ("self", "causal") or attn.query_tokens != attn.key_tokens:
        return None
    pairs = [(q, k) for q, k in enumerate(induction_targets(attn.key_tokens, attn.key_special)) if k is not None]
    if not pairs:
        return None
    queries, keys = (np.array(side) for side in zip(*pairs, strict=True))
    return attn.weights[:, :, queries, keys].astype(np.float64).mean(-1).astype(np.float32)


def induction_scores(attn: AttentionMap, period: int) -> np.ndarray:
    """``[layer, head]`` mean attention from each token of a repeated sequence to the token that
    followed its previous occurrence (query i -> key i - period + 1), over the second repeat.
    """
    w = attn.weights.astype(np.float64)
    queries = np.arange(period, attn.n_queries)
    if not len(queries):
        raise ValueError(f"the sequence needs more than {period} tokens to hold a repeat")
    return w[:, :, queries, queries - period + 1].mean(-1).astype(np.float32)


# ---- attention rollout (Abnar & Zuidema 2020) ----------------------------------------------------


def rollout(attn: AttentionMap, residual: float = 0.5) -> AttentionMap:
    """Attention rollout of a self-attention map: ``[layer, 1, query, key]``.

    Each layer's head-average A becomes residual * I + (1 - residual) * A (the residual path),
    rows are renormalised, and layers multiply: layer l holds the rollout up to and including l.
    A causal map stays causal (products of lower-triangular matrices are lower-triangular).
    """
    if attn.n_queries != attn.n_keys or attn.kind not in ("self", "causal"):
        raise ValueError("rollout needs a square self-attention map (encoder or decoder self-attention)")
    result, out = np.eye(attn.n_queries), []
    for layer in attn.weights.astype(np.float64):
        result = rollout_step(layer.mean(0), residual) @ result
        out.append(result)
    return replace(attn, weights=np.stack(out)[:, None].astype(np.float32))


def rollout_step(mean: np.ndarray, residual: float = 0.5) -> np.ndarray:
    """One layer of :func:`rollout`: ``residual * I + (1 - residual) * mean`` (a head-mean attention ``[query,
    key]``), rows renormalised; float64."""
    mixed = residual * np.eye(len(mean)) + (1 - residual) * np.asarray(mean, dtype=np.float64)
    return mixed / mixed.sum(-1, keepdims=True)


def cross_rollout(cross: AttentionMap, encoder: AttentionMap, residual: float = 0.5) -> AttentionMap:
    """Cross-attention followed back through the encoder: each decoder layer's head-averaged
    cross-attention times the encoder's full rollout, ``[layer, 1, target, source]``.
    """
    if cross.key_tokens != encoder.query_tokens:
        raise ValueError("the cross-attention keys must be the encoder's tokens")
    through = rollout(encoder, residual).weights[-1, 0].astype(np.float64)
    weights = np.stack([layer.mean(0) @ through for layer in cross.weights.astype(np.float64)])[:, None]
    return replace(cross, weights=weights.astype(np.float32))


# ---- differences between maps --------------------------------------------------------------------


def js_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance (base 2, in [0, 1]) between distributions along the last axis."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    m = (p + q) / 2
    kl = lambda a: np.where(a > 0, a * np.log2(np.where(a > 0, a, 1.0) / np.where(m > 0, m, 1.0)), 0.0).sum(-1)
    return np.sqrt(np.clip((kl(p) + kl(q)) / 2, 0.0, 1.0))


def head_distances(a: AttentionMap, b: AttentionMap) -> np.ndarray:
    """``[layer, head]`` mean JS distance over queries between two maps of the same shape."""
    if a.weights.shape != b.weights.shape:
        raise ValueError(
            f"the two maps differ in shape ({a.weights.shape} vs {b.weights.shape}): "
            "compare inputs of the same token length"
        )
    return js_distance(a.weights, b.weights).mean(-1).astype(np.float32)


def head_similarity(attn: AttentionMap, max_side: int = 64) -> np.ndarray:
    """``[layer*head, layer*head]`` mean JS distance between every pair of heads on one input.

    Inputs longer than ``max_side`` tokens are first pooled into at most ``max_side`` contiguous blocks
    (keys summed, queries averaged), which keeps the cost bounded; pooling can only lower JS distances.
    """
    if max(attn.n_queries, attn.n_keys) > max_side:
        blocks = lambda n: [list(range(i, min(i + -(-n // max_side), n))) for i in range(0, n, -(-n // max_side))]
        q, k = blocks(attn.n_queries), blocks(attn.n_keys)
        attn = pool(
            replace(attn, kind="self" if attn.kind == "causal" else attn.kind),
            q,
            k,
            [str(g[0]) for g in q],
            [str(g[0]) for g in k],
        )
    flat = attn.weights.reshape(-1, attn.n_queries, attn.n_keys).astype(np.float64)
    return js_distance(flat[:, None], flat[None, :]).mean(-1).astype(np.float32)


# ---- alignment shape ------------------------------------------------------------------------------


def alignment_shape(weights: np.ndarray) -> dict[str, float]:
    """How a ``[target, source]`` map moves: ``monotonicity`` is the share of steps whose argmax does
    not move left; ``diagonality`` the correlation of query position with attended key position
    (1: diagonal, -1: anti-diagonal).
    """
    weights = np.asarray(weights, np.float64)
    argmax = weights.argmax(-1)
    monotonicity = float(np.mean(np.diff(argmax) >= 0)) if len(argmax) > 1 else 1.0
    expected = weights @ np.arange(weights.shape[1])
    positions = np.arange(weights.shape[0])
    if len(positions) < 2 or expected.std() == 0:
        return {"monotonicity": monotonicity, "diagonality": 0.0}
    return {"monotonicity": monotonicity, "diagonality": float(np.corrcoef(positions, expected)[0, 1])}


def alignment_table(
    maps: Sequence[tuple[str, str, np.ndarray]], gold: Sequence[frozenset[int]], ends_with_eos: bool = True
) -> list[dict]:
    """One row per ``(model, map name, [target, source] weights)``: its :func:`alignment_scores` against
    ``gold`` and its :func:`alignment_shape`. With ``ends_with_eos`` the last row, the ``<eos>`` step
    (it has no source word to follow, so it would bend the shape), is left out of the shape.
    """
    rows = []
    for model, name, weights in maps:
        shaped = weights[:-1] if ends_with_eos else weights
        rows.append({"model": model, "map": name, **alignment_scores([(weights, gold)]), **alignment_shape(shaped)})
    return rows


def average_statistics(per_input: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Mean of :func:`attnviz.maps.statistics.head_statistics` results over many inputs (each ``[layer, head]``)."""
    if not per_input:
        raise ValueError("no inputs to average over")
    return {name: np.nanmean([s[name] for s in per_input], axis=0).astype(np.float32) for name in per_input[0]}
