"""Test-wide setup: no test may reach the network (loopback only)."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Long inputs' softmax: torch's operations unless a test asks for another. The default, torch.compile's pass,
# answers with torch's operations until its background compilation is done, so a test's numbers would depend on
# that timing; its own tests (tests/unit/test_softmax.py) wait for it and compare the two.
os.environ.setdefault("ATTNVIZ_SOFTMAX", "torch")


def pytest_configure(config):
    """Compute expected values on the thread count the app uses (settings.torch_threads, 1): the app's pages
    run inside this process under AppTest, and a different count can change the last bit of a sum."""
    import torch

    torch.set_num_threads(1)


_real_connect = socket.socket.connect


def _is_loopback(address) -> bool:
    if isinstance(address, str | bytes):  # unix socket
        return True
    host = address[0]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may not reach the network: connect to {address!r} blocked")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any outbound (non-loopback) connection attempted by the code under test."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    yield


@pytest.fixture
def operator(monkeypatch):
    """The page runs for the operator (ATTNVIZ_HOSTED=0, a private server). Pages under AppTest are visitors by
    default, as every browser is until it opens the operator link: a test that needs any model or local folder,
    or the local limits, says so with this fixture."""
    monkeypatch.setenv("ATTNVIZ_HOSTED", "0")


@pytest.fixture
def silent_hub(monkeypatch):
    """Point the Hub endpoint at a loopback port that accepts connections and never answers (like a proxy
    that swallows traffic), so the real reachability probe runs and must give up by itself."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # set for every test above; the probe honours it
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel completes the handshake; nobody ever reads or writes
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{listener.getsockname()[1]}")
    yield
    listener.close()


NATIVE_MISSING = "the fused C kernel could not be built here (attnviz.long.native.status() says why)"


def need_native() -> None:
    """Skip a test of the fused C kernel where it cannot be built; fail it instead in CI (ATTNVIZ_REQUIRE_NATIVE=1)."""
    from attnviz.long import native

    if native.kernel() is None:
        skip_or_fail(f"{NATIVE_MISSING}: {native.status()}", "ATTNVIZ_REQUIRE_NATIVE")


def skip_or_fail(message: str, required_by: str) -> None:
    """Skip the test for want of something this machine lacks, or fail it where ``required_by`` is set (CI)."""
    if os.environ.get(required_by):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory):
    """``get(family)``: a tiny random image-to-text model of that family (tests/vlm_models.py), loaded by attnviz,
    made once a module."""
    from attnviz.pretrained.image_text import load as image_text

    from vlm_models import save_tiny_vlm

    cache = {}

    def get(name: str) -> image_text.LoadedImageText:
        if name not in cache:
            cache[name] = image_text.load(str(save_tiny_vlm(name, tmp_path_factory.mktemp(name))))
        return cache[name]

    return get


@pytest.fixture(params=["fused", "torch"])
def softmax_path(request, monkeypatch):
    """Run the test on torch's operations and on the opt-in fused C kernel (ATTNVIZ_SOFTMAX=c; the default,
    torch.compile's pass, has its own tests in test_softmax.py)."""
    if request.param == "fused":
        monkeypatch.setenv("ATTNVIZ_SOFTMAX", "c")
        need_native()
    else:
        monkeypatch.setenv("ATTNVIZ_SOFTMAX", "torch")
    return request.param


# Tiers: README's `pytest` runs unit and page tests; `slow` and `browser` are deselected by default (pyproject's
# addopts) and `pytest -m ""` runs everything, as CI does. A test in tests/browser/ is a browser test and one in
# tests/reproduce/ a slow one, by its folder; a slow test elsewhere says so with @pytest.mark.slow.
TIER_OF_FOLDER = {"browser": "browser", "reproduce": "slow"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        folder = item.path.parent.name
        if folder in TIER_OF_FOLDER:
            item.add_marker(TIER_OF_FOLDER[folder])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    limit = os.environ.get("ATTNVIZ_UNMARKED_LIMIT_S")
    unmarked = not (item.get_closest_marker("slow") or item.get_closest_marker("browser"))
    if limit and call.when == "call" and unmarked and report.passed and call.duration > float(limit):
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} took {call.duration:.1f} s, over the default tier's {float(limit):.0f} s limit: "
            "make it faster, or mark it @pytest.mark.slow (or move it to tests/reproduce/)"
        )
    return report
