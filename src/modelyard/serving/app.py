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

This module is the HTTP side only: once a request is decoded it goes through ``Inference``
(admission, the signature, the batcher, the log, the statistics), the path the gRPC server
(``grpc_server``, with ``grpc_port``, on this event loop) takes too. The app's lifespan
starts that gRPC server after ``Inference.start`` and stops it first.

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
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import orjson

from modelyard import logs
from modelyard._version import __version__
from modelyard.errors import HTTP_STATUS, ModelyardError, NotFound, PayloadTooLarge
from modelyard.platform.checks import short
from modelyard.serving import metrics
from modelyard.serving.config import ServeConfig
from modelyard.serving.inference import EXTENSIONS, Call, Inference, Overloaded
from modelyard.serving.protocol.bodies import JSON_TYPES, decoded, media_type, off_loop
from modelyard.serving.protocol.codec import (
    HEADER_LENGTH,
    ProtocolError,
    client_request_id,
    decode_request,
    encode_response,
)
from modelyard.serving.protocol.feedback import parse_feedback
from modelyard.serving.protocol.mlflow_payloads import (
    decode_invocation,
    encode_predictions,
    encode_probabilities,
)
from modelyard.serving.protocol.model_config import model_config
from modelyard.serving.repository.control import control_parameters, index_request
from modelyard.serving.repository.endpoints import Endpoint
from modelyard.serving.runtime import heap
from modelyard.serving.runtime.served import ServedModel
from modelyard.webapi.deadline import BodyDeadline

if TYPE_CHECKING:
    from modelyard.serving.grpc_server import GrpcServer

log = logging.getLogger("modelyard.serving")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Answered = tuple[int, bytes, list[tuple[bytes, bytes]]]
JSON = [(b"content-type", b"application/json")]
# an inference body is JSON, or JSON and tensor bytes (the binary extension); none said is JSON
INFER_TYPES = (*JSON_TYPES, "application/octet-stream")


class Reply(Exception):
    """A finished answer raised from deep inside a handler (errors, mostly)."""

    def __init__(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None):
        self.status, self.body, self.headers = status, body, headers or []


def _json(body: Any, status: int = 200) -> Answered:
    return status, orjson.dumps(body), list(JSON)


