"""HTTP routes of the step cache: ``/api/v1/pipeline-cache``."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import InvalidArgument, NotFound
from modelyard.pipelines.entities import CacheEntry
from modelyard.pipelines.rest_paths import CACHE
from modelyard.pipelines.routes.wire import known_fields, parse, pipelines_store
from modelyard.platform.route_permissions import needs
from modelyard.platform.scope import require_in
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import OBJ, json_body, obj

router = APIRouter(prefix=CACHE, tags=["pipelines"])
MAX_ENTRIES = 5_000
_PUT = json_body(obj({"entries": {"type": "array", "items": OBJ}}, ["entries"], closed=True))


@router.get("/{key}", summary="A cache entry of a project", openapi_extra=needs("pipeline.read"))
async def get(
    request: Request, key: str, project: str = Query(..., description="The project")
) -> Response:
    missing = NotFound(f"no cache entry {key[:16]!r}", field="key")
    require_in("pipeline.read", project, missing)
    found = await run_in_threadpool(pipelines_store(request).cache.get, key, project)
    if found is None:
        raise missing
    return json_response(found.to_dict())


@router.post("", summary="Record cache entries", openapi_extra=needs("pipeline.run", extra=_PUT))
async def put(request: Request) -> Response:
    body = await read_json(request)
    known_fields(body, ("entries",))
    items = require(body, "entries", list, "a list of cache entries")
    if len(items) > MAX_ENTRIES:
        raise InvalidArgument(f"at most {MAX_ENTRIES} entries in one request", field="entries")
    entries = [parse(CacheEntry.from_dict, e, f"entries[{i}]") for i, e in enumerate(items)]
    await run_in_threadpool(pipelines_store(request).cache.put, entries)
    return json_response({})


@router.delete("", summary="Forget cache entries", openapi_extra=needs("pipeline.write"))
async def clear(
    request: Request,
    step: str | None = Query(None, description="Only this step's entries"),
    key: str | None = Query(None, description="Only this key"),
) -> Response:
    n = await run_in_threadpool(lambda: pipelines_store(request).cache.clear(step=step, key=key))
    return json_response({"cleared": n})
