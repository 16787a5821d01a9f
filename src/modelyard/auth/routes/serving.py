"""HTTP routes for inference servers with --auth: ``/api/v1/auth/serving-tokens`` signs a
short-lived token to call one endpoint (and lists and revokes them; ``.../revoked`` is what
inference servers refuse before expiry), ``/api/v1/auth/jwks.json`` publishes the keys an
inference server checks it with."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Query
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard.auth.names import parse_lifetime
from modelyard.auth.routes.deps import optional, service
from modelyard.auth.serving_grants import check_endpoint_name, require_predict
from modelyard.auth.signing import ADMIN_SCOPE, DEFAULT_TTL_S
from modelyard.errors import InvalidArgument
from modelyard.identity import current_actor
from modelyard.platform.ids import now_ms
from modelyard.platform.route_permissions import AUTHENTICATED, PUBLIC, needs
from modelyard.platform.scope import require_global_admin
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.webapi.json import json_response, read_json
from modelyard.webapi.openapi import BOOL, EMPTY_BODY, STR, json_body, obj

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
_ISSUE = json_body(
    obj({"endpoint": STR, "admin": BOOL, "ttl": STR}, []),
    "endpoint: the deployment or model the token may call; or admin true (a global admin): "
    "the server's admin routes (serve:admin). ttl: 15m (the default), 1h, ... at most 24h",
)


def issuer(request: Request) -> str:
    """What serving tokens name as their issuer: MODELYARD_PUBLIC_URL, else this address."""
    public = service(request).settings.public_url
    return (public or str(request.base_url)).rstrip("/")


@router.post(
    "/serving-tokens",
    summary="A short-lived token to call one endpoint of an inference server with --auth",
    status_code=201,
    openapi_extra=needs("deployment.predict", extra=_ISSUE),
)
async def serving_token(request: Request) -> Response:
    body = await read_json(request)
    admin = optional(body, "admin", bool, "true or false")
    if admin and body.get("endpoint") is not None:
        raise InvalidArgument(
            "a serving token is for one endpoint, or (admin: true) for the server's admin "
            "routes; not both",
            field="admin",
        )
    endpoint = None if admin else check_endpoint_name(body.get("endpoint"))
    ttl = body.get("ttl")
    try:
        ttl_s = DEFAULT_TTL_S if ttl is None else parse_lifetime(ttl, "ttl")
    except InvalidArgument:
        raise InvalidArgument(
            "ttl must be a lifetime from 1 minute to 1 day, such as 15m or 1h", field="ttl"
        ) from None
    auth = service(request)
    if endpoint is None:  # loading, unloading, every model's statistics and /metrics
        require_global_admin("a serve:admin token (every model of an inference server)")
        scope = ADMIN_SCOPE
    else:
        await run_in_threadpool(require_predict, auth.store.db, endpoint)
        scope = f"predict:{endpoint}"
    actor = current_actor()
    auth.minted.take(actor.name, "serving tokens signed for this principal")
    if actor.credential in ("sso", "sso-token"):  # never past what the provider's word allows
        ttl_s = max(60, min(ttl_s, int(auth.settings.sso_token_max_s)))
    name = actor.name
    token, expires, jti = await run_in_threadpool(
        auth.signing.serving_token, name, scope, ttl_s, issuer(request)
    )
    shown = endpoint if endpoint is not None else ADMIN_SCOPE
    await run_in_threadpool(auth.store.serving_tokens.record, jti, name, shown, expires)
    made = {"token": token, "expires_time": expires, "endpoint": endpoint, "jti": jti}
    if endpoint is None:
        made["scope"] = ADMIN_SCOPE
    return json_response(made, 201)


@router.get(
    "/serving-tokens",
    summary="Unexpired serving tokens: one's own, or a principal's (a global admin)",
    openapi_extra=needs(AUTHENTICATED),
)
async def list_serving_tokens(
    request: Request, principal: str | None = Query(None, max_length=256)
) -> Response:
    found = await run_in_threadpool(service(request).store.serving_tokens.list_for, principal)
    return json_response({"serving_tokens": found})


@router.get(
    "/serving-tokens/revoked",
    summary="The ids of revoked serving tokens not yet expired (inference servers poll it)",
    openapi_extra=needs(PUBLIC),
)
async def revoked_serving_tokens(request: Request) -> Response:
    found = await run_in_threadpool(service(request).store.serving_tokens.revoked)
    return json_response({"revoked": found})


@router.delete(
    "/serving-tokens/{jti}",
    summary="Revoke a serving token before it expires (its holder, or a global admin)",
    openapi_extra=needs(AUTHENTICATED),
)
async def revoke_serving_token(request: Request, jti: str) -> Response:
    await run_in_threadpool(service(request).store.serving_tokens.revoke, jti)
    return json_response({})


@router.get(
    "/jwks.json",
    summary="The public keys serving tokens are signed with",
    openapi_extra=needs(PUBLIC),
)
async def jwks(request: Request) -> Response:
    found = await run_in_threadpool(service(request).signing.jwks)
    return json_response(found)


@router.post(
    "/signing-keys/rotate",
    summary="Sign serving tokens with a new key (the old one is published a day more)",
    openapi_extra=needs("signing_key.rotate", extra=EMPTY_BODY),
)
async def rotate_key(request: Request) -> Response:
    auth = service(request)
    kid = await run_in_threadpool(auth.signing.rotate)
    await run_in_threadpool(auth.store.db.run_write, _audit_rotation(kid))
    return json_response({"kid": kid})


def _audit_rotation(kid: str) -> Callable[[Connection], None]:
    def write(conn: Connection) -> None:
        event = AuditEvent("signing_key.rotate", "signing_key", kid)
        audit.record(conn, [event], time_ms=now_ms())

    return write
