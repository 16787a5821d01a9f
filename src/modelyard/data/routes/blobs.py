"""HTTP routes for dataset blobs: which are missing, streamed upload (verified), download."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from modelyard.data.blob_holders import held, hold, require_held
from modelyard.data.manifest import check_sha256
from modelyard.data.routes.deps import data
from modelyard.errors import InvalidArgument
from modelyard.platform.route_permissions import needs
from modelyard.platform.scope import projects_with
from modelyard.store.database import Database
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.limits import MAX_INT64
from modelyard.webapi.openapi import STR_LIST, json_body, obj
from modelyard.webapi.streams import OCTET_STREAM_BODY, OctetStreamResponse, store_stream

router = APIRouter(prefix="/api/v1/datasets/blobs", tags=["datasets"])


def _db(request: Request) -> Database:
    found = request.app.state.tracking.db
    assert found is not None  # a server has a store of its own
    return found  # type: ignore[no-any-return]


UPLOAD_PATH = r"/api/v1/datasets/blobs/[0-9a-f]{64}"
_MISSING = json_body(obj({"digests": {**STR_LIST, "maxItems": 10_000}}, ["digests"]))


@router.post(
    "/missing",
    summary="Which of these sha256 digests are not stored yet",
    openapi_extra=needs("dataset.write", extra=_MISSING),
)
async def missing(request: Request) -> Response:
    body = await read_json(request)
    digests = require(body, "digests", list, "a list of sha256 digests")
    if len(digests) > 10_000:
        raise InvalidArgument("ask about at most 10000 digests at once", field="digests")
    for d in digests:
        check_sha256(d, "digests")
    found = await run_in_threadpool(data(request).blobs.missing, digests)
    # a blob no project of the caller holds is missing to it: its bytes prove it holds them
    mine = await run_in_threadpool(held, _db(request), digests)
    found = list(dict.fromkeys([*found, *(d for d in digests if d not in mine)]))
    return json_response({"missing": found})


@router.put(
    "/{sha256}",
    summary="Upload a blob (refused unless it hashes to sha256)",
    status_code=201,
    openapi_extra=needs("dataset.write", extra=OCTET_STREAM_BODY),
)
async def upload(
    request: Request, sha256: str, size: int = Query(..., ge=0, le=MAX_INT64)
) -> Response:
    check_sha256(sha256)
    blobs = data(request).blobs
    await store_stream(request.stream(), lambda chunks: blobs.put(sha256, chunks, size))
    # whoever sent the bytes holds them in each project they may write datasets to
    projects = projects_with("dataset.write")
    if projects:
        db = _db(request)

        def record(conn: Connection) -> None:
            for project in sorted(projects):
                hold(conn, [sha256], project)

        await run_in_threadpool(db.run_write, record)
    return json_response({"sha256": sha256, "size": size}, 201)


@router.get("/{sha256}/size", summary="Size of a stored blob", openapi_extra=needs("dataset.read"))
async def size(request: Request, sha256: str) -> Response:
    check_sha256(sha256)
    await run_in_threadpool(require_held, _db(request), sha256)
    found = await run_in_threadpool(data(request).blobs.size, sha256)
    return json_response({"sha256": sha256, "size": found})


@router.get(
    "/{sha256}",
    summary="Download a blob (streamed)",
    response_class=OctetStreamResponse,
    openapi_extra=needs("dataset.read"),
)
async def download(request: Request, sha256: str) -> Response:
    check_sha256(sha256)
    await run_in_threadpool(require_held, _db(request), sha256)
    chunks = await run_in_threadpool(data(request).blobs.read, sha256)
    return StreamingResponse(chunks, media_type="application/octet-stream")
