"""The Hub probe honours HF_HUB_OFFLINE without a connection; a load error never shows the Hub's address."""

import http.server
import socket
import threading

import pytest
from huggingface_hub import constants

from attnviz.pretrained import hf


@pytest.fixture
def answering_hub(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # tests/conftest.py sets it for every test
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)  # answers 501
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    yield constants.ENDPOINT
    server.shutdown()


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_hf_hub_offline_is_unreachable_without_any_connection(answering_hub, monkeypatch, value):
    assert hf.hub_reachable(timeout=3.0) is True  # the endpoint answers
    tried = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: tried.append(a))
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert hf.hub_reachable(timeout=3.0) is False
    assert tried == []


def test_a_hub_load_error_never_shows_the_endpoint(answering_hub, monkeypatch):
    def refuse(name, location, device, local_only):
        if local_only:
            raise OSError("not in the cache")
        raise OSError(f"We couldn't connect to '{answering_hub}' to load the files (host {answering_hub[7:]}).")

    monkeypatch.setattr(hf, "_load", refuse)
    with pytest.raises(hf.ModelLoadError) as raised:
        hf.load("someone/no-such-model")
    assert str(raised.value) == (
        "Could not load 'someone/no-such-model' from the Hugging Face Hub: We couldn't connect to the Hub to load "
        "the files (host the Hub)."
    )
