"""The modelyard HTTP server: one FastAPI app composed from the domains' routers.

Holds composition only — which routers, which guards, which backend; every rule lives in the
domain services the routers call. The OpenAPI description is served at ``/openapi.json``;
there is no ``/docs`` or ``/redoc`` page (they load their scripts from a CDN).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard._version import __version__
from modelyard.auth.backends import sql_auth_store
from modelyard.auth.routes import login, oidc, projects, serving, tokens, users
from modelyard.auth.service import AuthService
from modelyard.config import Settings
from modelyard.data.backends import data_backend
from modelyard.data.routes import blobs, datasets, lineage
from modelyard.errors import InvalidArgument, ModelyardError, PermissionDenied
from modelyard.identity import Actor, acting_as, current_actor, parse_roles
from modelyard.monitoring import routes as predictions
from modelyard.monitoring import routes_alerts, routes_monitors
from modelyard.monitoring.backends import monitoring_store
from modelyard.monitoring.client import MonitoringClient
from modelyard.monitoring.scheduler import MonitorScheduler
from modelyard.pipelines.backends import pipeline_backend
from modelyard.pipelines.routes import cache as pipeline_cache
from modelyard.pipelines.routes import defs as pipeline_defs
from modelyard.pipelines.routes import runs as pipeline_runs
from modelyard.pipelines.routes import trigger as pipeline_trigger
from modelyard.pipelines.scheduler import PipelineScheduler
from modelyard.pipelines.sql_queue import SqlPipelineQueue
from modelyard.platform.backends import Backend, open_sql
from modelyard.platform.route_permissions import (
    PUBLIC,
    enforce_declared,
    install_permissions,
    needs,
)
from modelyard.registry.backends import registry_store
from modelyard.registry.routes import approvals, audit, deployments, models, versions, webhooks
from modelyard.registry.webhooks import Dispatcher
from modelyard.tracking.backends import tracking_parts
from modelyard.tracking.routes import artifacts, experiments, runs
from modelyard.webapi.actor import ActorBinding
from modelyard.webapi.authn import Authenticate
from modelyard.webapi.deadline import BodyDeadline
from modelyard.webapi.errors import LastResort, error_response, install_error_handlers
from modelyard.webapi.guards import ASGIApp, RequestGuard
from modelyard.webapi.json import json_response
from modelyard.webapi.openapi import install_openapi

log = logging.getLogger(__name__)

# every domain's router, in the order the OpenAPI description lists them
_ROUTERS = (
    experiments,
    runs,
    artifacts,
    datasets,
    blobs,
    lineage,
    models,
    versions,
    approvals,
    webhooks,
    deployments,
    predictions,
    routes_monitors,
    routes_alerts,
    pipeline_defs,
    pipeline_trigger,
    pipeline_runs,
    pipeline_cache,
    audit,
)
# with authentication on: logging in, users, projects and tokens
_AUTH_ROUTERS = (login, oidc, users, projects, tokens, serving)
# what answers without authentication, besides the routes declared public
DESCRIPTION_PATH = "/openapi.json"


def create_app(
    store_uri: str | None = None,
    *,
    settings: Settings | None = None,
    backend: Backend | None = None,
    pipelines: Sequence[Any] = (),
) -> LastResort:
    """Build the ASGI app serving the store at ``store_uri`` (a folder, SQLite or PostgreSQL).
    ``pipelines``: the pipelines whose runs this server runs (their code loaded by
    ``modelyard server --pipelines``)."""
    settings = settings or Settings.from_env()
    if backend is None:
        backend = open_sql(store_uri, settings)
    roles = parse_roles(settings.roles)  # a malformed MODELYARD_ROLES stops the start
    auth = _auth_service(backend, settings) if settings.auth else None
    registry = registry_store(backend)
    code = {p.name: p for p in pipelines}
    dispatcher = None
    if backend.db is not None:
        dispatcher = Dispatcher(backend.db, allow_private=settings.allow_private_webhooks)
    app = FastAPI(
        title="modelyard",
        version=__version__,
        description="HTTP API of modelyard: experiment tracking, datasets, lineage, the model "
        "registry, deployments, logged predictions and labels, and the audit log. "
        'Errors are `{"error": {"code", "message", "field"}}`.',
        lifespan=_lifespan(backend, settings, dispatcher, code),
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN: no page that does
        redoc_url=None,
        # with auth on, each route's declared permission is checked before its handler
        dependencies=[Depends(enforce_declared)] if settings.auth else None,
    )
    app.state.tracking = backend
    app.state.data = data_backend(backend)
    app.state.registry = registry
    app.state.monitoring = monitoring_store(backend)
    app.state.pipelines = pipeline_backend(backend).store
    app.state.pipeline_code = code
    app.state.pipeline_queue = SqlPipelineQueue(backend.db) if backend.db is not None else None
    install_error_handlers(app)
    if auth is not None:
        app.add_exception_handler(PermissionDenied, _audited_denial(auth))
    app.state.auth = auth
    for module in _ROUTERS + (_AUTH_ROUTERS if auth is not None else ()):
        app.include_router(module.router)
    _add_health_routes(app)
    public = install_permissions(app)  # a route without a permission: no start
    install_openapi(app)
    guarded: ASGIApp = RequestGuard(
        app if auth is not None else ActorBinding(app, roles=roles),
        max_json_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_artifact_bytes,
        upload_paths=[artifacts.UPLOAD_PATH, blobs.UPLOAD_PATH],
    )
    if auth is not None:  # who is calling is known before any body is read
        guarded = Authenticate(
            guarded,
            quick=auth.authenticator.quick,
            identify=auth.authenticator.identify,
            public=(DESCRIPTION_PATH, *public),
        )
    return LastResort(BodyDeadline(guarded, timeout_s=settings.body_timeout_s))


def _audited_denial(auth: AuthService) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The answer to a PermissionDenied, once it is in the audit log (one entry per caller
    and route a minute); a log that cannot be written does not change the answer."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PermissionDenied)
        actor = current_actor()
        route = getattr(request.scope.get("route"), "path", request.url.path)
        if actor.kind != "anonymous" and auth.denials.due(actor, request.method, route):
            try:
                await run_in_threadpool(
                    auth.denials.record, actor, request.method, route, exc.message
                )
            except ModelyardError as failed:
                log.warning("permission denial not audited: %s", failed.message)
        return error_response(exc)

    return handle


def _auth_service(backend: Backend, settings: Settings) -> AuthService:
    """The server's authentication, refused at start where it could not protect anything."""
    if settings.roles:
        raise InvalidArgument(
            "MODELYARD_ROLES cannot be used with --auth: roles are granted per project "
            "(modelyard projects grant PROJECT USER ROLE)",
            field="MODELYARD_ROLES",
        )
    if backend.db is None:
        raise InvalidArgument(
            "--auth needs a store of its own (a folder, SQLite or PostgreSQL), not another server",
            field="store",
        )
    store = sql_auth_store(backend)
    if not store.has_admin():
        raise InvalidArgument(
            "--auth needs a global admin in the store, or nobody could ever log in: make one "
            f"first with `modelyard users create NAME --role admin -t {backend.uri}`",
            field="auth",
        )
    return AuthService(store, settings)


