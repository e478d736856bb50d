"""The built-in models: build them for a task, decode user input, turn their weights into AttentionMaps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from attnviz.attention import AttentionMap
from attnviz.models.rnn import SCORES, RNNConfig, RNNSeq2Seq
from attnviz.models.transformer import TransformerConfig, TransformerSeq2Seq
from attnviz.tasks import EOS, Example, Task
from attnviz.tasks.base import BOS

MODEL_NAMES = tuple(f"rnn-{score}" for score in SCORES) + ("transformer",)


@dataclass(frozen=True)
class Translation:
    """A model's greedy output for one source and the attention it used to produce it."""

    source: tuple[str, ...]
    output: tuple[str, ...]  # emitted tokens, without <eos>
    finished: bool  # False if decoding hit the length limit before <eos>
    maps: dict[str, AttentionMap]  # rnn: temporal; transformer: encoder, decoder, cross


def build_model(task: Task, model_name: str) -> nn.Module:
    """A freshly initialised model of ``model_name`` sized for ``task``."""
    sizes = dict(source_vocab_size=len(task.source_vocab), target_vocab_size=len(task.target_vocab))
    if model_name.startswith("rnn-") and model_name[4:] in SCORES:
        return RNNSeq2Seq(RNNConfig(**sizes, score=model_name[4:], max_target_len=task.max_target_len + 4))
    if model_name == "transformer":
        return TransformerSeq2Seq(TransformerConfig(**sizes, max_target_len=task.max_target_len + 4))
    raise ValueError(f"unknown model {model_name!r}: choose one of {', '.join(MODEL_NAMES)}")


def pad(sequences: list[list[int]]) -> torch.Tensor:
    """Right-pad id lists with 0 into a (B, T) tensor."""
    width = max(len(s) for s in sequences)
    return torch.tensor([s + [0] * (width - len(s)) for s in sequences], dtype=torch.long)


def decode(model: nn.Module, task: Task, sources: list[tuple[str, ...]], label: str = "") -> list[Translation]:
    """Greedy-decode a batch of tokenised sources; every output carries its AttentionMaps."""
    model.eval()
    ids = pad([task.source_vocab.encode(s) for s in sources])
    bos, eos = task.target_vocab.index[BOS], task.target_vocab.index[EOS]
    tokens, attention = model.greedy(ids, bos, eos)
    results = []
    for b, source in enumerate(sources):
        row = tokens[b].tolist()
        length = row.index(eos) + 1 if eos in row else len(row)
        emitted = task.target_vocab.decode(row[:length])
        maps = _maps(attention, b, source, emitted, label)
        results.append(Translation(source, tuple(t for t in emitted if t != EOS), eos in row, maps))
    return results


@torch.no_grad()
def force(model: nn.Module, task: Task, example: Example, label: str = "") -> dict[str, AttentionMap]:
    """Attention with the gold target fed to the decoder (teacher forcing): rows are the gold tokens."""
    model.eval()
    source = pad([task.source_vocab.encode(example.source)])
    target_in = pad([task.target_vocab.encode((BOS, *example.target))])
    _, attention = model(source, target_in)
    return _maps(attention, 0, example.source, (*example.target, EOS), label)


def _maps(attention, b: int, source, emitted, label: str) -> dict[str, AttentionMap]:
    S, T = len(source), len(emitted)
    emitted_special = [t == EOS for t in emitted]
    if isinstance(attention, torch.Tensor):  # RNN: (B, T, S)
        weights = attention[b, :T, :S].numpy()[None, None]
        return {"temporal": _map(weights, emitted, source, "temporal", label, emitted_special)}
    inputs = (BOS, *emitted[:-1])  # decoder self-attention: each input token looks at earlier ones
    inputs_special = [t in (BOS, EOS) for t in inputs]
    return {
        "encoder": _map(attention["encoder"][b, :, :, :S, :S], source, source, "self", label),
        "decoder": _map(
            attention["decoder"][b, :, :, :T, :T], inputs, inputs, "causal", label, inputs_special, inputs_special
        ),
        "cross": _map(attention["cross"][b, :, :, :T, :S], emitted, source, "cross", label, emitted_special),
    }


def _map(weights, query, key, kind, label, query_special=(), key_special=()) -> AttentionMap:
    weights = np.asarray(weights, dtype=np.float32)
    return AttentionMap(weights, tuple(query), tuple(key), kind, label, tuple(query_special), tuple(key_special))


__all__ = ["MODEL_NAMES", "Translation", "build_model", "decode", "force", "pad"]
