"""One chunk of queries' attention, computed as the standard eager attention of transformers computes it, without
its copies.

Every family attnviz streams (Llama, Mistral, Qwen2, Gemma 2, Phi, GPT-NeoX, GPT-2, BERT) has an
``eager_attention_forward`` of the same form: ``q k^T * scaling``, Gemma 2's soft cap ``tanh(s / cap) * cap``,
plus the additive mask, a float32 softmax, dropout (none in eval mode), then the weights times the values. Run
on a chunk, that function copies every grouped key and value head once per query head (``repeat_kv``) and
allocates a new tensor at each step. :func:`chunk_attention` does the same arithmetic on the un-repeated keys
(the query heads that share a key head are stacked, so one matrix product serves them) and scales, caps and
masks in place, in two buffers that every chunk reuses. ``tests/unit/test_stream.py`` and
``tests/unit/test_stream_attention.py`` check, family by family, that the weights and outputs equal the model's own
eager attention; a family not listed here streams through its own eager function instead.
"""

from __future__ import annotations

import math

import torch

from attnviz.long import softmax
from attnviz.pretrained.eager import scores_into


class Scratch:
    """Float32 buffers that every chunk of a run reuses for its scores, weights and widened values. A new tensor
    of that size for each chunk can be a fresh mapping from the system, whose pages are zeroed before use, and the
    chunk-sized temporaries of every chunk fragmented the heap (the peak of a 4,000-token run grew chunk after
    chunk)."""

    def __init__(self):
        self.flat = [torch.empty(0), torch.empty(0), torch.empty(0)]  # scores, weights, values with columns

    def take(self, index: int, shape: tuple[int, ...]) -> torch.Tensor:
        size = math.prod(shape)
        if self.flat[index].numel() < size:
            self.flat[index] = torch.empty(size)
        return self.flat[index][:size].view(shape)


def chunk_attention(
    query,
    key,
    value,
    mask,
    scaling=None,
    softcap=None,
    scratch: Scratch | None = None,
    clear: tuple[int, int] | None = None,
    columns: torch.Tensor | None = None,
    blocks: tuple[int, int, int] | None = None,
    **_,
):
    """(output ``[1, chunk, heads, head_dim]``, float32 weights ``[1, heads, chunk, keys]``, and each row's
    entropy and largest weight ``[heads, chunk]``) of queries ``[1, heads, chunk, head_dim]`` over keys and
    values ``[1, kv_heads, keys, head_dim]`` (not repeated: query heads ``j * groups ... j * groups + groups - 1``
    share key head ``j``, as ``repeat_kv`` orders them).

    The row statistics come from the scores: with ``m`` a row's largest score and ``Z = sum exp(s - m)``, the
    largest weight is ``1 / Z`` and the entropy ``-sum p log p = log Z - sum p (s - m)`` (no logarithm per
    weight); :mod:`attnviz.long.softmax` computes them by the path this process chose. ``clear``: the keys
    ``a .. b - 1`` where ``mask`` is 0 for every query (the mask is added elsewhere only). ``columns`` ``[keys,
    m]``: per-key values whose weighted sum each row also needs; they ride along with the values through the
    output's matrix product (``rows["sums"]``, ``[heads, chunk, m]``) instead of a matrix-vector pass over the
    weights each. ``blocks`` ``(k0, fk,
    n_cols)``: the chunk's first key is key ``k0`` of the input, and each row's sums over blocks of ``fk`` keys
    are wanted (``rows["blocks"]``, ``[heads, chunk, n_cols]``; given by the C kernel only)."""
    batch, heads, chunk, dim = query.shape
    kv_heads, width = key.shape[1], key.shape[2]
    scratch = scratch or Scratch()
    scores = _scores(query, key, mask, dim**-0.5 if scaling is None else scaling, softcap, scratch, clear)
    weights, rows = softmax.rows(scores, scratch.take(1, scores.shape), blocks)
    if columns is None:
        output = torch.matmul(weights.view(batch, kv_heads, -1, width), value).view(batch, heads, chunk, dim)
    else:
        widened = torch.matmul(weights.view(batch, kv_heads, -1, width), _widened(value, columns, scratch))
        rows["sums"] = widened[..., dim : dim + columns.shape[1]].reshape(heads, chunk, -1)
        output = widened[..., :dim].reshape(batch, heads, chunk, dim)
    return output.transpose(1, 2), weights, rows


def _widened(value: torch.Tensor, columns: torch.Tensor, scratch: Scratch) -> torch.Tensor:
    """``value`` ``[1, kv_heads, keys, head_dim]`` with ``columns`` ``[keys, m]`` after every head's values, then
    zeros up to a multiple of 8 columns (the matrix product runs faster on an aligned width)."""
    batch, kv_heads, width, dim = value.shape
    extra = columns.shape[1]
    out = scratch.take(2, (batch, kv_heads, width, dim + extra + (-(dim + extra) % 8)))
    out[..., :dim] = value
    out[..., dim : dim + extra] = columns
    out[..., dim + extra :] = 0.0
    return out


def _scores(query, key, mask, scaling: float, softcap: float | None, scratch: Scratch, clear=None) -> torch.Tensor:
    """``q k^T * scaling`` (soft-capped) plus the mask, ``[1, heads, chunk, keys]``, in the first buffer."""
    heads, chunk, width = query.shape[1], query.shape[2], key.shape[2]
    return scores_into(scratch.take(0, (1, heads, chunk, width)), query, key, mask, scaling, softcap, clear)
