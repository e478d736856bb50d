"""Head statistics, named once: each statistic's name, label, whole-map function and streaming term.

A statistic is a mean over query rows of one number per row. Its **term** says, for a band of rows of one layer
(:class:`Rows`: each row's weight on the first key, on special tokens, its entropy, ...), what each row
contributes and which rows count. The whole-map function (:func:`head_statistics`) applies the terms to every row
of a map at once, and :func:`batch_statistics` to a batch of maps of one length (the corpus job); the long-input
reducer (:mod:`attnviz.long.reduce`) applies the same terms chunk by chunk of queries and divides the sums at the
end. Either way the number is the same, for the pretrained page, the corpus
job and the long-input page.

Which keys a row may see follows the map's kind and each layer's sliding window (:func:`visible_count`): a
decoder's row sees the keys up to itself, the last ``window`` of them in a sliding-window layer. So the
entropies are normalised by what a row may see, and the sink mass is averaged over the rows that may see the
first token (a sliding-window row far from the start cannot). Clark et al. (2019), "What does BERT look at?",
for the positional statistics; Xiao et al. (2024) for attention sinks.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from attnviz.maps.attention_map import AttentionMap

StatisticName = Literal[
    "entropy",
    "distance",
    "special",
    "punctuation",
    "self",
    "previous",
    "next",
    "first",
    "max",
    "sink",
    "window_entropy",
]
STATISTIC_NAMES: tuple[StatisticName, ...] = get_args(StatisticName)  # every map's: corpus columns, pages' picker
AsideName = Literal["entropy_aside", "window_entropy_aside"]  # with the first token set aside (the long page)
ASIDE_NAMES: tuple[AsideName, ...] = get_args(AsideName)
Windows = Sequence[int | None] | None  # each layer's sliding window (None: no window anywhere)


@dataclass(frozen=True)
class Rows:
    """Per-row quantities of a band of query rows of one layer, each ``[..., head, rows]`` float64 (``...``: a batch
    of maps, or nothing; ``positions``: the rows' query positions). ``entropy`` is -sum p log p of the row,
    ``rest`` its weight off the first key, ``own`` / ``previous`` / ``next`` its weight on the key at its own
    position, one before, one after."""

    positions: np.ndarray
    n_queries: int
    n_keys: int
    kind: str
    window: int | None
    first: np.ndarray
    rest: np.ndarray
    special: np.ndarray
    punctuation: np.ndarray
    own: np.ndarray
    previous: np.ndarray
    next: np.ndarray
    distance: np.ndarray
    max: np.ndarray
    entropy: np.ndarray

    def seen(self, window: int | None) -> np.ndarray:
        """``[rows]`` how many keys each row may see (with ``window``, or with none)."""
        return visible_count(self.kind, self.positions, self.n_keys, window)

    def sees_first(self, window: int | None) -> np.ndarray:
        """``[rows]`` whether each row may see the first key."""
        return self.positions < window if window is not None else np.ones(self.positions.shape, bool)


Term = Callable[[Rows], tuple[np.ndarray, np.ndarray]]  # -> (each row's value [head, rows], counted rows [rows])


@dataclass(frozen=True)
class Statistic:
    name: str
    label: str  # short, for a figure's colour bar or a column
    description: str  # one line, for a picker
    term: Term
    upper: float | None = 1.0  # the largest value it can take (None: the input's length bounds it)


def _every(values: Callable[[Rows], np.ndarray]) -> Term:
    return lambda rows: (values(rows), np.ones(rows.positions.shape, bool))


def _entropy(window: bool, aside: bool = False) -> Term:
    """Each row's entropy over log(the keys it may see), the first key left out of both if ``aside`` (the row
    renormalised without it: H' = (H + p0 log p0) / r + log r); rows that may see one key or none do not count."""

    def term(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
        w = rows.window if window else None
        seen, entropy = rows.seen(w), rows.entropy
        if aside:
            seen = seen - rows.sees_first(w)
            p0, r = rows.first, rows.rest
            with np.errstate(divide="ignore", invalid="ignore"):
                own = entropy + np.where(p0 > 0, p0 * np.log(np.where(p0 > 0, p0, 1.0)), 0.0)
                entropy = np.where(r > 0, own / r + np.log(np.where(r > 0, r, 1.0)), 0.0)
        counted = seen > 1
        return entropy / np.log(np.where(counted, seen, 2)), counted

    return term


def _sink(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    """The weight on the first key, over the rows that may see it (in a sliding-window layer, the first ones)."""
    return rows.first, rows.sees_first(rows.window)


_ENTROPY = "normalised entropy (1 = uniform over the keys a query may see, 0 = one key)"
REGISTRY: dict[str, Statistic] = {
    s.name: s
    for s in (
        Statistic("entropy", "entropy", _ENTROPY + ", no sliding window", _entropy(window=False)),
        Statistic(
            "distance",
            "distance",
            "mean attention distance |i - j| in tokens, weighted by attention",
            _every(lambda r: r.distance),
            upper=None,
        ),
        Statistic(
            "special",
            "special",
            "attention mass on special tokens ([CLS], [SEP], <s>, ...)",
            _every(lambda r: r.special),
        ),
        Statistic("punctuation", "punctuation", "attention mass on punctuation", _every(lambda r: r.punctuation)),
        Statistic("self", "self", "attention mass on the token itself", _every(lambda r: r.own)),
        Statistic(
            "previous",
            "previous",
            "attention mass on the previous token",
            lambda r: (r.previous, r.positions >= 1),
        ),
        Statistic(
            "next", "next", "attention mass on the next token", lambda r: (r.next, r.positions < r.n_queries - 1)
        ),
        Statistic(
            "first", "first token", "attention mass on the first token, over every query", _every(lambda r: r.first)
        ),
        Statistic("max", "max", "largest weight in a row (confidence)", _every(lambda r: r.max)),
        Statistic(
            "sink",
            "sink mass",
            "attention mass on the first token (the attention sink), over the queries that see it",
            _sink,
        ),
        Statistic("window_entropy", "window entropy", _ENTROPY + ", window-aware", _entropy(window=True)),
        Statistic(
            "entropy_aside",
            "entropy, first token aside",
            _ENTROPY + ", first token set aside, no window",
            _entropy(window=False, aside=True),
        ),
        Statistic(
            "window_entropy_aside",
            "window entropy, first token aside",
            _ENTROPY + ", first token set aside, window-aware",
            _entropy(window=True, aside=True),
        ),
    )
}
assert set(REGISTRY) == {*STATISTIC_NAMES, *ASIDE_NAMES}


def describe(name: str) -> str:
    """The one-line description of statistic ``name`` (for a picker's ``format_func``)."""
    return REGISTRY[name].description


def visible_count(kind: str, positions: np.ndarray, n_keys: int, window: int | None) -> np.ndarray:
    """How many keys each query row may see: a causal row the keys up to itself (the last ``window`` of them
    with a window); any other row every key (those within ``|query - key| < window`` with a window)."""
    if kind == "causal":
        seen = positions + 1
        return np.minimum(seen, window) if window is not None else seen
    if window is None:
        return np.full(positions.shape, n_keys)
    return np.minimum(positions + window, n_keys) - np.maximum(positions - window + 1, 0)


def is_punctuation(token: str) -> bool:
    return bool(token) and all(unicodedata.category(c).startswith("P") for c in token)


def rows_of(weights, special, punctuation, kind: str, window: int | None) -> Rows:
    """Every row's quantities of one layer of one map or of a batch of maps, computed in float64 torch in one pass.

    ``weights``: a torch tensor ``[..., head, query, key]`` (``...``: no dimension, or a batch of maps of one
    length); ``special`` and ``punctuation``: each key's flags ``[..., key]``. The Rows' fields are ``[..., head,
    rows]`` float64 numpy arrays."""
    import torch

    w = weights.double()
    q, k = w.shape[-2:]
    offsets = torch.arange(k) - torch.arange(q)[:, None]  # [query, key]: key position less query position
    marks = torch.stack([torch.as_tensor(np.asarray(f, bool)) for f in (special, punctuation)], -1).double()
    marked = w @ marks[..., None, :, :]  # [..., head, query, 2]
    quantity = lambda tensor: tensor.numpy()
    return Rows(
        np.arange(q),
        q,
        k,
        kind,
        window,
        first=quantity(w[..., 0]),
        rest=quantity(w[..., 1:].sum(-1)),
        special=quantity(marked[..., 0]),
        punctuation=quantity(marked[..., 1]),
        own=quantity(band(w, 0)),
        previous=quantity(band(w, -1)),
        next=quantity(band(w, 1)),
        distance=quantity((w * offsets.abs()).sum(-1)),
        max=quantity(w.amax(-1)),
        entropy=quantity(-torch.special.xlogy(w, w).sum(-1)),
    )


def band(w, offset: int):
    """``[..., query]`` each row's weight on the key ``offset`` columns after the row's own index (0 where ``w``
    has no such column): with the keys starting at the first query, its own position plus ``offset``."""
    import torch

    q, k = w.shape[-2:]
    diagonal = torch.diagonal(w, offset, -2, -1)  # rows max(0, -offset) ... on
    start = max(0, -offset)
    out = w.new_zeros((*w.shape[:-2], q))
    out[..., start : start + diagonal.shape[-1]] = diagonal
    return out


def key_punctuation(key_tokens: Sequence[str]) -> np.ndarray:
    """``[key]`` whether each key token is punctuation."""
    return np.array([is_punctuation(t) for t in key_tokens], bool)


def batch_statistics(
    layers: Sequence,
    special,
    punctuation,
    kind: str,
    windows: Windows = None,
    names: Sequence[str] = STATISTIC_NAMES,
) -> dict[str, np.ndarray]:
    """``{name: [..., layer, head] float32}``: each statistic of ``names`` for maps given layer by layer (each
    layer a torch tensor ``[..., head, query, key]``, ``...`` a batch of maps of one length, or nothing), its
    term averaged over the rows it counts (0 where it counts none). ``special`` / ``punctuation``: the keys'
    flags ``[..., key]``; ``windows``: each layer's sliding window, for the window-aware statistics."""
    windows = (None,) * len(layers) if windows is None else tuple(windows)
    if len(windows) != len(layers):
        raise ValueError(f"{len(windows)} sliding windows for a map of {len(layers)} layers")
    shape = (*layers[0].shape[:-3], len(layers), layers[0].shape[-3])
    sums = {name: np.zeros(shape) for name in names}
    for layer, (weights, window) in enumerate(zip(layers, windows)):
        rows = rows_of(weights, special, punctuation, kind, window)
        for name in names:
            values, counted = REGISTRY[name].term(rows)
            sums[name][..., layer, :] = values[..., counted].sum(-1) / max(int(counted.sum()), 1)
    return {name: value.astype(np.float32) for name, value in sums.items()}


def head_statistics(
    attn: AttentionMap, windows: Windows = None, names: Sequence[str] = STATISTIC_NAMES
) -> dict[str, np.ndarray]:
    """``{name: [layer, head] float32}``: :func:`batch_statistics` of one map.

    Positional statistics compare query and key positions, which means the same token only for self-attention;
    for cross-attention they describe the map's geometry.
    """
    import torch

    layers = [torch.from_numpy(attn.weights[layer].astype(np.float64)) for layer in range(attn.n_layers)]
    special, punctuation = np.asarray(attn.key_special, bool), key_punctuation(attn.key_tokens)
    return batch_statistics(layers, special, punctuation, attn.kind, _windows(attn, windows), names)


def _windows(attn: AttentionMap, windows: Windows) -> tuple[int | None, ...]:
    if windows is None:
        return (None,) * attn.n_layers
    if len(windows) != attn.n_layers:
        raise ValueError(f"{len(windows)} sliding windows for a map of {attn.n_layers} layers")
    return tuple(windows)
