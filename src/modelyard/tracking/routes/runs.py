"""HTTP routes for runs: ``/api/v1/runs`` — the op batch endpoint the SDK writes through,
reads, search, soft delete. Hot paths parse with orjson and skip pydantic."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import InvalidArgument
from modelyard.identity import current_actor
from modelyard.platform.route_permissions import needs
from modelyard.tracking.entities import RUN_ROW_COLUMNS, ViewType, encode_float, run_to_row
from modelyard.tracking.ops import CreateRun, decode_ops
from modelyard.tracking.routes.deps import tracking
from modelyard.tracking.store import HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX
from modelyard.webapi.json import json_response, read_json
from modelyard.webapi.openapi import EMPTY_BODY

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])

_OP_DOC = (
    "One of: {op: create_run, run_id, experiment_id, run_name, user_id, start_time, "
    "parent_run_id, tags}; {op: log, run_id, metrics: [[key, value, timestamp, step]], "
    "params: {}, tags: {}}; {op: update_run, run_id, status, end_time, run_name}; "
    "{op: delete_tag, run_id, key}. NaN and infinities travel as the strings "
    '"NaN", "Infinity", "-Infinity".'
)

_OPS_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["ops"],
                    "properties": {
                        "ops": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "description": _OP_DOC,
                            },
                        }
                    },
                }
            }
        },
    }
}

_SEARCH_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "experiment_ids": {"type": "array", "items": {"type": "string"}},
                        "filter": {"type": "string", "example": "metrics.auc > 0.9"},
                        "view": {"type": "string", "enum": ["active", "deleted", "all"]},
                        "max_results": {"type": "integer", "maximum": 50000},
                        "order_by": {"type": "array", "items": {"type": "string"}},
                        "page_token": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/ops",
    summary="Apply a batch of run writes atomically",
    openapi_extra=needs("run.write", extra=_OPS_SCHEMA),
)
async def apply_ops(request: Request) -> Response:
    body = await read_json(request)
    ops = decode_ops(body.get("ops"))
    actor = current_actor()
    if actor.grants is not None:  # an authenticated caller: a run is theirs, whatever it says
        ops = [replace(op, user_id=actor.name) if isinstance(op, CreateRun) else op for op in ops]
    await run_in_threadpool(tracking(request).store.apply, ops)
    return json_response({"applied": len(ops)})


@router.post(
    "/search", summary="Search runs", openapi_extra=needs("run.read", extra=_SEARCH_SCHEMA)
)
async def search_runs(request: Request) -> Response:
    body = await read_json(request)
    ids = body.get("experiment_ids") or []
    if not isinstance(ids, list):
        raise InvalidArgument("experiment_ids must be a list of ids", field="experiment_ids")
    order_by = body.get("order_by") or []
    if not isinstance(order_by, list) or not all(isinstance(o, str) for o in order_by):
        raise InvalidArgument("order_by must be a list of strings", field="order_by")
    flt = body.get("filter")
    if flt is not None and not isinstance(flt, str):
        raise InvalidArgument("filter must be a string", field="filter")
    try:
        view = ViewType(body.get("view") or "active")
    except ValueError:
        raise InvalidArgument("view must be active, deleted or all", field="view") from None
    max_results = body.get("max_results", 1000)
    token = body.get("page_token")
    if token is not None and not isinstance(token, str):
        raise InvalidArgument("page_token must be a string", field="page_token")
    page = await run_in_threadpool(
        tracking(request).store.search_runs,
        [str(i) for i in ids],
        flt,
        view,
        max_results,
        order_by,
        token,
    )
    return json_response(
        {
            "columns": RUN_ROW_COLUMNS,
            "runs": [run_to_row(r) for r in page.runs],
            "next_page_token": page.next_page_token,
        }
    )


@router.get("/{run_id}", summary="Get a run", openapi_extra=needs("run.read"))
async def get_run(run_id: str, request: Request) -> Response:
    run = await run_in_threadpool(tracking(request).store.get_run, run_id)
    return json_response(run.to_dict())


@router.get(
    "/{run_id}/metric-history",
    summary="The points of one metric, a page at a time (follow next_page_token)",
    openapi_extra=needs("run.read"),
)
async def metric_history(
    run_id: str,
    request: Request,
    key: str = Query(..., description="metric key"),
    max_results: int = Query(
        HISTORY_PAGE_DEFAULT,
        ge=1,
        le=HISTORY_PAGE_MAX,
        description=f"points in this page (at most {HISTORY_PAGE_MAX})",
    ),
    page_token: str | None = Query(None, description="next_page_token of the previous page"),
) -> Response:
    page = await run_in_threadpool(
        tracking(request).store.get_metric_history_page, run_id, key, max_results, page_token
    )
    out: list[Any] = [[encode_float(m.value), m.timestamp, m.step] for m in page.metrics]
    return json_response({"key": key, "points": out, "next_page_token": page.next_page_token})


@router.delete("/{run_id}", summary="Delete a run (soft)", openapi_extra=needs("run.delete"))
async def delete_run(run_id: str, request: Request) -> Response:
    await run_in_threadpool(tracking(request).store.delete_run, run_id)
    return json_response({})


@router.post(
    "/{run_id}/restore",
    summary="Restore a deleted run",
    openapi_extra=needs("run.delete", extra=EMPTY_BODY),
)
async def restore_run(run_id: str, request: Request) -> Response:
    await run_in_threadpool(tracking(request).store.restore_run, run_id)
    return json_response({})
