"""HTTP routes for monitoring data: ``/api/v1/predictions`` (the shipped prediction files'
catalog, and late labels). The Parquet files themselves travel as dataset blobs."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.data.manifest import check_sha256
from modelyard.errors import InvalidArgument, NotFound
from modelyard.monitoring.entities import MAX_LABELS, PredictionFile, check_labels
from modelyard.monitoring.store import FILES_PAGE_DEFAULT, FILES_PAGE_MAX, MonitoringStore
from modelyard.platform.route_permissions import needs
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.limits import MAX_INT64
from modelyard.webapi.openapi import (
    INT,
    PAGE_HELP,
    STR,
    STR_LIST,
    json_body,
    nullable,
    obj,
    page_limit,
)

router = APIRouter(prefix="/api/v1/predictions", tags=["monitoring"])
_FILE_FIELDS = (
    "sha256",
    "size",
    "model",
    "version",
    "endpoint",
    "rows",
    "first_time",
    "last_time",
    "project",
)
_FILE = json_body(
    obj(
        {
            "sha256": STR,
            "size": INT,
            "model": STR,
            "version": nullable(STR),
            "endpoint": STR,
            "rows": INT,
            "first_time": INT,
            "last_time": INT,
            "project": STR,
        },
        [f for f in _FILE_FIELDS if f not in ("version", "project")],
        closed=True,
    )
)
_LABEL = obj(
    {"request_id": STR, "label": {}, "row": INT, "time": nullable(INT)}, ["request_id", "label"]
)
_LABELS = json_body(obj({"labels": {"type": "array", "items": _LABEL}, "project": STR}, ["labels"]))
_LOOKUP = json_body(obj({"request_ids": STR_LIST}, ["request_ids"]))


def monitoring(request: Request) -> MonitoringStore:
    found: MonitoringStore = request.app.state.monitoring
    return found


@router.post(
    "/files",
    summary="List a shipped prediction file (its blob uploaded first)",
    status_code=201,
    openapi_extra=needs("prediction.write", extra=_FILE),
)
async def add_file(request: Request) -> Response:
    body = await read_json(request)
    unknown = sorted(set(body) - set(_FILE_FIELDS))
    if unknown:
        raise InvalidArgument(f"unknown field(s) {unknown}", field=unknown[0])
    missing = [k for k in _FILE_FIELDS if k not in body and k not in ("version", "project")]
    if missing:
        raise InvalidArgument(f"{missing[0]} is required", field=missing[0])
    meta = PredictionFile.from_dict({k: body.get(k) for k in _FILE_FIELDS})
    if not isinstance(meta.sha256, str):
        raise InvalidArgument("sha256 must be 64 hex digits", field="sha256")
    check_sha256(meta.sha256)
    if await run_in_threadpool(request.app.state.data.blobs.missing, [meta.sha256]):
        raise NotFound(f"blob {meta.sha256} is not stored: upload the file first", field="sha256")
    found = await run_in_threadpool(monitoring(request).add_prediction_file, meta)
    return json_response(found.to_dict(), 201)


@router.get(
    "/files",
    summary="Prediction files overlapping a time range, oldest first, a page at a time "
    "(follow next_page_token)",
    openapi_extra=needs("prediction.read"),
)
async def list_files(
    request: Request,
    model: str | None = Query(None),
    version: str | None = Query(None),
    endpoint: str | None = Query(None),
    since: int | None = Query(None, ge=0, le=MAX_INT64),
    until: int | None = Query(None, ge=0, le=MAX_INT64),
    limit: int = page_limit(FILES_PAGE_DEFAULT, FILES_PAGE_MAX, "files"),
    page_token: str | None = Query(None, description=PAGE_HELP),
) -> Response:
    found, token = await run_in_threadpool(
        lambda: monitoring(request).prediction_files_page(
            model=model,
            version=version,
            endpoint=endpoint,
            since=since,
            until=until,
            limit=limit,
            page_token=page_token,
        )
    )
    return json_response({"files": [f.to_dict() for f in found], "next_page_token": token})


@router.post(
    "/labels",
    summary="Record late labels by request id (a repeat replaces)",
    openapi_extra=needs("prediction.write", extra=_LABELS),
)
async def log_labels(request: Request) -> Response:
    body = await read_json(request)
    labels = check_labels(require(body, "labels", list, "a list of {request_id, label}"))
    project = body.get("project")
    if project is not None and not isinstance(project, str):
        raise InvalidArgument("project must be a project name", field="project")
    recorded, replaced = await run_in_threadpool(monitoring(request).log_labels, labels, project)
    return json_response({"recorded": recorded, "replaced": replaced})


@router.post(
    "/labels/lookup",
    summary="The labels of some request ids",
    openapi_extra=needs("prediction.read", extra=_LOOKUP),
)
async def lookup(request: Request) -> Response:
    body = await read_json(request)
    ids = require(body, "request_ids", list, "a list of request ids")
    if len(ids) > MAX_LABELS:
        raise InvalidArgument(f"ask for at most {MAX_LABELS} ids at once", field="request_ids")
    found = await run_in_threadpool(monitoring(request).get_labels, ids)
    return json_response({"labels": [lb.to_dict() for lb in found]})
