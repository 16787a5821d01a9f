"""A deadline on reading the request body, in front of any ASGI app (the tracking server and
the inference server alike).

A body must arrive within ``timeout_s`` seconds of the request, plus the time a transfer at
``min_bytes_per_s`` needs for what has arrived so far: a large upload at a healthy rate is
never cut, a body that trickles (or stalls) is. When the deadline passes, reading the body
raises ``RequestTimeout``, which the app answers 408 with its usual JSON error; the answer
carries ``Connection: close`` so the server drops the connection and the rest of the body.
If the app let the error escape without answering, the answer is sent here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
import orjson

from modelyard.errors import HTTP_STATUS, RequestTimeout

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_TIMEOUT_S = 30.0
MIN_BYTES_PER_S = 64 * 1024  # a slower upload is given up on; a faster one is never cut
_CLOSE = (b"connection", b"close")
log = logging.getLogger("modelyard.server")


class BodyDeadline:
    """Wraps ``app`` so that no request body takes longer than its deadline to arrive."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        min_bytes_per_s: int = MIN_BYTES_PER_S,
    ) -> None:
        if not timeout_s > 0 or min_bytes_per_s <= 0:
            raise ValueError("timeout_s and min_bytes_per_s must be above 0")
        self.app = app
        self.timeout_s = timeout_s
        self.min_bytes_per_s = min_bytes_per_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.monotonic()
        received = 0
        body_done = False
        timed_out = False
        answered = False

        async def timed_receive() -> Message:
            nonlocal received, body_done, timed_out
            if body_done or timed_out:
                return await receive()  # after the body: only a disconnect can come
            allowed = self.timeout_s + received / self.min_bytes_per_s
            remaining = start + allowed - time.monotonic()
            try:
                with anyio.fail_after(max(remaining, 0.0)):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                raise RequestTimeout(
                    f"the request body did not arrive within {allowed:.0f} s "
                    f"({received} bytes received); send it at once, and faster",
                    field="body",
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            received += len(message.get("body", b""))
            return message

        async def closing_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                if timed_out:
                    message["headers"] = [*message.get("headers", []), _CLOSE]
            await send(message)

        try:
            await self.app(scope, timed_receive, closing_send)
        except RequestTimeout as exc:
            if answered:
                log.warning("%s %s: %s", scope.get("method"), scope.get("path"), exc.message)
                return
            await _answer(send, exc)


async def _answer(send: Send, exc: RequestTimeout) -> None:
    payload = orjson.dumps({"error": exc.to_dict()})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        _CLOSE,
    ]
    await send({"type": "http.response.start", "status": HTTP_STATUS[exc.code], "headers": headers})
    await send({"type": "http.response.body", "body": payload})
