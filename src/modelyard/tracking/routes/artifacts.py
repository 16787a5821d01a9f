"""HTTP routes for run artifacts: streamed upload and download, listing, stat.

The upload is consumed chunk by chunk in a worker thread that pulls from the request stream,
so memory stays bounded whatever the size; the stored size and sha256 come back.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from modelyard.platform.route_permissions import needs
from modelyard.store.artifacts.paths import safe_relpath
from modelyard.tracking.routes.deps import tracking
from modelyard.webapi.json import json_response
from modelyard.webapi.streams import OCTET_STREAM_BODY, OctetStreamResponse, store_stream

router = APIRouter(prefix="/api/v1/runs/{run_id}/artifacts", tags=["artifacts"])

UPLOAD_PATH = r"/api/v1/runs/[^/]+/artifacts"


_SMALL_BODY = 1 << 20


@router.put(
    "",
    summary="Upload one artifact file (streamed)",
    status_code=201,
    openapi_extra=needs("artifact.write", extra=OCTET_STREAM_BODY),
)
async def upload(
    run_id: str,
    request: Request,
    path: str = Query(..., description="relative path inside the run"),
) -> Response:
    rel = safe_relpath(path)
    arts = tracking(request).artifacts
    length = request.headers.get("content-length")
    size = int(length) if length and length.isdigit() else None
    if size is not None and size <= _SMALL_BODY:
        body = await request.body()  # small: one piece, one thread hop
        stored = await run_in_threadpool(arts.upload, run_id, rel, [body], size_hint=size)
    else:
        stored = await store_stream(
            request.stream(), lambda chunks: arts.upload(run_id, rel, chunks, size_hint=size)
        )
    return json_response({"path": stored.path, "size": stored.size, "sha256": stored.sha256}, 201)


@router.get("", summary="List artifacts under a path", openapi_extra=needs("artifact.read"))
async def list_artifacts(run_id: str, request: Request, path: str = "") -> Response:
    rel = safe_relpath(path) if path else ""
    files = await run_in_threadpool(tracking(request).artifacts.list, run_id, rel)
    return json_response({"files": [f.to_dict() for f in files]})


@router.get(
    "/stat", summary="Size and sha256 of one artifact", openapi_extra=needs("artifact.read")
)
async def stat(run_id: str, request: Request, path: str = Query(...)) -> Response:
    info = await run_in_threadpool(tracking(request).artifacts.stat, run_id, safe_relpath(path))
    return json_response(info.to_dict())


@router.get(
    "/content",
    summary="Download one artifact (streamed)",
    response_class=OctetStreamResponse,
    openapi_extra=needs("artifact.read"),
)
async def download(run_id: str, request: Request, path: str = Query(...)) -> Response:
    rel = safe_relpath(path)
    arts = tracking(request).artifacts
    info = await run_in_threadpool(arts.stat, run_id, rel)
    chunks = await run_in_threadpool(arts.download_stream, run_id, rel)
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={"Content-Length": str(info.size), "X-Modelyard-Sha256": str(info.sha256)},
    )
