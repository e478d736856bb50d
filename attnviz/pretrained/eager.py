"""The standard eager attention of the families attnviz computes itself, without transformers' copies.

Every family listed in :data:`STANDARD` (Llama, Mistral, Qwen2, Gemma 2, Phi, GPT-NeoX, GPT-2, BERT) has an
``eager_attention_forward`` of the same form: ``q k^T * scaling``, Gemma 2's soft cap ``tanh(s / cap) * cap``,
plus the additive mask, a float32 softmax, dropout (none in eval mode), then the weights times the values. The
short path's capture (:mod:`attnviz.pretrained.capture`) and the streaming path (:mod:`attnviz.long.chunks`)
both compute the scores with :func:`scores_into`; a family not listed goes through its own eager function.
"""

from __future__ import annotations

import math
import sys

import torch

STANDARD = frozenset({"llama", "mistral", "qwen2", "gemma2", "phi", "gpt_neox", "gpt2", "bert"})


def eager_of(module: torch.nn.Module):
    """The ``eager_attention_forward`` of the modelling file that defines ``module``'s class (its family's own)."""
    return sys.modules[type(module).__module__].eager_attention_forward


def is_standard(eager, module: torch.nn.Module, query: torch.Tensor, mask: torch.Tensor | None) -> bool:
    """Whether :func:`chunk_attention` computes exactly what ``eager`` (the model's own function) would: one of
    the families above (their functions read only ``scaling``, ``dropout`` and ``softcap`` of the keyword
    arguments), in eval mode (no dropout), in float32, with an additive float mask or none."""
    family = getattr(eager, "__module__", "").rsplit(".", 1)[-1].removeprefix("modeling_")
    floating = mask is None or mask.is_floating_point()
    return family in STANDARD and not module.training and query.dtype == torch.float32 and floating


def scores_into(out, query, key, mask, scaling: float, softcap: float | None, clear=None) -> torch.Tensor:
    """``q k^T * scaling`` (soft-capped) plus the mask, written into the contiguous ``out`` ``[1, heads, chunk,
    keys]``, in eager attention's order; the query heads that share a key head are stacked so that one product
    serves them. A scaling that is a power of two (``head_dim ** -0.5`` for 64 or 256) multiplies the queries
    instead of the scores: a pass over ``chunk x head_dim`` values instead of ``chunk x keys``, and the same
    numbers, since multiplying by a power of two rounds nothing. The mask is added only outside ``clear`` (keys
    ``a .. b - 1`` where it is 0 for every query: a causal chunk's mask is 0 left of its diagonal block)."""
    heads, chunk, dim = query.shape[1:]
    kv_heads, width = key.shape[1], key.shape[2]
    exact = math.frexp(scaling)[0] == 0.5
    stacked = (query * scaling if exact else query).reshape(kv_heads, heads // kv_heads * chunk, dim)
    torch.bmm(stacked, key[0].transpose(1, 2), out=out.view(kv_heads, stacked.shape[1], width))
    if not exact:
        out.mul_(scaling)
    if softcap is not None:
        out.div_(softcap).tanh_().mul_(softcap)
    if mask is None:
        return out
    if clear is None:
        return out.add_(mask)
    start, stop = clear
    out[..., :start].add_(mask[..., :start])
    out[..., stop:].add_(mask[..., stop:])
    return out
