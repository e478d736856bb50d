"""Evaluation examples are disjoint from the examples every shipped model was trained on."""

import torch

from attnviz.builtin import heldout
from attnviz.builtin.checkpoints import checkpoint_path
from attnviz.builtin.evaluate import evaluate
from attnviz.builtin.models.registry import shipped
from attnviz.builtin.recipes import default_config, recipe
from attnviz.builtin.tasks import get_task


def sources_of_training_batches(task_name: str, model_name: str) -> set[tuple[str, ...]]:
    """The sources of the batches the recipe feeds the loop, for as many steps as the checkpoint recorded."""
    task = get_task(task_name)
    record = torch.load(checkpoint_path(task_name, model_name), weights_only=True)["train"]
    batches = recipe(task_name, model_name, default_config(model_name))
    sources = set()
    for _ in range(record["steps"]):
        source_ids = batches.next_batch()[0]
        for row in source_ids.tolist():
            sources.add(task.source_vocab.decode([i for i in row if i != 0]))
    return sources


def test_training_sources_are_the_batches_the_shipped_models_were_trained_on():
    models = [m for t, m in shipped("dates") if checkpoint_path(t, m).exists()]
    trained = set().union(*(sources_of_training_batches("dates", m) for m in models))
    assert trained == heldout.training_sources("dates")


def test_fresh_examples_are_the_evaluation_stream_without_the_training_sources():
    for task_name in ("reverse", "dates"):
        task, seen = get_task(task_name), heldout.training_sources(task_name)
        fresh, rejected = heldout.fresh_examples(task_name, 300, seed=0)
        stream = task.examples(300 + rejected, seed=0)
        assert fresh == [e for e in stream if e.source not in seen]
        assert len(fresh) == 300 and rejected == sum(e.source in seen for e in stream) > 0
        assert not {e.source for e in fresh} & seen


def test_evaluate_reports_the_rejected_examples_and_scores_only_fresh_ones():
    result = evaluate("reverse", "rnn-dot", n=200, seed=3)
    _, rejected = heldout.fresh_examples("reverse", 200, seed=3)
    assert result["n"] == 200 and result["rejected_as_training_examples"] == rejected > 0
