"""The one rule of the app's caches: check the visitor's rights, then call the cached function.

A cached result made for the operator must never reach a visitor who may not load that model, so the check runs
on every call, outside the cache, before anything is loaded or looked up. :func:`guarded` declares it next to the
function it protects::

    @guarded(st.cache_data(max_entries=64), models=("model_id",), limits=("max_attention_mb",))
    def run(model_id: str, text: str, max_attention_mb: int) -> Extraction: ...

``run(model_id, text)`` checks ``model_id`` (PermissionError if this visitor may not load it), reads this
visitor's ``max_attention_mb`` and calls the cached function with it, so that the limit keys the cache too.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from attnviz import settings

LIMIT_NAMES = frozenset(field.name for field in fields(settings.Limits))


@dataclass(frozen=True)
class Guard:
    """What one guarded function checks: the parameters that hold model ids, and the limits it is given."""

    name: str
    models: tuple[str, ...]
    limits: tuple[str, ...]
    function: Callable  # the function as written (what the cache runs)
    cached: Callable  # the cached function, called once the check has passed


GUARDS: list[Guard] = []  # every guarded function of the app, in the order they are declared


def guarded(
    cache: Callable[[Callable], Callable], models: tuple[str, ...] = ("model_id",), limits: tuple[str, ...] = ()
):
    """Decorate a function with ``cache`` (an ``st.cache_*`` decorator) behind this visitor's rights.

    ``models``: the parameters checked with :func:`attnviz.settings.check_model` before the cached call.
    ``limits``: fields of :class:`attnviz.settings.Limits`, parameters of the function too, read for this visitor
    and passed in by name (callers never pass them; ``wrapper.cached`` takes them, for a guarded caller).
    """
    unknown = set(limits) - LIMIT_NAMES
    if unknown:
        raise ValueError(f"not limits of attnviz.settings.Limits: {', '.join(sorted(unknown))}")

    def wrap(function: Callable) -> Callable:
        signature = inspect.signature(function)
        public = signature.replace(parameters=[p for p in signature.parameters.values() if p.name not in limits])
        missing = (set(models) | set(limits)) - set(signature.parameters)
        if missing:
            raise ValueError(f"{function.__name__} has no parameter {', '.join(sorted(missing))}")
        cached = cache(function)

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any):
            bound = public.bind(*args, **kwargs)
            for name in models:
                settings.check_model(bound.arguments[name])
            caps = settings.limits()
            bound.apply_defaults()
            return cached(**bound.arguments, **{name: getattr(caps, name) for name in limits})

        call.__signature__ = public
        call.cached = cached
        call.clear = cached.clear
        GUARDS.append(Guard(function.__name__, tuple(models), tuple(limits), function, cached))
        return call

    return wrap
