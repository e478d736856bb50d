"""One spec per family of built-in models: how a model of it is built, what it is trained and measured on, the
settings it trains with, and what the app runs on a shipped one. The model names, tasks and maps are in
:mod:`~attnviz.builtin.models.registry` (no torch there); a model's ``architecture`` names its family here.

A new family adds its module (model, config, run), a line here and its models' lines in the registry; its objective
names the one recipe (:data:`attnviz.builtin.recipes.RECIPES`) and the one evaluation
(:data:`attnviz.builtin.evaluate.EVALUATIONS`) that serve it, so that loading a model imports no training code; its
``run`` (a pure function in its own module) is what the app's one cached run (``attnviz.app.cache.run_builtin``)
calls through :func:`run`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from torch import nn

from attnviz.builtin.models import han, lstm, ntm, sat, seq2seq, vit
from attnviz.builtin.models.han import HAN, HANConfig
from attnviz.builtin.models.lstm import CopyLSTM, CopyLSTMConfig
from attnviz.builtin.models.ntm import NTM, NTMConfig
from attnviz.builtin.models.registry import Architecture, ModelName, ModelSpec, check_pair, spec
from attnviz.builtin.models.rnn import RNNConfig, RNNSeq2Seq
from attnviz.builtin.models.sat import SAT, SATConfig
from attnviz.builtin.models.transformer import TransformerConfig, TransformerSeq2Seq
from attnviz.builtin.models.vit import ViT, ViTConfig
from attnviz.builtin.tasks import get_task

# What a family is trained on and measured by: each names one recipe and one evaluation.
Objective = Literal["seq2seq", "copy", "documents", "captions", "objects"]
OBJECTIVES: tuple[Objective, ...] = get_args(Objective)
# What the app runs on a shipped model: (task name, model name, model, its page's input) -> what the page shows. The
# input is hashable (a string, or tuples of them and numbers), so that the app can cache the result by it.
Run = Callable[[str, str, nn.Module, Hashable], Any]


@dataclass(frozen=True)
class Family:
    """A family of built-in models: its module's model and config classes, its objective, its training settings and
    the function the app runs on a shipped model of it."""

    model: type[nn.Module]
    config: type
    objective: Objective
    training: dict[str, Any] = field(default_factory=dict)  # fields of recipes.TrainConfig that differ from its own
    task_sized: bool = False  # the config takes the task's vocabularies and its longest target
    run: Run = field(kw_only=True)

    def build(self, config: dict) -> nn.Module:
        """An untrained model with the configuration ``config`` (a checkpoint's, or :meth:`fresh`'s)."""
        return self.model(self.config(**config))

    def fresh(self, model: ModelSpec, task_name: str) -> dict:
        """The configuration of a freshly initialised ``model`` of this family for ``task_name``."""
        fields = dict(model.config)
        if self.task_sized:
            task = get_task(task_name)
            fields |= {
                "source_vocab_size": len(task.source_vocab),
                "target_vocab_size": len(task.target_vocab),
                "max_target_len": task.max_target_len + 4,
            }
        return fields


_NTM_TRAINING = dict(
    steps=6000,
    batch_size=16,
    learning_rate=1e-3,
    stop_at=0.005,
    clip=10.0,
    max_len=20,
    curriculum=(10, 32, 0.05),
    keep_best=True,
    copy_validation=1000,
    final_learning_rate=3e-4,
)  # NTM training is unstable (at 1e-3 on 1-20, validation errors jump from 0.02 to 35): a lower rate there
# and the best weights kept

FAMILIES: dict[Architecture, Family] = {
    "rnn": Family(RNNSeq2Seq, RNNConfig, "seq2seq", dict(warmup=200, clip=1.0), task_sized=True, run=seq2seq.run),
    "transformer": Family(
        TransformerSeq2Seq,
        TransformerConfig,
        "seq2seq",
        dict(learning_rate=2e-3, warmup=200, clip=1.0),
        task_sized=True,
        run=seq2seq.run,
    ),
    "ntm": Family(NTM, NTMConfig, "copy", _NTM_TRAINING, run=ntm.copy_pattern),
    # a learning curve fine enough to compare
    "han": Family(HAN, HANConfig, "documents", dict(steps=2000, stop_at=0.995, eval_every=50), run=han.classify_text),
    "sat": Family(SAT, SATConfig, "captions", dict(steps=3000, coverage=0.01, stop_at=0.99), run=sat.caption_scene),
    # the ViT runs its whole cosine schedule: stopped half way down, at a lucky validation score, it falls short
    "vit": Family(
        ViT,
        ViTConfig,
        "objects",
        dict(steps=1600, learning_rate=4e-3, warmup=100, clip=1.0, stop_at=1.0, cosine=True),
        run=vit.name_scene,
    ),
    # The memory baseline: the NTM's data, batch and optimiser for the 4,750 steps the NTM took, on lengths 1-20
    # from the first step (no curriculum: it is given every length from the start).
    "lstm": Family(
        CopyLSTM, CopyLSTMConfig, "copy", _NTM_TRAINING | dict(curriculum=None, steps=4750), run=lstm.copy_pattern
    ),
}


def family(name: str) -> Family:
    """The family of the built-in model called ``name`` (ValueError listing the models there are)."""
    return FAMILIES[spec(name).architecture]


def build_model(task_name: str, name: ModelName) -> nn.Module:
    """A freshly initialised ``name`` sized for ``task_name`` (ValueError if that model is not trained on it)."""
    check_pair(task_name, name)
    return family(name).build(family(name).fresh(spec(name), task_name))


def rebuild(name: ModelName, config: dict) -> nn.Module:
    """An untrained ``name`` with the configuration a checkpoint saved."""
    return family(name).build(config)


def run(task_name: str, model_name: str, model: nn.Module, given: Hashable) -> Any:
    """What the app shows of ``model_name`` (loaded as ``model``) on its page's input ``given``: its family's run.
    ValueError if that model is not trained on ``task_name``."""
    check_pair(task_name, model_name)
    return family(model_name).run(task_name, model_name, model, given)
