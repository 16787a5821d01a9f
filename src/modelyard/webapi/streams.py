"""Request bodies for worker threads: an async stream handed over about 1 MiB at a time."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import anyio
from anyio.from_thread import run as from_thread_run
from starlette.responses import Response

from modelyard.errors import ModelyardError

T = TypeVar("T")

_PIECE = 1 << 20

# OpenAPI for a route whose body is a raw byte stream
OCTET_STREAM_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def pull_stream(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """A blocking iterator, for a worker thread, over an async request stream, handing over
    about 1 MiB at a time (one thread hop per MiB, not one per network read)."""

    async def _next_piece() -> bytes | None:
        parts: list[bytes] = []
        size = 0
        async for chunk in stream:
            parts.append(chunk)
            size += len(chunk)
            if size >= _PIECE:
                break
        return b"".join(parts) if parts else None

    while True:
        piece = from_thread_run(_next_piece)
        if piece is None:
            return
        yield piece


DRAIN_LIMIT = 64 << 20


async def store_stream(stream: AsyncIterator[bytes], store: Callable[[Iterator[bytes]], T]) -> T:
    """``store(chunks)`` in a worker thread over the request stream. When it refuses (a full
    disk, a size limit), the rest of the body (up to 64 MiB) is read and dropped before the
    error is answered, so the client, still sending, reads the answer instead of a reset
    connection; past that the connection is closed."""
    try:
        return await anyio.to_thread.run_sync(lambda: store(pull_stream(stream)))
    except ModelyardError:
        dropped = 0
        with contextlib.suppress(Exception):
            async for chunk in stream:
                dropped += len(chunk)
                if dropped > DRAIN_LIMIT:
                    break
        raise


class OctetStreamResponse(Response):
    """For ``response_class=``: documents a route's answer as bytes (the route itself
    returns a ``StreamingResponse``)."""

    media_type = "application/octet-stream"
