"""HTTP routes for monitors: ``/api/v1/monitors`` (specs, the claim of a due run, and the
runs kept as a time series)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import InvalidArgument
from modelyard.monitoring.monitors.spec import MonitorSpec
from modelyard.monitoring.routes import monitoring
from modelyard.monitoring.store import MONITORS_PAGE_DEFAULT, MONITORS_PAGE_MAX, RUNS_MAX
from modelyard.platform.route_permissions import needs
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.limits import MAX_INT64
from modelyard.webapi.openapi import BOOL, INT, OBJ, PAGE_HELP, STR, json_body, obj, page_limit

router = APIRouter(prefix="/api/v1/monitors", tags=["monitoring"])
_SAVE = json_body(
    obj(
        {"spec": OBJ, "every_ms": INT, "enabled": BOOL, "project": STR},
        ["spec", "every_ms"],
        closed=True,
    ),
    "spec is the monitor as `modelyard monitors` writes it; spec.name is the name in the path",
)
_CLAIM = json_body(obj({"due": INT, "next_run": INT}, ["due", "next_run"], closed=True))
_RUN = json_body(obj({"monitor": STR}, ["monitor"]), "A run of the monitor the path names")


def _known(body: dict[str, object], fields: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise InvalidArgument(f"unknown field(s) {unknown}", field=unknown[0])


@router.get(
    "",
    summary="Monitors by name, a page at a time (follow next_page_token)",
    openapi_extra=needs("monitor.read"),
)
async def list_monitors(
    request: Request,
    limit: int = page_limit(MONITORS_PAGE_DEFAULT, MONITORS_PAGE_MAX, "monitors"),
    page_token: str | None = Query(None, description=PAGE_HELP),
) -> Response:
    found, token = await run_in_threadpool(
        lambda: monitoring(request).list_monitors_page(limit=limit, page_token=page_token)
    )
    monitors = [m.to_dict(redact=True) for m in found]
    return json_response({"monitors": monitors, "next_page_token": token})


@router.put(
    "/{name}",
    summary="Create or replace a monitor",
    openapi_extra=needs("monitor.write", extra=_SAVE),
)
async def save(request: Request, name: str) -> Response:
    body = await read_json(request)
    _known(body, ("spec", "every_ms", "enabled", "project"))
    spec = require(body, "spec", dict, "the monitor as an object")
    if spec.get("name") != name:
        raise InvalidArgument("spec.name must be the name in the path", field="spec.name")
    every = require(body, "every_ms", int, "milliseconds between runs")
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidArgument("enabled must be true or false", field="enabled")
    MonitorSpec.from_dict(spec).check_for_server()
    project = body.get("project")
    if project is not None and not isinstance(project, str):
        raise InvalidArgument("project must be a project name", field="project")
    found = await run_in_threadpool(monitoring(request).save_monitor, spec, every, enabled, project)
    return json_response(found.to_dict(redact=True))


@router.get("/{name}", summary="One monitor", openapi_extra=needs("monitor.read"))
async def get(request: Request, name: str) -> Response:
    found = await run_in_threadpool(monitoring(request).get_monitor, name)
    return json_response(found.to_dict(redact=True))


@router.delete(
    "/{name}",
    summary="Delete a monitor (its runs and alerts stay)",
    openapi_extra=needs("monitor.write"),
)
async def delete(request: Request, name: str) -> Response:
    await run_in_threadpool(monitoring(request).delete_monitor, name)
    return json_response({"deleted": name})


@router.post(
    "/{name}/claim",
    summary="Claim a due run (compare-and-set on next_run)",
    openapi_extra=needs("monitor.run", extra=_CLAIM),
)
async def claim(request: Request, name: str) -> Response:
    body = await read_json(request)
    _known(body, ("due", "next_run"))
    due = require(body, "due", int, "epoch milliseconds")
    next_run = require(body, "next_run", int, "epoch milliseconds")
    won = await run_in_threadpool(monitoring(request).claim_monitor, name, due, next_run)
    return json_response({"claimed": won})


@router.post(
    "/{name}/runs",
    summary="Keep a run of a monitor",
    status_code=201,
    openapi_extra=needs("monitor.run", extra=_RUN),
)
async def add_run(request: Request, name: str) -> Response:
    body = await read_json(request)
    if body.get("monitor") != name:
        raise InvalidArgument("monitor must be the name in the path", field="monitor")
    run_id = await run_in_threadpool(monitoring(request).add_monitor_run, body)
    return json_response({"run_id": run_id}, 201)


@router.get(
    "/{name}/runs", summary="Runs of a monitor, newest first", openapi_extra=needs("monitor.read")
)
async def runs(
    request: Request,
    name: str,
    since: int | None = Query(None, ge=0, le=MAX_INT64),
    limit: int = Query(100, ge=1, le=RUNS_MAX, description=f"at most {RUNS_MAX} runs"),
) -> Response:
    found = await run_in_threadpool(
        lambda: monitoring(request).monitor_runs(name, since=since, limit=limit)
    )
    return json_response({"runs": found})
