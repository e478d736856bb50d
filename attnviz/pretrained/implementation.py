"""A model's attention implementation switched for one run and put back, whatever happens in the run.

attnviz runs its own attention functions (registered with transformers' ``AttentionInterface``: the short path's
capture, :mod:`attnviz.pretrained.capture`, and the streaming path, :mod:`attnviz.long.stream`) on models shared
by every session of the app. Both switch through :func:`attention_implementation`, which holds that model's own
lock (:func:`lock_of`) for the length of the run: one switched run of a model at a time, and every other caller
of that model meanwhile waits rather than running under a function it did not ask for. Two different models never
wait for each other (a visitor's long run of one model does not stall another's short extraction of another).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import torch

_LOCKS: weakref.WeakKeyDictionary[torch.nn.Module, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_LOCK = threading.Lock()  # held only to find or make a model's lock, never for a run


class NotSwitchable(ValueError):
    """The model's class does not take attention implementations by name (no attention interface)."""


def register(name: str, function) -> None:
    """Make ``name`` an attention implementation of transformers that runs ``function``, with eager attention's
    masks (a float mask added to the scores). Called at a module's first run, not on import: importing
    transformers' model code takes seconds, and pages that run only attnviz's own models should not wait for it."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    AttentionInterface.register(name, function)
    AttentionMaskInterface.register(name, eager_mask)


def lock_of(model: torch.nn.Module) -> threading.Lock:
    """The one lock of ``model`` (made at its first switch, gone with the model)."""
    with _LOCKS_LOCK:
        if model not in _LOCKS:
            _LOCKS[model] = threading.Lock()
        return _LOCKS[model]


@contextmanager
def attention_implementation(model: torch.nn.Module, name: str) -> Iterator[None]:
    """Run the block with ``model``'s attention implementation set to ``name`` (registered with transformers),
    then restore the one it had, also when the block raises. NotSwitchable if the model refuses ``name``."""
    with lock_of(model):
        previous = model.config._attn_implementation
        try:
            model.set_attn_implementation(name)
        except (ValueError, NotImplementedError) as refused:  # a model class without the attention interface
            raise NotSwitchable(f"{type(model).__name__} cannot run attention implementation {name!r}") from refused
        try:
            yield
        finally:
            model.set_attn_implementation(previous)
