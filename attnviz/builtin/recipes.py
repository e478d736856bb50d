"""What each built-in model trains on: its data, its loss, its validation score and its stopping rule.

:func:`attnviz.builtin.train.fit` runs every recipe; a new model adds a recipe here, never a new loop. A model's
family (:mod:`attnviz.builtin.models.families`) names its recipe (its objective) and holds its training settings.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from attnviz.builtin import evaluate, evaluate_scenes
from attnviz.builtin.heldout import training_rng
from attnviz.builtin.models import sat, vit
from attnviz.builtin.models.families import Objective, family
from attnviz.builtin.models.han import encode
from attnviz.builtin.models.ntm import NTMConfig, copy_batch
from attnviz.builtin.models.seq2seq import make_batch
from attnviz.builtin.tasks import documents as docs
from attnviz.builtin.tasks import get_task
from attnviz.builtin.tasks import scenes as scene_task

VALIDATION_SEED = 10_000  # + the training seed: validation examples never come from the training stream
VALIDATION_EXAMPLES = 300


@dataclass
class TrainConfig:
    steps: int = 4000
    batch_size: int = 64
    learning_rate: float = 3e-3
    seed: int = 0
    eval_every: int = 250
    stop_at: float = 0.997  # the validation score that ends training early (see Recipe.done)
    warmup: int | None = None  # linear learning-rate warm-up over this many steps
    clip: float | None = None  # gradient norm clipping
    max_len: int = 10  # copy task: sequences of 1..max_len steps
    curriculum: tuple[int, int, float] | None = None  # copy: first (lengths 1..n, memory slots, errors that end it)
    coverage: float = 0.0  # sat: weight of the doubly stochastic attention penalty
    keep_best: bool = False  # end with the weights of the best validation score (of the final phase), not the last
    copy_validation: int = 200  # copy: validation sequences per check
    final_learning_rate: float | None = None  # copy: the learning rate once a curriculum reaches its last phase
    cosine: bool = False  # after the warm-up, the learning rate falls along a half cosine to 0 at ``steps``


@dataclass(frozen=True)
class Recipe:
    """What one model needs from the loop: a training batch, a loss, a validation score, a stopping rule."""

    next_batch: Callable[[], Any]
    loss: Callable[[nn.Module, Any], torch.Tensor]
    validate: Callable[[nn.Module], float]
    done: Callable[[float], bool]
    metric: str  # the validation score's name, for the progress bar
    lower_is_better: bool = False  # for keeping the best weights: errors (lower) or accuracy (higher)
    final: Callable[[], bool] = lambda: True  # whether validation now scores the final task (not a curriculum's start)
    rate: Callable[[], float] = lambda: 1.0  # a factor on the learning rate, read after every step


def default_config(model_name: str) -> TrainConfig:
    """A fresh copy of the training settings ``model_name`` is shipped with (its family's)."""
    return TrainConfig(**family(model_name).training)


def recipe(task_name: str, model_name: str, config: TrainConfig) -> Recipe:
    """The recipe of ``model_name`` on ``task_name`` under ``config`` (its family's objective's)."""
    return RECIPES[family(model_name).objective](task_name, config)


def seq2seq_loss(model: nn.Module, batch) -> torch.Tensor:
    """Cross-entropy of the gold target with teacher forcing, padding left out (a batch of ``make_batch``)."""
    source, target_in, target_out = batch
    logits = model(source, target_in)[0]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target_out.reshape(-1), ignore_index=0)


def seq2seq(task_name: str, config: TrainConfig) -> Recipe:
    """Cross-entropy on the gold target with teacher forcing; stop on validation exact match."""
    task = get_task(task_name)
    rng = training_rng(task_name, config.seed)
    validation = task.examples(VALIDATION_EXAMPLES, seed=VALIDATION_SEED + config.seed)

    return Recipe(
        next_batch=lambda: make_batch(task, [task.sample(rng) for _ in range(config.batch_size)]),
        loss=seq2seq_loss,
        validate=lambda model: evaluate.exact_match(model, task, validation),
        done=lambda score: score >= config.stop_at,
        metric="exact",
    )


def copy(task_name: str, config: TrainConfig) -> Recipe:
    """Bit-wise cross-entropy on the copy of random sequences; stop when few bits per sequence are wrong.

    With a ``curriculum`` (n, slots, errors) the NTM first copies lengths 1..n with ``slots`` memory slots until
    validation on those lengths falls under ``errors``, then 1..max_len with its full memory until ``stop_at``.
    """
    generator = torch.Generator().manual_seed(config.seed)
    first = config.curriculum
    phase = {"longest": first[0], "slots": {"slots": first[1]}, "stop": first[2]} if first else None
    now = phase or {"longest": config.max_len, "slots": {}, "stop": config.stop_at}

    def loss(model: nn.Module, batch) -> torch.Tensor:
        inputs, targets = batch
        logits = model(inputs, **now["slots"])[0][:, targets.shape[1] + 1 :]
        return F.binary_cross_entropy_with_logits(logits, targets)

    def done(errors: float) -> bool:
        if errors < now["stop"] and now["longest"] < config.max_len:
            now.update(longest=config.max_len, slots={}, stop=config.stop_at)
            return False
        return errors < now["stop"]

    def validate(model: nn.Module) -> float:
        lengths = range(1, now["longest"] + 1)
        return evaluate.bit_errors(
            model, config.copy_validation, lengths, VALIDATION_SEED + config.seed, False, **now["slots"]
        )

    return Recipe(
        next_batch=lambda: copy_batch(config.batch_size, 1, now["longest"], NTMConfig.bits, generator),
        loss=loss,
        validate=validate,
        done=done,
        metric="bits",
        lower_is_better=True,
        final=lambda: now["longest"] == config.max_len,
        rate=lambda: (
            (config.final_learning_rate or config.learning_rate) / config.learning_rate
            if first and now["longest"] == config.max_len
            else 1.0
        ),
    )


