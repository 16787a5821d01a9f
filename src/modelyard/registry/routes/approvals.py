"""HTTP routes for alias policies and approval requests: ``/api/v1/registry/policies`` and
``/api/v1/registry/approvals``."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.errors import InvalidArgument
from modelyard.platform.route_permissions import needs
from modelyard.registry.entities import AliasPolicy
from modelyard.registry.routes.deps import AT_MOST, optional, registry
from modelyard.registry.store import (
    LIST_DEFAULT,
    LIST_MAX,
    REQUESTS_PAGE_DEFAULT,
    REQUESTS_PAGE_MAX,
)
from modelyard.webapi.json import json_response, read_json, require
from modelyard.webapi.openapi import (
    BOOL,
    EMPTY_BODY,
    INT,
    PAGE_HELP,
    STR,
    STR_LIST,
    json_body,
    obj,
    page_limit,
)

router = APIRouter(prefix="/api/v1/registry", tags=["governance"])
_POLICY = json_body(
    obj(
        {
            "model": STR,
            "alias": STR,
            "require_approval": BOOL,
            "approver_role": STR,
            "min_approvals": {"type": "integer", "minimum": 1, "maximum": 10},
            "allow_self_approval": BOOL,
            "required_gates": STR_LIST,
            "project": STR,
        },
        ["model", "alias"],
    )
)
_REQUEST = json_body(
    obj({"name": STR, "version": INT, "alias": STR, "comment": STR}, ["name", "version", "alias"])
)
_DECISION = json_body(
    obj(
        {"decision": {"type": "string", "enum": ["APPROVE", "REJECT"]}, "comment": STR},
        ["decision"],
    )
)


@router.put(
    "/policies",
    summary="Set the policy of an alias (model name or '*')",
    openapi_extra=needs("policy.write", extra=_POLICY),
)
async def set_policy(request: Request) -> Response:
    body = await read_json(request)
    gates = optional(body, "required_gates", list, "a list of gate names") or []
    minimum = optional(body, "min_approvals", int, "an integer from 1 to 10")
    policy = AliasPolicy(
        model=require(body, "model", str, "a model name or '*'"),
        alias=require(body, "alias", str, "an alias"),
        require_approval=bool(
            optional(body, "require_approval", bool, "true or false") is not False
        ),
        approver_role=optional(body, "approver_role", str, "a role name") or "approver",
        min_approvals=1 if minimum is None else minimum,  # an explicit 0 is refused
        allow_self_approval=bool(optional(body, "allow_self_approval", bool, "true or false")),
        required_gates=gates,
        project=optional(body, "project", str, "a project name"),
    )
    found = await run_in_threadpool(registry(request).policies.set, policy)
    return json_response(found.to_dict())


@router.get(
    "/policies",
    summary=f"Alias policies (of one model, with the '*' defaults), at most limit ({LIST_MAX})",
    openapi_extra=needs("policy.read"),
)
async def list_policies(
    request: Request,
    model: str | None = Query(None),
    limit: int = Query(LIST_DEFAULT, ge=1, le=LIST_MAX, description=AT_MOST),
) -> Response:
    found = await run_in_threadpool(lambda: registry(request).policies.list_all(model, limit=limit))
    return json_response({"policies": [p.to_dict() for p in found]})


@router.delete("/policies", summary="Remove an alias policy", openapi_extra=needs("policy.write"))
async def delete_policy(
    request: Request,
    model: str = Query(...),
    alias: str = Query(...),
    project: str | None = Query(None, description="of a '*' policy (none: yours)"),
) -> Response:
    await run_in_threadpool(registry(request).policies.delete, model, alias, project)
    return json_response({})


@router.post(
    "/approvals",
    summary="Ask for a version to be approved for an alias",
    status_code=201,
    openapi_extra=needs("approval.request", extra=_REQUEST),
)
async def request_approval(request: Request) -> Response:
    body = await read_json(request)
    found = await run_in_threadpool(
        registry(request).approvals.request,
        require(body, "name", str, "a model name"),
        require(body, "version", int, "a version number"),
        require(body, "alias", str, "an alias"),
        optional(body, "comment", str, "text"),
    )
    return json_response(found.to_dict(), 201)


@router.get(
    "/approvals",
    summary="Approval requests, oldest first, a page at a time (follow next_page_token)",
    openapi_extra=needs("approval.read"),
)
async def list_requests(
    request: Request,
    name: str | None = Query(None),
    status: str | None = Query(None),
    limit: int = page_limit(REQUESTS_PAGE_DEFAULT, REQUESTS_PAGE_MAX, "requests"),
    page_token: str | None = Query(None, description=PAGE_HELP),
) -> Response:
    found, token = await run_in_threadpool(
        lambda: registry(request).approvals.list_page(
            name, status, limit=limit, page_token=page_token
        )
    )
    return json_response({"requests": [r.to_dict() for r in found], "next_page_token": token})


@router.get(
    "/approvals/{request_id}",
    summary="One approval request with its votes",
    openapi_extra=needs("approval.read"),
)
async def get_request(request: Request, request_id: str) -> Response:
    found = await run_in_threadpool(registry(request).approvals.get, request_id)
    return json_response(found.to_dict())


@router.post(
    "/approvals/{request_id}/decision",
    summary="Approve or reject a request",
    openapi_extra=needs("approval.decide", extra=_DECISION),
)
async def decide(request: Request, request_id: str) -> Response:
    body = await read_json(request)
    decision = require(body, "decision", str, "APPROVE or REJECT")
    if decision not in ("APPROVE", "REJECT"):
        raise InvalidArgument("decision must be APPROVE or REJECT", field="decision")
    comment = optional(body, "comment", str, "text")
    found = await run_in_threadpool(
        registry(request).approvals.decide, request_id, decision, comment
    )
    return json_response(found.to_dict())


@router.post(
    "/approvals/{request_id}/cancel",
    summary="Withdraw a pending request",
    openapi_extra=needs("approval.read", extra=EMPTY_BODY),
)
async def cancel(request: Request, request_id: str) -> Response:
    found = await run_in_threadpool(registry(request).approvals.cancel, request_id)
    return json_response(found.to_dict())
