"""Measure the built-in models: accuracy, and how well their attention matches the gold alignments.

Pure over model outputs: nothing here trains or saves. :func:`evaluate` serves every shipped model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from attnviz.builtin.checkpoints import load_shipped
from attnviz.builtin.evaluate_scenes import evaluate_sat, evaluate_vit
from attnviz.builtin.heldout import fresh_documents, fresh_examples, seen_in_copy_training
from attnviz.builtin.models.families import Objective, family
from attnviz.builtin.models.han import encode
from attnviz.builtin.models.ntm import copy_batch
from attnviz.builtin.models.registry import MAP_KINDS, SEQ2SEQ_MODELS, SEQ2SEQ_TASKS, check_pair
from attnviz.builtin.models.seq2seq import decode, make_batch
from attnviz.builtin.tasks import Example, Task, get_task
from attnviz.builtin.tasks import documents as docs
from attnviz.maps.analysis import alignment_scores

CHUNK = 500
TRAINED_COPY_LENGTHS = range(1, 21)
LONGER_COPY_LENGTHS = (30, 40)
# Copy sequences for evaluation come from their own generator, seeded COPY_EVALUATION_SEED + seed: training
# draws from seed (0 for the shipped models) and validation from 10,000 + seed (recipes.VALIDATION_SEED).
COPY_EVALUATION_SEED = 20_000
ALIGNED_KINDS = ("temporal", "cross")  # the maps from a target token to the source, scored against gold alignments


def evaluate(task_name: str, model_name: str, n: int = 1000, seed: int = 0, model: nn.Module | None = None) -> dict:
    """Every measure of ``model_name`` on ``n`` fresh examples of its task (default: the shipped checkpoint)."""
    check_pair(task_name, model_name)
    model = model if model is not None else load_shipped(task_name, model_name)
    return EVALUATIONS[family(model_name).objective](task_name, model_name, model, n, seed)


def exact_match(model: nn.Module, task: Task, examples: list[Example]) -> float:
    """Fraction of examples whose greedy output equals the gold target exactly."""
    outputs = decode(model, task, [e.source for e in examples])
    return sum(o.output == e.target and o.finished for o, e in zip(outputs, examples)) / len(examples)


def token_edits(output: Sequence[str], target: Sequence[str]) -> int:
    """Levenshtein distance in tokens: substitutions, insertions (extra output) and deletions (missing)."""
    previous = list(range(len(target) + 1))
    for i, produced in enumerate(output, start=1):
        current = [i]
        for j, wanted in enumerate(target, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (produced != wanted)))
        previous = current
    return previous[-1]


def evaluate_seq2seq(task_name: str, model_name: str, model: nn.Module, n: int = 1000, seed: int = 0) -> dict:
    """Exact match of greedy outputs on ``n`` fresh examples, and alignment of the model's attention.

    Fresh means unseen: examples whose source a shipped model of the task trained on are skipped (and counted).

    Alignment is read with the gold target fed to the decoder (forced decoding, as alignment error rate
    is measured in machine translation), so that every row of attention belongs to a gold target token.
    For the Transformer every cross-attention head is scored; the best one is reported at the top level.
    """
    task = get_task(task_name)
    examples, rejected = fresh_examples(task_name, n, seed)
    exact, token_errors, total_tokens = 0, 0, 0
    per_head: dict[str, list] = {}
    for start in range(0, n, CHUNK):
        chunk = examples[start : start + CHUNK]
        for out, ex in zip(decode(model, task, [e.source for e in chunk]), chunk):
            exact += out.output == ex.target and out.finished
            token_errors += token_edits(out.output, ex.target)
            total_tokens += len(ex.target)
        for head, pairs in _forced_attention(model, task, chunk).items():
            per_head.setdefault(head, []).extend(pairs)
    result = {
        "task": task_name,
        "model": model_name,
        "n": n,
        "seed": seed,
        "rejected_as_training_examples": rejected,
        "exact_match": exact / n,
        "token_accuracy": max(0.0, 1.0 - token_errors / total_tokens),
    }
    return result | _alignment_summary(per_head)


def _alignment_summary(per_head: dict[str, list]) -> dict:
    """The best map's alignment scores (and, for several heads, every head's); nothing for a model without maps."""
    if not per_head:
        return {}
    scores = {head: alignment_scores(pairs) for head, pairs in per_head.items()}
    best = max(scores, key=lambda h: scores[h]["agreement"])
    result = {
        "alignment_agreement": scores[best]["agreement"],
        "mass_on_gold": scores[best]["mass_on_gold"],
        "aer": scores[best]["aer"],
        "alignment_rows": scores[best]["rows"],
        "alignment_mode": "forced decoding of the gold target; rows with a gold link",
    }
    if len(scores) > 1:  # several heads: each one's scores too
        result |= {"best_head": best, "per_head": scores}
    return result


@torch.no_grad()
def _forced_attention(model: nn.Module, task: Task, examples: list[Example]) -> dict[str, list]:
    """{head name: [(weights [target, source], gold links), ...]} with the gold target fed in.

    The map read is the model's target-to-source one (kind temporal or cross, :data:`ALIGNED_KINDS`); a map of one
    head is called by its name (the RNN's "temporal"), and each head of a map of several is its own entry.
    """
    source, target_in, _ = make_batch(task, examples)
    _, attention = model(source, target_in)
    names = [name for name in attention if MAP_KINDS[name] in ALIGNED_KINDS]
    if not names:  # a model without attention
        return {}
    [name] = names
    aligned = attention[name]  # (B, L, H, T, S)
    L, H = aligned.shape[1:3]
    heads = {name: (0, 0)} if L * H == 1 else {f"layer {i} head {h}": (i, h) for i in range(L) for h in range(H)}
    return {
        name: [
            (aligned[b, i, h, : len(e.target), : len(e.source)].numpy(), e.alignment) for b, e in enumerate(examples)
        ]
        for name, (i, h) in heads.items()
    }


def alignment_rows(
    task_name: str, n: int = 200, seed: int = 0, models: dict[str, nn.Module] | None = None
) -> list[dict]:
    """One row per map (the RNN's temporal attention, each Transformer cross head) with its alignment scores.

    ``models`` supplies already-loaded models by name (default: the shipped checkpoints).
    """
    rows = []
    for model_name in SEQ2SEQ_MODELS:
        model = (models or {}).get(model_name) or load_shipped(task_name, model_name)
        result = evaluate_seq2seq(task_name, model_name, model, n=n, seed=seed)
        scored = result.get("per_head") or {
            "temporal": {k: result[k] for k in ("alignment_agreement", "mass_on_gold", "aer")}
        }
        for head, scores in scored.items():
            scores = {("agreement" if k == "alignment_agreement" else k): v for k, v in scores.items()}
            rows.append({"model": model_name, "map": head, "exact match": result["exact_match"], **scores})
    return rows


def copy_draws(
    n: int, lengths, seed: int, bits: int = 8, held_out: bool = True
) -> list[tuple[int, torch.Tensor, torch.Tensor]]:
    """[(length, inputs, targets)]: ``n`` copy sequences drawn with ``seed``, spread evenly over ``lengths``, from
    the held-out share that training never draws (``held_out=False``: from the training share, for validation)."""
    generator = torch.Generator().manual_seed(seed)
    lengths = list(lengths)
    draws = []
    for length in lengths:
        count = n // len(lengths) + (1 if length in lengths[: n % len(lengths)] else 0)
        draws.append((length, *copy_batch(count, length, length, bits, generator, held_out)))
    return draws


@torch.no_grad()
def _copy_results(
    model: nn.Module, n: int, lengths, seed: int, held_out: bool = True, **options
) -> tuple[float, float, int]:
    """(mean wrong bits per sequence, share of sequences copied with every bit right, how many of the sequences
    lie in the share training draws from), ``n`` spread over lengths.

    ``options`` go to the model's forward (the NTM's ``slots`` while it trains on a smaller memory)."""
    model.eval()
    wrong, perfect, seen = 0.0, 0, 0
    for length, inputs, targets in copy_draws(n, lengths, seed, model.config.bits, held_out):
        predicted = (model(inputs, **options)[0][:, length + 1 :] > 0).float()
        wrong += (predicted != targets).sum().item()
        perfect += int((predicted == targets).all(-1).all(-1).sum())
        seen += seen_in_copy_training(targets.numpy())
    return wrong / n, perfect / n, seen


def bit_errors(model: nn.Module, n: int, lengths, seed: int, held_out: bool = True, **options) -> float:
    """Mean number of wrong bits per sequence over ``n`` copy sequences spread evenly over ``lengths``."""
    return _copy_results(model, n, lengths, seed, held_out, **options)[0]


def evaluate_copy(model: nn.Module, model_name: str = "ntm", n: int = 1000, seed: int = 0) -> dict:
    """Wrong bits per sequence on ``n`` sequences of lengths 1-20 (trained) and ``n`` of each longer length.

    The sequences come from the evaluation generator (``COPY_EVALUATION_SEED + seed``), never a training seed,
    and only from the held-out share of sequences that training never draws (:func:`ntm.is_held_out`).
    """
    errors, perfect, seen = _copy_results(model, n, TRAINED_COPY_LENGTHS, COPY_EVALUATION_SEED + seed)
    longer = {
        str(length): bit_errors(model, n, [length], COPY_EVALUATION_SEED + seed + 100 * length)
        for length in LONGER_COPY_LENGTHS
    }
    return {
        "task": "copy",
        "model": model_name,
        "n": n,
        "seed": seed,
        "generator_seed": COPY_EVALUATION_SEED + seed,
        "bit_errors_per_sequence": errors,
        "sequences_fully_correct": perfect,
        "seen_in_training": seen,  # 0: evaluation draws only the held-out share (checked, not assumed)
        "longer": longer,
    }


@torch.no_grad()
def document_scores(model: nn.Module, documents: list[docs.Document], word_hits: bool = True) -> dict:
    """Accuracy; with attention maps also how often the top sentence (and in it, with ``word_hits``, the top
    word) is the evidence."""
    model.eval()
    correct = on_evidence = on_word = 0
    for start in range(0, len(documents), CHUNK):
        chunk = documents[start : start + CHUNK]
        logits, attention = model(encode([d.sentences for d in chunk]))
        correct += sum(docs.LABELS[p] == d.label for p, d in zip(logits.argmax(-1).tolist(), chunk, strict=True))
        if attention:
            words, sentences = attention["words"][:, 0, 0], attention["sentences"][:, 0, 0, 0]  # (B, S, W), (B, S)
            top = sentences.argmax(-1).tolist()
            on_evidence += sum(s == d.evidence for s, d in zip(top, chunk, strict=True))
            on_word += sum(int(words[b, d.evidence].argmax()) == d.evidence_word for b, d in enumerate(chunk))
    result = {"accuracy": correct / len(documents)}
    if attention:
        result["top_sentence_is_evidence"] = on_evidence / len(documents)
    if attention and word_hits:
        result["top_word_is_evidence_word"] = on_word / len(documents)
    return result


def evaluate_han(model: nn.Module, n: int = 1000, seed: int = 0, model_name: str = "han") -> dict:
    """Accuracy and evidence hits on ``n`` fresh documents, none of them one a shipped model trained on."""
    held_out, skipped = fresh_documents(n, seed)
    return {
        "task": "documents",
        "model": model_name,
        "n": n,
        "seed": seed,
        "training_documents_skipped": skipped,
        **document_scores(model, held_out),
    }


def markdown_table(n: int = 1000, seed: int = 0) -> str:
    """Every shipped seq2seq (task, model) evaluated on ``n`` fresh examples, as a markdown table."""
    lines = [
        f"Evaluated on {n} fresh examples per task, seed {seed}: "
        f"`python -m attnviz evaluate --all --n {n} --seed {seed}`.",
        "",
        "| task | model | exact match | token accuracy | alignment agreement | mass on gold | AER | head |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for task in SEQ2SEQ_TASKS:
        for model in SEQ2SEQ_MODELS:
            r = evaluate(task, model, n=n, seed=seed)
            lines.append(
                f"| {task} | {model} | {r['exact_match']:.1%} | {r['token_accuracy']:.1%} | "
                f"{r['alignment_agreement']:.1%} | {r['mass_on_gold']:.1%} | {r['aer']:.3f} | "
                f"{r.get('best_head', 'temporal')} |"
            )
    return "\n".join(lines)


# One evaluation for each objective (attnviz.builtin.models.families): (task, model name, model, n, seed) -> results
EVALUATIONS: dict[Objective, Callable[[str, str, nn.Module, int, int], dict]] = {
    "seq2seq": evaluate_seq2seq,
    "copy": lambda task_name, model_name, model, n, seed: evaluate_copy(model, model_name, n, seed),
    "documents": lambda task_name, model_name, model, n, seed: evaluate_han(model, n, seed, model_name),
    "captions": lambda task_name, model_name, model, n, seed: evaluate_sat(model, n, seed, model_name),
    "objects": lambda task_name, model_name, model, n, seed: evaluate_vit(model, n, seed, model_name),
}
