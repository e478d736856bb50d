"""The streaming extraction's softmax and row statistics, by the path ``ATTNVIZ_SOFTMAX`` chooses.

- ``compiled`` (the default): one pass through ``torch.compile`` (Inductor) over each row in segments of
  :data:`SEGMENT` keys: each key's ``exp(s - m)`` and each segment's sums, from which the row's sum ``Z``,
  largest weight ``1 / Z`` and entropy follow (a row's last keys short of a segment by torch's operations). The
  streaming path never divides the exponentials by ``Z``: every term it reads from them is linear in them (the
  output, the key sums, the thumbnail blocks), so it divides those, a row at a time, instead
  (:func:`exponentials`). Compiled once per process in the background (:func:`warm`); torch's operations while
  it compiles, for good if it fails, and for rows shorter than two segments.
- ``torch``: torch's operations, pass by pass (:func:`eager`).
- ``c``: attnviz's fused C kernel (:mod:`attnviz.long.native`), an opt-in; torch's operations where it cannot be
  built or loaded.

docs/long.md has the measurements that chose the default. Every path gives each row's entropy as
``-log(largest weight) - sum_j w_j (s_j - m)``, with the largest weight as the softmax wrote it, so that
:mod:`attnviz.long.reduce`'s set-aside entropy (which subtracts the first weight's own ``p log p``) cancels
nothing that was rounded elsewhere (``tests/unit/test_softmax.py``).
"""

from __future__ import annotations

import threading

import torch

from attnviz import settings
from attnviz.long import native

Rows = dict[str, torch.Tensor]
_COMPILED: dict[str, object] = {"function": None, "thread": None, "error": None}
_LOCK = threading.Lock()
SEGMENT = 256  # keys a segment: a reduction short enough to stay in the cache (a row's last keys short of one: torch)
# (rows, keys) compiled for: rows with keys after their last whole segment, and rows without (two graphs), symbolic
# from 2 up; thousands of rows, as a tile has, or Inductor plans one thread for them
PROBES = ((4096, 700), (4096, 512))


def rows(
    scores: torch.Tensor, out: torch.Tensor, blocks: tuple[int, int, int] | None, divided: bool = True
) -> tuple[torch.Tensor, Rows]:
    """(float32 weights, each row's "entropy" and "max" ``[heads, chunk]``, and "blocks" where the C kernel gave
    them) of contiguous ``scores`` ``[1, heads, chunk, keys]``; the weights are ``out`` (same shape) or
    ``scores`` itself, and the scores are used up either way. Not ``divided`` (the streaming path), the compiled
    pass leaves its exponentials undivided and adds each row's "scale" (``1 / Z``) to the terms instead."""
    path = settings.softmax()
    if path == "c":
        fused = native.softmax_rows(scores, *(blocks or (0, scores.shape[-1], 1)))  # None without the kernel
        if fused is not None:
            found = {"entropy": fused["entropy"][0], "max": fused["max"][0]}
            return scores, found | ({"blocks": fused["blocks"][0]} if blocks is not None else {})
    elif path == "compiled":
        found = exponentials(scores, out)
        if found is not None:
            weights, scale, terms = found
            if divided:
                return weights.mul_(scale[None, ..., None]), terms
            return weights, terms | {"scale": scale}
    return eager(scores, out)


