"""HTTP routes of pipelines: ``/api/v1/pipelines`` (the pipelines known, their schedule and
triggers)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import Conflict, InvalidArgument
from modelyard.pipelines.entities import PipelineInfo
from modelyard.pipelines.options import check_catchup, check_max_active, check_step_name
from modelyard.pipelines.rest_paths import PIPELINES
from modelyard.pipelines.routes.wire import known_fields, pipelines_store
from modelyard.pipelines.triggers import check_schedule, check_stored_triggers
from modelyard.platform.route_permissions import needs
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import INT, OBJ, STR, json_body, nullable, obj

router = APIRouter(prefix=PIPELINES, tags=["pipelines"])
_FIELDS = (
    "name", "entrypoint", "description", "schedule", "timezone", "triggers", "catchup",
    "max_active", "code_digest", "next_fire", "project",
)  # fmt: skip
_SAVE = json_body(
    obj(
        {
            "entrypoint": STR,
            "description": nullable(STR),
            "schedule": nullable(STR),
            "timezone": STR,
            "triggers": {"type": "array", "items": OBJ},
            "catchup": STR,
            "max_active": INT,
            "code_digest": STR,
            "next_fire": nullable(INT),
            "project": STR,
            "name": STR,
        },
        ["entrypoint", "code_digest"],
        closed=True,
    ),
    "A pipeline as `@yard.pipeline` describes it (its code stays with its owner)",
)


@router.get("", summary="The pipelines, by name", openapi_extra=needs("pipeline.read"))
async def list_pipelines(request: Request) -> Response:
    found = await run_in_threadpool(pipelines_store(request).defs.list)
    return json_response({"pipelines": [p.to_dict() for p in found]})


@router.put(
    "/{name}", summary="Record a pipeline", openapi_extra=needs("pipeline.write", extra=_SAVE)
)
async def save(request: Request, name: str) -> Response:
    body = await read_json(request)
    known_fields(body, _FIELDS)
    check_step_name(name, "name")
    if body.get("name", name) != name:
        raise InvalidArgument("name must be the name in the path", field="name")
    entrypoint = require(body, "entrypoint", str, "module:pipeline or file.py:pipeline")
    digest = require(body, "code_digest", str, "the code's sha256")
    triggers = body.get("triggers", [])
    timezone = _text(body.get("timezone", "UTC"), "timezone") or "UTC"
    schedule = check_schedule(_text(body.get("schedule"), "schedule"), timezone)
    info = PipelineInfo(
        name=name,
        project="",
        entrypoint=entrypoint[:2000],
        description=_text(body.get("description"), "description"),
        schedule=schedule,
        timezone=timezone,
        triggers=check_stored_triggers(triggers),
        catchup=check_catchup(body.get("catchup", "latest")),
        max_active=check_max_active(body.get("max_active", 1)),
        code_digest=digest[:64],
        next_fire=_opt_int(body.get("next_fire"), "next_fire"),
    )
    project = _text(body.get("project"), "project")
    held = request.app.state.pipeline_code.get(name)
    if held is not None and _declared(held.info()) != _declared(info):
        raise Conflict(
            f"pipeline {name!r} runs on this server (modelyard server --pipelines): its "
            "schedule, triggers and limits are those of the server's code; change the code",
            field="name",
        )
    found = await run_in_threadpool(pipelines_store(request).defs.save, info, project)
    return json_response(found.to_dict())


def _declared(info: PipelineInfo) -> tuple[object, ...]:
    """What a pipeline declares that a server acts on."""
    return (info.schedule, info.timezone, info.triggers, info.catchup, info.max_active)


def _text(value: object, field: str) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > 4000):
        raise InvalidArgument(f"{field} must be text (up to 4000 characters)", field=field)
    return value


def _opt_int(value: object, field: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidArgument(f"{field} must be epoch milliseconds or null", field=field)
    return value


@router.get("/{name}", summary="One pipeline", openapi_extra=needs("pipeline.read"))
async def get(request: Request, name: str) -> Response:
    found = await run_in_threadpool(pipelines_store(request).defs.get, name)
    return json_response(found.to_dict())


@router.delete(
    "/{name}", summary="Forget a pipeline (its runs stay)", openapi_extra=needs("pipeline.delete")
)
async def delete(request: Request, name: str) -> Response:
    await run_in_threadpool(pipelines_store(request).defs.delete, name)
    return json_response({})
