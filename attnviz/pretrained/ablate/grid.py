"""Every head's importance at once: the input copied once per ablated head, a batch of copies per forward pass.

Copy ``b`` of a batch ablates its own head (:mod:`attnviz.pretrained.ablate.knockout`), so the grid of ``layers x
heads`` values takes ``layers x heads / copies per batch`` forward passes; the clean outcome is one more pass of
one copy. :func:`outcomes` is the one place a batch runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.pretrained.ablate import probes
from attnviz.pretrained.ablate.knockout import Edge, Layers, Plan, Site, layers_of, run
from attnviz.pretrained.ablate.probes import Probe
from attnviz.pretrained.hf import LoadedModel

TOKENS_PER_BATCH = 8192  # copies x tokens of one forward pass (MiniLM at 32 tokens: all 72 heads in one)
Progress = Callable[[int, int], None]  # (copies done, copies in all)


@dataclass(frozen=True)
class Clean:
    """The unablated run: its outcome ``[1, ...]`` and the model's attention layers."""

    outcome: torch.Tensor
    layers: Layers


@dataclass(frozen=True)
class Importance:
    """The effect of ablating each head (or each layer), and the measure's unablated value."""

    effect: np.ndarray  # float64 [layer, head] (heads ablated one at a time) or [layer] (a layer's heads together)
    baseline: float
    part: str
    ablation: str
    measure: str


def encoder_of(loaded: LoadedModel) -> torch.nn.Module | None:
    """An encoder-decoder model's encoder (its attention layers are the ``encoder`` part); None otherwise."""
    return loaded.model.get_encoder() if loaded.family == "encoder-decoder" else None


def clean(loaded: LoadedModel, probe: Probe) -> Clean:
    """The probe run once without ablation."""
    plan = Plan(None)
    output = run(loaded.model, lambda: loaded.model(**probes.inputs_of(probe, loaded, 1)), plan)
    return Clean(probes.outcome(probe, output), layers_of(plan.order, encoder_of(loaded)))


def outcomes(
    loaded: LoadedModel,
    probe: Probe,
    layers: Layers,
    copies: Sequence[Site | Edge | None],
    ablation: str = "zero",
    means: dict | None = None,
) -> torch.Tensor:
    """The probe's outcome ``[copy, ...]`` with each copy's ablation, in one forward pass."""
    plan = Plan(layers, list(copies), ablation, means or {})
    output = run(loaded.model, lambda: loaded.model(**probes.inputs_of(probe, loaded, len(copies))), plan)
    return probes.outcome(probe, output)


def effects(
    loaded: LoadedModel,
    probe: Probe,
    base: Clean,
    copies: Sequence[Site | Edge],
    ablation: str = "zero",
    means: dict | None = None,
    per_batch: int | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """The measure of each copy's ablation (float64 ``[copy]``), ``per_batch`` copies a forward pass (default:
    :data:`TOKENS_PER_BATCH` tokens' worth); ``progress(done, total)`` after each pass."""
    per_batch = per_batch or max(1, TOKENS_PER_BATCH // probe.n_tokens)
    found = []
    for start in range(0, len(copies), per_batch):
        batch = copies[start : start + per_batch]
        found.append(probes.effect(probe, base.outcome, outcomes(loaded, probe, base.layers, batch, ablation, means)))
        if progress is not None:
            progress(start + len(batch), len(copies))
    return np.concatenate(found) if found else np.zeros(0)


def default_part(layers: Layers) -> str:
    """The part a grid shows unless told: ``self``, or an encoder-decoder's encoder."""
    return next(iter(layers.modules))


def importance(
    loaded: LoadedModel,
    probe: Probe,
    ablation: str = "zero",
    part: str | None = None,
    means: dict | None = None,
    per_batch: int | None = None,
    progress: Progress | None = None,
) -> Importance:
    """Each head of ``part`` ablated alone: ``effect`` ``[layer, head]``."""
    base = clean(loaded, probe)
    part = part or default_part(base.layers)
    n_layers, n_heads = _shape(base.layers, part)
    sites = [Site(part, layer, (head,)) for layer in range(n_layers) for head in range(n_heads)]
    found = effects(loaded, probe, base, sites, ablation, means, per_batch, progress)
    value = probes.baseline(probe, base.outcome)
    return Importance(found.reshape(n_layers, n_heads), value, part, ablation, probe.measure)


def layer_importance(
    loaded: LoadedModel,
    probe: Probe,
    ablation: str = "zero",
    part: str | None = None,
    means: dict | None = None,
    progress: Progress | None = None,
) -> Importance:
    """Every head of one layer of ``part`` ablated together: ``effect`` ``[layer]``."""
    base = clean(loaded, probe)
    part = part or default_part(base.layers)
    n_layers, n_heads = _shape(base.layers, part)
    sites = [Site(part, layer, tuple(range(n_heads))) for layer in range(n_layers)]
    found = effects(loaded, probe, base, sites, ablation, means, progress=progress)
    return Importance(found, probes.baseline(probe, base.outcome), part, ablation, probe.measure)


def knock_out_edge(loaded: LoadedModel, probe: Probe, edge: Edge) -> float:
    """The measure with one query -> key weight of one head knocked out (its score ``-inf`` before the softmax)."""
    base = clean(loaded, probe)
    return float(effects(loaded, probe, base, [edge])[0])


def _shape(layers: Layers, part: str) -> tuple[int, int]:
    if part not in layers.modules:
        raise ValueError(f"This model has no {part!r} attention; it has {', '.join(layers.modules)}.")
    return len(layers.modules[part]), layers.heads[part]
