"""HTTP routes for deployments: ``/api/v1/deployments``. A PATCH changes only the parts
its body names; ``expected_revision`` makes it refuse (409) a change someone else beat."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import InvalidArgument
from modelyard.platform.route_permissions import needs
from modelyard.registry.routes.deps import AT_MOST, optional, registry
from modelyard.registry.store import LIST_DEFAULT, LIST_MAX
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import INT, STR, STR_LIST, json_body, nullable, obj

router = APIRouter(prefix="/api/v1/deployments", tags=["deployments"])
_FIELDS = ("routes", "shadows", "sticky_header", "description", "expected_revision")
_ROUTES = {"type": "array", "items": obj({"model_uri": STR, "weight": INT}, ["model_uri"])}
_PARTS = {
    "routes": _ROUTES,
    "shadows": STR_LIST,
    "sticky_header": nullable(STR),
    "description": nullable(STR),
}
_CREATE = json_body(obj({"name": STR, "project": STR, **_PARTS}, ["name", "routes"], closed=True))
_PATCH = json_body(obj({**_PARTS, "expected_revision": INT}, closed=True))


@router.post(
    "",
    summary="Create a deployment: weighted routes, shadows, a sticky header",
    status_code=201,
    openapi_extra=needs("deployment.write", extra=_CREATE),
)
async def create_deployment(request: Request) -> Response:
    body = await read_json(request)
    unknown = sorted(set(body) - ({"name", "project", *_FIELDS} - {"expected_revision"}))
    if unknown:
        raise InvalidArgument(
            f"unknown field(s) {unknown}; a deployment has name, project, routes, shadows, "
            "sticky_header and description",
            field=unknown[0],
        )
    found = await run_in_threadpool(
        registry(request).deployments.create,
        require(body, "name", str, "a deployment name"),
        require(body, "routes", list, "a list of {model_uri, weight}"),
        optional(body, "shadows", list, "a list of models:/ URIs"),
        optional(body, "sticky_header", str, "an HTTP header name"),
        optional(body, "description", str, "text"),
        optional(body, "project", str, "a project name"),
    )
    return json_response(found.to_dict(), 201)


@router.get(
    "",
    summary=f"Deployments, by name, at most limit ({LIST_MAX})",
    openapi_extra=needs("deployment.read"),
)
async def list_deployments(
    request: Request,
    limit: int = Query(LIST_DEFAULT, ge=1, le=LIST_MAX, description=AT_MOST),
) -> Response:
    found = await run_in_threadpool(lambda: registry(request).deployments.list_all(limit=limit))
    return json_response({"deployments": [d.to_dict() for d in found]})


@router.get(
    "/{name}", summary="One deployment and its revision", openapi_extra=needs("deployment.read")
)
async def get_deployment(request: Request, name: str) -> Response:
    found = await run_in_threadpool(registry(request).deployments.get, name)
    return json_response(found.to_dict())


@router.patch(
    "/{name}",
    summary="Change routes, shadows, sticky header or description",
    openapi_extra=needs("deployment.write", extra=_PATCH),
)
async def update_deployment(request: Request, name: str) -> Response:
    body = await read_json(request)
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise InvalidArgument(
            f"unknown field(s) {unknown}; a PATCH may hold {', '.join(_FIELDS)}",
            field=unknown[0],
        )
    changes: dict[str, Any] = {k: body[k] for k in _FIELDS if k in body}
    if "expected_revision" in changes:
        optional(body, "expected_revision", int, "a revision number")
    found = await run_in_threadpool(lambda: registry(request).deployments.update(name, **changes))
    return json_response(found.to_dict())


@router.delete(
    "/{name}",
    summary="Delete a deployment (servers keep their last routes)",
    openapi_extra=needs("deployment.write"),
)
async def delete_deployment(request: Request, name: str) -> Response:
    await run_in_threadpool(registry(request).deployments.delete, name)
    return json_response({})
