"""Test-wide setup: no test may reach the network (loopback only)."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

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