def _lifespan(
    backend: Backend, settings: Settings, dispatcher: Dispatcher | None, code: dict[str, Any]
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The server's background work: the webhook dispatcher and, on its own store, the
    monitor scheduler and the pipelines' (schedules, triggers, the runs of the code it
    holds), started with the app and stopped with it."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if dispatcher is not None:
            dispatcher.start()
        scheduler = None
        if backend.db is not None and settings.monitor_tick_s > 0:  # on the server's store
            scheduler = MonitorScheduler(
                # the server's own scheduler: not bound by MODELYARD_ROLES, as a user is
                MonitoringClient(settings=settings, backend=backend, actor=Actor("monitors")),
                tick_s=settings.monitor_tick_s,
                allow_private=settings.allow_private_webhooks,
            )
            scheduler.start()
        runs = _pipeline_scheduler(backend, settings, code)
        try:
            yield
        finally:
            if runs is not None:
                runs.stop()
            if scheduler is not None:
                scheduler.stop()
            if dispatcher is not None:
                dispatcher.stop()

    return lifespan


def _pipeline_scheduler(
    backend: Backend, settings: Settings, code: dict[str, Any]
) -> PipelineScheduler | None:
    if backend.db is None or settings.pipeline_tick_s <= 0:
        return None
    from modelyard.server.pipeline_events import event_sources

    runs = PipelineScheduler(backend.db, settings, backend.uri, code, event_sources(backend))
    runs.start()
    return runs


# named ``health``: FastAPI derives the public operation id (``health_health_get``) from it
async def health(request: Request) -> Response:
    store = tracking_parts(request.app.state.tracking).store

    def reach() -> None:  # the store's answer, whoever asks (the caller may be anonymous)
        with acting_as(_HEALTH):
            store.get_experiment("0")

    await run_in_threadpool(reach)
    return json_response({"status": "ok", "version": __version__})


_HEALTH = Actor("health", kind="system")


def _add_health_routes(app: FastAPI) -> None:
    app.add_api_route(
        "/health",
        health,
        methods=["GET"],
        tags=["health"],
        summary="Liveness and store reachability",
        openapi_extra=needs(PUBLIC),
    )
    app.add_api_route(
        "/api/v1/health",
        health,
        methods=["GET"],
        tags=["health"],
        include_in_schema=False,
        openapi_extra=needs(PUBLIC),
    )
