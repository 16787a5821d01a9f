"""HTTP routes for webhooks and their delivery log: ``/api/v1/registry/webhooks``."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.platform.route_permissions import needs
from modelyard.registry.routes.deps import AT_MOST, optional, registry
from modelyard.registry.store import AUDIT_MAX, LIST_DEFAULT, LIST_MAX
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import STR, STR_LIST, json_body, obj

router = APIRouter(prefix="/api/v1/registry/webhooks", tags=["webhooks"])
_CREATE = json_body(
    obj({"url": STR, "events": STR_LIST, "model": STR, "project": STR}, ["url", "events"])
)


@router.post(
    "",
    summary="Subscribe a URL to the registry events of a project, or of every project ('*', "
    "global admins) (the secret is shown once)",
    status_code=201,
    openapi_extra=needs("webhook.write", extra=_CREATE),
)
async def create_webhook(request: Request) -> Response:
    body = await read_json(request)
    found = await run_in_threadpool(
        registry(request).webhooks.create,
        require(body, "url", str, "an http(s) URL"),
        require(body, "events", list, "a list of event names"),
        optional(body, "model", str, "a model name"),
        optional(body, "project", str, "a project name, or '*' for every project"),
    )
    return json_response(found.to_dict(), 201)


@router.get(
    "",
    summary=f"The webhooks the caller manages (without their secrets), oldest first, at most "
    f"limit ({LIST_MAX})",
    openapi_extra=needs("webhook.read"),
)
async def list_webhooks(
    request: Request,
    limit: int = Query(LIST_DEFAULT, ge=1, le=LIST_MAX, description=AT_MOST),
) -> Response:
    found = await run_in_threadpool(lambda: registry(request).webhooks.list_all(limit=limit))
    return json_response({"webhooks": [w.to_dict() for w in found]})


@router.delete(
    "/{webhook_id}",
    summary="Remove a webhook; its pending deliveries are dropped",
    openapi_extra=needs("webhook.write"),
)
async def delete_webhook(request: Request, webhook_id: str) -> Response:
    await run_in_threadpool(registry(request).webhooks.delete, webhook_id)
    return json_response({})


@router.get(
    "/{webhook_id}/deliveries",
    summary="The delivery log of a webhook, newest first",
    openapi_extra=needs("webhook.read"),
)
async def deliveries(
    request: Request,
    webhook_id: str,
    limit: int = Query(100, ge=1, le=AUDIT_MAX, description=f"at most {AUDIT_MAX}, newest first"),
) -> Response:
    found = await run_in_threadpool(registry(request).webhooks.deliveries, webhook_id, limit)
    return json_response({"deliveries": [d.to_dict() for d in found]})
