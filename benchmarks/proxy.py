"""A reverse proxy on loopback that adds headers to every request, as nginx or a hosting platform does in
front of a deployed app (``X-Forwarded-For`` and friends), websocket upgrades included."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

HEAD_END = b"\r\n\r\n"
MAX_HEAD = 64 * 1024


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes until ``source`` closes, then close ``sink`` for writing."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _read_head(client: socket.socket) -> tuple[bytes, bytes] | None:
    """(request head without its blank line, bytes already read past it), or None if the client hung up."""
    data = b""
    while HEAD_END not in data:
        chunk = client.recv(65536)
        if not chunk or len(data) > MAX_HEAD:
            return None
        data += chunk
    head, rest = data.split(HEAD_END, 1)
    return head, rest


def rewrite_head(head: bytes, extra: dict[str, str]) -> bytes:
    """The request head with ``extra`` headers added. A plain request also gets ``Connection: close``, so that
    every request comes on a new connection and through this function; a websocket upgrade stays open."""
    request_line, *lines = head.split(b"\r\n")
    upgrade = any(line.lower().startswith(b"upgrade:") for line in lines)
    kept = [line for line in lines if upgrade or not line.lower().startswith(b"connection:")]
    added = [f"{name}: {value}".encode() for name, value in extra.items()]
    if not upgrade:
        added.append(b"Connection: close")
    return b"\r\n".join([request_line, *kept, *added]) + HEAD_END


def _serve(client: socket.socket, upstream_port: int, extra: dict[str, str]) -> None:
    with client:
        request = _read_head(client)
        if request is None:
            return
        head, rest = request
        with socket.create_connection(("127.0.0.1", upstream_port)) as upstream:
            upstream.sendall(rewrite_head(head, extra) + rest)
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join()


@contextlib.contextmanager
def forwarding_proxy(upstream_port: int, extra: dict[str, str]) -> Iterator[str]:
    """Yield the base URL of a proxy on a free loopback port that forwards to ``upstream_port`` on loopback,
    adding ``extra`` headers to every request."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                client, _ = listener.accept()
                client.settimeout(None)
                threading.Thread(target=_serve, args=(client, upstream_port, extra), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join()
        listener.close()
