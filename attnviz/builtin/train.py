"""One training loop for every built-in model (nanoGPT's train.py is the model: one loop, one validation).

A model brings its data, its loss and its stopping rule (a :class:`Recipe`, in ``attnviz.builtin.recipes``);
:func:`fit` does the rest. One CPU thread and fixed seeds make every run reproducible bit for bit.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, replace

import torch
from torch import nn
from tqdm import tqdm

from attnviz.builtin.models.families import build_model
from attnviz.builtin.recipes import Recipe, TrainConfig, default_config, recipe
from attnviz.threads import one_thread

__all__ = ["Recipe", "TrainConfig", "fit", "one_thread", "rate_factor", "train"]


def _better(score: float, best: tuple | None, lower_is_better: bool) -> bool:
    if best is None:
        return True
    return score < best[1] if lower_is_better else score > best[1]


def rate_factor(step: int, config: TrainConfig) -> float:
    """The learning-rate factor after ``step`` steps (the recipe's own factor aside): a linear warm-up over
    ``config.warmup`` steps, then 1, or with ``config.cosine`` half a cosine from 1 down to 0 at ``config.steps``."""
    warmup = config.warmup or 1
    factor = min(1.0, (step + 1) / warmup)
    if config.cosine:
        progress = min(1.0, max(0, step - warmup) / max(1, config.steps - warmup))
        factor *= 0.5 * (1.0 + math.cos(math.pi * progress))
    return factor


def fit(model: nn.Module, recipe: Recipe, config: TrainConfig, desc: str = "", progress: bool = True) -> dict:
    """Adam on ``recipe.loss`` until ``config.steps`` or ``recipe.done(validation score)``; returns the report."""
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    schedule = None
    if config.warmup or config.final_learning_rate or config.cosine:  # the recipe's factor too (a curriculum's)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: rate_factor(s, config) * recipe.rate())
    report, best = {"losses": [], "validation": []}, None
    start, bar = time.perf_counter(), tqdm(range(config.steps), disable=not progress, desc=desc)
    for step in bar:
        model.train()
        loss = recipe.loss(model, recipe.next_batch())
        optimiser.zero_grad()
        loss.backward()
        if config.clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimiser.step()
        if schedule is not None:
            schedule.step()
        report["losses"].append(loss.item())
        if (step + 1) % config.eval_every == 0:
            score = recipe.validate(model)
            report["validation"].append((step + 1, score))
            if config.keep_best and recipe.final() and _better(score, best, recipe.lower_is_better):
                best = (step + 1, score, copy.deepcopy(model.state_dict()))
            bar.set_postfix({"loss": f"{loss.item():.4f}", recipe.metric: f"{score:.3f}"})
            if recipe.done(score):
                break
    if best is not None:  # the weights of the best validation score: [step, score] in the report
        model.load_state_dict(best[2])
        report["kept"] = [best[0], best[1]]
    report.update(steps=len(report["losses"]), seconds=time.perf_counter() - start, config=asdict(config))
    report["kernels"] = torch.backends.cpu.get_cpu_capability()  # AVX2 for the shipped checkpoints
    return report


def train(
    task_name: str, model_name: str, config: TrainConfig | None = None, progress: bool = True, **changes
) -> tuple[nn.Module, dict]:
    """Train ``model_name`` on ``task_name`` from a fixed seed; returns (model in eval mode, report).

    ``config`` defaults to the model's own (``recipes.default_config``); ``changes`` override its fields.
    """
    config = replace(config or default_config(model_name), **changes)
    with one_thread():
        torch.manual_seed(config.seed)
        model = build_model(task_name, model_name)
        report = fit(model, recipe(task_name, model_name, config), config, f"{task_name} {model_name}", progress)
    report.update(task=task_name, model=model_name)
    return model.eval(), report
