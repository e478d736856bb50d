"""Blocks before the first ablated one compute what the clean run computed: take their outputs from it.

Ablating a head of layer ``l`` changes nothing before block ``l`` (the transformer layer that holds it), so a
batch whose copies all ablate heads of block ``l`` or later takes the outputs of blocks ``0 .. l - 1`` from the
clean run (recorded once, one copy, repeated over the batch) instead of running them: the 144 heads of a 12-layer
model cost 78 layers' worth of copies of 12 instead of 144 of 12. A block is the child of a ``ModuleList`` that
holds an attention layer (``model.layers.3``, ``transformer.h.3``, ``encoder.layer.3``, ``decoder.block.3``);
blocks are ordered as their attention layers first ran (an encoder-decoder's encoder blocks come first).

The blocks' ``forward`` is replaced for the length of one run only (under the model's lock), and the replacement
acts only for the thread and context of that run: any other caller of the shared model runs the real blocks.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch


@dataclass
class Prefix:
    """The blocks of a model in running order, the clean run's output of each, and how many a run takes from it."""

    blocks: tuple[torch.nn.Module, ...]
    block_of: dict[torch.nn.Module, int]  # attention module -> index of its block
    outputs: dict[int, object] = field(default_factory=dict)
    skip: int = 0  # blocks 0 .. skip - 1 are taken from outputs
    copies: int = 1
    recording: bool = False  # the clean run (one copy): keep each block's output


_ACTIVE: contextvars.ContextVar[Prefix | None] = contextvars.ContextVar("attnviz_ablate_prefix", default=None)


def prefix_of(model: torch.nn.Module, attention_modules: list[torch.nn.Module]) -> Prefix:
    """The blocks holding ``attention_modules`` (given in the order they ran)."""
    names = {module: name for name, module in model.named_modules()}
    parents = {name: module for module, name in names.items()}
    blocks: list[torch.nn.Module] = []
    block_of = {}
    for module in attention_modules:
        block = _block(names[module], parents)
        if block is None:
            return Prefix((), {})  # not a stack of layers attnviz recognises: nothing is skipped
        if block not in blocks:
            blocks.append(block)
        block_of[module] = blocks.index(block)
    return Prefix(tuple(blocks), block_of)


def _block(name: str, parents: dict[str, torch.nn.Module]) -> torch.nn.Module | None:
    """The outermost ancestor of module ``name`` that is a child of a ModuleList."""
    parts = name.split(".")
    for end in range(1, len(parts)):
        if isinstance(parents.get(".".join(parts[:end])), torch.nn.ModuleList):
            return parents[".".join(parts[: end + 1])]
    return None


def _repeated(value, copies: int):
    """``value`` (a block's output for one copy) for ``copies`` copies: every tensor with one item on its first
    dimension repeated along it; a tuple or list element-wise."""
    if isinstance(value, torch.Tensor):
        return value.expand(copies, *value.shape[1:]).contiguous() if value.shape[:1] == (1,) else value
    if isinstance(value, tuple | list):
        return type(value)(_repeated(v, copies) for v in value)
    return value


def _cloned(value):
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, tuple | list):
        return type(value)(_cloned(v) for v in value)
    return value


def _replacement(index: int, block: torch.nn.Module, forward):
    def replaced(*args, **kwargs):
        prefix = _ACTIVE.get()
        if prefix is None or index >= len(prefix.blocks) or prefix.blocks[index] is not block:
            return forward(*args, **kwargs)  # another caller of the shared model
        if index < prefix.skip:
            return _repeated(prefix.outputs[index], prefix.copies)
        output = forward(*args, **kwargs)
        if prefix.recording:
            prefix.outputs[index] = _cloned(output)
        return output

    return replaced


@contextmanager
def installed(prefix: Prefix | None) -> Iterator[None]:
    """Run the block with ``prefix``'s blocks recording (the clean run) or taken from the record (``skip``)."""
    if prefix is None or not prefix.blocks:
        yield
        return
    saved = [block.__dict__.get("forward") for block in prefix.blocks]
    for index, block in enumerate(prefix.blocks):
        block.forward = _replacement(index, block, block.forward)
    token = _ACTIVE.set(prefix)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
        for block, before in zip(prefix.blocks, saved, strict=True):
            del block.forward
            if before is not None:
                block.forward = before
