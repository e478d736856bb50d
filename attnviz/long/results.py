"""Long inputs: read the text, run the model streamed, reduce one head to a screen, keep results bounded by bytes.

No streamlit here (the page's widgets are in :mod:`attnviz.app.long`). One head at thousands of tokens is
computed on demand with :meth:`attnviz.long.stream.Streamed.head`, a band of query rows at a time, and reduced at
once to at most ``side`` x ``side`` cells by block mean or block max, so the whole head is never held.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from attnviz.pretrained.hf import LoadedModel
from attnviz.text.tokens import clean_token

if TYPE_CHECKING:  # attnviz.long.stream imports transformers (seconds); the app's other pages import this module
    from attnviz.long.stream import Streamed

Reduction = Literal["mean", "max"]
REDUCTIONS: tuple[Reduction, ...] = ("mean", "max")
HEAD_SIDE = 512  # the head view shows at most this many cells a side
ZOOM_SIDE = 256  # a zoom window shows at most this many tokens a side, at full resolution
OVERVIEW_SIDE = 32  # each head's thumbnail in the overview


def read_upload(data: bytes, max_bytes: int) -> str:
    """The text of an uploaded .txt file; ValueError with one sentence for an over-size or non-text file."""
    if len(data) > max_bytes:
        raise ValueError(f"The file is {len(data):,} bytes; this page reads text files of up to {max_bytes:,} bytes.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("The file is not UTF-8 text: upload a plain .txt file.") from None
    if "\x00" in text:
        raise ValueError("The file is not UTF-8 text: upload a plain .txt file.")
    return text


@dataclass(frozen=True)
class Tokenised:
    ids: torch.Tensor  # [1, tokens]
    tokens: tuple[str, ...]
    special: tuple[bool, ...]
    full_length: int  # tokens before the cut


def tokenise(loaded: LoadedModel, text: str, max_tokens: int) -> Tokenised:
    """The first ``max_tokens`` tokens of ``text``; ValueError with one sentence when there is nothing to run."""
    if loaded.family == "encoder-decoder":
        raise ValueError(f"{loaded.name} is an encoder-decoder model; this page reads encoders and decoders.")
    if not text.strip():
        raise ValueError("Type or upload some text first.")
    tokenizer = loaded.tokenizer
    full = len(tokenizer(text, verbose=False)["input_ids"])
    ids = tokenizer(text, truncation=True, max_length=max_tokens)["input_ids"]
    special_ids = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    special = tuple(i in special_ids for i in ids)
    if all(special):
        raise ValueError("This text holds no ordinary tokens, only special ones: type some words.")
    tokens = tuple(clean_token(t) for t in tokenizer.convert_ids_to_tokens(ids))
    return Tokenised(torch.tensor([ids]), tokens, special, full)


def kind_of(loaded: LoadedModel) -> str:
    return "self" if loaded.family == "encoder" else "causal"


Progress = Callable[[int, int], None]  # (layers done, layers)


def run(loaded: LoadedModel, tokenised: Tokenised, progress: Progress | None = None) -> Streamed:
    """The model run once on the input, attention streamed (thumbnails, statistics, any head on demand)."""
    from attnviz.long.stream import stream

    return stream(
        loaded.model,
        tokenised.ids,
        tokenised.tokens,
        tokenised.special,
        kind=kind_of(loaded),
        side=OVERVIEW_SIDE,
        progress=progress,
    )


def estimated_bytes(config, n_tokens: int, side: int = OVERVIEW_SIDE) -> int:
    """What :func:`stored_bytes` of a run of a model with ``config`` on ``n_tokens`` tokens will be, at most (known
    before the forward pass): every layer's queries and keys, thumbnails (twice) and the views kept."""
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    side = min(side, n_tokens)
    per_layer = (heads + kv_heads) * n_tokens * head_dim + 2 * heads * side * side + 16 * heads
    return 4 * layers * per_layer + VIEWS_KEPT * 4 * HEAD_SIDE**2


