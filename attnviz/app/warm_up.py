"""Import what every other page needs in the background while the home page is read."""

from __future__ import annotations

import functools
import threading

WARM_UP_DELAY_S = 2.0  # after the home page was sent: time for the browser to fetch and draw it first


@functools.cache
def prepare_other_pages(delay_s: float = WARM_UP_DELAY_S) -> threading.Thread:
    """Import what every other page needs (torch, the models: 2-3 s) and get long inputs' softmax ready (the
    path ATTNVIZ_SOFTMAX asks for: torch.compile's compilation, or the C kernel's build) in the background, once
    per process and ``delay_s`` after the home page was sent, so that the next click does not wait for it; an
    import then already running makes that page wait only for the rest."""
    thread = threading.Timer(delay_s, _prepare)
    thread.daemon = True
    thread.start()
    return thread


def _prepare() -> None:
    from attnviz.app import cache  # noqa: F401  (imported for its side effect: torch, transformers, the models)
    from attnviz.long import softmax

    softmax.warm()
