"""HTTP routes for registered models, their tags, card sections and aliases:
``/api/v1/registry/models``. Model names are path segments (they cannot hold '/')."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.platform.route_permissions import needs
from modelyard.registry.routes.deps import (
    CARD_BODY,
    DESCRIPTION_BODY,
    TAG_BODY,
    nullable_text,
    optional,
    registry,
    string_map,
)
from modelyard.registry.store import EVENTS_PAGE_DEFAULT, EVENTS_PAGE_MAX, SEARCH_MAX
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import (
    EMPTY_BODY,
    INT,
    PAGE_HELP,
    STR,
    STR_MAP,
    json_body,
    obj,
    page_limit,
)

router = APIRouter(prefix="/api/v1/registry/models", tags=["registry"])
_CREATE = json_body(
    obj({"name": STR, "description": STR, "tags": STR_MAP, "project": STR}, ["name"])
)
_ALIAS = json_body(obj({"version": INT}, ["version"]))


@router.post(
    "",
    summary="Create a registered model",
    status_code=201,
    openapi_extra=needs("model.create", extra=_CREATE),
)
async def create_model(request: Request) -> Response:
    body = await read_json(request)
    found = await run_in_threadpool(
        registry(request).models.create,
        require(body, "name", str, "a model name"),
        optional(body, "description", str, "text"),
        string_map(body, "tags"),
        optional(body, "project", str, "a project name"),
    )
    return json_response(found.to_dict(), 201)


@router.get(
    "",
    summary="Search registered models (filter on name, tags, ...)",
    openapi_extra=needs("model.read"),
)
async def search_models(
    request: Request,
    filter: str | None = Query(None),
    include_deleted: bool = Query(False),
    max_results: int = Query(
        100, ge=1, le=SEARCH_MAX, description=f"results in this page (at most {SEARCH_MAX})"
    ),
    page_token: str | None = Query(None),
) -> Response:
    found, token = await run_in_threadpool(
        registry(request).models.search,
        filter,
        include_deleted=include_deleted,
        max_results=max_results,
        page_token=page_token,
    )
    return json_response({"models": [m.to_dict() for m in found], "next_page_token": token})


@router.get(
    "/{name}",
    summary="One registered model, with its tags and aliases",
    openapi_extra=needs("model.read"),
)
async def get_model(request: Request, name: str, include_deleted: bool = Query(False)) -> Response:
    found = await run_in_threadpool(
        registry(request).models.get, name, include_deleted=include_deleted
    )
    return json_response(found.to_dict())


@router.patch(
    "/{name}",
    summary="Change a model's description",
    openapi_extra=needs("model.write", extra=DESCRIPTION_BODY),
)
async def update_model(request: Request, name: str) -> Response:
    body = await read_json(request)
    description = nullable_text(body, "description")
    found = await run_in_threadpool(registry(request).models.update, name, description)
    return json_response(found.to_dict())


@router.delete(
    "/{name}",
    summary="Delete a model (soft: restorable, its name stays taken)",
    openapi_extra=needs("model.delete"),
)
async def delete_model(request: Request, name: str) -> Response:
    await run_in_threadpool(registry(request).models.delete, name)
    return json_response({})


@router.post(
    "/{name}/restore",
    summary="Restore a deleted model",
    openapi_extra=needs("model.delete", extra=EMPTY_BODY),
)
async def restore_model(request: Request, name: str) -> Response:
    await run_in_threadpool(registry(request).models.restore, name)
    return json_response({})


@router.put(
    "/{name}/tags",
    summary="Set a tag on a model",
    openapi_extra=needs("model.write", extra=TAG_BODY),
)
async def set_tag(request: Request, name: str) -> Response:
    body = await read_json(request)
    key = require(body, "key", str, "a tag key")
    value = require(body, "value", str, "a string")
    await run_in_threadpool(registry(request).models.set_tag, name, key, value)
    return json_response({})


@router.delete(
    "/{name}/tags/{key:path}",
    summary="Remove a tag from a model",
    openapi_extra=needs("model.write"),
)
async def delete_tag(request: Request, name: str, key: str) -> Response:
    await run_in_threadpool(registry(request).models.delete_tag, name, key)
    return json_response({})


@router.put(
    "/{name}/card",
    summary="Set the editable model-card sections of a model",
    openapi_extra=needs("model.write", extra=CARD_BODY),
)
async def set_card(request: Request, name: str) -> Response:
    body = await read_json(request)
    await run_in_threadpool(
        registry(request).versions.set_card, name, None, string_map(body, "sections")
    )
    return json_response({})


@router.put(
    "/{name}/aliases/{alias}",
    summary="Point an alias at a version",
    openapi_extra=needs("alias.set", "approval.decide", extra=_ALIAS),
)
async def set_alias(request: Request, name: str, alias: str) -> Response:
    body = await read_json(request)
    version = require(body, "version", int, "a version number")
    await run_in_threadpool(registry(request).aliases.set, name, alias, version)
    return json_response({})


@router.delete(
    "/{name}/aliases/{alias}",
    summary="Remove an alias",
    openapi_extra=needs("alias.set", "approval.decide"),
)
async def delete_alias(request: Request, name: str, alias: str) -> Response:
    await run_in_threadpool(registry(request).aliases.delete, name, alias)
    return json_response({})


@router.get(
    "/{name}/alias-history",
    summary="The moves of a model's aliases, oldest first, a page at a time "
    "(follow next_page_token)",
    openapi_extra=needs("model.read"),
)
async def alias_history(
    request: Request,
    name: str,
    alias: str | None = Query(None),
    limit: int = page_limit(EVENTS_PAGE_DEFAULT, EVENTS_PAGE_MAX, "moves"),
    page_token: str | None = Query(None, description=PAGE_HELP),
) -> Response:
    found, token = await run_in_threadpool(
        lambda: registry(request).aliases.history_page(
            name, alias, limit=limit, page_token=page_token
        )
    )
    return json_response({"events": [e.to_dict() for e in found], "next_page_token": token})
