"""One chunk of queries' attention, computed as the standard eager attention of transformers computes it, without
its copies.

Every family attnviz streams (Llama, Mistral, Qwen2, Gemma 2, Phi, GPT-NeoX, GPT-2, BERT) has an
``eager_attention_forward`` of the same form: ``q k^T * scaling``, Gemma 2's soft cap ``tanh(s / cap) * cap``,
plus the additive mask, a float32 softmax, dropout (none in eval mode), then the weights times the values. Run
on a chunk, that function copies every grouped key and value head once per query head (``repeat_kv``) and
allocates a new tensor at each step. :func:`chunk_attention` does the same arithmetic on the un-repeated keys
(the query heads that share a key head are stacked, so one matrix product serves them) and scales, caps and
masks in place, in two buffers that every chunk reuses. ``tests/test_stream.py`` and
``tests/test_stream_attention.py`` check, family by family, that the weights and outputs equal the model's own
eager attention; a family not listed here streams through its own eager function instead.
"""

from __future__ import annotations

import math

import torch

# exp() of a float32 below about -87.3 is a denormal or 0, and torch computes those lanes on a slow path (10 to 20
# ns a weight instead of 1.5, measured here: masked keys made exp() the costliest step of a chunk). Scores are
# floored at -87 below their row's largest first, then the keys the mask hides are set to exactly 0 again (as in
# eager attention); a visible key's weight under 1.7e-38 of its row's largest comes out as that, not smaller.
FLOOR = -87.0
STANDARD = frozenset({"llama", "mistral", "qwen2", "gemma2", "phi", "gpt_neox", "gpt2", "bert"})


def is_standard(eager, module: torch.nn.Module, query: torch.Tensor, mask: torch.Tensor | None) -> bool:
    """Whether :func:`chunk_attention` computes exactly what ``eager`` (the model's own function) would: one of
    the families above (their functions read only ``scaling``, ``dropout`` and ``softcap`` of the keyword
    arguments), in eval mode (no dropout), in float32, with an additive float mask or none."""
    family = getattr(eager, "__module__", "").rsplit(".", 1)[-1].removeprefix("modeling_")
    floating = mask is None or mask.is_floating_point()
    return family in STANDARD and not module.training and query.dtype == torch.float32 and floating


class Scratch:
    """Two float32 buffers that every chunk of a run reuses for its scores and weights. A new tensor of that size
    for each chunk would be a fresh mapping from the system (attnviz.stream hands large blocks back at once),
    and zeroing its pages cost more than the arithmetic done in them."""

    def __init__(self):
        self.flat = [torch.empty(0), torch.empty(0)]

    def take(self, index: int, shape: tuple[int, ...]) -> torch.Tensor:
        size = math.prod(shape)
        if self.flat[index].numel() < size:
            self.flat[index] = torch.empty(size)
        return self.flat[index][:size].view(shape)


def chunk_attention(query, key, value, mask, scaling=None, softcap=None, scratch: Scratch | None = None, **_):
    """(output ``[1, chunk, heads, head_dim]``, float32 weights ``[1, heads, chunk, keys]``, and each row's
    entropy and largest weight ``[heads, chunk]``) of queries ``[1, heads, chunk, head_dim]`` over keys and
    values ``[1, kv_heads, keys, head_dim]`` (not repeated: query heads ``j * groups ... j * groups + groups - 1``
    share key head ``j``, as ``repeat_kv`` orders them).

    The softmax is written out so that the row statistics come from the scores: with ``s`` a row's scores minus
    their maximum and ``Z = sum exp(s)``, the weights are ``exp(s) / Z``, the largest is ``1 / Z`` and the
    entropy ``-sum p log p = log Z - sum p s`` (no logarithm per weight)."""
    batch, heads, chunk, dim = query.shape
    kv_heads, width = key.shape[1], key.shape[2]
    scratch = scratch or Scratch()
    stacked = query.reshape(batch, kv_heads, heads // kv_heads * chunk, dim)
    scores = scratch.take(0, (batch, kv_heads, stacked.shape[2], width))
    torch.matmul(stacked, key.transpose(2, 3), out=scores).mul_(dim**-0.5 if scaling is None else scaling)
    if softcap is not None:
        scores.div_(softcap).tanh_().mul_(softcap)
    scores = scores.view(batch, heads, chunk, width)
    if mask is not None:
        scores.add_(mask)
    scores.sub_(scores.amax(-1, keepdim=True)).clamp_min_(FLOOR)
    weights = torch.exp(scores, out=scratch.take(1, scores.shape))
    if mask is not None:
        _zero_hidden(weights, mask)
    total = weights.sum(-1, keepdim=True)
    weights.div_(total)
    entropy = total.log()[0, ..., 0] - scores.mul_(weights).sum(-1)[0]  # the scores are not needed after this
    del scores
    rows = {"entropy": entropy, "max": total.reciprocal()[0, ..., 0]}
    output = torch.matmul(weights.view(batch, kv_heads, -1, width), value)
    return output.view(batch, heads, chunk, dim).transpose(1, 2), weights, rows


def _zero_hidden(weights: torch.Tensor, mask: torch.Tensor) -> None:
    """Exact zeros where the additive ``mask`` hides a key, only over the columns where it hides any (for a
    causal chunk without a window, the chunk's own square)."""
    hidden = mask[0, 0] < torch.finfo(mask.dtype).min / 2  # [chunk (or 1), keys]
    columns = hidden.any(0).nonzero()
    if len(columns):
        first, last = int(columns[0]), int(columns[-1]) + 1
        weights[..., first:last].masked_fill_(hidden[:, first:last], 0.0)
