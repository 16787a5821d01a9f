"""Request bodies for worker threads: an async stream handed over about 1 MiB at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from anyio.from_thread import run as from_thread_run
from starlette.responses import Response

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


class OctetStreamResponse(Response):
    """For ``response_class=``: documents a route's answer as bytes (the route itself
    returns a ``StreamingResponse``)."""

    media_type = "application/octet-stream"
