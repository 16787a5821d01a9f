"""HTTP routes for model versions: ``/api/v1/registry/versions`` (create, search) and
``/api/v1/registry/models/{name}/versions/...`` (one version, by number, alias or time)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import InvalidArgument
from modelyard.platform.route_permissions import needs
from modelyard.registry.entities import NewModelVersion
from modelyard.registry.names import MAX_VERSION
from modelyard.registry.routes.deps import (
    CARD_BODY,
    DESCRIPTION_BODY,
    TAG_BODY,
    nullable_text,
    optional,
    registry,
    string_map,
)
from modelyard.registry.store import SEARCH_MAX
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.limits import MAX_INT64
from modelyard.webapi.openapi import EMPTY_BODY, OBJ, STR, STR_MAP, json_body, obj

VersionPath = Annotated[
    int, Path(ge=1, le=MAX_VERSION, description="a version number, from 1 to 2**31 - 1")
]

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])
_CREATE = json_body(
    obj(
        {
            "name": STR,
            "source": STR,
            "run_id": STR,
            "description": STR,
            "flavor": STR,
            "model_digest": STR,
            "signature": OBJ,
            "tags": STR_MAP,
            "project": STR,
        },
        ["name", "source"],
    )
)


@router.post(
    "/versions",
    summary="Register a new version (numbered by the server)",
    status_code=201,
    openapi_extra=needs("model.write", extra=_CREATE),
)
async def create_version(request: Request) -> Response:
    body = await read_json(request)
    signature = optional(body, "signature", dict, "an object")
    draft = NewModelVersion(
        name=require(body, "name", str, "a model name"),
        source=require(body, "source", str, "the model's URI"),
        run_id=optional(body, "run_id", str, "a run id"),
        description=optional(body, "description", str, "text"),
        flavor=optional(body, "flavor", str, "a flavor name"),
        model_digest=optional(body, "model_digest", str, "64 hex characters"),
        signature=signature,
        tags=string_map(body, "tags"),
        project=optional(body, "project", str, "a project name"),
    )
    found = await run_in_threadpool(registry(request).versions.create, draft)
    return json_response(found.to_dict(), 201)


@router.get(
    "/versions",
    summary="Search versions in the run filter language",
    openapi_extra=needs("model.read"),
)
async def search_versions(
    request: Request,
    filter: str | None = Query(None),
    order_by: list[str] | None = Query(None),
    include_deleted: bool = Query(False),
    max_results: int = Query(
        100, ge=1, le=SEARCH_MAX, description=f"results in this page (at most {SEARCH_MAX})"
    ),
    page_token: str | None = Query(None),
) -> Response:
    found, token = await run_in_threadpool(
        registry(request).versions.search,
        filter,
        order_by,
        include_deleted=include_deleted,
        max_results=max_results,
        page_token=page_token,
    )
    return json_response({"versions": [v.to_dict() for v in found], "next_page_token": token})


@router.get(
    "/models/{name}/version",
    summary="The latest version, or the one an alias names",
    openapi_extra=needs("model.read"),
)
async def resolve_version(
    request: Request,
    name: str,
    alias: str | None = Query(None),
    at: int | None = Query(None, ge=0, le=MAX_INT64),
) -> Response:
    if at is not None and alias is None:
        raise InvalidArgument("at needs an alias (what did <alias> name at <at>?)", field="at")
    found = await run_in_threadpool(registry(request).versions.get, name, None, alias=alias, at=at)
    return json_response(found.to_dict())


@router.get(
    "/models/{name}/versions/{version}",
    summary="One version by number",
    openapi_extra=needs("model.read"),
)
async def get_version(
    request: Request, name: str, version: VersionPath, include_deleted: bool = Query(False)
) -> Response:
    found = await run_in_threadpool(
        registry(request).versions.get, name, version, include_deleted=include_deleted
    )
    return json_response(found.to_dict())


@router.patch(
    "/models/{name}/versions/{version}",
    summary="Change a version's description",
    openapi_extra=needs("model.write", extra=DESCRIPTION_BODY),
)
async def update_version(request: Request, name: str, version: VersionPath) -> Response:
    body = await read_json(request)
    description = nullable_text(body, "description")
    found = await run_in_threadpool(registry(request).versions.update, name, version, description)
    return json_response(found.to_dict())


@router.delete(
    "/models/{name}/versions/{version}",
    summary="Delete a version (soft)",
    openapi_extra=needs("model.delete"),
)
async def delete_version(request: Request, name: str, version: VersionPath) -> Response:
    await run_in_threadpool(registry(request).versions.delete, name, version)
    return json_response({})


@router.post(
    "/models/{name}/versions/{version}/restore",
    summary="Restore a deleted version",
    openapi_extra=needs("model.delete", extra=EMPTY_BODY),
)
async def restore_version(request: Request, name: str, version: VersionPath) -> Response:
    await run_in_threadpool(registry(request).versions.restore, name, version)
    return json_response({})


@router.put(
    "/models/{name}/versions/{version}/tags",
    summary="Set a tag on a version",
    openapi_extra=needs("model.write", "gate.record", extra=TAG_BODY),
)
async def set_tag(request: Request, name: str, version: VersionPath) -> Response:
    body = await read_json(request)
    key = require(body, "key", str, "a tag key")
    value = require(body, "value", str, "a string")
    await run_in_threadpool(registry(request).versions.set_tag, name, version, key, value)
    return json_response({})


@router.delete(
    "/models/{name}/versions/{version}/tags/{key:path}",
    summary="Remove a version tag",
    openapi_extra=needs("model.write", "gate.record"),
)
async def delete_tag(request: Request, name: str, version: VersionPath, key: str) -> Response:
    await run_in_threadpool(registry(request).versions.delete_tag, name, version, key)
    return json_response({})


@router.put(
    "/models/{name}/versions/{version}/card",
    summary="Set a version's card sections",
    openapi_extra=needs("model.write", extra=CARD_BODY),
)
async def set_card(request: Request, name: str, version: VersionPath) -> Response:
    body = await read_json(request)
    sections = string_map(body, "sections")
    await run_in_threadpool(registry(request).versions.set_card, name, version, sections)
    return json_response({})
