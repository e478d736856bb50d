"""Attention that must pick the evidence: the HAN against the same network with mean pooling.

``han-mean`` is the HAN with both attentions replaced by the plain mean (over the words of a sentence and
over the sentences of a document); same encoders, same recipe and budget. Both are scored on fresh
documents (none of them a training document): overall, by how many distractor mentions the rules cancel,
by document length, including documents longer than the 4-16 sentences of training, and by the number of
distractor sentences in 40-sentence documents, far beyond the 1-6 of training: a sum of sentence vectors
must outweigh ever more plain mentions with the one that decides, a softmax only has to rank it first.
"""

from __future__ import annotations

from collections import defaultdict

from torch import nn

from attnviz.builtin.checkpoints import checkpoint_path, load_checkpoint
from attnviz.builtin.evaluate import document_scores
from attnviz.builtin.heldout import fresh_documents
from attnviz.builtin.tasks import documents as docs

MODELS = ("han", "han-mean")
LENGTHS = (4, 8, 12, 16, 24, 32, 40)  # sentences; beyond 16 is beyond training
MENTIONS = (2, 6, 12, 18, 24, 32, 39)  # distractor sentences in a 40-sentence document; beyond 6 is beyond training
LONG = 40


def by_distractors(model: nn.Module, documents: list[docs.Document]) -> list[dict]:
    """[{distractors, n, accuracy, ...}] for the documents grouped by how many mentions the rules cancel."""
    groups: dict[int, list[docs.Document]] = defaultdict(list)
    for document in documents:
        groups[docs.distractors(document.sentences)].append(document)
    return [{"distractors": k, "n": len(group), **document_scores(model, group)} for k, group in sorted(groups.items())]


def by_group(model: nn.Module, groups: dict[int, list[docs.Document]], key: str) -> list[dict]:
    """[{key: group, n, accuracy, ...}] for each group of documents."""
    return [{key: value, "n": len(group), **document_scores(model, group)} for value, group in groups.items()]


def learning(records: dict[str, dict]) -> dict:
    """Each model's learning curve ([step, validation score] from its checkpoint) and the score of the mean
    baseline at the HAN's budget: the last check at or before the step the HAN stopped at."""
    curves = {name: record.get("validation", []) for name, record in records.items()}
    budget = records["han"]["steps"]
    at_budget = {
        name: next((score for step, score in reversed(curve) if step <= budget), None) for name, curve in curves.items()
    }
    return {"curves": curves, "budget": budget, "at_budget": at_budget}


def run(n: int = 1000, per_length: int = 200, seed: int = 0, lengths=LENGTHS, mentions=MENTIONS) -> dict:
    """The experiment's JSON: each model's scores overall, by distractors, by length and by many distractor
    sentences, on fresh documents; and the steps each took to reach the recipe's stopping score."""
    held_out, skipped = fresh_documents(n, seed)
    by_length, by_mentions = {}, {}
    for length in lengths:
        by_length[length], more = fresh_documents(per_length, seed, n_sentences=length)
        skipped += more
    for count in mentions:
        by_mentions[count], more = fresh_documents(per_length, seed, n_sentences=LONG, n_mentions=count)
        skipped += more
    loaded = {name: load_checkpoint(checkpoint_path("documents", name)) for name in MODELS}
    models = {name: model for name, (model, _) in loaded.items()}
    return {
        "experiment": "hierarchy",
        "measured": "topic accuracy and evidence hits (most attended sentence = the sentence that decides) "
        "on fresh documents",
        "n": n,
        "per_length": per_length,
        "seed": seed,
        "trained_sentences": [docs.MIN_SENTENCES, docs.TRAINED_SENTENCES],
        "training_documents_skipped": skipped,
        "trained_mentions": [1, docs.MAX_MENTIONS],
        "long_sentences": LONG,
        "training_steps": {name: payload["train"]["steps"] for name, (_, payload) in loaded.items()},
        "learning": learning({name: payload["train"] for name, (_, payload) in loaded.items()}),
        "models": {name: document_scores(model, held_out) for name, model in models.items()},
        "by_distractors": {name: by_distractors(model, held_out) for name, model in models.items()},
        "by_length": {name: by_group(model, by_length, "sentences") for name, model in models.items()},
        "by_mentions": {name: by_group(model, by_mentions, "mentions") for name, model in models.items()},
    }
