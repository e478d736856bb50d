"""Error accumulation: per-position error rate when decoding freely against feeding the gold prefix.

Free (greedy) decoding feeds the model its own previous token; one mistake changes every later input.
Teacher forcing feeds the gold prefix, so each position's error is its own. The gap between the two
curves is the error that accumulated. For a failing example, the first wrong token and how far the
attention of the free run drifts from the attention of the forced run after it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.experiments.bottleneck import MODELS, reverse_examples
from attnviz.builtin.models.registry import spec
from attnviz.builtin.models.seq2seq import decode, force, make_batch
from attnviz.builtin.tasks import Example, get_task

LENGTHS = range(10, 16)  # reverse: the longest trained lengths and beyond, where errors happen


def free_errors(model: nn.Module, task_name: str, examples: list[Example]) -> np.ndarray:
    """[example, position]: 1 where the greedy token is not the gold one (or is missing); NaN past the end."""
    outputs = decode(model, get_task(task_name), [e.source for e in examples])
    return _grid(
        [
            [t >= len(o.output) or o.output[t] != g for t, g in enumerate(e.target)]
            for o, e in zip(outputs, examples, strict=True)
        ]
    )


@torch.no_grad()
def forced_errors(model: nn.Module, task_name: str, examples: list[Example]) -> np.ndarray:
    """[example, position]: 1 where the argmax given the gold prefix is not the gold token, NaN past the end."""
    model.eval()
    source, target_in, target_out = make_batch(get_task(task_name), examples)
    predicted = model(source, target_in)[0].argmax(-1)  # (B, T)
    return _grid(
        [(predicted[b, : len(e.target)] != target_out[b, : len(e.target)]).tolist() for b, e in enumerate(examples)]
    )


def _grid(rows: list[list[bool]]) -> np.ndarray:
    grid = np.full((len(rows), max(len(r) for r in rows)), np.nan)
    for i, row in enumerate(rows):
        grid[i, : len(row)] = row
    return grid


def per_position(errors: np.ndarray) -> list[float]:
    """Error rate at each target position over the examples that reach it."""
    return [float(v) for v in np.nanmean(errors, axis=0)]


def drift(model: nn.Module, task_name: str, example: Example) -> dict:
    """First wrong token of a failing example, and per step the total variation between free and forced attention."""
    task = get_task(task_name)
    free = decode(model, task, [example.source])[0]
    first = next((t for t, g in enumerate(example.target) if t >= len(free.output) or free.output[t] != g), None)
    forced = force(model, task, example)
    free_map, forced_map = _aligned(free.maps), _aligned(forced)
    steps = min(len(free_map), len(forced_map))
    distance = 0.5 * np.abs(free_map[:steps] - forced_map[:steps]).sum(-1)
    return {
        "source": list(example.source),
        "gold": list(example.target),
        "output": list(free.output),
        "first_wrong": first,
        "total_variation": distance.tolist(),
        "free_map": free_map.tolist(),
        "forced_map": forced_map.tolist(),
        "free_queries": list(free.maps[_name(free.maps)].query_tokens),
        "forced_queries": list(forced[_name(forced)].query_tokens),
    }


def _name(maps: dict) -> str:
    return "temporal" if "temporal" in maps else "cross"


def _aligned(maps: dict) -> np.ndarray:
    """The RNN's temporal map, or the Transformer's last-layer cross-attention averaged over heads: (T, S)."""
    return maps["temporal"].head(0, 0) if "temporal" in maps else maps["cross"].weights[-1].mean(0)


def run(task_name: str = "reverse", per_length: int = 100, seed: int = 0, models=MODELS) -> dict:
    """Per-position error, free against forced, for each model; the drift of the first failing example."""
    examples = [e for length in LENGTHS for e in reverse_examples(length, per_length, seed)]
    result = {
        "experiment": "accumulation",
        "task": task_name,
        "lengths": [LENGTHS[0], LENGTHS[-1]],
        "n": len(examples),
        "seed": seed,
        "models": {},
    }
    for model_name in models:
        model = load_shipped(task_name, model_name)
        free, forced = free_errors(model, task_name, examples), forced_errors(model, task_name, examples)
        entry = {"free": per_position(free), "forced": per_position(forced)}
        failing = [e for e, row in zip(examples, free, strict=True) if np.nansum(row) > 0]
        if failing and spec(model_name).maps:
            entry["failing"] = drift(model, task_name, failing[0])
        result["models"][model_name] = entry
    return result
