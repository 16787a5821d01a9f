"""Request bodies: their media type checked, decoded inline when small and on a thread when
large, and inflated from gzip or deflate within the body limit."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Any

from modelyard.errors import PayloadTooLarge, UnsupportedMediaType
from modelyard.serving.protocol.codec import ProtocolError

JSON_TYPES = ("application/json",)  # what a JSON body may say it is (or say nothing)
OFF_LOOP_BYTES = 256 * 1024  # bodies this large are decoded on a thread, not the event loop


async def off_loop(size: int, fn: Callable[..., Any], *args: Any) -> Any:
    """Run a decoding step inline for a small request (``size`` bytes), on a thread for a
    large one, so that a 16 MB request does not stall every other request (and the health
    checks)."""
    if size < OFF_LOOP_BYTES:
        return fn(*args)
    return await asyncio.to_thread(fn, *args)


def media_type(headers: dict[bytes, bytes], allowed: tuple[str, ...]) -> str:
    """The request's media type (``Content-Type`` without its parameters; "" when it says
    none, which is taken as JSON, as tritonclient sends), refused with 415 naming it when it
    is not one of ``allowed``: a body is never read as JSON while it says it is XML."""
    raw = headers.get(b"content-type")
    if raw is None:
        return ""
    kind = raw.decode("latin-1").split(";")[0].strip().lower()
    if kind and kind not in allowed:
        raise UnsupportedMediaType(
            f"content type {kind!r}: send {' or '.join(allowed)}", field="Content-Type"
        )
    return kind


def decoded(body: bytes, encoding: bytes | None, limit: int) -> bytes:
    """The body without its Content-Encoding (gzip or deflate, as tritonclient can send),
    still within ``limit`` once inflated."""
    if encoding is None or encoding.strip().lower() in (b"", b"identity"):
        return body
    kind = encoding.strip().lower()
    if kind not in (b"gzip", b"deflate"):
        raise UnsupportedMediaType(
            f"Content-Encoding {kind.decode('latin-1')!r}: send gzip, deflate or none",
            field="Content-Encoding",
        )
    inflater = zlib.decompressobj(wbits=31 if kind == b"gzip" else 15)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ProtocolError(
            f"the {kind.decode()} body cannot be inflated: {exc}", field="body"
        ) from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"the inflated body is over the limit of {limit} bytes")
    return out
