"""Multi-head as groups: the tiny Transformer with one head of width 64 against four heads of width 16.

Splitting d_model into heads is like a group convolution: the same Q, K, V and output projections (so the
same parameter count), but each group of 16 channels forms its own attention distribution. Both models are
trained on ``reverse`` with the same recipe and budget. Scored on fresh examples (none a training source):
exact match, token accuracy and alignment with the evaluate module's definitions, and for every
cross-attention head its agreement with the gold alignment, its entropy and its distance to the other heads.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.evaluate import evaluate_seq2seq
from attnviz.builtin.heldout import fresh_examples
from attnviz.builtin.models.seq2seq import make_batch
from attnviz.builtin.tasks import Example, get_task
from attnviz.maps.analysis import js_distance

MODELS = ("transformer", "transformer-1head")
TASK = "reverse"


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def cross_attention(model: nn.Module, examples: list[Example]) -> list[np.ndarray]:
    """Per example, the cross-attention with the gold target fed in: [layer, head, target, source] (no <eos> row)."""
    source, target_in, _ = make_batch(get_task(TASK), examples)
    cross = model(source, target_in)[1]["cross"].numpy().astype(np.float64)  # (B, L, H, T, S)
    return [cross[b, :, :, : len(e.target), : len(e.source)] for b, e in enumerate(examples)]


def entropy_bits(maps: list[np.ndarray]) -> np.ndarray:
    """[layer, head] mean entropy in bits of a target token's attention over the source, pooled over rows."""
    rows = np.concatenate(list(_rows(maps)), axis=2)  # (L, H, rows, S)
    logs = np.log2(np.where(rows > 0, rows, 1.0))
    return -(rows * logs).sum(-1).mean(-1)


def head_distances(maps: list[np.ndarray]) -> np.ndarray:
    """[layer, head, head] mean Jensen-Shannon distance between two heads' rows, pooled over rows."""
    rows = np.concatenate(list(_rows(maps)), axis=2)  # (L, H, rows, S)
    return js_distance(rows[:, :, None], rows[:, None, :]).mean(-1)


def _rows(maps: list[np.ndarray]):
    """Every example's rows padded with zeros to the longest source (zero weight adds nothing to either measure)."""
    width = max(m.shape[-1] for m in maps)
    for m in maps:
        yield np.pad(m, ((0, 0), (0, 0), (0, 0), (0, width - m.shape[-1])))


def measure(model_name: str, n: int, seed: int) -> dict:
    """One model's parameter count, accuracy, alignment and per-head statistics on ``n`` fresh examples."""
    model = load_shipped(TASK, model_name)
    scores = evaluate_seq2seq(TASK, model_name, model, n=n, seed=seed)
    maps = cross_attention(model, fresh_examples(TASK, n, seed)[0])
    entropy, distances = entropy_bits(maps), head_distances(maps)
    per_head = [
        {
            "layer": layer,
            "head": head,
            "entropy_bits": float(entropy[layer, head]),
            **scores["per_head"][f"layer {layer} head {head}"],
        }
        for layer in range(entropy.shape[0])
        for head in range(entropy.shape[1])
    ]
    pairs = np.triu_indices(distances.shape[1], k=1)
    return {
        "heads": model.config.n_heads,
        "d_head": model.config.d_model // model.config.n_heads,
        "parameters": parameter_count(model),
        **{k: scores[k] for k in ("exact_match", "token_accuracy", "alignment_agreement", "mass_on_gold", "aer")},
        "best_head": scores["best_head"],
        "rejected_as_training_examples": scores["rejected_as_training_examples"],
        "per_head": per_head,
        "head_distances": distances.tolist(),
        "mean_distance_between_heads": [float(d[pairs].mean()) if len(pairs[0]) else None for d in distances],
    }


def example_maps(seed: int, index: int = 0) -> dict:
    """The cross-attention of both models on one fresh example (the ``index``-th of the seeded stream)."""
    example = fresh_examples(TASK, index + 1, seed)[0][index]
    maps = {name: cross_attention(load_shipped(TASK, name), [example])[0].tolist() for name in MODELS}
    gold = [sorted(links) for links in example.alignment]
    return {"source": list(example.source), "target": list(example.target), "gold": gold, "maps": maps}


def run(n: int = 1000, seed: int = 0) -> dict:
    """The experiment's JSON: both models measured on the same ``n`` fresh reverse examples."""
    return {
        "experiment": "heads",
        "task": TASK,
        "measured": "greedy exact match and token accuracy; cross-attention with the gold target fed in, per head",
        "n": n,
        "seed": seed,
        "models": {name: measure(name, n, seed) for name in MODELS},
        "example": example_maps(seed),
    }