def exponentials(scores: torch.Tensor, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, Rows] | None:
    """The compiled path: (``exp(s - m)`` in ``out``, not yet divided by the row's sum ``Z``; ``1 / Z`` ``[heads,
    chunk]``, the factor that makes them the weights; each row's "entropy" and "max"), or None where torch's path
    must answer (not the compiled path, not compiled yet, rows of fewer than two segments, a shape that would
    compile again). A row's last keys short of a whole segment take torch's operations. With ``m`` the largest
    score, the largest weight is ``exp(0) / Z`` and the entropy ``log Z - sum_j e_j (s_j - m) / Z``, eager's."""
    if settings.softmax() != "compiled":
        return None
    width, lead = scores.shape[-1], scores.shape[1:-1]
    rows, segments = scores.numel() // max(width, 1), width // SEGMENT
    if segments < 2 or rows < 2 or not (scores.is_contiguous() and out.is_contiguous()):
        return None  # sizes 0 and 1 are specialised: another compilation
    function = _COMPILED["function"]
    if function is None:
        warm()  # started once; this tile and the next take torch's path until it is ready
        return None
    flat, weights = scores.view(rows, width), out.view(rows, width)
    largest = flat.amax(-1, keepdim=True)
    try:
        with torch.no_grad(), torch.compiler.set_stance("fail_on_recompile"):  # compiled without autograd
            sums, moments = function(flat, largest, weights)
    except Exception:
        return None
    total, moment = sums.sum(-1), moments.sum(-1)
    if segments * SEGMENT < width:  # the last keys, short of a segment
        shifted = flat[:, segments * SEGMENT :] - largest
        tail = torch.exp(shifted, out=weights[:, segments * SEGMENT :])
        total, moment = total + tail.sum(-1), moment + (tail * shifted).sum(-1)
    scale = 1.0 / total
    entropy = -scale.log() - moment * scale
    return out, scale.view(lead), {"entropy": entropy.view(lead), "max": scale.view(lead)}


def eager(scores: torch.Tensor, out: torch.Tensor) -> tuple[torch.Tensor, Rows]:
    """torch's path: the weights (in ``out``) and each row's entropy and largest weight, pass by pass."""
    weights = torch.softmax(scores, -1, out=out)
    largest = weights.amax(-1)[0]  # exp(m - m) / Z
    scores.sub_(scores.amax(-1, keepdim=True))
    entropy = -largest.log() - scores.mul_(weights).sum(-1)[0]
    return weights, {"entropy": entropy, "max": largest}


def status() -> str:
    """Which softmax the streaming extraction uses here, in one sentence."""
    path = settings.softmax()
    if path == "c":
        return native.status()
    if path == "torch":
        return "torch's operations"
    if _COMPILED["function"] is not None:
        return "torch.compile (Inductor)"
    if _COMPILED["error"] is not None:
        return f"torch's operations (torch.compile failed here: {_COMPILED['error']})"
    return "torch's operations (torch.compile is still compiling)"


def warm() -> threading.Thread | None:
    """Get the chosen path ready: start compiling (in the background) or build the C kernel; the compiling
    thread, else None."""
    path = settings.softmax()
    if path == "c":
        native.kernel()
    if path != "compiled":
        return None
    with _LOCK:
        if _COMPILED["thread"] is None:
            _COMPILED["thread"] = threading.Thread(target=_compile, name="attnviz-softmax-compile", daemon=True)
            _COMPILED["thread"].start()
    return _COMPILED["thread"]


def _segments(scores: torch.Tensor, shift: torch.Tensor, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What torch.compile fuses into one pass over the whole segments of each row of ``scores`` ``[rows, keys]``
    (``shift``: each row's largest score, ``[rows, 1]``): ``out = exp(scores - shift)`` there, and each segment's
    sums of it and of it times ``scores - shift``."""
    rows, whole = scores.shape[0], scores.shape[1] // SEGMENT * SEGMENT
    shifted = (scores[:, :whole] - shift).view(rows, -1, SEGMENT)
    exponentials = shifted.exp()
    out[:, :whole].copy_(exponentials.view(rows, whole))
    return exponentials.sum(-1), (exponentials * shifted).sum(-1)


def _compile() -> None:
    """Compile :func:`_segments` for any number of rows and keys, whole segments or not (:data:`PROBES`); on any
    failure keep the reason and leave the function unset (torch's operations stay)."""
    try:
        function = torch.compile(_segments, dynamic=True)
        for n_rows, width in PROBES:
            probe = torch.randn(n_rows, width)
            with torch.no_grad():  # as every call runs (a change of grad mode would compile again)
                function(probe, probe.amax(-1, keepdim=True), torch.empty_like(probe))
        _COMPILED["function"] = function
    except Exception as error:
        _COMPILED["error"] = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
