"""Operator rights are never inferred from a connection: a browser is the operator only after it opened the
operator link (``/?operator=<token>``) that the server printed, or on a server declared private (ATTNVIZ_HOSTED=0)."""

from __future__ import annotations

import base64
import hmac
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from streamlit.testing.v1 import AppTest
from test_pages import open_page

from attnviz import settings
from attnviz.app import rights

APP = Path(__file__).resolve().parents[2] / "app.py"
PROBE = """
import streamlit as st
from attnviz import settings
from attnviz.app import rights

rights.claim_from_link()
st.write(f"hosted={settings.limits().hosted}")
"""


def _probe(**params) -> AppTest:
    """A script that reads the operator link and says which limits this session gets."""
    at = AppTest.from_string(PROBE, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


@pytest.fixture(autouse=True)
def default_mode(monkeypatch):
    monkeypatch.delenv("ATTNVIZ_HOSTED", raising=False)


def test_a_browser_session_without_the_operator_link_is_a_visitor():
    """No forwarding header, no client address (AppTest's session has neither, as a loopback browser or a bare
    proxy looks): that used to make the operator; now it is a visitor."""
    at = _probe()
    assert not at.exception and at.markdown[0].value == "hosted=True"


def test_the_operator_link_makes_that_session_the_operator_and_leaves_the_url():
    at = _probe(operator=settings.operator_token(), hf_text="kept")
    assert not at.exception and at.markdown[0].value == "hosted=False"
    assert at.session_state[settings.OPERATOR_KEY] is True
    assert dict(at.query_params) == {"hf_text": "kept"}  # the token is gone from the URL, the rest stays
    assert _probe().markdown[0].value == "hosted=True"  # another session is still a visitor


@pytest.mark.parametrize(
    "wrong",
    ["", "x", settings.operator_token()[:-1], settings.operator_token() + "x", "ü"],
    ids=["empty", "short", "truncated", "extended", "non-ascii"],
)
def test_a_wrong_token_is_a_visitor_and_leaves_the_url_too(wrong):
    at = _probe(operator=wrong)
    assert not at.exception and at.markdown[0].value == "hosted=True"
    assert "operator" not in at.query_params


def test_the_token_is_compared_in_constant_time(monkeypatch):
    compared, constant_time = [], hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr(settings.hmac, "compare_digest", spy)
    token = settings.operator_token()
    assert settings.is_operator_token(token) and not settings.is_operator_token("guess")
    assert compared == [(token.encode(), token.encode()), (b"guess", token.encode())]


def test_the_token_is_a_secret_of_this_process():
    token = settings.operator_token()
    assert token == settings.operator_token() and len(token) >= 40  # token_urlsafe(32): 256 random bits


def test_hosted_mode_ignores_the_token(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    at = _probe(operator=settings.operator_token())
    assert at.markdown[0].value == "hosted=True" and "operator" not in at.query_params


def test_server_code_outside_any_session_fails_closed(monkeypatch):
    """The runtime exists but there is no script context (a server thread, no client): a visitor."""
    from streamlit import runtime

    assert settings.visitor_is_operator()  # off the web (no runtime): the command line is the operator
    monkeypatch.setattr(runtime, "exists", lambda: True)
    assert not settings.visitor_is_operator()
    assert settings.limits().allowed_models is not None


def test_a_visitors_refusal_never_tells_which_paths_exist(tmp_path):
    """Default mode, a session without the link: /etc, a missing path and a folder holding a real model all get
    the one sentence (before, a session without client context was the operator and got the loader's errors)."""
    from hf_models import save_tiny

    real = save_tiny("bert", tmp_path / "bert")
    refusals = []
    for model_id in ("/etc", str(tmp_path / "missing"), str(real)):
        at = open_page("pages/pretrained.py", hf_model=model_id)
        assert not at.exception
        refusals.append([e.value for e in at.error])
    assert refusals[0] == refusals[1] == refusals[2] and len(refusals[0]) == 1
    assert "only loads these models for visitors" in refusals[0][0] and "/etc" not in refusals[0][0]


def test_the_operator_link_on_a_page_lifts_the_limits(tmp_path):
    from hf_models import save_tiny

    folder = save_tiny("gpt2", tmp_path / "tiny-gpt2")
    at = open_page("pages/pretrained.py", hf_model=str(folder), operator=settings.operator_token())
    assert not at.exception and not at.error
    assert "You are the operator" in " ".join(c.value for c in at.sidebar.caption)


def test_the_operator_link_is_printed_once_per_process(monkeypatch, capsys):
    monkeypatch.setattr(rights, "_printed", [])
    AppTest.from_file(str(APP), default_timeout=60).run()
    AppTest.from_file(str(APP), default_timeout=60).run()
    printed = capsys.readouterr().err
    assert printed.count("?operator=") == 1
    assert f"/?operator={settings.operator_token()}" in printed
    assert rights.print_link_once() is False


def test_the_link_is_not_printed_where_nobody_or_everybody_is_the_operator(monkeypatch, capsys):
    monkeypatch.setattr(rights, "_printed", [])
    for value in ("0", "1"):
        monkeypatch.setenv("ATTNVIZ_HOSTED", value)
        assert rights.print_link_once() is False
    assert "operator=" not in capsys.readouterr().err


def test_the_operators_share_link_never_carries_the_token():
    from test_ui_state import share_link

    at = open_page("pages/self_attention.py", tf_text="my friend ate the cake", operator=settings.operator_token())
    assert at.session_state[settings.OPERATOR_KEY] is True and "operator" not in at.query_params
    link = share_link(at, "tf_")
    assert "operator" not in link and settings.operator_token() not in str(link)
    assert link["tf_text"] == ["my friend ate the cake"]


def _websocket_handshake(port: int, host: str) -> bytes:
    """The status line Streamlit answers a WebSocket upgrade to its stream with, for this Host header."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request.encode())
        return connection.recv(200).split(b"\r\n")[0]


def test_a_rebound_host_name_gets_no_websocket():
    """server.allowedHosts (.streamlit/config.toml): a page whose own name was rebound to 127.0.0.1 is refused."""
    from benchmarks.browser_support import streamlit_server

    with streamlit_server() as url:
        port = urlsplit(url).port
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "attnviz.hf.space"):
            assert _websocket_handshake(port, host) == b"HTTP/1.1 101 Switching Protocols", host
        for host in (f"rebound.example:{port}", "127.0.0.1.rebound.example", "evilhf.space"):
            assert _websocket_handshake(port, host) == b"HTTP/1.1 403 Forbidden", host
