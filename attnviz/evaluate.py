"""Measure a built-in model: exact-match accuracy and how well its attention matches gold alignments."""

from __future__ import annotations

import torch
from torch import nn

from attnviz.analysis import alignment_scores
from attnviz.models import decode
from attnviz.tasks import Example, get_task
from attnviz.train import load_shipped, make_batch

CHUNK = 500


def evaluate(task_name: str, model_name: str, n: int = 1000, seed: int = 0, model: nn.Module | None = None) -> dict:
    """Exact match of greedy outputs on ``n`` fresh examples, and alignment of the model's attention.

    Alignment is read with the gold target fed to the decoder (forced decoding, as alignment error rate
    is measured in machine translation), so that every row of attention belongs to a gold target token.
    For the Transformer every cross-attention head is scored; the best one is reported at the top level.
    """
    task = get_task(task_name)
    model = model if model is not None else load_shipped(task_name, model_name)
    examples = task.examples(n, seed=seed)
    exact, correct_tokens, total_tokens = 0, 0, 0
    per_head: dict[str, list] = {}
    for start in range(0, n, CHUNK):
        chunk = examples[start : start + CHUNK]
        for out, ex in zip(decode(model, task, [e.source for e in chunk]), chunk):
            exact += out.output == ex.target and out.finished
            correct_tokens += sum(a == b for a, b in zip(out.output, ex.target))
            total_tokens += len(ex.target)
        for head, pairs in _forced_attention(model, task, chunk).items():
            per_head.setdefault(head, []).extend(pairs)
    scores = {head: alignment_scores(pairs) for head, pairs in per_head.items()}
    best = max(scores, key=lambda h: scores[h]["agreement"])
    result = {
        "task": task_name,
        "model": model_name,
        "n": n,
        "seed": seed,
        "exact_match": exact / n,
        "token_accuracy": correct_tokens / total_tokens,
        "alignment_agreement": scores[best]["agreement"],
        "mass_on_gold": scores[best]["mass_on_gold"],
        "aer": scores[best]["aer"],
        "alignment_rows": scores[best]["rows"],
        "alignment_mode": "forced decoding of the gold target; rows with a gold link",
    }
    if model_name == "transformer":
        result["best_head"] = best
        result["per_head"] = scores
    return result


@torch.no_grad()
def _forced_attention(model: nn.Module, task, examples: list[Example]) -> dict[str, list]:
    """{head name: [(weights [target, source], gold links), ...]} with the gold target fed in."""
    source, target_in, _ = make_batch(task, examples)
    _, attention = model(source, target_in)
    if isinstance(attention, torch.Tensor):  # RNN temporal attention (B, T, S)
        heads = {"temporal": attention[:, None, None]}
    else:
        cross = attention["cross"]  # (B, layers, heads, T, S)
        heads = {
            f"layer {i} head {h}": cross[:, i : i + 1, h : h + 1]
            for i in range(cross.shape[1])
            for h in range(cross.shape[2])
        }
    return {
        name: [(w[b, 0, 0, : len(e.target), : len(e.source)].numpy(), e.alignment) for b, e in enumerate(examples)]
        for name, w in heads.items()
    }


def markdown_table(n: int = 1000, seed: int = 0) -> str:
    """Every shipped (task, model) evaluated on ``n`` fresh examples, as a markdown table."""
    from attnviz.models import MODEL_NAMES
    from attnviz.tasks import TASKS

    lines = [
        f"Evaluated on {n} fresh examples per task, seed {seed}: "
        f"`python -m attnviz evaluate --all --n {n} --seed {seed}`.",
        "",
        "| task | model | exact match | token accuracy | alignment agreement | mass on gold | AER | head |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for task in TASKS:
        for model in MODEL_NAMES:
            r = evaluate(task, model, n=n, seed=seed)
            lines.append(
                f"| {task} | {model} | {r['exact_match']:.1%} | {r['token_accuracy']:.1%} | "
                f"{r['alignment_agreement']:.1%} | {r['mass_on_gold']:.1%} | {r['aer']:.3f} | "
                f"{r.get('best_head', 'temporal')} |"
            )
    return "\n".join(lines)
