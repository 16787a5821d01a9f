"""``POST /api/v1/pipelines/{name}/trigger``: a pipeline's webhook. Queues a run for the
servers that hold its code (``modelyard server --pipelines``); a ``key`` makes the call
idempotent (the same key, the same run), so a caller may retry it safely."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import Conflict, InvalidArgument, NotFound, Unavailable
from modelyard.identity import current_actor
from modelyard.pipelines.entities import RunRecord
from modelyard.pipelines.firing import queued
from modelyard.pipelines.rest_paths import PIPELINES
from modelyard.pipelines.routes.wire import known_fields, pipelines_store
from modelyard.pipelines.sql_queue import event_run_id
from modelyard.pipelines.values import encode
from modelyard.platform.ids import new_run_id, now_ms
from modelyard.platform.route_permissions import needs
from modelyard.platform.scope import require_in
from modelyard.webapi.json import json_response, read_json
from modelyard.webapi.openapi import OBJ, STR, json_body, obj

router = APIRouter(prefix=PIPELINES, tags=["pipelines"])
MAX_KEY = 128
_TRIGGER = json_body(
    obj({"params": OBJ, "key": STR}, [], closed=True),
    "The run's parameters (JSON values; the pipeline's defaults fill the rest) and an "
    "idempotency key",
)


@router.post(
    "/{name}/trigger",
    summary="Queue a run of a pipeline that declares yard.on_webhook()",
    status_code=202,
    openapi_extra=needs("pipeline.run", extra=_TRIGGER),
)
async def trigger(request: Request, name: str) -> Response:
    body = await read_json(request)
    known_fields(body, ("params", "key"))
    params = body.get("params", {})
    if not isinstance(params, dict):
        raise InvalidArgument("params must be an object of parameter values", field="params")
    key = body.get("key")
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= MAX_KEY):
        raise InvalidArgument(f"key must be text of 1 to {MAX_KEY} characters", field="key")
    record, new = await run_in_threadpool(_enqueue, request, name, params, key)
    return json_response(record.to_dict(), 202 if new else 200)


def _enqueue(
    request: Request, name: str, params: dict[str, Any], key: str | None
) -> tuple[RunRecord, bool]:
    queue = getattr(request.app.state, "pipeline_queue", None)
    if queue is None:
        raise Unavailable("this server does not run pipelines (its store is another server)")
    info = pipelines_store(request).defs.get(name)
    require_in("pipeline.run", info.project, NotFound(f"no pipeline {name!r}", field="pipeline"))
    if not any(t.get("kind") == "webhook" for t in info.triggers):
        raise Conflict(
            f"pipeline {name!r} has no webhook trigger (declare triggers=[yard.on_webhook()])",
            field="pipeline",
        )
    code = request.app.state.pipeline_code.get(name)
    if code is not None:  # the server holds its code: parameters it does not take are refused
        code.bind((), params)
    doc = encode(params, where="params", lenient=False)
    if doc.blobs:
        raise InvalidArgument("params must be small JSON values", field="params")
    run_id = event_run_id(name, "webhook", key) if key is not None else new_run_id()
    actor = current_actor().name
    made = queued(info, run_id, f"webhook called by {actor}"[:512], now_ms())
    found: tuple[RunRecord, bool] = queue.enqueue(
        info, replace(made, params=doc.doc, created_by=actor)
    )
    return found
