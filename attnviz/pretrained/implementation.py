"""A model's attention implementation switched for one run and put back, whatever happens in the run.

attnviz runs its own attention functions (registered with transformers' ``AttentionInterface``: the short path's
capture, :mod:`attnviz.pretrained.capture`, and the streaming path, :mod:`attnviz.long.stream`) on models shared
by every session of the app. Both switch through :func:`attention_implementation`, which holds :data:`SWITCH` for
the length of the run: one switched run at a time, whoever asks, and every other caller of the shared model
meanwhile waits rather than running under a function it did not ask for.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

SWITCH = threading.Lock()


class NotSwitchable(ValueError):
    """The model's class does not take attention implementations by name (no attention interface)."""


@contextmanager
def attention_implementation(model: torch.nn.Module, name: str) -> Iterator[None]:
    """Run the block with ``model``'s attention implementation set to ``name`` (registered with transformers),
    then restore the one it had, also when the block raises. NotSwitchable if the model refuses ``name``."""
    with SWITCH:
        previous = model.config._attn_implementation
        try:
            model.set_attn_implementation(name)
        except (ValueError, NotImplementedError) as refused:  # a model class without the attention interface
            raise NotSwitchable(f"{type(model).__name__} cannot run attention implementation {name!r}") from refused
        try:
            yield
        finally:
            model.set_attn_implementation(previous)
