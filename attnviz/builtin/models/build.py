"""Build a built-in model by its registry name: freshly initialised for a task, or from a saved config."""

from __future__ import annotations

from torch import nn

from attnviz.builtin.models.han import HAN, HANConfig
from attnviz.builtin.models.lstm import CopyLSTM, CopyLSTMConfig
from attnviz.builtin.models.ntm import NTM, NTMConfig
from attnviz.builtin.models.registry import ModelName, check_pair, spec
from attnviz.builtin.models.rnn import RNNConfig, RNNSeq2Seq
from attnviz.builtin.models.sat import SAT, SATConfig
from attnviz.builtin.models.transformer import TransformerConfig, TransformerSeq2Seq
from attnviz.builtin.models.vit import ViT, ViTConfig
from attnviz.builtin.tasks import get_task


def build_model(task_name: str, name: ModelName) -> nn.Module:
    """A freshly initialised ``name`` sized for ``task_name`` (ValueError if that model is not trained on it)."""
    check_pair(task_name, name)
    model = spec(name)
    if model.architecture == "ntm":
        return NTM(NTMConfig())
    if model.architecture == "han":
        return HAN(HANConfig(pooling="mean" if name == "han-mean" else "attention"))
    if model.architecture in ("sat", "vit", "lstm"):
        model_class, config_class = CONFIGS[model.architecture]
        return model_class(config_class())
    task = get_task(task_name)
    sizes = dict(source_vocab_size=len(task.source_vocab), target_vocab_size=len(task.target_vocab))
    if model.architecture == "rnn":
        return RNNSeq2Seq(RNNConfig(**sizes, score=model.score, max_target_len=task.max_target_len + 4))
    heads = {"n_heads": model.heads} if model.heads else {}
    return TransformerSeq2Seq(TransformerConfig(**sizes, max_target_len=task.max_target_len + 4, **heads))


CONFIGS = {
    "rnn": (RNNSeq2Seq, RNNConfig),
    "transformer": (TransformerSeq2Seq, TransformerConfig),
    "ntm": (NTM, NTMConfig),
    "han": (HAN, HANConfig),
    "sat": (SAT, SATConfig),
    "vit": (ViT, ViTConfig),
    "lstm": (CopyLSTM, CopyLSTMConfig),
}


def rebuild(name: ModelName, config: dict) -> nn.Module:
    """An untrained ``name`` with the configuration a checkpoint saved."""
    model_class, config_class = CONFIGS[spec(name).architecture]
    return model_class(config_class(**config))
