"""What auth routes need from the app, and the small body readers they share."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from modelyard.auth.service import AuthService
from modelyard.auth.sql_store import SqlAuthStore
from modelyard.errors import InvalidArgument


def service(request: Request) -> AuthService:
    found: AuthService = request.app.state.auth
    return found


def store(request: Request) -> SqlAuthStore:
    return service(request).store


def optional(body: dict[str, Any], key: str, kind: type, expected: str) -> Any:
    value = body.get(key)
    if value is not None and (
        not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
    ):
        raise InvalidArgument(f"{key} must be {expected}", field=key)
    return value


def address(request: Request) -> str:
    """The client's address, as the server sees it (behind a proxy: the proxy's)."""
    return request.client.host if request.client else "unknown"


def set_session_cookie(response: Response, request: Request, session_id: str) -> None:
    """The browser session's cookie: HttpOnly, SameSite=Strict, ``__Host-`` and Secure
    over https, as long as a session may last."""
    auth = service(request)
    response.set_cookie(
        auth.authenticator.cookie,
        session_id,
        max_age=int(auth.settings.session_max_s),
        path="/",
        secure=auth.authenticator.cookie.startswith("__Host-"),
        httponly=True,
        samesite="strict",
    )