def run_text(
    loaded: LoadedModel, text: str, max_tokens: int, progress: Progress | None = None, max_bytes: int | None = None
) -> LongRun:
    """The first ``max_tokens`` tokens of ``text`` streamed once: what the long-input page and ``python -m attnviz
    long`` show; ValueError with one sentence for text or a model it cannot run, or a result estimated to hold
    more than ``max_bytes`` (said before the model runs)."""
    tokenised = tokenise(loaded, text, max_tokens)
    n = len(tokenised.tokens)
    needed = estimated_bytes(loaded.model.config, n)
    if max_bytes is not None and needed > max_bytes:
        raise ValueError(
            f"{n:,} tokens of {loaded.name} would hold about {needed / 2**20:,.0f} MB, "
            f"more than the {max_bytes / 2**20:,.0f} MB this server keeps for long results: use fewer tokens."
        )
    return LongRun(run(loaded, tokenised, progress), tokenised.full_length)


# the page's statistics grids, by the names ``python -m attnviz long`` writes: the reducer's names they show
PAGE_STATISTICS = {"sink_mass": "sink", "entropy": "window_entropy", "entropy_aside": "window_entropy_aside"}


def page_numbers(streamed: Streamed) -> dict[str, np.ndarray]:
    """What the page draws of every head: "sink_mass", "entropy" (window-aware, normalised) and "entropy_aside"
    (the first token set aside), each ``[layer, head]``, and "thumbnails" ``[layer, head, rows, cols]`` (block
    means)."""
    found = {name: streamed.statistics[own] for name, own in PAGE_STATISTICS.items()}
    return found | {"thumbnails": streamed.thumbnails}


def set_first_aside(weights: np.ndarray) -> np.ndarray:
    """``[query, key]`` without the first key, each row renormalised over the keys left (a row that had only the
    first key is all zeros). Shape ``[query, key - 1]``."""
    rest = np.asarray(weights, dtype=np.float64)[:, 1:]
    total = rest.sum(-1, keepdims=True)
    return np.divide(rest, total, out=np.zeros_like(rest), where=total > 0).astype(np.float32)


def reduce_blocks(weights: np.ndarray, factors: tuple[int, int], how: Reduction) -> np.ndarray:
    """Block mean or block max of ``[query, key]`` over ``factors`` (rows, cols) blocks; partial edge blocks
    reduce over their real cells only. float32 ``[ceil(q / fq), ceil(k / fk)]``."""
    fq, fk = factors
    q, k = weights.shape
    rows, cols = math.ceil(q / fq), math.ceil(k / fk)
    fill = 0.0 if how == "mean" else -np.inf
    padded = np.full((rows * fq, cols * fk), fill)
    padded[:q, :k] = weights
    blocks = padded.reshape(rows, fq, cols, fk)
    if how == "max":
        return blocks.max(axis=(1, 3)).astype(np.float32)
    counts = np.zeros((rows * fq, cols * fk))
    counts[:q, :k] = 1
    return (blocks.sum(axis=(1, 3)) / counts.reshape(rows, fq, cols, fk).sum(axis=(1, 3))).astype(np.float32)


@dataclass(frozen=True)
class HeadView:
    """One head reduced to a screen: ``cells`` ``[rows, cols]``, each covering ``factors`` tokens."""

    cells: np.ndarray
    factors: tuple[int, int]
    how: Reduction
    first_aside: bool

    @property
    def title(self) -> str:
        fq, fk = self.factors
        shown = "every token" if fq == fk == 1 else f"block {self.how} over {fq} x {fk} tokens"
        aside = "; first token set aside, rows renormalised" if self.first_aside else ""
        return f"{shown}{aside}"


