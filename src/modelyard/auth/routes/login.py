"""HTTP routes for logging in and out: ``/api/v1/auth``. Login and password change are the
only routes that take a password; they are limited per client address and per name."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.auth.authenticator import read_cookie
from modelyard.auth.routes.deps import address, optional, service, set_session_cookie
from modelyard.identity import current_actor
from modelyard.platform.route_permissions import AUTHENTICATED, PUBLIC, needs
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import BOOL, EMPTY_BODY, STR, json_body, obj

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
_LOGIN = json_body(
    obj({"name": STR, "password": STR, "issue_token": BOOL}, ["name", "password"]),
    "issue_token true: answer a 30-day API token (what `modelyard login` saves) in place of "
    "a browser session cookie",
)
_PASSWORD = json_body(
    obj({"name": STR, "password": STR, "new_password": STR}, ["name", "password", "new_password"])
)


@router.post(
    "/login",
    summary="Log in with a password: a session cookie and its CSRF token, or an API token",
    openapi_extra=needs(PUBLIC, extra=_LOGIN),
)
async def login(request: Request) -> Response:
    body = await read_json(request)
    auth = service(request)
    done = await run_in_threadpool(
        auth.login,
        body.get("name"),
        body.get("password"),
        address=address(request),
        issue_token=bool(optional(body, "issue_token", bool, "true or false")),
    )
    response = json_response(done.to_dict())
    if done.session_id is not None:
        set_session_cookie(response, request, done.session_id)
    return response


@router.post(
    "/password",
    summary="Change one's own password, proven by the current one (also while it must change)",
    openapi_extra=needs(PUBLIC, extra=_PASSWORD),
)
async def change_password(request: Request) -> Response:
    body = await read_json(request)
    await run_in_threadpool(
        service(request).change_password,
        require(body, "name", str, "the user's name"),
        require(body, "password", str, "the current password"),
        require(body, "new_password", str, "the new password"),
        address=address(request),
    )
    return json_response({})


@router.post(
    "/logout",
    summary="End this browser session (answers a stale session too)",
    openapi_extra=needs(PUBLIC, extra=EMPTY_BODY),
)
async def logout(request: Request) -> Response:
    auth = service(request)
    session_id = read_cookie(dict(request.scope.get("headers") or []), auth.authenticator.cookie)
    await run_in_threadpool(auth.logout, session_id)
    response = json_response({})
    response.delete_cookie(auth.authenticator.cookie, path="/")
    return response


@router.get(
    "/methods",
    summary="How one logs in here: a password, and single sign-on where it is set up",
    openapi_extra=needs(PUBLIC),
)
async def methods(request: Request) -> Response:
    sso = service(request).sso
    return json_response(
        {"password": True, "sso": sso is not None, "issuer": None if sso is None else sso.issuer}
    )


@router.get(
    "/whoami",
    summary="Who the caller is and what it may do, per project",
    openapi_extra=needs(AUTHENTICATED),
)
async def whoami(request: Request) -> Response:
    actor = current_actor()
    return json_response(await run_in_threadpool(service(request).whoami, actor))
