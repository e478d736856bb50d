"""AttentionMap: the one data type that crosses every boundary in attnviz."""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import InitVar, dataclass, field, replace
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

if TYPE_CHECKING:  # pandas is imported where a frame is made: the home page must not wait 0.5 s for it
    import pandas as pd

# What a map's keys are to its queries: every source of attention names its maps' kinds from this one set.
Kind = Literal["self", "causal", "cross", "temporal", "memory-read", "memory-write", "word", "sentence", "spatial"]
KINDS: tuple[Kind, ...] = get_args(Kind)
ROW_SUM_TOLERANCE = 1e-4
# Owners of memory that only their declarer writes to, and only while no array refers to them: a read-only view of
# one is kept by a map as an array that owns its memory is (see declare_sole_writer). Keyed by id, held weakly.
_SOLE_WRITERS: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


class AttentionError(ValueError):
    """Raised when attention weights or their labels are malformed."""


@dataclass(frozen=True)
class AttentionMap:
    """Attention weights ``[layer, head, query_pos, key_pos]`` with the tokens they are over.

    Every row (one query's distribution over keys) sums to 1. ``query_special`` and
    ``key_special`` flag special tokens ([CLS], <eos>, ...) so that views can hide them. When the keys
    are image cells, ``grid`` is their (rows, columns): the keys not flagged special, in row-major order.
    """

    weights: np.ndarray
    query_tokens: tuple[str, ...]
    key_tokens: tuple[str, ...]
    kind: str
    source: str = ""
    query_special: tuple[bool, ...] = field(default=())
    key_special: tuple[bool, ...] = field(default=())
    grid: tuple[int, int] | None = None  # keys that are image cells: (rows, columns) of the non-special keys
    _fingerprint: str = field(init=False, repr=False, compare=False, default="")
    # Passed only by code that computed the weights with a softmax and checked every row's sum where it did (see
    # attnviz.pretrained.capture): the row pass is then not made a second time; every other check still runs. Init-only,
    # so dataclasses.replace() never carries it over to other weights.
    rows_checked: InitVar[bool] = False

    def __post_init__(self, rows_checked: bool) -> None:
        weights = self.weights
        if not _frozen(weights):  # a read-only float32 array that owns its memory is kept as it is: nobody can
            weights = np.array(weights, dtype=np.float32, copy=True, order="C")  # write to it any more
            weights.setflags(write=False)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "query_tokens", tuple(str(t) for t in self.query_tokens))
        object.__setattr__(self, "key_tokens", tuple(str(t) for t in self.key_tokens))
        for name, tokens in (("query", self.query_tokens), ("key", self.key_tokens)):
            flags = getattr(self, f"{name}_special")
            flags = tuple(bool(f) for f in flags) if len(flags) else (False,) * len(tokens)
            object.__setattr__(self, f"{name}_special", flags)
        if self.grid is not None:
            object.__setattr__(self, "grid", tuple(int(n) for n in self.grid))
        _validate(self, rows_checked)

    @property
    def fingerprint(self) -> str:
        """A hash of the whole content (weights and labels), computed once: lets caches key on a map."""
        if not self._fingerprint:
            digest = hashlib.blake2b(memoryview(np.ascontiguousarray(self.weights)).cast("B"), digest_size=16)
            for part in (
                self.query_tokens,
                self.key_tokens,
                self.kind,
                self.source,
                self.query_special,
                self.key_special,
                self.grid,
            ):
                digest.update(repr(part).encode())
            object.__setattr__(self, "_fingerprint", f"{self.weights.shape}:{digest.hexdigest()}")
        return self._fingerprint

    @property
    def n_layers(self) -> int:
        return self.weights.shape[0]

    @property
    def n_heads(self) -> int:
        return self.weights.shape[1]

    @property
    def n_queries(self) -> int:
        return self.weights.shape[2]

    @property
    def n_keys(self) -> int:
        return self.weights.shape[3]

    def head(self, layer: int, head: int) -> np.ndarray:
        """One head's weights, ``[query_pos, key_pos]``."""
        _check_index("layer", layer, self.n_layers)
        _check_index("head", head, self.n_heads)
        return self.weights[layer, head]

    def select(self, layers: list[int] | None = None, heads: list[int] | None = None) -> AttentionMap:
        """A map holding only the given layers and heads (all when None)."""
        layers = list(range(self.n_layers)) if layers is None else list(layers)
        heads = list(range(self.n_heads)) if heads is None else list(heads)
        for layer in layers:
            _check_index("layer", layer, self.n_layers)
        for head in heads:
            _check_index("head", head, self.n_heads)
        return replace(self, weights=self.weights[np.ix_(layers, heads)])

    def mean_heads(self) -> AttentionMap:
        """Average over heads: ``[layer, 1, query_pos, key_pos]``."""
        return replace(self, weights=self.weights.mean(axis=1, keepdims=True))

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per (layer, head, query, key) with tokens and weight."""
        import pandas as pd

        layer, head, query, key = np.indices(self.weights.shape).reshape(4, -1)
        return pd.DataFrame(
            {
                "layer": layer,
                "head": head,
                "query_pos": query,
                "query_token": np.asarray(self.query_tokens, dtype=object)[query],
                "key_pos": key,
                "key_token": np.asarray(self.key_tokens, dtype=object)[key],
                "weight": self.weights.reshape(-1),
            }
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AttentionMap):
            return NotImplemented
        return (
            self.query_tokens == other.query_tokens
            and self.key_tokens == other.key_tokens
            and self.kind == other.kind
            and self.source == other.source
            and self.query_special == other.query_special
            and self.key_special == other.key_special
            and self.grid == other.grid
            and np.array_equal(self.weights, other.weights)
        )

    __hash__ = None  # type: ignore[assignment]


def declare_sole_writer(owner: np.ndarray) -> np.ndarray:
    """Declare ``owner`` (an array that owns its memory) written only by its declarer, and only while no other array
    refers to it (:mod:`attnviz.maps.buffers`' reused blocks): a map then keeps a read-only view of it without a copy,
    as it keeps a read-only array that owns its memory. Returns ``owner``."""
    if not owner.flags.owndata:
        raise ValueError("only an array that owns its memory can be declared written by one writer")
    _SOLE_WRITERS[id(owner)] = owner
    return owner


def _check_index(name: str, index: int, size: int) -> None:
    if not 0 <= index < size:
        raise IndexError(f"{name} {index} is out of range: this map has {size} ({name} 0..{size - 1})")


def _frozen(weights) -> bool:
    return (
        isinstance(weights, np.ndarray)
        and weights.dtype == np.float32
        and weights.flags.c_contiguous
        and (weights.flags.owndata or _of_a_sole_writer(weights))  # a view of another's writeable memory is copied:
        and not weights.flags.writeable  # its owner could change the numbers under the map
    )


def _of_a_sole_writer(view: np.ndarray) -> bool:
    """Whether ``view``'s memory belongs to an owner declared with :func:`declare_sole_writer`."""
    return view.base is not None and _SOLE_WRITERS.get(id(view.base)) is view.base


def _validate(attn: AttentionMap, rows_checked: bool = False) -> None:
    w = attn.weights
    if w.ndim != 4:
        raise AttentionError(f"weights must be 4-D [layer, head, query, key]; got shape {w.shape}")
    if 0 in w.shape:
        raise AttentionError(f"weights must not be empty; got shape {w.shape}")
    if len(attn.query_tokens) != w.shape[2]:
        raise AttentionError(f"{len(attn.query_tokens)} query tokens for {w.shape[2]} query positions")
    if len(attn.key_tokens) != w.shape[3]:
        raise AttentionError(f"{len(attn.key_tokens)} key tokens for {w.shape[3]} key positions")
    if len(attn.query_special) != w.shape[2] or len(attn.key_special) != w.shape[3]:
        raise AttentionError("special-token flags must have one entry per token")
    if attn.kind not in KINDS:
        raise AttentionError(f"kind must be one of {', '.join(KINDS)}; got {attn.kind!r}")
    if not rows_checked:
        _validate_rows(w)
    _validate_grid(attn)
    if attn.kind == "causal":
        if w.shape[2] != w.shape[3]:
            raise AttentionError(f"causal attention must be square; got {w.shape[2]} x {w.shape[3]}")
        if _looks_ahead(w):
            raise AttentionError("causal attention must be zero above the diagonal (no looking ahead)")


def _validate_rows(w: np.ndarray) -> None:
    sums = w.sum(axis=-1)  # NaN or infinity anywhere in a row makes its sum non-finite; float32's pairwise sum
    # is within 1e-6 of the exact sum of a row of weights, far inside the tolerance, in half float64's time
    if not np.isfinite(sums).all():
        raise AttentionError("weights contain NaN or infinity")
    if w.min() < 0:
        raise AttentionError(f"weights must be non-negative; minimum is {w.min():.3g}")
    worst = np.abs(sums - 1.0).max()
    if worst > ROW_SUM_TOLERANCE:
        layer, head, query = np.unravel_index(np.abs(sums - 1.0).argmax(), sums.shape)
        raise AttentionError(
            f"every row must sum to 1 (within {ROW_SUM_TOLERANCE}); layer {layer} head {head} "
            f"query {query} sums to {sums[layer, head, query]:.6f}"
        )


def _looks_ahead(w: np.ndarray, block: int = 64) -> bool:
    """Whether any weight lies above the diagonal, read a band of rows at a time (``np.triu`` copies it all)."""
    n = w.shape[2]
    for q0 in range(0, n, block):
        q1 = min(n, q0 + block)
        if w[..., q0:q1, q1:].any() or np.triu(w[..., q0:q1, q0:q1], k=1).any():
            return True
    return False


def _validate_grid(attn: AttentionMap) -> None:
    if attn.grid is None:
        return
    if len(attn.grid) != 2 or min(attn.grid) < 1:
        raise AttentionError(f"grid must be (rows, columns), both at least 1; got {attn.grid}")
    cells = len(attn.key_special) - sum(attn.key_special)
    if attn.grid[0] * attn.grid[1] != cells:
        raise AttentionError(
            f"a {attn.grid[0]} x {attn.grid[1]} grid needs {attn.grid[0] * attn.grid[1]} "
            f"non-special keys; this map has {cells}"
        )
