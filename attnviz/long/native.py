"""The streaming extraction's fused softmax (``softmax_rows.c``), compiled for this machine on first use.

torch has no operation that writes attention weights and their row statistics in one pass, and at 8,192
tokens the separate passes over each chunk's weights (softmax, row maxima, entropy sums, thumbnail blocks) cost
a third of the extraction (docs/benchmarks.md). :func:`kernel` compiles the C file next to this module with the
system's C compiler (``$CC`` or ``cc``; about 0.2 s) into ``$XDG_CACHE_HOME/attnviz`` (else ``~/.cache``), keyed
by the source, the flags and the CPU, and loads it with ctypes, only from a folder and a file that are the user's
own and writable by nobody else. It is an opt-in (``ATTNVIZ_SOFTMAX=c``, :mod:`attnviz.long.softmax`): torch's
operations are the default (docs/long.md measures both). Without a compiler, or if the build or the load fails,
it answers None and the extraction takes torch's path: the same numbers (within float32 rounding:
``tests/unit/test_native.py``). :func:`status` says which, in one sentence.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("softmax_rows.c")
FLAGS = ("-O3", "-march=native", "-fopenmp", "-fno-math-errno", "-shared", "-fPIC")
SYMBOL = "attnviz_softmax_rows"
_ARGS = [
    ctypes.c_void_p,
    ctypes.c_int64,
    ctypes.c_int64,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_int64,
    ctypes.c_int64,
    ctypes.c_int64,
    ctypes.c_int,
]


CPU_FIELDS = ("model name", "flags", "Features", "CPU implementer", "CPU architecture", "CPU variant", "CPU part")


class BuildError(RuntimeError):
    """The fused kernel could not be built or loaded here; the message says why, in one sentence."""


def kernel():
    """The fused softmax (a ctypes function), or None where it cannot be built or loaded."""
    return _loaded()[0]


def status() -> str:
    """Which softmax the streaming extraction uses where it asks for this kernel, in one sentence."""
    function, said = _loaded()
    if function is None:
        return f"torch's operations ({said})"
    return f"the fused C kernel ({said} {' '.join(FLAGS[:3])})"


def softmax_rows(scores: torch.Tensor, k0: int, fk: int, n_cols: int) -> dict[str, torch.Tensor] | None:
    """Softmax of the contiguous float32 ``scores`` ``[..., width]`` in place, and per row: "max" (the largest
    weight), "entropy" and "blocks" ``[..., n_cols]`` (sums over blocks of ``fk`` keys, the first column being
    key ``k0``); None, and ``scores`` left as they are, where there is no kernel (:func:`status` says why)."""
    function = kernel()
    if function is None:
        return None
    if scores.dtype != torch.float32 or not scores.is_contiguous() or scores.device.type != "cpu":
        raise ValueError("the fused softmax needs contiguous float32 scores on the CPU")
    width = scores.shape[-1]
    if width == 0 or k0 < 0 or fk < 1 or (k0 + width - 1) // fk >= n_cols:
        raise ValueError(f"keys {k0}..{k0 + width - 1} in blocks of {fk} do not fit {n_cols} columns")
    rows = scores.numel() // width
    largest, entropy = torch.empty(rows), torch.empty(rows)
    blocks = torch.empty(rows, n_cols)
    function(
        scores.data_ptr(),
        rows,
        width,
        largest.data_ptr(),
        entropy.data_ptr(),
        blocks.data_ptr(),
        n_cols,
        k0,
        fk,
        torch.get_num_threads(),
    )
    lead = scores.shape[:-1]
    return {"max": largest.view(lead), "entropy": entropy.view(lead), "blocks": blocks.view(*lead, n_cols)}


@functools.cache
def _loaded():
    """(the kernel, the compiler that built it), or (None, why not): once per process, a failure included."""
    try:
        return _built()
    except BuildError as error:
        return None, str(error)


def _built():
    """Compile (once per source, flags, compiler and CPU) and load the kernel: (it, the compiler's path); raises
    :class:`BuildError`."""
    compiler, version = _compiler()
    source = SOURCE.read_bytes()
    key = hashlib.sha256(b"\0".join([source, " ".join(FLAGS).encode(), version.encode(), _cpu().encode()]))
    target = _cache_dir() / f"softmax_rows-{key.hexdigest()[:16]}.so"
    if not target.exists():
        _compile(compiler, target)
    _check_owner(target)
    try:
        function = getattr(ctypes.CDLL(str(target)), SYMBOL)
    except (OSError, AttributeError) as error:
        raise BuildError(f"the compiled kernel would not load: {error}") from None
    function.argtypes, function.restype = _ARGS, None
    return function, compiler


def _compiler() -> tuple[str, str]:
    """The C compiler's path and its version line; raises :class:`BuildError` where there is none."""
    name = os.environ.get("CC", "cc")
    path = shutil.which(name)
    if path is None:
        raise BuildError(f"no C compiler: {name!r} is not on the PATH")
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as error:
        raise BuildError(f"the C compiler {name!r} does not run: {error}") from None
    return path, version.stdout.partition("\n")[0]


def _compile(compiler: str, target: Path) -> None:
    """Build into a temporary file beside ``target``, then move it in place (two processes may race)."""
    try:
        handle, partial = tempfile.mkstemp(suffix=".so", dir=target.parent)
        os.close(handle)
    except OSError as error:
        raise BuildError(f"no place to build the kernel: {error}") from None
    try:
        done = subprocess.run(
            [compiler, *FLAGS, "-o", partial, str(SOURCE)], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise BuildError(f"the C compiler failed on {SOURCE.name}: {last}")
        os.replace(partial, target)
    except (OSError, subprocess.SubprocessError) as error:
        raise BuildError(f"the C compiler did not finish: {error}") from None
    finally:
        Path(partial).unlink(missing_ok=True)


def _cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "attnviz"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BuildError(f"no place to keep the compiled kernel: {error}") from None
    _check_owner(base)
    return base


def _check_owner(path: Path) -> None:
    """BuildError unless ``path`` is this user's and nobody else may write to it (a library loaded from there
    runs inside the server)."""
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise BuildError(f"{path} belongs to another user or others may write to it; the kernel is not loaded from it")


def _cpu() -> str:
    """What -march=native compiles for: the architecture, and the CPU's model and flags (x86: "model name",
    "flags"; ARM: "CPU implementer", "CPU part", "Features" ...), so a cache copied to another CPU rebuilds;
    BuildError where /proc/cpuinfo tells none of them (a build could not be told apart from another CPU's)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    lines = [line for line in info.splitlines() if line.startswith(CPU_FIELDS)]
    if not lines:
        raise BuildError("this CPU cannot be identified from /proc/cpuinfo, so a cached build might not fit it")
    return "\n".join([platform.machine(), *dict.fromkeys(line.replace("\t", "") for line in lines)])
