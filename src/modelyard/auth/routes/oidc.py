"""HTTP routes of single sign-on: ``/api/v1/auth/oidc/start`` sends the browser to the
OpenID provider, ``/api/v1/auth/oidc/callback`` takes its answer and opens a session (or,
for a command-line login, sends the browser back to the command line's loopback port with
a code), ``/api/v1/auth/oidc/token`` exchanges that code for an API token; and
``/api/v1/auth/group-mappings``, which map the provider's groups to project roles."""

from __future__ import annotations

import html
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from modelyard.auth.oidc import CALLBACK_PATH, SingleSignOn, check_cli
from modelyard.auth.routes.deps import address, service, set_session_cookie
from modelyard.errors import NotFound
from modelyard.platform.route_permissions import PUBLIC, needs
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import STR, json_body, obj

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
BINDING_COOKIE = "modelyard_oidc"  # ties a login to the browser that started it
CSRF_COOKIE = "modelyard_csrf"  # the session's CSRF token, for the page's scripts
_MAPPING = json_body(obj({"group": STR, "project": STR, "role": STR}, ["group", "project", "role"]))
_EXCHANGE = json_body(
    obj({"code": STR, "code_verifier": STR}, ["code", "code_verifier"]),
    "the code a command-line login got on its loopback port, and the PKCE verifier of the "
    "challenge it started with",
)


def _sso(request: Request) -> SingleSignOn:
    found = service(request).sso
    if found is None:
        raise NotFound("single sign-on is not set up on this server (MODELYARD_OIDC_ISSUER)")
    return found


def _binding(request: Request) -> str:
    """The binding cookie's name: ``__Secure-`` over https (a sibling site cannot plant it)."""
    https = _callback_url(request).startswith("https://")
    return f"__Secure-{BINDING_COOKIE}" if https else BINDING_COOKIE


def _callback_url(request: Request) -> str:
    public = service(request).settings.public_url
    base = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    return base + CALLBACK_PATH


@router.get(
    "/oidc/start",
    summary="Log in with the OpenID provider (a redirect there)",
    openapi_extra=needs(PUBLIC),
    response_class=RedirectResponse,
    status_code=302,
)
async def start(
    request: Request,
    return_to: str | None = Query(None, description="a path here to land on afterwards"),
    cli_port: str | None = Query(
        None, description="a command-line login: its port on 127.0.0.1 (modelyard login)"
    ),
    cli_challenge: str | None = Query(
        None, description="a command-line login: its S256 PKCE challenge"
    ),
) -> Response:
    sso = _sso(request)
    service(request).starts.take(address(request), "logins begun from this address")
    cli = check_cli(cli_port, cli_challenge)
    url, browser = await run_in_threadpool(sso.start, return_to, _callback_url(request), cli)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        _binding(request),
        browser,
        max_age=600,
        path="/api/v1/auth/oidc",
        secure=_callback_url(request).startswith("https://"),
        httponly=True,
        samesite="lax",  # it must come back with the provider's top-level redirect
    )
    return response


@router.get(
    "/oidc/callback",
    summary="Where the OpenID provider sends the browser back: opens a session",
    openapi_extra=needs(PUBLIC),
    response_class=HTMLResponse,
)
async def callback(request: Request) -> Response:
    sso = _sso(request)
    auth = service(request)
    params = {k: v for k, v in request.query_params.items()}
    browser = request.cookies.get(_binding(request))
    answered = await run_in_threadpool(sso.finish, params, browser, _callback_url(request))
    principal, return_to = answered.principal, answered.return_to
    if answered.cli_port is not None and answered.cli_challenge is not None:
        # a command line waits on loopback: the code (or the refusal) goes there, no session
        # here; ``state`` echoes its challenge, so it ignores answers of other logins unasked
        said = {"state": answered.cli_challenge}
        if answered.error is not None:
            said["error"] = answered.error
        else:
            said["code"] = await run_in_threadpool(
                sso.sql.hand_code,
                principal["principal_id"],
                answered.groups,
                answered.cli_challenge,
            )
        back = RedirectResponse(
            f"http://127.0.0.1:{answered.cli_port}/callback?{urlencode(said)}",
            status_code=302,
            headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
        )
        back.delete_cookie(_binding(request), path="/api/v1/auth/oidc")
        return back
    session_id, csrf = await run_in_threadpool(
        auth.store.sessions.create,
        principal["principal_id"],
        "oidc",
        answered.groups,
        name=principal["name"],
    )
    # a page of this server moves the browser on: a redirect would still count as the
    # provider's cross-site navigation, and the SameSite=Strict session cookie would not go
    target = html.escape(return_to, quote=True)
    page = (
        "<!doctype html><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="0;url={target}">'
        f"<title>Logged in</title><p>Logged in as {html.escape(principal['name'])}. "
        f'<a href="{target}">Continue</a></p>'
    )
    response = HTMLResponse(page, headers={"cache-control": "no-store", "x-csrf-token": csrf})
    set_session_cookie(response, request, session_id)
    # the page's scripts send it back as X-CSRF-Token (double submit): readable here, on this
    # site only, and worth nothing without the HttpOnly session beside it
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=int(auth.settings.session_max_s),
        path="/",
        secure=auth.authenticator.cookie.startswith("__Host-"),
        httponly=False,
        samesite="strict",
    )
    response.delete_cookie(_binding(request), path="/api/v1/auth/oidc")
    return response


@router.post(
    "/oidc/token",
    summary="A command-line login's code and PKCE verifier for an API token (modelyard login)",
    openapi_extra=needs(PUBLIC, extra=_EXCHANGE),
)
async def exchange(request: Request) -> Response:
    body = await read_json(request)
    _sso(request)
    done = await run_in_threadpool(
        service(request).exchange_code,
        body.get("code"),
        body.get("code_verifier"),
        address=address(request),
    )
    response = json_response(done.to_dict())
    response.headers["cache-control"] = "no-store"
    return response


@router.get(
    "/group-mappings",
    summary="The provider's groups and the project roles they give (a global admin's)",
    openapi_extra=needs("group_mapping.read"),
)
async def list_mappings(request: Request) -> Response:
    found = await run_in_threadpool(_sso(request).sql.list_mappings)
    return json_response({"mappings": found})


@router.put(
    "/group-mappings",
    summary="Give a provider group a role in a project",
    openapi_extra=needs("group_mapping.write", extra=_MAPPING),
)
async def map_group(request: Request) -> Response:
    body = await read_json(request)
    await run_in_threadpool(
        _sso(request).sql.map_group,
        require(body, "group", str, "a group name"),
        require(body, "project", str, "a project name"),
        require(body, "role", str, "a role"),
    )
    return json_response({})


@router.delete(
    "/group-mappings",
    summary="Take a role in a project from a provider group",
    openapi_extra=needs("group_mapping.write"),
)
async def unmap_group(
    request: Request, group: str = Query(...), project: str = Query(...), role: str = Query(...)
) -> Response:
    await run_in_threadpool(_sso(request).sql.unmap_group, group, project, role)
    return json_response({})
