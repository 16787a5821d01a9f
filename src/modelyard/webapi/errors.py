"""Every error leaves the server as ``{"error": {"code", "message", "field"?}}`` with the
status its code maps to; an unexpected exception is logged and answered 500 without a trace.

An unexpected exception is a bug, and gets one log line with its traceback (``LastResort``,
the outermost layer); it never reaches uvicorn, which would log it again and close the
connection after a complete answer without saying ``Connection: close``, so that a client's
next request on the kept-alive connection failed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Match

from modelyard.errors import HTTP_STATUS, ModelyardError, TooManyRequests, Unauthenticated
from modelyard.webapi.json import json_response

log = logging.getLogger("modelyard.server")

_STATUS_CODES = {
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        err["field"] = field
    return {"error": err}


def error_response(exc: ModelyardError) -> Response:
    """``exc`` as its status and envelope, with the headers its status calls for: how to
    authenticate (401), when to try again (429)."""
    response = json_response({"error": exc.to_dict()}, HTTP_STATUS.get(exc.code, 500))
    if isinstance(exc, Unauthenticated):
        response.headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _modelyard_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ModelyardError)
    return error_response(exc)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":  # its loc is ("body", <offset>): not a field
        at = next((p for p in first.get("loc", ()) if isinstance(p, int)), None)
        where = f" at character {at}" if at is not None else ""
        reason = first.get("ctx", {}).get("error", "JSON decode error")
        return json_response(
            error_body(
                "INVALID_ARGUMENT", f"the request body is not valid JSON{where}: {reason}", "body"
            ),
            400,
        )
    loc = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    msg = first.get("msg", "invalid request")
    return json_response(
        error_body("INVALID_ARGUMENT", f"{loc or 'request'}: {msg}", loc or None), 400
    )


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    cause = exc.__cause__
    if isinstance(cause, ModelyardError):  # FastAPI wraps what reading the body raised
        return error_response(cause)
    if exc.status_code == 400 and str(exc.detail) == "There was an error parsing the body":
        reason = f": {cause}" if cause is not None else ""
        text = f"the body cannot be read as JSON{reason}"[:500]
        return json_response(error_body("INVALID_ARGUMENT", text, "body"), 400)
    code = _STATUS_CODES.get(
        exc.status_code, "INVALID_ARGUMENT" if exc.status_code < 500 else "INTERNAL_ERROR"
    )
    response = json_response(error_body(code, str(exc.detail)), exc.status_code)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        response.headers["Allow"] = allowed_methods(request)
    return response


_INTERNAL = error_body("INTERNAL_ERROR", "internal server error; the server log has the details")


async def _unexpected(_: Request, __: Exception) -> Response:
    """The answer to an exception no other handler takes. Starlette sends it, then raises
    the exception on; ``LastResort`` logs it."""
    return json_response(_INTERNAL, 500)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LastResort:
    """Around the whole app: an exception that escapes it is logged once, with its traceback
    and the request, and answered 500 with the error envelope unless an answer was sent
    already. The connection stays usable after a complete answer; an answer cut short in
    its body cannot be mended, and uvicorn closes the connection when the app returns
    without finishing it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except ClientDisconnect:  # the client left mid-request: nobody to answer, no bug
            log.info("client left during %s %s", scope.get("method"), scope.get("path"))
        except Exception:
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await json_response(_INTERNAL, 500)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ModelyardError, _modelyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
