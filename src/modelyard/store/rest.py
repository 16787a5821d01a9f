"""HTTP transport to a modelyard server: JSON in and out, errors rebuilt from their codes.

A connection failure or a 502/503/504 becomes ``Unavailable`` (the caller decides whether to
retry or spool); any other error response becomes the ``ModelyardError`` subclass its code
names, so remote callers catch exactly what embedded callers catch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson

from modelyard.errors import ModelyardError, Unavailable, error_from_dict
from modelyard.identity import USER_HEADER

JSON = "application/json"
OCTET = "application/octet-stream"


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
    raise error_from_dict(err)


class HttpTransport:
    def __init__(self, base_url: str, *, timeout: float = 30.0, user: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {b"User-Agent": b"modelyard-client"}
        if user is not None:  # who acts, until the server authenticates users (UTF-8)
            headers[USER_HEADER.encode()] = user.encode("utf-8")
        self.client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers=headers,
        )

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        headers = {}
        content = None
        if json is not None or method in ("POST", "PUT", "PATCH", "DELETE"):
            content = orjson.dumps(json if json is not None else {})
            headers["Content-Type"] = JSON
        try:
            resp = self.client.request(
                method, path, content=content, params=params, headers=headers
            )
        except httpx.TransportError as exc:
            raise Unavailable(
                f"cannot reach the modelyard server at {self.base_url}: {exc}"
            ) from exc
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
        try:
            req = self.client.build_request("GET", path, params=params)
            resp = self.client.send(req, stream=True)
        except httpx.TransportError as exc:
            raise Unavailable(
                f"cannot reach the modelyard server at {self.base_url}: {exc}"
            ) from exc
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

    def close(self) -> None:
        self.client.close()
