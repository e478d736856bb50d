"""The seq2seq models (RNN and Transformer) on a task: batches, greedy decoding and forced decoding to maps."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from attnviz.builtin.models.registry import MAP_KINDS
from attnviz.builtin.tasks import EOS, Example, Task, get_task
from attnviz.builtin.tasks.base import BOS
from attnviz.maps.attention_map import AttentionMap


@dataclass(frozen=True)
class Translation:
    """A model's greedy output for one source and the attention it used to produce it."""

    source: tuple[str, ...]
    output: tuple[str, ...]  # emitted tokens, without <eos>
    finished: bool  # False if decoding hit the length limit before <eos>
    maps: dict[str, AttentionMap]  # rnn: temporal; transformer: encoder, decoder, cross
    # The app's run (:func:`run`) adds the maps with the gold target fed in (:func:`force`); None where the task's rules
    # give no gold target, and from :func:`decode`.
    gold: dict[str, AttentionMap] | None = None


def pad(sequences: list[list[int]]) -> torch.Tensor:
    """Right-pad id lists with 0 into a (B, T) tensor."""
    width = max(len(s) for s in sequences)
    return torch.tensor([s + [0] * (width - len(s)) for s in sequences], dtype=torch.long)


def make_batch(task: Task, examples: list[Example]):
    """Examples -> source ids (B, S), decoder input (B, T+1) and target ids (B, T+1)."""
    source = pad([task.source_vocab.encode(e.source) for e in examples])
    target = [task.target_vocab.encode((BOS, *e.target, EOS)) for e in examples]
    return source, pad([t[:-1] for t in target]), pad([t[1:] for t in target])


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


def run(task_name: str, model_name: str, model: nn.Module, text: str) -> Translation:
    """The app's run (:class:`~attnviz.builtin.models.families.Family`): ``text`` tokenised for the task
    (TaskInputError if it can't be), greedy-decoded, and its attention with the gold target fed in where there is
    one."""
    task = get_task(task_name)
    source = task.tokenize(text)
    label = f"{model_name} · {task_name}"
    [translation] = decode(model, task, [source], label)
    example = task.reference(source)
    return replace(translation, gold=None if example is None else force(model, task, example, label))


def _maps(attention: dict[str, torch.Tensor], b: int, source, emitted, label: str) -> dict[str, AttentionMap]:
    """Example ``b`` of ``{map name: (B, layers, heads, T_q, T_k)}`` as AttentionMaps, cut to its tokens."""
    emitted_special = [t == EOS for t in emitted]
    inputs = (BOS, *emitted[:-1])  # decoder self-attention: each input token looks at earlier ones
    inputs_special = [t in (BOS, EOS) for t in inputs]
    layouts = {  # map name: (queries, keys, query special, key special)
        "temporal": (emitted, source, emitted_special, ()),
        "encoder": (source, source, (), ()),
        "decoder": (inputs, inputs, inputs_special, inputs_special),
        "cross": (emitted, source, emitted_special, ()),
    }
    maps = {}
    for name, weights in attention.items():
        query, key, query_special, key_special = layouts[name]
        cut = np.asarray(weights[b, :, :, : len(query), : len(key)], dtype=np.float32)
        kind = MAP_KINDS[name]
        maps[name] = AttentionMap(cut, tuple(query), tuple(key), kind, label, tuple(query_special), tuple(key_special))
    return maps
