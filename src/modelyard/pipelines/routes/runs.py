"""HTTP routes of pipeline runs: ``/api/v1/pipeline-runs`` (a runner records its run and its
steps; people list, read and cancel runs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import InvalidArgument
from modelyard.pipelines.entities import RUN_STATES, RUNNING, RunRecord, StepRecord
from modelyard.pipelines.rest_paths import RUNS
from modelyard.pipelines.routes.wire import known_fields, output_ref, parse, pipelines_store
from modelyard.pipelines.store import RUNS_PAGE_DEFAULT, RUNS_PAGE_MAX
from modelyard.platform.route_permissions import needs
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import EMPTY_BODY, OBJ, PAGE_HELP, STR, json_body, obj, page_limit

router = APIRouter(prefix=RUNS, tags=["pipelines"])
MAX_STEPS = 5_000  # step records in one request
_RUN_FIELDS = (
    "run_id", "pipeline", "status", "params", "trigger", "tracked_run_id", "queued_time",
    "start_time", "retry_of", "executor", "project", "end_time", "error", "created_by",
    "result", "cancel_requested",
)  # fmt: skip
_CHANGES = (
    "status", "start_time", "end_time", "error", "result", "tracked_run_id", "owner", "heartbeat",
)  # fmt: skip
_CREATE = json_body(
    obj(
        {"run_id": STR, "pipeline": STR, "status": STR, "params": OBJ, "trigger": STR},
        ["run_id", "pipeline", "status", "params"],
    ),
    "A run its runner starts and runs itself (RUNNING)",
)
_UPDATE = json_body(obj({k: {} for k in _CHANGES}, closed=True), "What changed")
_STEPS = json_body(
    obj({"steps": {"type": "array", "items": OBJ}, "datasets": OBJ}, ["steps"], closed=True),
    "Step records (each with its seq) and, per step key, the dataset versions it was given",
)


@router.post(
    "",
    summary="Record a pipeline run",
    status_code=201,
    openapi_extra=needs("pipeline.run", extra=_CREATE),
)
async def create(request: Request) -> Response:
    body = await read_json(request)
    known_fields(body, _RUN_FIELDS)
    if body.get("status") != RUNNING:
        raise InvalidArgument(
            "status must be RUNNING: a client records a run it runs itself; to have a server "
            "run one, POST /api/v1/pipelines/{name}/trigger",
            field="status",
        )
    for name in ("run_id", "pipeline", "params"):
        if name not in body:
            raise InvalidArgument(f"{name} is required", field=name)
    record = parse(RunRecord.from_dict, {**body, "project": "", "result": None}, "run")
    found = await run_in_threadpool(pipelines_store(request).runs.create, record)
    return json_response(found.to_dict(), 201)


@router.get(
    "", summary="Runs, newest first, a page at a time", openapi_extra=needs("pipeline.read")
)
async def page(
    request: Request,
    pipeline: str | None = Query(None, description="Only this pipeline's runs"),
    status: str | None = Query(None, description=f"One of {', '.join(RUN_STATES)}"),
    limit: int = page_limit(RUNS_PAGE_DEFAULT, RUNS_PAGE_MAX, "runs"),
    page_token: str | None = Query(None, description=PAGE_HELP),
) -> Response:
    found, token = await run_in_threadpool(
        lambda: pipelines_store(request).runs.page(
            pipeline=pipeline, status=status, limit=limit, page_token=page_token
        )
    )
    return json_response({"runs": [r.to_dict() for r in found], "next_page_token": token})


@router.get("/{run_id}", summary="One run", openapi_extra=needs("pipeline.read"))
async def get(request: Request, run_id: str) -> Response:
    found = await run_in_threadpool(pipelines_store(request).runs.get, run_id)
    return json_response(found.to_dict())


@router.patch(
    "/{run_id}",
    summary="Change a run's status, times or result",
    openapi_extra=needs("pipeline.run", extra=_UPDATE),
)
async def update(request: Request, run_id: str) -> Response:
    body = await read_json(request)
    known_fields(body, _CHANGES)
    changes: dict[str, Any] = dict(body)
    if "result" in changes:
        changes["result"] = output_ref(changes["result"], "result")
    found = await run_in_threadpool(lambda: pipelines_store(request).runs.update(run_id, **changes))
    return json_response(found.to_dict())


@router.post(
    "/{run_id}/cancel",
    summary="Ask a run to stop",
    openapi_extra=needs("pipeline.run", extra=EMPTY_BODY),
)
async def cancel(request: Request, run_id: str) -> Response:
    found = await run_in_threadpool(pipelines_store(request).runs.cancel, run_id)
    return json_response(found.to_dict())


@router.put(
    "/{run_id}/steps",
    summary="Record steps of a run",
    openapi_extra=needs("pipeline.run", extra=_STEPS),
)
async def record(request: Request, run_id: str) -> Response:
    body = await read_json(request)
    known_fields(body, ("steps", "datasets"))
    items = require(body, "steps", list, "a list of step records")
    if len(items) > MAX_STEPS:
        raise InvalidArgument(f"at most {MAX_STEPS} steps in one request", field="steps")
    steps = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            item = {"run_id": run_id, **item}
        step = parse(StepRecord.from_dict, item, f"steps[{i}]")
        seq = item.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise InvalidArgument(
                f"steps[{i}].seq must be a non-negative integer", field=f"steps[{i}].seq"
            )
        steps.append((seq, step))
    datasets = _datasets(body.get("datasets", {}))
    await run_in_threadpool(pipelines_store(request).steps.record, run_id, steps, datasets)
    return json_response({})


def _datasets(value: Any) -> dict[str, list[tuple[str, int]]]:
    if not isinstance(value, dict):
        raise InvalidArgument("datasets must be an object", field="datasets")
    out: dict[str, list[tuple[str, int]]] = {}
    for key, given in value.items():
        if not isinstance(given, list) or not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and type(p[1]) is int
            for p in given
        ):
            raise InvalidArgument(
                f"datasets[{key!r}] must be [[name, version], ...]", field="datasets"
            )
        out[str(key)] = [(p[0], p[1]) for p in given]
    return out


@router.get(
    "/{run_id}/steps", summary="A run's steps in call order", openapi_extra=needs("pipeline.read")
)
async def steps(request: Request, run_id: str) -> Response:
    found = await run_in_threadpool(pipelines_store(request).steps.list, run_id)
    return json_response({"steps": [s.to_dict() for s in found]})
