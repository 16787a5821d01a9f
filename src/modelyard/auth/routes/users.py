"""HTTP routes for users and service accounts: ``/api/v1/users``, ``/api/v1/service-accounts``
(a global admin's, except reading oneself)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.auth.routes.deps import optional, service, store
from modelyard.errors import InvalidArgument
from modelyard.platform.route_permissions import AUTHENTICATED, needs
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import BOOL, EMPTY_BODY, STR, json_body, nullable, obj

router = APIRouter(tags=["users"])
USERS = "/api/v1/users"
_CREATE = json_body(
    obj(
        {
            "name": STR,
            "admin": BOOL,
            "password": nullable(STR),
            "email": nullable(STR),
            "display_name": nullable(STR),
        },
        ["name"],
    ),
    "Without password a one-time password is made (answered once; it must be changed at the "
    "first login).",
)
_RESET = json_body(obj({"password": nullable(STR)}))
_SERVICE = json_body(obj({"name": STR, "owner": nullable(STR)}, ["name"]))


@router.post(
    USERS,
    summary="Make a user (a global admin's)",
    status_code=201,
    openapi_extra=needs("user.write", extra=_CREATE),
)
async def create_user(request: Request) -> Response:
    body = await read_json(request)
    made = await run_in_threadpool(
        lambda: store(request).create_user(
            require(body, "name", str, "a user name"),
            admin=bool(optional(body, "admin", bool, "true or false")),
            password=optional(body, "password", str, "text"),
            email=optional(body, "email", str, "text"),
            display_name=optional(body, "display_name", str, "text"),
        )
    )
    return json_response(made.to_dict(), 201)


@router.get(USERS, summary="Users and service accounts", openapi_extra=needs("user.read"))
async def list_users(
    request: Request,
    kind: str | None = Query(None, description="user or service; none: both"),
) -> Response:
    if kind not in (None, "user", "service"):
        raise InvalidArgument("kind must be user or service", field="kind")
    found = await run_in_threadpool(store(request).list_principals, kind)  # type: ignore[arg-type]
    return json_response({"principals": [p.to_dict() for p in found]})


@router.get(
    USERS + "/{name}",
    summary="A user or service account (oneself, or any for an admin)",
    openapi_extra=needs(AUTHENTICATED),
)
async def get_user(request: Request, name: str) -> Response:
    found = await run_in_threadpool(store(request).get_principal, name)
    return json_response(found.to_dict())


async def _set_disabled(request: Request, name: str, disabled: bool) -> Response:
    found = await run_in_threadpool(store(request).set_disabled, name, disabled)
    service(request).authenticator.forget()
    return json_response(found.to_dict())


@router.post(
    USERS + "/{name}/disable",
    summary="Disable: no login, sessions end, tokens stop",
    openapi_extra=needs("user.write", extra=EMPTY_BODY),
)
async def disable_user(request: Request, name: str) -> Response:
    return await _set_disabled(request, name, True)


@router.post(
    USERS + "/{name}/enable",
    summary="Enable again",
    openapi_extra=needs("user.write", extra=EMPTY_BODY),
)
async def enable_user(request: Request, name: str) -> Response:
    return await _set_disabled(request, name, False)


@router.post(
    USERS + "/{name}/password-reset",
    summary="A new password for a user (one-time unless given); their sessions end",
    openapi_extra=needs("user.write", extra=_RESET),
)
async def reset_password(request: Request, name: str) -> Response:
    body = await read_json(request)
    made = await run_in_threadpool(
        store(request).reset_password, name, optional(body, "password", str, "text")
    )
    service(request).authenticator.forget()
    return json_response(made.to_dict())


@router.post(
    USERS + "/{name}/unlock",
    summary="Lift a login lockout",
    openapi_extra=needs("user.write", extra=EMPTY_BODY),
)
async def unlock_user(request: Request, name: str) -> Response:
    await run_in_threadpool(store(request).unlock, name)
    return json_response({})


@router.post(
    "/api/v1/service-accounts",
    summary="Make a service account (a global admin's)",
    status_code=201,
    openapi_extra=needs(AUTHENTICATED, extra=_SERVICE),
)
async def create_service_account(request: Request) -> Response:
    body = await read_json(request)
    made = await run_in_threadpool(
        lambda: store(request).create_service_account(
            require(body, "name", str, "a name"), owner=optional(body, "owner", str, "a user")
        )
    )
    return json_response(made.to_dict(), 201)
