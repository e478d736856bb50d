"""Heads knocked out inside a model's own attention, a different head for each copy of the input in a batch.

While :func:`run` calls a model, every attention layer goes through :func:`_attention` (an attention
implementation registered with transformers, switched under the model's lock as
:mod:`attnviz.pretrained.implementation` does it), which calls the family's **own** eager attention and then
changes, in its output ``[batch, query, head, head_dim]`` (the context before the output projection), the heads
that each copy of the batch ablates. So copy ``b`` of a batch can ablate one head, copy ``b + 1`` another, in one
forward pass. The ablations (docs/ablation.md):

- ``zero``: the head's output is 0 at every position;
- ``mean``: the head's output is its mean output over a reference set of sentences (every position of every
  sentence), the same vector at every position;
- ``first``: the head attends only to the first key (weight 1 there, 0 elsewhere), so its output is the first
  key's value at every position.

An :class:`Edge` knocks out one query -> key weight of one head (attention knockout, Geva et al. 2023): that
score is set to ``-inf`` before the softmax, so the row's other weights are renormalised to sum to 1 (each
divided by ``1 - w``, ``w`` the weight knocked out).

The same run can record, for each attention layer, the order layers run in and the sum of each head's output
(:class:`Plan` ``sums``): :mod:`attnviz.pretrained.ablate.reference` takes the means from it.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

import torch

from attnviz.pretrained.ablate.prefix import Prefix, installed
from attnviz.pretrained.eager import eager_of
from attnviz.pretrained.implementation import attention_implementation, register

NAME = "attnviz_ablate"
Ablation = Literal["zero", "mean", "first"]
ABLATIONS: tuple[str, ...] = get_args(Ablation)
Part = Literal["self", "encoder", "decoder", "cross"]  # self: encoder or decoder models; the rest: encoder-decoder


@dataclass(frozen=True)
class Site:
    """Heads of one attention layer to ablate together: one head, or every head of the layer."""

    part: str
    layer: int
    heads: tuple[int, ...]


@dataclass(frozen=True)
class Edge:
    """One query -> key weight of one head, knocked out."""

    part: str
    layer: int
    head: int
    query: int
    key: int


@dataclass(frozen=True)
class Layers:
    """A model's attention layers by part, in the order they run, and the heads each has."""

    modules: dict[str, tuple[torch.nn.Module, ...]]
    heads: dict[str, int]

    def module(self, part: str, layer: int) -> torch.nn.Module:
        """The attention module of ``part``'s ``layer``; ValueError naming the parts and layers there are."""
        if part not in self.modules:
            raise ValueError(f"This model has no {part!r} attention; it has {', '.join(self.modules)}.")
        if not 0 <= layer < len(self.modules[part]):
            raise ValueError(f"Layer {layer} is not one of the {len(self.modules[part])} layers of {part!r}.")
        return self.modules[part][layer]


@dataclass
class Plan:
    """What one batched run changes: ``copies[b]`` is what copy ``b`` ablates (None: nothing)."""

    layers: Layers | None
    copies: list[Site | Edge | None] = field(default_factory=list)
    ablation: str = "zero"
    means: dict[tuple[str, int], torch.Tensor] = field(default_factory=dict)  # (part, layer) -> [head, head_dim]
    order: dict[torch.nn.Module, int] = field(default_factory=dict)  # attention module -> heads, in running order
    sums: dict[torch.nn.Module, list] | None = None  # module -> [sum of outputs [head, head_dim], positions]
    _heads: dict = field(default_factory=dict, repr=False)  # module -> (rows, heads) index tensors
    _edges: dict = field(default_factory=dict, repr=False)  # module -> [(row, head, query, key)]
    _means: dict = field(default_factory=dict, repr=False)  # module -> [head, head_dim]

    def __post_init__(self):
        if self.ablation not in ABLATIONS:
            raise ValueError(f"Unknown ablation {self.ablation!r}: choose one of {', '.join(ABLATIONS)}.")
        pairs: dict[torch.nn.Module, tuple[list[int], list[int]]] = {}
        for row, copy in enumerate(self.copies):
            if isinstance(copy, Site):
                module = self.layers.module(copy.part, copy.layer)
                rows, heads = pairs.setdefault(module, ([], []))
                rows += [row] * len(copy.heads)
                heads += list(copy.heads)
                if self.ablation == "mean":
                    self._means[module] = _mean_of(self.means, copy)
            elif isinstance(copy, Edge):
                module = self.layers.module(copy.part, copy.layer)
                self._edges.setdefault(module, []).append((row, copy.head, copy.query, copy.key))
        self._heads = {m: (torch.tensor(r), torch.tensor(h)) for m, (r, h) in pairs.items()}


