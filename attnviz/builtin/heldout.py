"""Held-out examples that no shipped model saw in training.

Training draws every batch from one seeded stream per task (:func:`training_rng`), and each checkpoint
records how many steps of how many examples it drew. So the training sources can be regenerated exactly,
without retraining, and evaluation can skip them: :func:`fresh_examples` draws from its own seeded
stream and rejects every source that occurs in the training prefix of any shipped checkpoint of the task.
"""

from __future__ import annotations

import random
from functools import lru_cache

import numpy as np
import torch

from attnviz.builtin.checkpoints import checkpoint_path
from attnviz.builtin.models.ntm import is_held_out
from attnviz.builtin.models.registry import shipped
from attnviz.builtin.tasks import Example, get_task
from attnviz.builtin.tasks import documents as docs


def training_rng(task_name: str, seed: int) -> random.Random:
    """The stream the seq2seq recipe draws its training batches from (one per task and seed)."""
    return random.Random(f"{task_name}:train:{seed}")


def drawn(task_name: str) -> dict[int, int]:
    """{training seed: examples drawn} for the longest run on each seed among the task's shipped checkpoints."""
    counts: dict[int, int] = {}
    for _, model_name in shipped(task_name):
        path = checkpoint_path(task_name, model_name)
        if not path.exists():
            continue
        record = torch.load(path, map_location="cpu", weights_only=True)["train"]
        seed, examples = record["config"]["seed"], record["steps"] * record["config"]["batch_size"]
        counts[seed] = max(counts.get(seed, 0), examples)
    return counts


@lru_cache(maxsize=8)
def training_sources(task_name: str) -> frozenset[tuple[str, ...]]:
    """Every source a shipped checkpoint of ``task_name`` was trained on (regenerated from the seeded stream)."""
    task = get_task(task_name)
    sources: set[tuple[str, ...]] = set()
    for seed, count in drawn(task_name).items():
        rng = training_rng(task_name, seed)
        sources.update(task.sample(rng).source for _ in range(count))
    return frozenset(sources)


def fresh_examples(task_name: str, n: int, seed: int) -> tuple[list[Example], int]:
    """(``n`` examples of the seeded stream ``seed`` whose source no shipped model trained on, how many were skipped).

    Stops with a ValueError if the task cannot supply ``n`` unseen sources within 100 draws per example.
    """
    task, seen = get_task(task_name), training_sources(task_name)
    rng = random.Random(f"{task_name}:{seed}")  # the stream of Task.examples(n, seed)
    examples, rejected = [], 0
    while len(examples) < n:
        example = task.sample(rng)
        if example.source in seen:
            rejected += 1
            if rejected > 100 * n:
                raise ValueError(f"the {task_name} task has too few sources that were not used in training")
            continue
        examples.append(example)
    return examples, rejected


def seen_in_copy_training(sequences: np.ndarray) -> int:
    """How many of ``sequences`` (B, T, bits) lie in the share of copy sequences that training draws from: an
    upper bound on how many a shipped copy model trained on. Evaluation draws only from the held-out share
    (:func:`attnviz.builtin.models.ntm.is_held_out`), so for its sequences this is 0 by construction, and checked."""
    return sum(not is_held_out(s) for s in sequences)


@lru_cache(maxsize=1)
def training_documents() -> frozenset[tuple[tuple[str, ...], ...]]:
    """Every document a shipped documents checkpoint was trained on (regenerated from the seeded stream)."""
    seen: set[tuple[tuple[str, ...], ...]] = set()
    for seed, count in drawn("documents").items():
        rng = training_rng("documents", seed)
        seen.update(docs.sample(rng).sentences for _ in range(count))
    return frozenset(seen)


def fresh_documents(
    n: int, seed: int, n_sentences: int | None = None, n_mentions: int | None = None
) -> tuple[list[docs.Document], int]:
    """(``n`` documents of stream ``seed`` that no shipped model trained on, how many training ones were skipped)."""
    seen, rng = training_documents(), docs.stream(seed, n_sentences, n_mentions)
    held_out, skipped = [], 0
    while len(held_out) < n:
        document = docs.sample(rng, n_sentences, n_mentions)
        if document.sentences in seen:
            skipped += 1
            continue
        held_out.append(document)
    return held_out, skipped
