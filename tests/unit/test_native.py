"""The fused C softmax (attnviz/long/softmax_rows.c through attnviz/long/native.py) against float64 arithmetic done
here,
and what happens where it cannot be built: one sentence saying why, and torch's path with the same numbers."""

from __future__ import annotations

import os
import shutil
import stat

import numpy as np
import pytest
import torch
from conftest import need_native
from test_stream import DECODERS, tiny
from test_stream_attention import attention_module, chunk_inputs

from attnviz.long import native, softmax
from attnviz.long.chunks import chunk_attention, widen
from attnviz.long.reduce import Layout
from attnviz.pretrained.eager import eager_of

LOW = torch.finfo(torch.float32).min


def expected(scores: np.ndarray, k0: int, fk: int, n_cols: int) -> dict[str, np.ndarray]:
    """Softmax, largest weight, entropy and block sums of float32 ``scores`` ``[rows, width]``, in float64."""
    s = scores.astype(np.float64)
    e = np.exp(s - s.max(-1, keepdims=True))
    w = e / e.sum(-1, keepdims=True)
    logs = np.log(np.where(w > 0, w, 1.0))
    blocks = np.zeros((len(s), n_cols))
    for j in range(s.shape[1]):
        blocks[:, (k0 + j) // fk] += w[:, j]
    return {"weights": w, "max": w.max(-1), "entropy": -(w * logs).sum(-1), "blocks": blocks}


def rows(width: int, seed: int) -> torch.Tensor:
    """Six rows: flat, peaked, very peaked, half masked, one key left, and every key masked (uniform, as torch)."""
    generator = torch.Generator().manual_seed(seed)
    out = torch.randn(6, width, generator=generator) * torch.tensor([0.1, 3.0, 30.0, 3.0, 1.0, 1.0])[:, None]
    out[3, width // 2 :] = LOW
    out[4, 1:] = LOW
    out[5] = LOW
    return out


@pytest.mark.parametrize(("width", "k0", "fk"), [(1, 0, 1), (7, 0, 3), (129, 5, 16), (1000, 300, 128), (4100, 0, 64)])
def test_the_fused_softmax_equals_float64_arithmetic(width, k0, fk):
    need_native()
    scores = rows(width, width)
    n_cols = (k0 + width - 1) // fk + 2  # one column more than the keys reach: it stays 0
    want = expected(scores.numpy(), k0, fk, n_cols)
    got = native.softmax_rows(scores, k0, fk, n_cols)
    np.testing.assert_allclose(scores.numpy(), want["weights"], rtol=2e-6, atol=1e-9)  # in place
    np.testing.assert_allclose(got["max"].numpy(), want["max"], rtol=2e-6)
    np.testing.assert_allclose(got["entropy"].numpy(), want["entropy"], atol=2e-6)
    np.testing.assert_allclose(got["blocks"].numpy(), want["blocks"], atol=2e-6)
    assert (got["blocks"][:, -1] == 0).all()
    assert (scores[4, 1:] == 0).all() and scores[4, 0] == 1.0  # masked keys get exactly 0


def test_its_exponential_is_accurate_over_float32s_whole_range():
    """Scores from -87 to 0 in one row (largest 0, so each weight is exp(s) / Z): every weight above float32's
    smallest normal number within 3e-7 of float64's, and 0 below exp's range."""
    need_native()
    scores = torch.cat([torch.linspace(-87.0, 0.0, 50_001), torch.tensor([-88.0, -100.0, -1e30])])[None]
    e = np.exp(scores[0, :-3].double().numpy())
    exact = e / e.sum()
    native.softmax_rows(scores, 0, 64, 782)
    normal = exact > np.finfo(np.float32).tiny
    relative = np.abs(scores[0, :-3].double().numpy() - exact)[normal] / exact[normal]
    assert relative.max() < 3e-7
    assert (scores[0, -3:] <= np.finfo(np.float32).tiny).all()


def test_any_number_of_threads_gives_the_same_bits():
    need_native()
    scores = rows(3000, 1).repeat(7, 1)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            copy = scores.clone()
            results.append((copy, native.softmax_rows(copy, 0, 100, 30)))
    finally:
        torch.set_num_threads(before)
    for copy, got in results[1:]:
        assert torch.equal(copy, results[0][0])
        for name in ("max", "entropy", "blocks"):
            assert torch.equal(got[name], results[0][1][name])


def test_it_refuses_what_it_cannot_compute():
    need_native()
    with pytest.raises(ValueError, match="contiguous float32"):
        native.softmax_rows(torch.zeros(4, 6).T, 0, 2, 4)
    with pytest.raises(ValueError, match="contiguous float32"):
        native.softmax_rows(torch.zeros(4, 6, dtype=torch.float64), 0, 2, 4)
    with pytest.raises(ValueError, match="do not fit 2 columns"):
        native.softmax_rows(torch.zeros(4, 6), 1, 2, 2)  # keys 1..6 reach block 3
    with pytest.raises(ValueError, match="in blocks of 0"):
        native.softmax_rows(torch.zeros(4, 6), 0, 0, 4)
    with pytest.raises(ValueError, match="keys -1..4"):
        native.softmax_rows(torch.zeros(4, 6), -1, 2, 4)


@pytest.fixture
def fresh_build(monkeypatch, tmp_path):
    """An empty kernel cache and no kernel loaded in this process (both put back afterwards)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    native._loaded.cache_clear()
    yield tmp_path
    native._loaded.cache_clear()


def fake_compiler(folder, body: str) -> str:
    path = folder / "fake-cc"
    path.write_text(f"#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'fake cc 1.0'; exit 0; fi\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


@pytest.mark.parametrize(
    ("compiler", "why"),
    [
        ("no-such-cc", "no C compiler: 'no-such-cc' is not on the PATH"),
        ("false", "the C compiler 'false' does not run"),
        ("fake", "the C compiler failed on softmax_rows.c: error: no room"),
    ],
)
def test_without_a_working_compiler_it_says_why_and_torchs_path_gives_the_same_numbers(
    fresh_build, monkeypatch, compiler, why
):
    monkeypatch.setenv("ATTNVIZ_SOFTMAX", "c")
    body = "echo 'error: no room' >&2\nexit 1"
    monkeypatch.setenv("CC", fake_compiler(fresh_build, body) if compiler == "fake" else compiler)
    assert native.kernel() is None
    assert native.status().startswith(f"torch's operations ({why}")
    assert not list((fresh_build / "cache" / "attnviz").glob("*"))  # no half-built file left behind
    scores = torch.randn(2, 5)
    assert native.softmax_rows(scores.clone(), 0, 5, 1) is None
    model = tiny(DECODERS["gemma2 (softcap, alternating windows)"])
    module = attention_module(model)
    query, key, value, mask = chunk_inputs(module, 4, 2, 8)
    out, weights, rows_ = chunk_attention(query, key, value, mask, scaling=0.3, softcap=2.0)
    options = {"scaling": 0.3, "softcap": 2.0, "dropout": 0.0}
    expected_out, expected_weights = eager_of(module)(module, query, key, value, mask, **options)
    np.testing.assert_allclose(weights.numpy(), expected_weights.numpy(), atol=1e-6)
    np.testing.assert_allclose(out.numpy(), expected_out.numpy(), atol=1e-5)
    assert "blocks" not in rows_


def test_the_kernel_is_built_once_then_loaded_from_the_cache(fresh_build, monkeypatch):
    need_native()
    assert native.kernel() is not None
    built = list((fresh_build / "cache" / "attnviz").glob("softmax_rows-*.so"))
    assert len(built) == 1
    stamp = built[0].stat().st_mtime_ns
    native._loaded.cache_clear()  # as a new process would start
    monkeypatch.setenv("CC", fake_compiler(fresh_build, "exit 1"))  # another compiler: another build (failing)
    assert native.kernel() is None
    monkeypatch.delenv("CC")
    native._loaded.cache_clear()
    assert native.kernel() is not None and built[0].stat().st_mtime_ns == stamp  # loaded, not built again
    assert native.status().startswith("the fused C kernel")


def test_by_default_the_extraction_does_not_ask_for_it(monkeypatch):
    monkeypatch.delenv("ATTNVIZ_SOFTMAX", raising=False)
    monkeypatch.setattr(native, "kernel", lambda: pytest.fail("the default path asked for the C kernel"))
    assert not softmax.status().startswith("the fused C kernel")
    model = tiny(DECODERS["gemma2 (softcap, alternating windows)"])
    query, key, value, mask = chunk_inputs(attention_module(model), 4, 2, 8)
    layout = Layout(4, 3, torch.zeros(12, 4))
    rows = chunk_attention(query, key, widen(value, layout.columns[2:]), mask, reduce=(layout, 5, 2))[2]
    assert rows["blocks"].shape == (4, 7, 3)  # computed by torch's operations, the kernel never asked


def need_compiler() -> None:
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("no C compiler here: the build stops before the cache folder is looked at")


def test_a_read_only_cache_folder_means_torchs_path_not_a_crash(fresh_build, monkeypatch):
    need_compiler()

    def read_only(*args, **kwargs):  # what a folder this user may not write to answers (chmod binds no root)
        raise PermissionError(13, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr(native.tempfile, "mkstemp", read_only)
    assert native.kernel() is None
    assert native.status().startswith("torch's operations (no place to build the kernel: [Errno 13] Permission")


@pytest.mark.parametrize("mode", [0o777, 0o620])
def test_a_cache_others_may_write_to_is_not_loaded(fresh_build, mode):
    need_compiler()
    cache = fresh_build / "cache" / "attnviz"
    cache.mkdir(parents=True)
    cache.chmod(mode | 0o700)
    assert native.kernel() is None
    assert "others may write to it; the kernel is not loaded from it" in native.status()


def test_a_cached_build_others_may_write_to_is_not_loaded(fresh_build):
    need_native()
    [built] = (fresh_build / "cache" / "attnviz").glob("softmax_rows-*.so")
    built.chmod(0o666)
    native._loaded.cache_clear()
    assert native.kernel() is None and "others may write to it" in native.status()


ARM = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd sve\nCPU implementer\t: 0x41\nCPU part\t: {part}\n"


def test_arm_cpus_are_told_apart(monkeypatch):
    """On aarch64 /proc/cpuinfo has no "model name" or "flags": the cache key must still differ per CPU."""
    keys = []
    for part in ("0xd0c", "0xd40"):
        monkeypatch.setattr(native.Path, "read_text", lambda self, part=part: ARM.format(part=part))
        keys.append(native._cpu())
    assert keys[0] != keys[1] and "CPU part: 0xd0c" in keys[0] and "Features: fp asimd sve" in keys[0]
    monkeypatch.setattr(native.Path, "read_text", lambda self: "processor\t: 0\n")
    with pytest.raises(native.BuildError, match="cannot be identified"):
        native._cpu()