def _mean_of(means: dict, site: Site) -> torch.Tensor:
    if (site.part, site.layer) not in means:
        raise ValueError("Mean ablation needs the reference means of every layer (see ablate.reference).")
    return means[site.part, site.layer]


_ACTIVE: contextvars.ContextVar[Plan | None] = contextvars.ContextVar("attnviz_ablate_plan", default=None)


def _attention(module, query, key, value, attention_mask, **kwargs):
    eager = eager_of(module)
    plan = _ACTIVE.get()
    if plan is None:  # another caller of the shared model: its own eager attention, untouched
        return eager(module, query, key, value, attention_mask, **kwargs)
    plan.order.setdefault(module, query.shape[1])
    edges = plan._edges.get(module)
    if edges:
        attention_mask = _without_edges(attention_mask, query, key, edges)
    output, weights = eager(module, query, key, value, attention_mask, **kwargs)  # output [B, T, heads, dim]
    if plan.sums is not None:
        total = plan.sums.setdefault(module, [0.0, 0])
        total[0] = total[0] + output.double().sum((0, 1))
        total[1] += output.shape[0] * output.shape[1]
    chosen = plan._heads.get(module)
    if chosen is not None:
        _ablate(output, value, chosen, plan.ablation, plan._means.get(module))
    return output, weights


def _ablate(output: torch.Tensor, value: torch.Tensor, chosen, ablation: str, mean: torch.Tensor | None) -> None:
    """Overwrite, in ``output`` ``[B, T, heads, dim]``, head ``heads[i]`` of copy ``rows[i]`` for every ``i``."""
    rows, heads = chosen
    if ablation == "zero":
        output[rows, :, heads] = 0
    elif ablation == "mean":
        output[rows, :, heads] = mean[heads].to(output.dtype).unsqueeze(1)
    else:  # first: weight 1 on key 0, so the output is key 0's value (of the key head the query head reads)
        group = output.shape[2] // value.shape[1]  # query heads per key head (grouped keys)
        output[rows, :, heads] = value[rows, heads // group, 0].to(output.dtype).unsqueeze(1)


def _without_edges(mask: torch.Tensor | None, query: torch.Tensor, key: torch.Tensor, edges) -> torch.Tensor:
    """The additive mask ``[B, heads, queries, keys]`` with ``-inf`` at every knocked-out edge."""
    shape = (query.shape[0], query.shape[1], query.shape[2], key.shape[2])
    if mask is None:
        full = torch.zeros(shape, dtype=query.dtype, device=query.device)
    elif mask.is_floating_point():
        full = mask.expand(shape).clone()
    else:
        raise ValueError("Edge knockout needs an additive float attention mask.")
    hidden = torch.finfo(full.dtype).min / 2  # a mask value below this hides the key (eager masks use the minimum)
    for row, head, q, k in edges:
        if not (0 <= head < shape[1] and 0 <= q < shape[2] and 0 <= k < shape[3]):
            raise ValueError(f"No edge {q} -> {k} in head {head}: {shape[2]} queries, {shape[3]} keys.")
        if full[row, head, q, k] <= hidden:
            raise ValueError(f"Query {q} does not see key {k} (masked): there is no edge to knock out.")
        full[row, head, q, k] = float("-inf")
        if not (full[row, head, q] > hidden).any():
            raise ValueError(f"Query {q} sees no key but {k}: knocking out that edge leaves it nothing to attend to.")
    return full


@functools.cache
def _register() -> None:
    register(NAME, _attention)


@torch.no_grad()
def run(model: torch.nn.Module, call: Callable[[], object], plan: Plan, prefix: Prefix | None = None) -> object:
    """``call()`` (which runs ``model`` once on a batch of ``len(plan.copies)`` copies) with ``plan`` applied, and
    the blocks before ``prefix.skip`` taken from the clean run (:mod:`attnviz.pretrained.ablate.prefix`)."""
    _register()
    token = _ACTIVE.set(plan)
    try:
        with attention_implementation(model, NAME), installed(prefix):
            return call()
    finally:
        _ACTIVE.reset(token)


def layers_of(order: dict[torch.nn.Module, int], encoder: torch.nn.Module | None = None) -> Layers:
    """The :class:`Layers` of the attention modules that ran, in ``order``: all ``self``, or, for an encoder-decoder
    model (its ``encoder`` module given), the encoder's, then the decoder's self- and cross-attention (each
    decoder layer runs its self-attention first, then its cross-attention)."""
    if encoder is None:
        parts = {"self": tuple(order)}
    else:
        inside = set(encoder.modules())
        decoder = [m for m in order if m not in inside]
        parts = {"encoder": tuple(m for m in order if m in inside), "decoder": tuple(decoder[0::2])}
        parts["cross"] = tuple(decoder[1::2])
    return Layers(parts, {part: order[modules[0]] for part, modules in parts.items() if modules})
