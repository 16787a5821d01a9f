"""HTTP routes for experiments: ``/api/v1/experiments``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import InvalidArgument
from modelyard.platform.route_permissions import needs
from modelyard.tracking.entities import ViewType
from modelyard.tracking.routes.deps import tracking
from modelyard.webapi.json import json_response
from modelyard.webapi.openapi import EMPTY_BODY

router = APIRouter(prefix="/api/v1/experiments", tags=["experiments"])


class CreateExperiment(BaseModel):
    name: str
    artifact_location: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    project: str | None = None


class RenameExperiment(BaseModel):
    name: str


class ExperimentTag(BaseModel):
    key: str
    value: str


@router.post(
    "", summary="Create an experiment", status_code=201, openapi_extra=needs("experiment.create")
)
async def create_experiment(body: CreateExperiment, request: Request) -> Response:
    if body.artifact_location:
        # the server decides where it writes: a client choosing a folder or bucket would make
        # the server write wherever its own permissions reach
        raise InvalidArgument(
            "artifact_location cannot be chosen through the server; it places experiments "
            "under its own artifact root (--artifacts)",
            field="artifact_location",
        )
    store = tracking(request).store
    eid = await run_in_threadpool(store.create_experiment, body.name, None, body.tags, body.project)
    return json_response({"experiment_id": eid}, 201)


@router.get("", summary="List or find experiments", openapi_extra=needs("experiment.read"))
async def search_experiments(
    request: Request,
    view: ViewType = ViewType.ACTIVE,
    name: str | None = Query(None, description="exact name"),
    name_like: str | None = Query(None, description="SQL LIKE pattern"),
    max_results: int = Query(1000, ge=1, le=50_000),
) -> Response:
    store = tracking(request).store
    if name is not None:
        found = await run_in_threadpool(store.get_experiment_by_name, name)
        items: list[Any] = [found.to_dict()] if found is not None else []
    else:
        exps = await run_in_threadpool(store.search_experiments, view, name_like, max_results)
        items = [e.to_dict() for e in exps]
    return json_response({"experiments": items})


@router.get("/{experiment_id}", summary="Get an experiment", openapi_extra=needs("experiment.read"))
async def get_experiment(experiment_id: str, request: Request) -> Response:
    exp = await run_in_threadpool(tracking(request).store.get_experiment, experiment_id)
    return json_response(exp.to_dict())


@router.patch(
    "/{experiment_id}", summary="Rename an experiment", openapi_extra=needs("experiment.write")
)
async def rename_experiment(
    experiment_id: str, body: RenameExperiment, request: Request
) -> Response:
    await run_in_threadpool(tracking(request).store.rename_experiment, experiment_id, body.name)
    return json_response({})


@router.delete(
    "/{experiment_id}",
    summary="Delete an experiment (soft)",
    openapi_extra=needs("experiment.delete"),
)
async def delete_experiment(experiment_id: str, request: Request) -> Response:
    await run_in_threadpool(tracking(request).store.delete_experiment, experiment_id)
    return json_response({})


@router.post(
    "/{experiment_id}/restore",
    summary="Restore a deleted experiment",
    openapi_extra=needs("experiment.delete", extra=EMPTY_BODY),
)
async def restore_experiment(experiment_id: str, request: Request) -> Response:
    await run_in_threadpool(tracking(request).store.restore_experiment, experiment_id)
    return json_response({})


@router.put(
    "/{experiment_id}/tags",
    summary="Set an experiment tag",
    openapi_extra=needs("experiment.write"),
)
async def set_experiment_tag(experiment_id: str, body: ExperimentTag, request: Request) -> Response:
    await run_in_threadpool(
        tracking(request).store.set_experiment_tag, experiment_id, body.key, body.value
    )
    return json_response({})