def head_view(streamed: Streamed, layer: int, head: int, how: Reduction, first_aside: bool) -> HeadView:
    """One head, recomputed exactly and reduced band by band of query rows to at most HEAD_SIDE cells a side."""
    n = len(streamed.tokens)
    n_keys = n - 1 if first_aside else n
    factors = (math.ceil(n / HEAD_SIDE), max(1, math.ceil(n_keys / HEAD_SIDE)))
    band = factors[0] * max(1, 256 // factors[0])  # whole rows of cells per band
    parts = []
    for q0 in range(0, n, band):
        weights = streamed.head(layer, head, rows=slice(q0, min(n, q0 + band)))
        parts.append(reduce_blocks(set_first_aside(weights) if first_aside else weights, factors, how))
    return HeadView(np.concatenate(parts), factors, how, first_aside)


def zoom(streamed: Streamed, layer: int, head: int, queries: slice, keys: slice, first_aside: bool) -> np.ndarray:
    """Exact weights of one head for a window of queries x keys (keys counted after the first is set aside)."""
    weights = streamed.head(layer, head, rows=queries)
    return (set_first_aside(weights) if first_aside else weights)[:, keys]


def window_from_box(box: dict, n_queries: int, n_keys: int, side: int = ZOOM_SIDE) -> tuple[int, int] | None:
    """(first query, first key) of the zoom window a box selection asks for (its x and y ranges are token
    positions), or None for a box without ranges. The window starts at the box's top-left corner, kept inside."""
    xs, ys = box.get("x"), box.get("y")
    if not xs or not ys:
        return None
    first_key = int(math.floor(min(xs) + 0.5))
    first_query = int(math.floor(min(ys) + 0.5))
    clamp = lambda start, n: min(max(0, start), max(0, n - side))
    return clamp(first_query, n_queries), clamp(first_key, n_keys)


def text_key(model_id: str, text: str, max_tokens: int) -> tuple[str, str, int]:
    """What a stored result is keyed by: the model, the text's hash and the token cap."""
    return model_id, hashlib.sha256(text.encode("utf-8")).hexdigest(), max_tokens


def stored_bytes(streamed: Streamed) -> int:
    """Bytes a result holds: thumbnails, statistics, and every layer's queries, keys and mask (shared once; a
    mask built a block at a time holds none)."""
    total = streamed.thumbnails.nbytes + sum(v.nbytes for v in streamed.statistics.values())
    total += streamed.thumbnails_aside.nbytes if streamed.thumbnails_aside is not None else 0
    seen: set[int] = set()
    for layer in streamed.layers:
        for tensor in (layer.query, layer.key, layer.mask):
            if isinstance(tensor, torch.Tensor) and id(tensor) not in seen:
                seen.add(id(tensor))
                total += tensor.element_size() * tensor.nelement()
    return total


VIEWS_KEPT = 8  # head views (at most HEAD_SIDE^2 float32 each, 1 MB) a stored result keeps for redraws


@dataclass(frozen=True)
class LongRun:
    """A stored result: the streamed attention, how many tokens the text had before the cut, and the last
    few head views (a zoom or a toggle redraws a head without recomputing it)."""

    streamed: Streamed
    full_length: int
    views: OrderedDict = field(default_factory=OrderedDict, repr=False, compare=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def nbytes(self) -> int:
        return stored_bytes(self.streamed) + VIEWS_KEPT * 4 * HEAD_SIDE**2  # the views at their largest

    def head_view(self, layer: int, head: int, how: Reduction, first_aside: bool) -> HeadView:
        """:func:`head_view` of this result, kept for the next redraws (the oldest of VIEWS_KEPT goes)."""
        key = (layer, head, how, first_aside)
        with self.lock:
            if key in self.views:
                self.views.move_to_end(key)
                return self.views[key]
        shown = head_view(self.streamed, layer, head, how, first_aside)
        with self.lock:
            self.views[key] = shown
            while len(self.views) > VIEWS_KEPT:
                self.views.popitem(last=False)
        return shown


class Store:
    """Results kept once per process, oldest evicted first when the bytes held pass ``max_bytes``.

    A result that alone passes the bound is not kept (a run estimated to pass it is refused before it starts:
    :func:`run_text`'s ``max_bytes``)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, tuple[LongRun, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> LongRun | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key: tuple, value: LongRun) -> None:
        with self._lock:
            self._items[key] = (value, value.nbytes)
            self._items.move_to_end(key)
            while self._items and self._bytes() > self.max_bytes:
                self._items.popitem(last=False)

    def _bytes(self) -> int:
        return sum(size for _, size in self._items.values())

    @property
    def bytes(self) -> int:
        with self._lock:
            return self._bytes()

    def keys(self) -> list[tuple]:
        with self._lock:
            return list(self._items)
