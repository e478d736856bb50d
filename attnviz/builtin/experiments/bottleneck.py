"""The bottleneck (Bahdanau et al. 2015, Fig. 2, on our tasks): accuracy against source length, with and
without attention.

``rnn-none`` is the RNN of the attention models with the attention taken out: its decoder reads only the
encoder's final state, the fixed vector c, at every step. Same encoder and decoder sizes, same training
budget. Every model is scored on fresh examples (none of them a training source) grouped by source length;
on ``reverse`` the lengths go beyond the 2-12 letters of training.
"""

from __future__ import annotations

import random
import string
from collections import defaultdict

from torch import nn

from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.evaluate import token_edits
from attnviz.builtin.heldout import fresh_examples, training_sources
from attnviz.builtin.models.registry import NO_ATTENTION_MODELS, SEQ2SEQ_MODELS, spec
from attnviz.builtin.models.seq2seq import decode
from attnviz.builtin.tasks import Example, get_task

MODELS = (*NO_ATTENTION_MODELS, *SEQ2SEQ_MODELS)
REVERSE_LENGTHS = range(3, 16)  # 2-letter words were all drawn in training; 13-15 are beyond it


def reverse_examples(length: int, n: int, seed: int) -> list[Example]:
    """``n`` random words of ``length`` letters, none of them a training source (fewer if there are not enough)."""
    task, seen = get_task("reverse"), training_sources("reverse")
    rng = random.Random(f"reverse:length:{length}:{seed}")
    examples, tries = [], 0
    while len(examples) < n and tries < 100 * n:
        tries += 1
        source = tuple(rng.choice(string.ascii_lowercase) for _ in range(length))
        if source not in seen:
            examples.append(task.reference(source))
    return examples


def by_length(task_name: str, per_length: int, seed: int, minimum: int = 20) -> dict[int, list[Example]]:
    """Fresh examples grouped by source length (reverse: ``per_length`` of each length, including unseen ones)."""
    if task_name == "reverse":
        groups = {length: reverse_examples(length, per_length, seed) for length in REVERSE_LENGTHS}
    else:
        groups = defaultdict(list)
        for example in fresh_examples(task_name, 10 * per_length, seed)[0]:
            groups[len(example.source)].append(example)
    return {length: group for length, group in sorted(groups.items()) if len(group) >= minimum}


def scores(model: nn.Module, task_name: str, examples: list[Example]) -> dict[str, float]:
    """Exact match and token accuracy (1 - token edits / gold tokens) of greedy decoding."""
    task = get_task(task_name)
    outputs = decode(model, task, [e.source for e in examples])
    exact = sum(o.output == e.target and o.finished for o, e in zip(outputs, examples, strict=True))
    edits = sum(token_edits(o.output, e.target) for o, e in zip(outputs, examples, strict=True))
    gold = sum(len(e.target) for e in examples)
    return {"exact_match": exact / len(examples), "token_accuracy": max(0.0, 1 - edits / gold)}


def curves(task_name: str, per_length: int = 100, seed: int = 0, models=MODELS) -> dict:
    """{model: [{length, n, exact_match, token_accuracy}, ...]} for one task."""
    groups = by_length(task_name, per_length, seed)
    result = {}
    for model_name in (m for m in models if task_name in spec(m).tasks):
        model = load_shipped(task_name, model_name)
        result[model_name] = [
            {"length": length, "n": len(group), **scores(model, task_name, group)} for length, group in groups.items()
        ]
    return result


def run(tasks=("reverse", "translate", "dates"), per_length: int = 100, seed: int = 0) -> dict:
    """The experiment's JSON: one curve per model and task."""
    return {
        "experiment": "bottleneck",
        "measured": "exact match and token accuracy of greedy decoding by source length, fresh examples",
        "per_length": per_length,
        "seed": seed,
        "longest_trained": {name: get_task(name).max_source_len for name in tasks},
        "tasks": {name: curves(name, per_length, seed) for name in tasks},
    }
