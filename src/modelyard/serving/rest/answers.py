"""What every REST handler shares: the ASGI types, an answer as (status, body, headers), the
JSON answer, the 405 of a wrong method and the request body read within its limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from modelyard.errors import PayloadTooLarge
from modelyard.serving.protocol.bodies import decoded

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = dict[bytes, bytes]
Answered = tuple[int, bytes, list[tuple[bytes, bytes]]]
JSON = [(b"content-type", b"application/json")]


class Reply(Exception):
    """A finished answer raised from deep inside a handler (errors, mostly)."""

    def __init__(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None):
        self.status, self.body, self.headers = status, body, headers or []


def json_answer(body: Any, status: int = 200) -> Answered:
    return status, orjson.dumps(body), list(JSON)


def allowed(method: str, allow: str) -> None:
    """Refuse a method the route does not take (405, with ``allow``)."""
    if method != allow:
        raise Reply(
            405,
            orjson.dumps({"error": f"use {allow}"}),
            [*JSON, (b"allow", allow.encode())],
        )


async def read_body(receive: Receive, headers: Headers, limit: int) -> bytes:
    """The request's body, inflated, refused (413) once over ``limit``: before it is read
    when Content-Length says so."""
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {int(declared)} bytes; the limit is {limit}")
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return decoded(b"".join(chunks), headers.get(b"content-encoding"), limit)
