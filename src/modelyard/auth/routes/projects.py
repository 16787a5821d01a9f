"""HTTP routes for projects and their members: ``/api/v1/projects``."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.auth.routes.deps import optional, service, store
from modelyard.platform.route_permissions import AUTHENTICATED, needs
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import STR, json_body, nullable, obj

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])
_CREATE = json_body(obj({"name": STR, "description": nullable(STR)}, ["name"]))
_GRANT = json_body(obj({"principal": STR, "role": STR}, ["principal", "role"]))


@router.post(
    "",
    summary="Make a project (a global admin's)",
    status_code=201,
    openapi_extra=needs("project.create", extra=_CREATE),
)
async def create_project(request: Request) -> Response:
    body = await read_json(request)
    made = await run_in_threadpool(
        store(request).create_project,
        require(body, "name", str, "a project name"),
        optional(body, "description", str, "text"),
    )
    return json_response(made.to_dict(), 201)


@router.get("", summary="The projects the caller can see", openapi_extra=needs(AUTHENTICATED))
async def list_projects(request: Request) -> Response:
    found = await run_in_threadpool(store(request).list_projects)
    return json_response({"projects": [p.to_dict() for p in found]})


@router.get(
    "/{project}/members",
    summary="Who holds which role in a project",
    openapi_extra=needs(AUTHENTICATED),
)
async def members(request: Request, project: str) -> Response:
    found = await run_in_threadpool(store(request).members, project)
    return json_response({"members": [m.to_dict() for m in found]})


@router.post(
    "/{project}/members",
    summary="Grant a role in a project (its admins')",
    openapi_extra=needs(AUTHENTICATED, extra=_GRANT),
)
async def grant(request: Request, project: str) -> Response:
    body = await read_json(request)
    made = await run_in_threadpool(
        store(request).grant,
        project,
        require(body, "principal", str, "a user or service account"),
        require(body, "role", str, "a role"),
    )
    service(request).authenticator.forget()
    return json_response(made.to_dict())


@router.delete(
    "/{project}/members/{principal}/{role}",
    summary="Revoke a role in a project",
    openapi_extra=needs(AUTHENTICATED),
)
async def revoke(request: Request, project: str, principal: str, role: str) -> Response:
    await run_in_threadpool(store(request).revoke, project, principal, role)
    service(request).authenticator.forget()
    return json_response({})
