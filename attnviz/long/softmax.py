"""The streaming extraction's softmax and row statistics, by the path ``ATTNVIZ_SOFTMAX`` chooses.

- ``torch`` (the default): torch's operations, pass by pass.
- ``compiled``: the same arithmetic through ``torch.compile`` (Inductor), compiled once per process in the
  background (:func:`warm`); torch's operations while it compiles, and for good if it fails.
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
# (rows, keys) compiled for: Inductor keeps rows of up to 4,096 keys in one persistent reduction and guards on it,
# so two widths on each side of that make two graphs that serve every width from 2 keys up
PROBES = ((3, 5), (4, 7), (3, 4100), (4, 4200))


def rows(scores: torch.Tensor, out: torch.Tensor, blocks: tuple[int, int, int] | None) -> tuple[torch.Tensor, Rows]:
    """(float32 weights, each row's "entropy" and "max" ``[heads, chunk]``, and "blocks" where the C kernel gave
    them) of contiguous ``scores`` ``[1, heads, chunk, keys]``; the weights are ``out`` (same shape) or
    ``scores`` itself, and the scores are used up either way."""
    path = settings.softmax()
    if path == "c":
        fused = native.softmax_rows(scores, *(blocks or (0, scores.shape[-1], 1)))  # None without the kernel
        if fused is not None:
            found = {"entropy": fused["entropy"][0], "max": fused["max"][0]}
            return scores, found | ({"blocks": fused["blocks"][0]} if blocks is not None else {})
    elif path == "compiled":
        found = _by_compiled(scores, out)
        if found is not None:
            return out, found
    return eager(scores, out)


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


def _statistics(scores: torch.Tensor, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What torch.compile fuses: softmax of ``scores`` ``[rows, keys]`` into ``out``, each row's largest weight
    and entropy."""
    shifted = scores - scores.amax(-1, keepdim=True)
    exponentials = shifted.exp()
    largest = 1.0 / exponentials.sum(-1, keepdim=True)  # exp(m - m) / Z: the weight the softmax writes there
    weights = exponentials * largest
    out.copy_(weights)
    return largest[:, 0], -largest[:, 0].log() - (shifted * weights).sum(-1)


def _compile() -> None:
    """Compile :func:`_statistics` for any number of rows and keys (:data:`PROBES`); on any failure keep the
    reason and leave the function unset (torch's operations stay)."""
    try:
        function = torch.compile(_statistics, dynamic=True)
        for n_rows, width in PROBES:
            probe = torch.randn(n_rows, width)
            function(probe, torch.empty_like(probe))
        _COMPILED["function"] = function
    except Exception as error:
        _COMPILED["error"] = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def _by_compiled(scores: torch.Tensor, out: torch.Tensor) -> Rows | None:
    """The compiled path's rows, or None (torch's path) while it compiles, after it failed, or where a shape
    would make it compile again (it never compiles on the request's time)."""
    function = _COMPILED["function"]
    if function is None:
        warm()
        return None
    width = scores.shape[-1]
    flat = scores.view(-1, width)
    if flat.shape[0] < 2 or width < 2:  # sizes 0 and 1 are specialised: another compilation
        return None
    try:
        with torch.compiler.set_stance("fail_on_recompile"):
            largest, entropy = function(flat, out.view(-1, width))
    except Exception:
        return None
    lead = scores.shape[1:-1]
    return {"entropy": entropy.view(lead), "max": largest.view(lead)}
