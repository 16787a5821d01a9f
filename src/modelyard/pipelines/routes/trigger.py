"""``POST /api/v1/pipelines/{name}/trigger``: a pipeline's webhook. Queues a run for the
servers that hold its code (``modelyard server --pipelines``); a ``key`` makes the call
idempotent (the same key, the same run), so a caller may retry it safely."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import Unavailable
from modelyard.pipelines.entities import RunRecord
from modelyard.pipelines.rest_paths import PIPELINES
from modelyard.pipelines.routes.wire import known_fields, pipelines_store
from modelyard.pipelines.webhook import queue_webhook_run
from modelyard.platform.route_permissions import needs
from modelyard.webapi.json import json_response, read_json
from modelyard.webapi.openapi import OBJ, STR, json_body, obj

router = APIRouter(prefix=PIPELINES, tags=["pipelines"])
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
    key = body.get("key")
    record, new = await run_in_threadpool(_enqueue, request, name, params, key)
    return json_response(record.to_dict(), 202 if new else 200)


def _enqueue(
    request: Request, name: str, params: dict[str, Any], key: str | None
) -> tuple[RunRecord, bool]:
    queue = getattr(request.app.state, "pipeline_queue", None)
    if queue is None:
        raise Unavailable("this server does not run pipelines (its store is another server)")
    code = request.app.state.pipeline_code.get(name)
    return queue_webhook_run(queue, pipelines_store(request), name, params, key, code)
