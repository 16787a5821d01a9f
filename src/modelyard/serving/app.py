"""The inference server: a plain ASGI app (no framework on the hot path, orjson for JSON).

Routes (Open Inference Protocol v2, REST, with Triton's extensions):

    GET  /v2/health/live | /v2/health/ready         {"live": true} / {"ready": true}
    GET  /v2                                         server metadata
    GET  /v2/models/{name}[/versions/{v}]            model metadata
    GET  /v2/models/{name}[/versions/{v}]/ready      model readiness
    POST /v2/models/{name}[/versions/{v}]/infer      inference (JSON or binary tensors)
    GET  /v2/models/{name}[/versions/{v}]/config     the model's configuration
    GET  /v2/models[/{name}[/versions/{v}]]/stats    inference statistics
    POST /v2/repository/index                        what is served: READY or UNAVAILABLE
    POST /v2/repository/models/{name}/load|unload    model control (--model-control explicit)
    POST /invocations                                MLflow's payloads (first model, or ?model=)
    GET  /ping | /health                             MLflow's health checks

This module is the app and its route table only: the router (``rest.router``) reads the
table once; the handlers are ``rest``'s, one module per resource, the inference handler
(``rest.infer``) among them. Once a request is decoded it goes through ``Inference``
(admission, the signature, the batcher, the log, the shadows, the statistics), the path the
gRPC server (``grpc_server``, with ``grpc_port``, on this event loop) takes too. The app's
lifespan starts that gRPC server after ``Inference.start`` and stops it first.

Errors are ``{"error": "...", "field": "..."}`` (``field`` when one thing in the request was
wrong: an input, a key, a column, ``body``) with 400 (bad input), 403 (model control off),
404 (no such model or route, or a model unloaded), 405, 409, 413 (body over the limit,
refused before it is read when Content-Length says so), 415, 503 (not ready, overloaded),
504 (the model's timeout); an unexpected failure is logged with its request id and answered
500 without a trace. Every response carries ``x-request-id`` (the client's, or a new one). A
client's id (the header, or the body's ``id``) is what the prediction log keeps and labels
name later: one that is not 1 to 128 printable ASCII characters is refused (400), never cut.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING

import orjson

from modelyard import logs
from modelyard.errors import HTTP_STATUS, ModelyardError, TooManyRequests, Unauthenticated
from modelyard.serving import metrics
from modelyard.serving.auth import ADMIN, PREDICT, PUBLIC, TOKEN, ServingAuth
from modelyard.serving.config import ServeConfig
from modelyard.serving.inference import Inference, Overloaded
from modelyard.serving.protocol.codec import client_request_id
from modelyard.serving.rest.answers import JSON, Receive, Reply, Scope, Send
from modelyard.serving.rest.feedback import FeedbackRoute
from modelyard.serving.rest.infer import InferenceHandler
from modelyard.serving.rest.model_control import ControlRoutes
from modelyard.serving.rest.models import ModelRoutes
from modelyard.serving.rest.router import ANY, Route, Router
from modelyard.serving.rest.server import ServerRoutes
from modelyard.serving.runtime import heap
from modelyard.webapi.deadline import BodyDeadline

if TYPE_CHECKING:
    from modelyard.serving.grpc_server import GrpcServer
    from modelyard.serving.predlog.ship_process import ShippingProcess
    from modelyard.serving.predlog.writer import PredictionLog
    from modelyard.serving.repository.fleet import Fleet
    from modelyard.serving.repository.follow import Follower

log = logging.getLogger("modelyard.serving")


class ServingApp:
    """The inference server as an ASGI app: a route table in front of the handlers, and
    ``Inference`` (the one inference path, REST's and gRPC's) behind them."""

    def __init__(self, config: ServeConfig, *, load: bool = True) -> None:
        self.grpc: GrpcServer | None = None  # the gRPC server, with grpc_port, while it runs
        self.startup_error: ModelyardError | None = None  # why the lifespan's start failed
        self._revocations: asyncio.Task[None] | None = None  # polls revoked serving tokens
        self.inference = Inference(config, load=load)
        self.router = Router(self.routes(), self.inference.fleet)
        self._route = self.router.route  # bound once: the hot path pays no lookup for it
        # a body that trickles is answered 408 and its connection closed
        self._deadline = BodyDeadline(self._http, timeout_s=config.body_timeout_s)

    def routes(self) -> list[Route]:
        """Every route: the method it takes (``ANY``: every one), its path and its handler.
        ``/versions/{v}`` may follow ``{name}`` on every ``/v2/models/{name}`` route."""
        inference = self.inference
        server, models = ServerRoutes(inference), ModelRoutes(inference)
        control, infer = ControlRoutes(inference), InferenceHandler(inference)
        return [
            Route(ANY, "/v2/health/live", server.live, PUBLIC),  # probes answer anyone
            Route(ANY, "/ping", server.live, PUBLIC),  # MLflow's health checks
            Route(ANY, "/health", server.live, PUBLIC),
            Route(ANY, "/v2/health/ready", server.ready, PUBLIC),
            Route(ANY, "/metrics", server.metrics, ADMIN),  # it names every model served
            Route(ANY, "/v2", server.metadata, TOKEN),
            Route("POST", "/v2/feedback", FeedbackRoute(inference).post, TOKEN),
            Route("POST", "/invocations", infer.invocations, PREDICT),
            Route("POST", "/v2/repository/index", control.index, ADMIN),
            Route("POST", "/v2/repository/models/{name}/load", control.load, ADMIN),
            Route("POST", "/v2/repository/models/{name}/unload", control.unload, ADMIN),
            Route("GET", "/v2/models/stats", models.every_stats, ADMIN),
            Route("GET", "/v2/models/{name}", models.metadata, PREDICT),
            Route("GET", "/v2/models/{name}/ready", models.ready, PREDICT),
            Route("GET", "/v2/models/{name}/config", models.config, PREDICT),
            Route("GET", "/v2/models/{name}/stats", models.stats, PREDICT),
            Route("POST", "/v2/models/{name}/infer", infer.infer, PREDICT),
        ]

    # --- what is served, as the inference path holds it -----------------------------------
    @property
    def config(self) -> ServeConfig:
        return self.inference.config

    @property
    def fleet(self) -> Fleet:
        return self.inference.fleet

    @property
    def ready(self) -> bool:
        return self.inference.ready

    @property
    def follower(self) -> Follower | None:
        return self.inference.follower

    @property
    def predlog(self) -> PredictionLog | None:
        return self.inference.predlog

    @property
    def shipper(self) -> ShippingProcess | None:
        return self.inference.shipper

    def warnings(self) -> list[str]:
        return self.inference.warnings()

    # --- ASGI --------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        await self._deadline(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        request_id = uuid.uuid4().hex  # until the client's is known to be one the log takes
        try:
            given = headers.get(b"x-request-id", b"").decode("latin-1")
            request_id = client_request_id(given, "x-request-id") or request_id
            scope["modelyard.request_id"] = request_id
            status, body, extra = await self._route(scope, receive, headers)
        except Reply as reply:
            status, body, extra = reply.status, reply.body, reply.headers
        except ModelyardError as exc:
            status = HTTP_STATUS.get(exc.code, 500)
            error = {"error": exc.message}
            if exc.field is not None:  # what was wrong, for a client to point at
                error["field"] = exc.field
            body, extra = orjson.dumps(error), list(JSON)
            if isinstance(exc, Overloaded):
                extra.append((b"retry-after", str(exc.retry_after_s).encode()))
            elif isinstance(exc, TooManyRequests):
                extra.append((b"retry-after", str(exc.retry_after).encode()))
            elif isinstance(exc, Unauthenticated):
                extra.append((b"www-authenticate", b"Bearer"))
        except Exception:
            log.exception("request %s failed", request_id)
            status, body, extra = 500, orjson.dumps({"error": "internal error"}), list(JSON)
        timing = scope.get("modelyard.timing")
        if timing is not None:
            name, version, t0 = timing
            metrics.REQUESTS.labels(name, version, str(status)).inc()
            metrics.LATENCY.labels(name).observe(time.perf_counter() - t0)
        out = [*extra, (b"x-request-id", request_id.encode("latin-1"))]
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except ModelyardError as exc:  # the gRPC port taken: the server does not start
                    self.startup_error = exc
                    await send({"type": "lifespan.startup.failed", "message": exc.message})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        """``Inference.start``, then, when asked, the gRPC server (a port it cannot bind
        stops the start); with ``--auth`` it checks calls with the router's ``ServingAuth``."""
        config = self.config
        if config.auth and self.router.auth is None:  # the platform's keys, before any request
            self.router.auth = await asyncio.to_thread(
                ServingAuth.load,
                str(config.auth_issuer),
                config.auth_jwks,
                oidc_issuer=config.auth_oidc_issuer,
                oidc_audience=config.auth_oidc_audience,
            )
            heap.settle_new()  # what loading the keys imported stays off the collector's walk
        if self.router.auth is not None and self.router.auth.revoked_url is not None:
            self._revocations = asyncio.create_task(self.router.auth.watch_revoked())
        await self.inference.start()
        if self.config.grpc_port is not None:
            # grpc and its messages load only when a gRPC port is asked for
            from modelyard.serving.grpc_server import GrpcServer

            self.grpc = await GrpcServer.start(self.inference, self.router.auth)

    async def stop(self) -> None:
        """gRPC answers what it has taken, then ``Inference.stop``."""
        if self._revocations is not None:
            self._revocations.cancel()
            self._revocations = None
        if self.grpc is not None:
            await self.grpc.stop()
        await self.inference.stop()


def create_from_env() -> ServingApp:
    """The app factory uvicorn's worker processes call (``modelyard serve --workers N``)."""
    config = ServeConfig.from_env()
    logs.configure(config.log_level)  # a worker is a fresh process: its logging is set here
    app = ServingApp(config)
    heap.settle()
    return app