def documents(task_name: str, config: TrainConfig) -> Recipe:
    """Cross-entropy on the document's topic; stop on validation accuracy."""
    rng = training_rng(task_name, config.seed)  # "documents:train:<seed>", regenerated by attnviz.builtin.heldout
    validation = docs.documents(VALIDATION_EXAMPLES, seed=VALIDATION_SEED + config.seed)

    def batch():
        sampled = [docs.sample(rng) for _ in range(config.batch_size)]
        return encode([d.sentences for d in sampled]), torch.tensor([docs.LABELS.index(d.label) for d in sampled])

    return Recipe(
        next_batch=batch,
        loss=lambda model, b: F.cross_entropy(model(b[0])[0], b[1]),
        validate=lambda model: min(evaluate.document_scores(model, validation, word_hits=False).values()),
        done=lambda score: score >= config.stop_at,
        metric="score",  # accuracy, and with attention the lower of it and the evidence hits
    )


def captions(task_name: str, config: TrainConfig) -> Recipe:
    """Cross-entropy on the gold caption with teacher forcing plus the doubly stochastic penalty; stop on
    validation exact match."""
    rng = random.Random(f"scenes:train:{config.seed}")
    validation = scene_task.scenes(VALIDATION_EXAMPLES, seed=VALIDATION_SEED + config.seed)

    def batch():
        sampled = [scene_task.sample(rng) for _ in range(config.batch_size)]
        return sat.images_of(sampled), *sat.captions_of(sampled)

    def loss(model: nn.Module, b) -> torch.Tensor:
        images, words_in, words_out = b
        logits, attention = model(images, words_in)
        words = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), words_out.reshape(-1), ignore_index=0)
        return words + config.coverage * sat.coverage_penalty(attention["spatial"][:, 0, 0], words_out)

    return Recipe(
        next_batch=batch,
        loss=loss,
        validate=lambda model: evaluate_scenes.caption_exact_match(model, validation),
        done=lambda score: score >= config.stop_at,
        metric="exact",
    )


def objects(task_name: str, config: TrainConfig) -> Recipe:
    """Binary cross-entropy on which (colour, shape) objects a scene holds; stop on validation accuracy."""
    rng = random.Random(f"scenes:train:{config.seed}")
    validation = scene_task.scenes(VALIDATION_EXAMPLES, seed=VALIDATION_SEED + config.seed)

    def batch():
        sampled = [scene_task.sample(rng) for _ in range(config.batch_size)]
        return sat.images_of(sampled), vit.targets_of(sampled)

    return Recipe(
        next_batch=batch,
        loss=lambda model, b: F.binary_cross_entropy_with_logits(model(b[0])[0], b[1]),
        validate=lambda model: evaluate_scenes.objects_accuracy(model, validation),
        done=lambda accuracy: accuracy >= config.stop_at,
        metric="accuracy",
    )


def decoder(config: TrainConfig) -> Recipe:
    """Next-token cross-entropy on the packaged decoder's answers (reverse, dates and repeat texts in turn, from the
    training share); stop when the lowest validation score (reverse and dates exact match, accuracy on the second
    copy of repeats) reaches ``stop_at``."""
    from attnviz.builtin.decoder import batches, texts

    rng = random.Random(f"decoder:train:{config.seed}")
    tasks = texts.TEXT_TASKS
    validation = {task: texts.held_out_texts(task, 200, seed=VALIDATION_SEED + config.seed) for task in tasks}

    def validate(model: nn.Module) -> float:
        model.eval()
        tasks_right = [batches.exact_match(model, validation[task]) for task in ("reverse", "dates")]
        return min(*tasks_right, batches.repeat_accuracy(model, validation["repeat"])["second_copy"])

    return Recipe(
        next_batch=lambda: batches.encode([texts.draw(tasks[i % 3], rng, False) for i in range(config.batch_size)]),
        loss=batches.loss,
        validate=validate,
        done=lambda score: score >= config.stop_at,
        metric="lowest",
    )


RECIPES: dict[Objective, Callable[[str, TrainConfig], Recipe]] = {
    "seq2seq": seq2seq,
    "copy": copy,
    "documents": documents,
    "captions": captions,
    "objects": objects,
}
