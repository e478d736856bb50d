"""Float32 blocks for the big arrays of short extractions, kept and reused once nobody holds them.

Every short extraction writes all of its weights into one new array (75 MB for MiniLM at 512 tokens). Memory that a
process has never used, or gave back to the system, must be mapped page by page on first write; on this project's
virtual machines that usually costs 5 ms for 75 MB, but one time in ten it took 200-300 ms (measured on 2026-11-30:
a fresh 75 MB array filled 20 times, other allocations freed in between). A block kept here is already mapped.
A block is free again when no array refers to it any more: every view of a NumPy array refers to the array that
owns its memory, so a block whose only references are this pool's own is not visible to anyone, and its contents
can be overwritten without changing a number anybody holds. That is why every block is declared to the data type
(:func:`~attnviz.maps.attention_map.declare_sole_writer`): an AttentionMap keeps a read-only view of a block without a
copy, as it keeps a read-only array that owns its memory, and copies a view of anybody else's writeable memory.

The free blocks kept are bounded by bytes (:data:`FREE_BYTES`); blocks in use belong to their results, which the
app's caches bound.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

from attnviz.maps.attention_map import declare_sole_writer

FREE_BYTES = 320_000_000  # free blocks kept for reuse, at most (MiniLM at 512 tokens needs 75 MB per result)
_UNUSED_REFERENCES = 2  # the pool's list and getrefcount's own argument (blocks are only read by index)


class Pool:
    """Blocks of float32 memory; :meth:`take` hands out a view of one that nobody else refers to."""

    def __init__(self, free_bytes: int = FREE_BYTES):
        self.free_bytes = free_bytes
        self.blocks: list[np.ndarray] = []  # one-dimensional float32 arrays that own their memory
        self._lock = threading.Lock()

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        """A writeable C-contiguous float32 array of ``shape`` (contents undefined) in a block nobody holds."""
        size = int(np.prod(shape))
        with self._lock:
            index = next((i for i in range(len(self.blocks)) if self._fits(i, size)), None)
            found = declare_sole_writer(np.empty(max(size, 1), np.float32)) if index is None else self.blocks.pop(index)
            self.blocks.append(found)  # most recently used last
            self._trim()
            return found[:size].reshape(shape)

    def _fits(self, index: int, size: int) -> bool:
        return size <= self.blocks[index].size <= 2 * size and self._unused(index)

    def _unused(self, index: int) -> bool:
        return sys.getrefcount(self.blocks[index]) <= _UNUSED_REFERENCES

    def owns(self, array: np.ndarray) -> bool:
        """Whether ``array`` is a view of one of this pool's blocks."""
        return any(array.base is block for block in self.blocks)

    def _trim(self) -> None:
        """Drop the least recently used free blocks until they and the block just handed out (the last, soon
        free again) fit in ``free_bytes``; other blocks in use are not counted and never dropped."""
        free = [i for i in range(len(self.blocks) - 1) if self._unused(i)]
        kept = self.blocks[-1].nbytes + sum(self.blocks[i].nbytes for i in free)
        dropped = set()
        for i in free:  # oldest first
            if kept <= self.free_bytes:
                break
            kept -= self.blocks[i].nbytes
            dropped.add(i)
        self.blocks = [block for i, block in enumerate(self.blocks) if i not in dropped]


POOL = Pool()