class ServingApp(Inference):
    def __init__(self, config: ServeConfig, *, load: bool = True) -> None:
        self._monitoring: Any = None  # a MonitoringClient, for labels when there is no log
        self.grpc: GrpcServer | None = None  # the gRPC server, with grpc_port, while it runs
        self.startup_error: ModelyardError | None = None  # why the lifespan's start failed
        # a body that trickles is answered 408 and its connection closed
        self._deadline = BodyDeadline(self._http, timeout_s=config.body_timeout_s)
        super().__init__(config, load=load)

    def _enter(self, scope: Scope, endpoint: Endpoint | None, served: ServedModel | None) -> None:
        """Admit an inference request (or refuse it) and mark it for the metrics."""
        name = endpoint.name if endpoint is not None else ""
        version = (served.version or "") if served is not None else ""
        scope["modelyard.timing"] = (name, version, time.perf_counter())  # 503s counted too
        self.enter()

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
            status, body, extra = await self._route(scope, receive, headers, request_id)
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
        stops the start)."""
        await super().start()
        if self.config.grpc_port is not None:
            # grpc and its messages load only when a gRPC port is asked for
            from modelyard.serving.grpc_server import GrpcServer

            self.grpc = await GrpcServer.start(self)

    async def stop(self) -> None:
        """gRPC answers what it has taken, then ``Inference.stop``."""
        if self.grpc is not None:
            await self.grpc.stop()
        await super().stop()

    async def _body(self, receive: Receive, headers: dict[bytes, bytes]) -> bytes:
        limit = self.config.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"the body is {int(declared)} bytes; the limit is {limit}")
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return decoded(b"".join(chunks), headers.get(b"content-encoding"), limit)

    async def _route(
        self, scope: Scope, receive: Receive, headers: dict[bytes, bytes], request_id: str
    ) -> Answered:
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        parts = path.strip("/").split("/")
        if path in ("/v2/health/live", "/ping", "/health"):
            return _json({"live": True})
        if path == "/v2/health/ready":
            body: dict[str, Any] = {"ready": self.ready}
            warnings = self.warnings()
            if warnings:
                body["warnings"] = warnings  # the old versions keep serving
            return _json(body, 200 if self.ready_now() else 503)
        if path == "/metrics":
            text, kind = metrics.render()
            return 200, text, [(b"content-type", kind.encode())]
        if path == "/v2":
            return _json({"name": "modelyard", "version": __version__, "extensions": EXTENSIONS})
        if path == "/v2/feedback":
            self._method(method, "POST")
            media_type(headers, JSON_TYPES)
            raw = await self._body(receive, headers)
            return _json(await self._feedback(raw))
        if path == "/invocations":
            self._method(method, "POST")
            self._enter(scope, None, None)
            try:
                return await self._invocations(scope, receive, headers)
            finally:
                self.leave()
        if parts[:2] == ["v2", "repository"]:
            return await self._repository(method, parts[2:], receive, headers)
        if path == "/v2/models/stats":  # every model's (a model named "stats" is among them)
            self._method(method, "GET")
            return _json({"model_stats": self.fleet.statistics(None, None)})
        if len(parts) >= 3 and parts[:2] == ["v2", "models"]:
            name, rest = parts[2], parts[3:]
            version = None
            if len(rest) >= 2 and rest[0] == "versions":
                version, rest = rest[1], rest[2:]
            endpoint = self.fleet.endpoint(name)
            served = self.fleet.model(endpoint, version, headers)
            if not rest:
                self._method(method, "GET")
                return _json(self.fleet.metadata(endpoint, served))
            if rest == ["ready"]:
                self._method(method, "GET")
                ready = {"name": endpoint.name, "ready": self.ready}
                return _json(ready, 200 if self.ready else 503)
            if rest == ["config"]:
                self._method(method, "GET")
                described = self.fleet.described(endpoint, version)
                return _json(model_config(endpoint.name, described, self.config))
            if rest == ["stats"]:
                self._method(method, "GET")
                return _json({"model_stats": self.fleet.statistics(endpoint.name, version)})
            if rest == ["infer"]:
                self._method(method, "POST")
                call = Call(request_id)
                served.active += 1  # a swap closes this version's batcher only after
                try:  # its last request is done
                    with self.counted(served, call):
                        self._enter(scope, endpoint, served)
                        try:
                            return await self._infer(endpoint, served, receive, headers, call)
                        finally:
                            self.leave()
                finally:
                    served.active -= 1
        raise NotFound(f"no route {method} {path}")

    async def _repository(
        self, method: str, parts: list[str], receive: Receive, headers: dict[bytes, bytes]
    ) -> Answered:
        """``POST /v2/repository/index`` and ``.../models/{name}/load|unload``."""
        if parts == ["index"]:
            self._method(method, "POST")
            media_type(headers, JSON_TYPES)
            ready = index_request(await self._body(receive, headers))
            return _json(self.control.index(ready))
        if len(parts) == 3 and parts[0] == "models" and parts[2] in ("load", "unload"):
            self._method(method, "POST")
            media_type(headers, JSON_TYPES)
            params = control_parameters(await self._body(receive, headers))
            if parts[2] == "load":
                await self.control.load(parts[1], params)
            else:
                await self.control.unload(parts[1], params)
            return _json({"name": parts[1], "done": parts[2]})
        raise NotFound(f"no route {method} /v2/repository/{'/'.join(parts)}")

    @staticmethod
    def _method(method: str, allowed: str) -> None:
        if method != allowed:
            raise Reply(
                405,
                orjson.dumps({"error": f"use {allowed}"}),
                [*JSON, (b"allow", allowed.encode())],
            )

    async def _infer(
        self,
        endpoint: Endpoint,
        served: ServedModel,
        receive: Receive,
        headers: dict[bytes, bytes],
        call: Call,
    ) -> Answered:
        media_type(headers, INFER_TYPES)
        body = await self._body(receive, headers)
        t = time.perf_counter_ns()
        raw_length = headers.get(HEADER_LENGTH.encode())
        length = None
        if raw_length is not None:
            if not raw_length.isdigit():
                raise ProtocolError(
                    "Inference-Header-Content-Length must be a non-negative integer (the "
                    f"length of the JSON part in bytes), not {short(raw_length.decode('latin-1'))}",
                    field="Inference-Header-Content-Length",
                )
            length = int(raw_length)
        request = await off_loop(len(body), decode_request, body, length)
        call.timing.input_ns += time.perf_counter_ns() - t
        answer = await self.infer(endpoint, served, request, call, len(body))
        t = time.perf_counter_ns()
        out, header = encode_response(
            endpoint.name,
            served.version,
            answer.request_id,
            answer.outputs,
            {n for n, _ in answer.outputs if request.binary(n)},
            {"predict_proba": {"classes": answer.classes}},
        )
        extra = (
            list(JSON)
            if header is None
            else [
                (b"content-type", b"application/octet-stream"),
                (HEADER_LENGTH.encode(), str(header).encode()),
            ]
        )
        extra.append((b"x-modelyard-version", str(served.version or "").encode()))
        call.timing.output_ns += time.perf_counter_ns() - t
        return 200, out, extra

    async def _feedback(self, body: bytes) -> dict[str, Any]:
        """Late labels: into the prediction log (shipped with it), or straight to the store
        when there is no log."""
        labels = parse_feedback(body)
        if self.predlog is not None:
            if not self.predlog.accepting:  # a lost label cannot be made again: refuse it
                raise Reply(
                    503,
                    orjson.dumps({"error": f"{self.predlog.error}; send the labels again later"}),
                    [*JSON, (b"retry-after", b"5")],
                )
            self.predlog.labels([lb.to_dict() for lb in labels])
        else:
            await asyncio.to_thread(self._labels_client().log_labels, labels)
        return {"accepted": len(labels)}

    def _labels_client(self) -> Any:
        """The store labels go to when there is no log (made once, on first use)."""
        if self._monitoring is None:
            from modelyard.monitoring.client import MonitoringClient

            self._monitoring = MonitoringClient(self.config.tracking_uri)
        return self._monitoring

    async def _invocations(
        self, scope: Scope, receive: Receive, headers: dict[bytes, bytes]
    ) -> Answered:
        query = scope.get("query_string", b"").decode("latin-1")
        wanted = next(
            (p.split("=", 1)[1] for p in query.split("&") if p.startswith("model=")), None
        )
        endpoint = self.fleet.endpoint(wanted) if wanted else self.fleet.default()
        served = self.fleet.model(endpoint, None, headers)
        scope["modelyard.timing"] = (
            endpoint.name,
            served.version or "",
            scope["modelyard.timing"][2],
        )
        call = Call(scope.get("modelyard.request_id", ""))
        served.active += 1
        try:
            with self.counted(served, call):
                return await self._invocation(endpoint, served, receive, headers, call)
        finally:
            served.active -= 1

    async def _invocation(
        self,
        endpoint: Endpoint,
        served: ServedModel,
        receive: Receive,
        headers: dict[bytes, bytes],
        call: Call,
    ) -> Answered:
        body = await self._body(receive, headers)
        t = time.perf_counter_ns()
        content_type = headers.get(b"content-type", b"application/json").decode("latin-1")
        prepared = await off_loop(len(body), decode_invocation, body, content_type, served)
        self.rows_allowed(prepared.rows, "body")
        call.timing.input_ns += time.perf_counter_ns() - t
        asked = prepared.method == "predict_proba"
        if asked and served.classes is None:
            raise ProtocolError(
                f"model {served.name!r} answers no class probabilities (not a classifier "
                "with predict_proba)",
                field="params.predict_method",
            )
        result = await self.predict(served, prepared, call.timing)
        proba = await self.proba(served, prepared, asked, call.timing)
        call.rows = prepared.rows
        request_id = call.request_id
        self.logged(request_id, endpoint, served, prepared, result, call.started_ns, proba)
        if endpoint.shadows:
            self.shadows.mirror(
                endpoint, lambda m: decode_invocation(body, content_type, m), result, request_id
            )
        t = time.perf_counter_ns()
        answer = (
            encode_probabilities(served.classes or [], proba)
            if asked
            else encode_predictions(result)
        )
        call.timing.output_ns += time.perf_counter_ns() - t
        return 200, answer, [*JSON, (b"x-modelyard-version", str(served.version or "").encode())]


def create_from_env() -> ServingApp:
    """The app factory uvicorn's worker processes call (``modelyard serve --workers N``)."""
    config = ServeConfig.from_env()
    logs.configure(config.log_level)  # a worker is a fresh process: its logging is set here
    app = ServingApp(config)
    heap.settle()
    return app
