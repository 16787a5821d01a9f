"""The modelyard HTTP server: one FastAPI app composed from the domains' routers.

Holds composition only — which routers, which guards, which backend; every rule lives in the
domain services the routers call. The OpenAPI description is served at ``/openapi.json``;
there is no ``/docs`` or ``/redoc`` page (they load their scripts from a CDN).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelyard._version import __version__
from modelyard.config import Settings
from modelyard.data.backends import data_backend
from modelyard.data.routes import blobs, datasets, lineage
from modelyard.identity import Actor, parse_roles
from modelyard.monitoring import routes as predictions
from modelyard.monitoring import routes_alerts, routes_monitors
from modelyard.monitoring.backends import monitoring_store
from modelyard.monitoring.client import MonitoringClient
from modelyard.monitoring.scheduler import MonitorScheduler
from modelyard.platform.backends import Backend, open_sql
from modelyard.registry.backends import registry_store
from modelyard.registry.routes import approvals, audit, deployments, models, versions, webhooks
from modelyard.registry.webhooks import Dispatcher
from modelyard.tracking.backends import tracking_parts
from modelyard.tracking.routes import artifacts, experiments, runs
from modelyard.webapi.actor import ActorBinding
from modelyard.webapi.deadline import BodyDeadline
from modelyard.webapi.errors import LastResort, install_error_handlers
from modelyard.webapi.guards import RequestGuard
from modelyard.webapi.json import json_response
from modelyard.webapi.openapi import install_openapi

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
    audit,
)


def create_app(
    store_uri: str | None = None,
    *,
    settings: Settings | None = None,
    backend: Backend | None = None,
) -> LastResort:
    """Build the ASGI app serving the store at ``store_uri`` (a folder, SQLite or PostgreSQL)."""
    settings = settings or Settings.from_env()
    if backend is None:
        backend = open_sql(store_uri, settings)
    roles = parse_roles(settings.roles)  # a malformed MODELYARD_ROLES stops the start
    registry = registry_store(backend)
    dispatcher = None
    if backend.db is not None:
        dispatcher = Dispatcher(backend.db, allow_private=settings.allow_private_webhooks)
    app = FastAPI(
        title="modelyard",
        version=__version__,
        description="HTTP API of modelyard: experiment tracking, datasets, lineage, the model "
        "registry, deployments, logged predictions and labels, and the audit log. "
        'Errors are `{"error": {"code", "message", "field"}}`.',
        lifespan=_lifespan(backend, settings, dispatcher),
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN: no page that does
        redoc_url=None,
    )
    app.state.tracking = backend
    app.state.data = data_backend(backend)
    app.state.registry = registry
    app.state.monitoring = monitoring_store(backend)
    install_error_handlers(app)
    for module in _ROUTERS:
        app.include_router(module.router)
    install_openapi(app)
    _add_health_routes(app)
    guarded = RequestGuard(
        ActorBinding(app, roles=roles),
        max_json_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_artifact_bytes,
        upload_paths=[artifacts.UPLOAD_PATH, blobs.UPLOAD_PATH],
    )
    return LastResort(BodyDeadline(guarded, timeout_s=settings.body_timeout_s))


def _lifespan(
    backend: Backend, settings: Settings, dispatcher: Dispatcher | None
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The server's background work: the webhook dispatcher and, on its own store, the
    monitor scheduler, started with the app and stopped with it."""

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
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()
            if dispatcher is not None:
                dispatcher.stop()

    return lifespan


# named ``health``: FastAPI derives the public operation id (``health_health_get``) from it
async def health(request: Request) -> Response:
    store = tracking_parts(request.app.state.tracking).store
    await run_in_threadpool(store.get_experiment, "0")
    return json_response({"status": "ok", "version": __version__})


def _add_health_routes(app: FastAPI) -> None:
    app.add_api_route(
        "/health",
        health,
        methods=["GET"],
        tags=["health"],
        summary="Liveness and store reachability",
    )
    app.add_api_route(
        "/api/v1/health", health, methods=["GET"], tags=["health"], include_in_schema=False
    )
