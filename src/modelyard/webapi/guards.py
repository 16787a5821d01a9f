"""ASGI guards in front of every route: body size limits (413) and write content types (415).

Pure ASGI, no per-request framework work: a write request must say ``application/json`` (or
``application/octet-stream`` where an upload is expected), so a cross-origin ``text/plain``
form post from a browser page cannot change anything (a DELETE with no body is exempt: no
browser sends one cross-site without a preflight); a body over the limit is refused before
it is read, or as soon as a streamed body crosses it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from modelyard.errors import HTTP_STATUS, PayloadTooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def send_error(send: Send, code: str, message: str, field: str | None = None) -> None:
    body = {"error": {"code": code, "message": message}}
    if field:
        body["error"]["field"] = field
    payload = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if code == "UNAUTHENTICATED":  # how to authenticate, as every 401 says
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": HTTP_STATUS[code], "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _bodiless_delete(method: str, headers: dict[bytes, bytes]) -> bool:
    """A DELETE without a body needs no content type: a browser preflights any cross-site
    DELETE, so no form or simple request can send one."""
    if method != "DELETE" or b"transfer-encoding" in headers:
        return False
    return headers.get(b"content-length", b"0").strip() in (b"", b"0")


class RequestGuard:
    """``upload_paths``: regexes of paths that take ``application/octet-stream`` bodies up to
    ``max_upload_bytes``; every other body is JSON up to ``max_json_bytes``."""

    def __init__(
        self, app: ASGIApp, *, max_json_bytes: int, max_upload_bytes: int, upload_paths: list[str]
    ) -> None:
        self.app = app
        self.max_json = max_json_bytes
        self.max_upload = max_upload_bytes
        self.upload = [re.compile(p) for p in upload_paths]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        path = scope["path"]
        headers = dict(scope.get("headers") or [])
        is_upload = method == "PUT" and any(p.fullmatch(path) for p in self.upload)
        limit = self.max_upload if is_upload else self.max_json
        if method in WRITE_METHODS and not _bodiless_delete(method, headers):
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            allowed = (b"application/octet-stream",) if is_upload else (b"application/json",)
            if ctype not in allowed:
                await send_error(
                    send,
                    "UNSUPPORTED_MEDIA_TYPE",
                    f"{method} {path} needs Content-Type {allowed[0].decode()}, got "
                    f"{ctype.decode(errors='replace') or 'none'}",
                    "Content-Type",
                )
                return
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared > limit:
                await send_error(
                    send,
                    "PAYLOAD_TOO_LARGE",
                    f"the request body is {declared} bytes; the limit is {limit}",
                    "body",
                )
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(
                        f"the request body is over the limit of {limit} bytes", field="body"
                    )
            return message

        await self.app(scope, limited_receive, send)
