"""A client that leaves in the middle of an upload is one line in the log, not a traceback
(nothing failed on the server's side), and nothing of the half upload is kept."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest


def test_a_client_leaving_mid_upload_is_one_line(
    server_factory: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    srv = server_factory()
    sha = "ab" * 32
    caplog.set_level(logging.INFO)
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", srv.port)) as sock:
            head = (
                f"PUT /api/v1/datasets/blobs/{sha}?size=100000 HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: 100000\r\n\r\n"
            )
            sock.sendall(head.encode() + b"x" * 1000)
            time.sleep(0.3)
        time.sleep(0.5)
    left = [r for r in caplog.records if "client left" in r.getMessage()]
    assert left and all(r.exc_info is None for r in left)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
    ]
    got = httpx.get(f"{srv.url}/api/v1/datasets/blobs/{sha}/size")
    assert got.status_code == 404
