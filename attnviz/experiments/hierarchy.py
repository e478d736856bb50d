"""Attention that must pick the evidence: the HAN against the same network with mean pooling.

``han-mean`` is the HAN with both attentions replaced by the plain mean (over the words of a sentence and
over the sentences of a document); same encoders, same recipe and budget. Both are scored on fresh
documents (none of them a training document): overall, by how many distractor mentions the rules cancel,
and by document length, including documents longer than the 4-16 sentences of training.
"""

from __future__ import annotations

from collections import defaultdict

from torch import nn

from attnviz.checkpoints import load_shipped
from attnviz.evaluate import document_scores
from attnviz.heldout import fresh_documents
from attnviz.tasks import documents as docs

MODELS = ("han", "han-mean")
LENGTHS = (4, 8, 12, 16, 24, 32, 40)  # sentences; beyond 16 is beyond training


def by_distractors(model: nn.Module, documents: list[docs.Document]) -> list[dict]:
    """[{distractors, n, accuracy, ...}] for the documents grouped by how many mentions the rules cancel."""
    groups: dict[int, list[docs.Document]] = defaultdict(list)
    for document in documents:
        groups[docs.distractors(document.sentences)].append(document)
    return [{"distractors": k, "n": len(group), **document_scores(model, group)} for k, group in sorted(groups.items())]


def by_length(model: nn.Module, groups: dict[int, list[docs.Document]]) -> list[dict]:
    """[{sentences, n, accuracy, ...}] for documents of each length."""
    return [{"sentences": length, "n": len(group), **document_scores(model, group)} for length, group in groups.items()]


def run(n: int = 1000, per_length: int = 200, seed: int = 0, lengths=LENGTHS) -> dict:
    """The experiment's JSON: each model's scores overall, by distractors and by length, on fresh documents."""
    held_out, skipped = fresh_documents(n, seed)
    groups = {}
    for length in lengths:
        groups[length], more = fresh_documents(per_length, seed, n_sentences=length)
        skipped += more
    models = {name: load_shipped("documents", name) for name in MODELS}
    return {
        "experiment": "hierarchy",
        "measured": "topic accuracy and evidence hits (most attended sentence = the sentence that decides) "
        "on fresh documents",
        "n": n,
        "per_length": per_length,
        "seed": seed,
        "trained_sentences": [docs.MIN_SENTENCES, docs.TRAINED_SENTENCES],
        "training_documents_skipped": skipped,
        "models": {name: document_scores(model, held_out) for name, model in models.items()},
        "by_distractors": {name: by_distractors(model, held_out) for name, model in models.items()},
        "by_length": {name: by_length(model, groups) for name, model in models.items()},
    }
