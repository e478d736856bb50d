"""One torch thread for a block of work: the same arithmetic order on every machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one torch thread, then restore the count. Training uses it for weights that reproduce
    bit for bit; the corpus engines for numbers that neither batching nor engine change (they scale out by
    processes instead, and on a shared machine one thread is also the fastest)."""
    import torch  # lazily: the corpus job's driver may run without touching a model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
