"""HTTP routes for lineage: the edges at one node (the SDK walks the graph from there)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.data.routes.deps import data
from modelyard.data.store import EDGES_PAGE_DEFAULT, EDGES_PAGE_MAX
from modelyard.platform.route_permissions import needs
from modelyard.webapi.json import json_response
from modelyard.webapi.openapi import PAGE_HELP, page_limit

router = APIRouter(prefix="/api/v1/lineage", tags=["lineage"])


@router.get(
    "/edges",
    summary="Edges that start or end at a node, a page at a time (follow next_page_token)",
    openapi_extra=needs("lineage.read"),
)
async def edges(
    request: Request,
    type: str = Query(..., max_length=32, description="dataset_version, run, ..."),
    id: str = Query(..., max_length=64),
    limit: int = page_limit(EDGES_PAGE_DEFAULT, EDGES_PAGE_MAX, "edges"),
    page_token: str | None = Query(None, description=PAGE_HELP),
) -> Response:
    found, token = await run_in_threadpool(
        lambda: data(request).store.edges_page(type, id, limit=limit, page_token=page_token)
    )
    return json_response({"edges": [e.to_dict() for e in found], "next_page_token": token})
