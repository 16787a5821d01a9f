"""The HTTP client sends a request again only where that cannot write twice: on a kept-alive
connection the server closed before answering, and only an idempotent request.

The peer is a real socket server on loopback that answers a connection's first request and
closes the connection when the next one arrives, unanswered (a server that dropped an idle
connection just as the client reused it, or one that closed it after a 500 without saying so).
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from modelyard.errors import Unavailable
from modelyard.store.rest import HttpTransport

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok": 1.0}'


class Peer:
    def __init__(self, *, answered_per_connection: int = 1, reset: bool = False) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.answered_per_connection = answered_per_connection
        self.reset = reset  # close with a RST instead of a FIN
        self.seen: list[str] = []  # request lines, each as it arrived
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                for _ in range(self.answered_per_connection):
                    if not self._read(conn):
                        break
                    conn.sendall(OK)
                else:
                    if self._read(conn) and self.reset:
                        conn.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )

    def _read(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(
            (
                int(v)
                for k, _, v in (h.partition(":") for h in lines[1:])
                if k.lower() == "content-length"
            ),
            0,
        )
        while len(body) < length:
            body += conn.recv(65536)
        self.seen.append(lines[0].rsplit(" ", 1)[0])
        return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(params=["fin", "reset"])
def peer(request: pytest.FixtureRequest) -> Iterator[Peer]:
    found = Peer(reset=request.param == "reset")
    yield found
    found.close()


def test_a_read_is_sent_again_on_a_new_connection(peer: Peer) -> None:
    http = HttpTransport(peer.url)
    assert http.request("GET", "/api/v1/runs/a") == {"ok": 1.0}
    assert http.request("GET", "/api/v1/runs/b") == {"ok": 1.0}
    assert peer.seen == ["GET /api/v1/runs/a", "GET /api/v1/runs/b", "GET /api/v1/runs/b"]
    assert peer.connections == 2
    assert b"".join(http.download("/api/v1/blobs/c", params={})) == b'{"ok": 1.0}'
    assert peer.seen[3:] == ["GET /api/v1/blobs/c"] * 2
    http.close()


def test_a_post_is_sent_again_only_when_its_caller_says_it_is_idempotent(peer: Peer) -> None:
    http = HttpTransport(peer.url)
    http.request("GET", "/api/v1/health")
    with pytest.raises(Unavailable, match="cannot reach the modelyard server"):
        http.request("POST", "/api/v1/experiments", json={"name": "e"})
    assert peer.seen[1:] == ["POST /api/v1/experiments"]  # once: the server may have acted
    http.request("GET", "/api/v1/health")
    ops = {"ops": []}
    assert http.request("POST", "/api/v1/runs/ops", json=ops, idempotent=True) == {"ok": 1.0}
    assert peer.seen[3:] == ["POST /api/v1/runs/ops"] * 2
    http.close()


def test_a_new_connection_closed_unanswered_is_not_tried_again() -> None:
    """A server that fails a request on a connection of its own is in trouble: no retry."""
    peer = Peer(answered_per_connection=0)
    http = HttpTransport(peer.url)
    with pytest.raises(Unavailable):
        http.request("GET", "/api/v1/runs/a")
    assert peer.seen == ["GET /api/v1/runs/a"] and peer.connections == 1
    http.close()
    peer.close()
