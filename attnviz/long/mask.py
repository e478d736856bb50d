"""The mask a streamed layer gets: built a block of rows at a time, never whole.

transformers' ``eager_mask`` builds a float32 ``[1, 1, n, n]`` additive mask for every causal or sliding-window
layer kind: 4,096 MB at 32,768 tokens, held for the whole run and kept with the result. The streaming path
(:mod:`attnviz.long.stream`) registers :func:`row_mask` instead, which keeps transformers' own mask function and
builds each chunk's rows from it (with transformers' ``sdpa_mask``, then eager's 0 / dtype-minimum) when the chunk
runs; ``tests/unit/test_stream.py`` checks the weights against the model's own eager attention family by family.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers.masking_utils import eager_mask, sdpa_mask


class RowMask:
    """The additive mask ``[1, 1, q_length, kv_length]`` that transformers' ``eager_mask`` would build, never built
    whole: :meth:`rows` builds any block of it from the same mask function (causal, sliding window, ...), with
    transformers' own ``sdpa_mask``, when a chunk needs it."""

    def __init__(self, q_length: int, kv_length: int, mask_function: Callable, dtype: torch.dtype, device, offsets):
        self.shape = (1, 1, q_length, kv_length)
        self.dtype, self.device, self._function = dtype, device, mask_function
        self._q_offset, self._kv_offset = offsets

    def is_floating_point(self) -> bool:
        return True

    def rows(self, q0: int, q1: int, k0: int, k1: int) -> torch.Tensor:
        """The mask's queries q0..q1 over keys k0..k1, float ``[1, 1, q1 - q0, k1 - k0]``: 0 or the dtype's minimum."""
        seen = sdpa_mask(
            batch_size=1,
            q_length=q1 - q0,
            kv_length=k1 - k0,
            q_offset=self._q_offset + q0,
            kv_offset=self._kv_offset + k0,
            mask_function=self._function,
            allow_is_causal_skip=False,
            device=self.device,
        )
        return torch.where(seen, torch.zeros((), dtype=self.dtype, device=seen.device), torch.finfo(self.dtype).min)


def row_mask(batch_size, q_length, kv_length, q_offset=0, kv_offset=0, mask_function=None, attention_mask=None, **kw):
    """What the streamed layers get as their mask: a :class:`RowMask` for one unpadded sequence (the streamed
    case), transformers' dense eager mask otherwise (a padded batch, a custom vmap pattern)."""
    unpadded = attention_mask is None or bool(attention_mask.all())
    if batch_size != 1 or not unpadded or kw.get("use_vmap") or mask_function is None:
        return eager_mask(batch_size, q_length, kv_length, q_offset, kv_offset, mask_function, attention_mask, **kw)
    if kw.get("allow_is_bidirectional_skip") and kw.get("local_size") is None:  # every key visible: no mask
        return None
    dtype, device = kw.get("dtype", torch.float32), kw.get("device", "cpu")
    return RowMask(q_length, kv_length, mask_function, dtype, device, (q_offset, kv_offset))
