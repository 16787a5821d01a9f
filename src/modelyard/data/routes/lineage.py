"""HTTP routes for lineage: the edges at one node (the SDK walks the graph from there)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.data.routes.deps import data
from modelyard.webapi.json import json_response

router = APIRouter(prefix="/api/v1/lineage", tags=["lineage"])


@router.get("/edges", summary="Edges that start or end at a node")
async def edges(
    request: Request,
    type: str = Query(..., max_length=32, description="dataset_version, run, ..."),
    id: str = Query(..., max_length=64),
) -> Response:
    found = await run_in_threadpool(data(request).store.edges, type, id)
    return json_response({"edges": [e.to_dict() for e in found]})
