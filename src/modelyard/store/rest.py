"""HTTP transport to a modelyard server: JSON in and out, errors rebuilt from their codes.

A connection failure or a 502/503/504 becomes ``Unavailable`` (the caller decides whether to
retry or spool); any other error response becomes the ``ModelyardError`` subclass its code
names, so remote callers catch exactly what embedded callers catch.

One retry is made here, and only where it cannot write twice: a kept-alive connection the
server closed (idle too long, restarted) fails the next request sent on it before any answer
comes. Such a request is sent once more, on a new connection, if it is idempotent: GET,
HEAD, PUT, DELETE, or a POST its caller marks so (run operations, which are safe to deliver
twice, and reads that take a body). Any other POST fails as ``Unavailable``: the server may
have acted on it. An upload's body is a stream that cannot be sent again: never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import orjson

from modelyard.errors import ModelyardError, TooManyRequests, Unavailable, error_from_dict
from modelyard.identity import USER_HEADER

JSON = "application/json"
OCTET = "application/octet-stream"
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# what a request sent on a connection the server had closed fails with
_CLOSED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
log = logging.getLogger("modelyard.store")


class _Wire:
    """What one request did on the wire, from httpcore's trace events: whether it opened a
    connection of its own, and whether an answer's headers came back."""

    __slots__ = ("answered", "connected")

    def __init__(self) -> None:
        self.connected = False
        self.answered = False

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.started":
            self.connected = True
        elif event.endswith(".receive_response_headers.complete"):
            self.answered = True

    def stale(self, exc: httpx.TransportError) -> bool:
        """Whether ``exc`` is a kept-alive connection closed by the server before any answer:
        the request went out on a connection that was no longer there."""
        return isinstance(exc, _CLOSED) and not self.connected and not self.answered


def _raise_for(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    if resp.status_code in (502, 503, 504):
        raise Unavailable(f"the server at {resp.request.url.host} answered {resp.status_code}")
    try:
        body = orjson.loads(resp.read())
        err = body.get("error", body) if isinstance(body, dict) else {}
    except (orjson.JSONDecodeError, httpx.ResponseNotRead):
        err = {}
    if not isinstance(err, dict) or "code" not in err:
        raise ModelyardError(f"HTTP {resp.status_code} from the server: {resp.text[:200]}")
    exc = error_from_dict(err)
    if isinstance(exc, TooManyRequests):
        exc.retry_after = _seconds(resp.headers.get("retry-after"), exc.retry_after)
    raise exc


def _seconds(header: str | None, default: int) -> int:
    """A ``Retry-After`` of whole seconds (the form the server sends); else ``default``."""
    text = (header or "").strip()
    return max(1, int(text)) if text.isdigit() and len(text) < 10 else default


class HttpTransport:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        user: str | None = None,
        token: str | None = None,
    ) -> None:
        """``token``: an API token, sent as ``Authorization: Bearer`` (then ``user`` is not
        sent: a server with authentication knows who the token is)."""
        self.base_url = base_url.rstrip("/")
        headers = {b"User-Agent": b"modelyard-client"}
        if token is not None:
            headers[b"Authorization"] = b"Bearer " + token.strip().encode("utf-8")
        elif user is not None:  # who acts, on a server without authentication (UTF-8)
            headers[USER_HEADER.encode()] = user.encode("utf-8")
        self.client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers=headers,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """``idempotent``: whether sending the request twice does what sending it once does
        (by default: by its method); only such a request is sent again on a new connection
        when a kept-alive one turns out closed."""
        headers = {}
        content = None
        if json is not None or method in ("POST", "PUT", "PATCH", "DELETE"):
            content = orjson.dumps(json if json is not None else {})
            headers["Content-Type"] = JSON
        if idempotent is None:
            idempotent = method in IDEMPOTENT
        req = self.client.build_request(
            method, path, content=content, params=params, headers=headers
        )
        resp = self._send(req, retry=idempotent)
        _raise_for(resp)
        if not resp.content:
            return None
        return orjson.loads(resp.content)

    def upload(self, path: str, chunks: Iterator[bytes], *, params: dict[str, Any]) -> Any:
        try:
            resp = self.client.put(
                path, content=chunks, params=params, headers={"Content-Type": OCTET}
            )
        except httpx.TransportError as exc:
            raise Unavailable(
                f"cannot reach the modelyard server at {self.base_url}: {exc}"
            ) from exc
        _raise_for(resp)
        return orjson.loads(resp.content)

    def download(self, path: str, *, params: dict[str, Any]) -> Iterator[bytes]:
        """Stream a response body; the request is sent (and errors raised) before returning."""
        req = self.client.build_request("GET", path, params=params)
        resp = self._send(req, retry=True, stream=True)
        if resp.status_code >= 400:
            resp.read()
            resp.close()
            _raise_for(resp)

        def _iter() -> Iterator[bytes]:
            try:
                yield from resp.iter_bytes(1 << 20)
            except httpx.TransportError as exc:
                raise Unavailable(f"the download from {self.base_url} broke off: {exc}") from exc
            finally:
                resp.close()

        return _iter()

    def _send(self, req: httpx.Request, *, retry: bool, stream: bool = False) -> httpx.Response:
        """Send ``req``; once more on a new connection if ``retry`` and the kept-alive one it
        went out on was closed before any answer."""
        while True:
            wire = _Wire()
            req.extensions = {**req.extensions, "trace": wire}
            try:
                return self.client.send(req, stream=stream)
            except httpx.TransportError as exc:
                if retry and wire.stale(exc):
                    retry = False
                    log.debug(
                        "%s %s: the kept-alive connection was closed; sent again",
                        req.method,
                        req.url.path,
                    )
                    continue
                raise Unavailable(
                    f"cannot reach the modelyard server at {self.base_url}: {exc}"
                ) from exc

    def close(self) -> None:
        self.client.close()
