"""HTTP routes for API tokens: ``/api/v1/tokens`` (one's own, a service account's by its
owner, any by a global admin)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.auth.routes.deps import optional, service, store
from modelyard.platform.route_permissions import AUTHENTICATED, needs
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import STR, json_body, nullable, obj

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])
_SCOPE = obj({"project": STR, "role": STR}, ["project", "role"])
_CREATE = json_body(
    obj(
        {
            "name": STR,
            "expires": {"oneOf": [STR, {"type": "integer"}], "example": "90d"},
            "principal": nullable(STR),
            "scopes": {"type": "array", "items": _SCOPE},
        },
        ["name", "expires"],
    ),
    "The token is in this answer only. Without scopes it acts with whatever its principal "
    "holds at the time.",
)


@router.post(
    "",
    summary="Make an API token (shown once)",
    status_code=201,
    openapi_extra=needs(AUTHENTICATED, extra=_CREATE),
)
async def create_token(request: Request) -> Response:
    body = await read_json(request)
    made = await run_in_threadpool(
        lambda: store(request).create_token(
            require(body, "name", str, "a name for the token"),
            expires_s=body.get("expires"),  # type: ignore[arg-type]
            principal=optional(body, "principal", str, "a user or service account"),
            scopes=optional(body, "scopes", list, "a list of {project, role}"),
        )
    )
    return json_response(made.to_dict(), 201)


@router.get(
    "",
    summary="API tokens (never their secrets): one's own, or a principal's",
    openapi_extra=needs(AUTHENTICATED),
)
async def list_tokens(
    request: Request, principal: str | None = Query(None, description="whose; none: mine")
) -> Response:
    found = await run_in_threadpool(store(request).list_tokens, principal)
    return json_response({"tokens": [t.to_dict() for t in found]})


@router.delete("/{token_id}", summary="Revoke an API token", openapi_extra=needs(AUTHENTICATED))
async def revoke_token(request: Request, token_id: str) -> Response:
    await run_in_threadpool(store(request).revoke_token, token_id)
    service(request).authenticator.forget()
    return json_response({})
