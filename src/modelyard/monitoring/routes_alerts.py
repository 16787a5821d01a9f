"""HTTP routes for alerts: ``/api/v1/alerts`` (list, look up, write the state monitors
decided, acknowledge)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import InvalidArgument
from modelyard.monitoring.monitors.alerting import AlertState
from modelyard.monitoring.routes import monitoring
from modelyard.platform.route_permissions import needs
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import EMPTY_BODY, OBJ, STR_LIST, json_body, obj

router = APIRouter(prefix="/api/v1/alerts", tags=["monitoring"])
_LOOKUP = json_body(obj({"fingerprints": {**STR_LIST, "maxItems": 1000}}, ["fingerprints"]))
_PUT = json_body(obj({"alerts": {"type": "array", "items": OBJ, "maxItems": 1000}}, ["alerts"]))


@router.get("", summary="Alerts, the most recently seen first", openapi_extra=needs("alert.read"))
async def list_alerts(
    request: Request,
    status: str | None = Query(None),
    monitor: str | None = Query(None),
    limit: int = Query(1000, ge=1, le=10_000),
) -> Response:
    found = await run_in_threadpool(
        lambda: monitoring(request).list_alerts(status=status, monitor=monitor, limit=limit)
    )
    return json_response({"alerts": [a.to_dict() for a in found]})


@router.post(
    "/lookup", summary="Alerts by fingerprint", openapi_extra=needs("alert.read", extra=_LOOKUP)
)
async def lookup(request: Request) -> Response:
    body = await read_json(request)
    keys = require(body, "fingerprints", list, "a list of fingerprints")
    if len(keys) > 1_000 or not all(isinstance(k, str) for k in keys):
        raise InvalidArgument("fingerprints: at most 1,000, each text", field="fingerprints")
    found = await run_in_threadpool(monitoring(request).get_alerts, keys)
    return json_response({"alerts": [a.to_dict() for a in found]})


@router.put(
    "",
    summary="Write alert states (by fingerprint)",
    openapi_extra=needs("monitor.run", extra=_PUT),
)
async def put(request: Request) -> Response:
    body = await read_json(request)
    items = require(body, "alerts", list, "a list of alerts")
    if len(items) > 1_000:
        raise InvalidArgument("write at most 1,000 alerts at once", field="alerts")
    states = [AlertState.from_dict(a) for a in items]
    await run_in_threadpool(monitoring(request).put_alerts, states)
    return json_response({"written": len(states)})


@router.post(
    "/{fingerprint}/ack",
    summary="Acknowledge an open alert",
    openapi_extra=needs("alert.ack", extra=EMPTY_BODY),
)
async def ack(request: Request, fingerprint: str) -> Response:
    found = await run_in_threadpool(monitoring(request).ack_alert, fingerprint)
    return json_response(found.to_dict())
