"""HTTP routes for the audit log: ``/api/v1/audit`` (entries, in chain order) and
``/api/v1/audit/verify`` (recompute the hash chain)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.platform.route_permissions import needs
from modelyard.registry.routes.deps import registry
from modelyard.registry.store import AUDIT_MAX
from modelyard.webapi.json import json_response
from modelyard.webapi.limits import MAX_INT64

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get(
    "", summary="Audit entries, filtered, in chain order", openapi_extra=needs("audit.read")
)
async def entries(
    request: Request,
    object_type: str | None = Query(None),
    object_id: str | None = Query(None),
    actor: str | None = Query(None),
    action: str | None = Query(None),
    since: int | None = Query(None, ge=0, le=MAX_INT64),
    until: int | None = Query(None, ge=0, le=MAX_INT64),
    after_seq: int = Query(0, ge=0, le=MAX_INT64),
    limit: int = Query(100, ge=1, le=AUDIT_MAX, description=f"at most {AUDIT_MAX} entries"),
) -> Response:
    found = await run_in_threadpool(
        registry(request).audit.entries,
        object_type=object_type,
        object_id=object_id,
        actor=actor,
        action=action,
        since=since,
        until=until,
        after_seq=after_seq,
        limit=limit,
    )
    return json_response({"entries": [e.to_dict() for e in found]})


@router.get(
    "/verify",
    summary="Recompute the hash chain and report every break",
    openapi_extra=needs("audit.verify"),
)
async def verify(request: Request) -> Response:
    found = await run_in_threadpool(registry(request).audit.verify)
    return json_response(found.to_dict())
