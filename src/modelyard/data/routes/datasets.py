"""HTTP routes for datasets and their versions: ``/api/v1/datasets``.

Dataset names may hold '/', so they travel as query parameters, not path segments.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.data.entities import FileEntry, NewVersion
from modelyard.data.routes.deps import data
from modelyard.data.store import (
    DATASETS_PAGE_DEFAULT,
    DATASETS_PAGE_MAX,
    VERSIONS_PAGE_DEFAULT,
    VERSIONS_PAGE_MAX,
)
from modelyard.errors import InvalidArgument
from modelyard.identity import current_actor
from modelyard.platform.route_permissions import needs
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.limits import MAX_INT64
from modelyard.webapi.openapi import (
    INT,
    OBJ,
    PAGE_HELP,
    STR,
    STR_MAP,
    json_body,
    nullable,
    obj,
    page_limit,
)

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
_FILE = obj({"path": STR, "sha256": STR, "size": INT}, ["path", "sha256", "size"])
_CREATE = json_body(
    obj(
        {
            "name": STR,
            "digest": STR,
            "format": STR,
            "num_rows": INT,
            "manifest": {"type": "array", "items": _FILE},
            "schema": OBJ,
            "profile": OBJ,
            "expectations": STR,
            "tags": STR_MAP,
            "source": STR,
            "created_by": STR,
            "description": STR,
            "run_id": STR,
            "context": STR,
        },
        ["name", "digest", "format", "manifest"],
    )
)
_EXPECTATIONS = json_body(
    obj({"name": STR, "version": INT, "expectations": nullable(STR)}, ["name", "version"])
)
_LINK = json_body(
    obj(
        {
            "name": STR,
            "version": INT,
            "run_id": STR,
            "relation": {"type": "string", "enum": ["input", "output"]},
            "context": STR,
        },
        ["name", "version", "run_id"],
    )
)


def _optional(body: dict[str, Any], key: str, kind: type | tuple[type, ...], expected: str) -> Any:
    value = body.get(key)
    if value is not None and not isinstance(value, kind):
        raise InvalidArgument(f"{key} must be {expected}", field=key)
    return value


def _manifest(body: dict[str, Any]) -> list[FileEntry]:
    items = require(body, "manifest", list, "a list of {path, sha256, size}")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidArgument(f"manifest[{i}] must be an object", field="manifest")
        path = require(item, "path", str, "a relative path")
        sha = require(item, "sha256", str, "64 hex characters")
        size = require(item, "size", int, "an integer >= 0")
        out.append(FileEntry(path, sha, size))
    return out


def _new_version(body: dict[str, Any]) -> NewVersion:
    tags = _optional(body, "tags", dict, "an object of strings") or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise InvalidArgument("tags must be an object of strings", field="tags")
    return NewVersion(
        name=require(body, "name", str, "a dataset name"),
        digest=require(body, "digest", str, "64 hex characters"),
        format=require(body, "format", str, "parquet, csv or files"),
        num_rows=_optional(body, "num_rows", int, "an integer"),
        manifest=_manifest(body),
        schema=_optional(body, "schema", dict, "an object"),
        profile=_optional(body, "profile", dict, "an object"),
        expectations=_optional(body, "expectations", str, "YAML text"),
        tags=tags,
        source=_optional(body, "source", str, "a string"),
        # with --auth, the one who calls; without, who the client says it is
        created_by=actor.name
        if (actor := current_actor()).grants is not None
        else _optional(body, "created_by", str, "a string"),
        description=_optional(body, "description", str, "a string"),
        project=_optional(body, "project", str, "a project name"),
    )


@router.get(
    "",
    summary="Datasets by name, a page at a time (follow next_page_token)",
    openapi_extra=needs("dataset.read"),
)
async def list_datasets(
    request: Request,
    limit: int = page_limit(DATASETS_PAGE_DEFAULT, DATASETS_PAGE_MAX, "datasets"),
    page_token: str | None = Query(None, description=PAGE_HELP),
) -> Response:
    found, token = await run_in_threadpool(
        lambda: data(request).store.list_datasets_page(limit=limit, page_token=page_token)
    )
    return json_response({"datasets": [d.to_dict() for d in found], "next_page_token": token})


@router.post(
    "/versions",
    summary="Register a version whose files are stored",
    status_code=201,
    responses={200: {"description": "The same files were registered before"}},
    openapi_extra=needs("dataset.write", extra=_CREATE),
)
async def create_version(request: Request) -> Response:
    body = await read_json(request)
    draft = _new_version(body)
    run_id = _optional(body, "run_id", str, "a run id")
    context = _optional(body, "context", str, "a string")
    version, created = await run_in_threadpool(
        data(request).store.create_version, draft, run_id=run_id, context=context
    )
    return json_response(
        {"version": version.to_dict(), "created": created}, 201 if created else 200
    )


@router.get(
    "/version",
    summary="One version: the latest, a number, or by digest",
    openapi_extra=needs("dataset.read"),
)
async def get_version(
    request: Request,
    name: str = Query(...),
    version: int | None = Query(None, ge=1, le=MAX_INT64),
    digest: str | None = Query(None),
) -> Response:
    found = await run_in_threadpool(data(request).store.get_version, name, version, digest)
    return json_response(found.to_dict())


@router.get(
    "/versions",
    summary="Versions of a dataset, newest first (no profiles), a page at a time "
    "(follow next_page_token)",
    openapi_extra=needs("dataset.read"),
)
async def list_versions(
    request: Request,
    name: str = Query(...),
    limit: int = page_limit(VERSIONS_PAGE_DEFAULT, VERSIONS_PAGE_MAX, "versions"),
    page_token: str | None = Query(None, description=PAGE_HELP),
) -> Response:
    found, token = await run_in_threadpool(
        lambda: data(request).store.list_versions_page(name, limit=limit, page_token=page_token)
    )
    versions = [v.to_dict(with_profile=False) for v in found]
    return json_response({"versions": versions, "next_page_token": token})


@router.put(
    "/expectations",
    summary="Attach or remove the expectation suite of a version",
    openapi_extra=needs("dataset.write", extra=_EXPECTATIONS),
)
async def set_expectations(request: Request) -> Response:
    body = await read_json(request)
    name = require(body, "name", str, "a dataset name")
    version = require(body, "version", int, "a version number")
    text = _optional(body, "expectations", str, "YAML text or null")
    if text is not None:
        from modelyard.data.expectations import Expectations

        Expectations.from_yaml(text)  # refuse a suite that would not load later
    found = await run_in_threadpool(data(request).store.set_expectations, name, version, text)
    return json_response(found.to_dict())


@router.delete(
    "/version",
    summary="Delete a version (refused while lineage uses it)",
    openapi_extra=needs("dataset.delete"),
)
async def delete_version(
    request: Request,
    name: str = Query(...),
    version: int = Query(..., ge=1, le=MAX_INT64),
    force: bool = Query(False),
) -> Response:
    removed = await run_in_threadpool(
        data(request).store.delete_version, name, version, force=force
    )
    return json_response({"edges_deleted": removed})


@router.post(
    "/links",
    summary="Link a dataset version to a run (input or output)",
    status_code=201,
    openapi_extra=needs("dataset.write", extra=_LINK),
)
async def link(request: Request) -> Response:
    body = await read_json(request)
    await run_in_threadpool(
        data(request).store.link,
        require(body, "name", str, "a dataset name"),
        require(body, "version", int, "a version number"),
        require(body, "run_id", str, "a run id"),
        relation=_optional(body, "relation", str, "input or output") or "input",
        context=_optional(body, "context", str, "a string"),
    )
    return json_response({}, 201)
