"""Every head's importance at once: the input copied once per ablated head, a batch of copies per forward pass.

Copy ``b`` of a batch ablates its own head (:mod:`attnviz.pretrained.ablate.knockout`). A batch holds heads of one
block (transformer layer) only, and takes the blocks before it from the clean run
(:mod:`attnviz.pretrained.ablate.prefix`): the clean run is two passes of one copy (one finds the attention
layers, one records the blocks' outputs). :func:`outcomes` is the one place a batch runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.pretrained.ablate import probes
from attnviz.pretrained.ablate.knockout import Edge, Layers, Plan, Site, layers_of, run
from attnviz.pretrained.ablate.prefix import Prefix, prefix_of
from attnviz.pretrained.ablate.probes import Probe
from attnviz.pretrained.hf import LoadedModel

TOKENS_PER_BATCH = 8192  # copies x tokens of one forward pass (MiniLM at 32 tokens: all 72 heads in one)
Progress = Callable[[int, int], None]  # (copies done, copies in all)


@dataclass(frozen=True)
class Clean:
    """The unablated run: its outcome ``[1, ...]``, the model's attention layers and its blocks' outputs."""

    outcome: torch.Tensor
    layers: Layers
    prefix: Prefix


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
    """The probe run without ablation: once to find the attention layers, once to record their blocks."""
    plan = Plan(None)
    call = lambda: loaded.model(**probes.inputs_of(probe, loaded, 1))  # noqa: E731
    run(loaded.model, call, plan)
    prefix = prefix_of(loaded.model, list(plan.order))
    prefix.recording = True
    output = run(loaded.model, call, Plan(None), prefix)
    prefix.recording = False
    return Clean(probes.outcome(probe, output), layers_of(plan.order, encoder_of(loaded)), prefix)


def forward(
    loaded: LoadedModel,
    probe: Probe,
    layers: Layers,
    copies: Sequence[Site | Edge | None],
    ablation: str = "zero",
    means: dict | None = None,
    prefix: Prefix | None = None,
):
    """The model's output for ``len(copies)`` copies of the probe, each with its ablation, in one forward pass (the
    blocks before ``prefix.skip`` taken from the clean run)."""
    plan = Plan(layers, list(copies), ablation, means or {})
    return run(loaded.model, lambda: loaded.model(**probes.inputs_of(probe, loaded, len(copies))), plan, prefix)


def outcomes(
    loaded: LoadedModel,
    probe: Probe,
    layers: Layers,
    copies: Sequence[Site | Edge | None],
    ablation: str = "zero",
    means: dict | None = None,
    prefix: Prefix | None = None,
) -> torch.Tensor:
    """The probe's outcome ``[copy, ...]`` with each copy's ablation (:func:`forward`)."""
    return probes.outcome(probe, forward(loaded, probe, layers, copies, ablation, means, prefix))


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
    """The measure of each copy's ablation (float64 ``[copy]``), at most ``per_batch`` copies a forward pass
    (default: :data:`TOKENS_PER_BATCH` tokens' worth), the copies of one block together; ``progress(done,
    total)`` after each pass."""
    per_batch = per_batch or max(1, TOKENS_PER_BATCH // probe.n_tokens)
    found = np.zeros(len(copies))
    done = 0
    for block, indices in _by_block(base, copies).items():
        for start in range(0, len(indices), per_batch):
            batch = indices[start : start + per_batch]
            base.prefix.skip, base.prefix.copies = block, len(batch)
            ablated = outcomes(loaded, probe, base.layers, [copies[i] for i in batch], ablation, means, base.prefix)
            found[batch] = probes.effect(probe, base.outcome, ablated)
            done += len(batch)
            if progress is not None:
                progress(done, len(copies))
    return found


def _by_block(base: Clean, copies: Sequence[Site | Edge]) -> dict[int, list[int]]:
    """The indices of ``copies`` by the block their layer is in (0 for all where the blocks are not known)."""
    groups: dict[int, list[int]] = {}
    for index, copy in enumerate(copies):
        module = base.layers.module(copy.part, copy.layer)
        groups.setdefault(base.prefix.block_of.get(module, 0), []).append(index)
    return groups


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
    return _importance(loaded, probe, ablation, part, means, False, per_batch, progress)


def layer_importance(
    loaded: LoadedModel,
    probe: Probe,
    ablation: str = "zero",
    part: str | None = None,
    means: dict | None = None,
    progress: Progress | None = None,
) -> Importance:
    """Every head of one layer of ``part`` ablated together: ``effect`` ``[layer]``."""
    return _importance(loaded, probe, ablation, part, means, True, None, progress)


def _importance(loaded, probe, ablation, part, means, whole_layers: bool, per_batch, progress) -> Importance:
    """The clean run, then one site a head (or a layer's heads together) ablated, in batches."""
    base = clean(loaded, probe)
    part = part or default_part(base.layers)
    n_layers, n_heads = _shape(base.layers, part)
    if whole_layers:
        sites = [Site(part, layer, tuple(range(n_heads))) for layer in range(n_layers)]
    else:
        sites = [Site(part, layer, (head,)) for layer in range(n_layers) for head in range(n_heads)]
    found = effects(loaded, probe, base, sites, ablation, means, per_batch, progress)
    shape = (n_layers,) if whole_layers else (n_layers, n_heads)
    return Importance(found.reshape(shape), probes.baseline(probe, base.outcome), part, ablation, probe.measure)


def knock_out_edge(loaded: LoadedModel, probe: Probe, edge: Edge) -> float:
    """The measure with one query -> key weight of one head knocked out (its score ``-inf`` before the softmax)."""
    base = clean(loaded, probe)
    return float(effects(loaded, probe, base, [edge])[0])


def arrays(found: Importance, probe: Probe) -> dict[str, np.ndarray]:
    """What a grid's ``.npz`` holds (the command line's and the page's download alike)."""
    return {
        "effect": found.effect,
        "baseline": np.float64(found.baseline),
        "tokens": np.array(probe.tokens),
        "target": np.array(probe.target_tokens),
        "ablation": np.array(found.ablation),
        "measure": np.array(found.measure),
        "part": np.array(found.part),
    }


def _shape(layers: Layers, part: str) -> tuple[int, int]:
    if part not in layers.modules:
        raise ValueError(f"This model has no {part!r} attention; it has {', '.join(layers.modules)}.")
    return len(layers.modules[part]), layers.heads[part]
