"""The inference server: a plain ASGI app (no framework on the hot path, orjson for JSON).

Routes (Open Inference Protocol v2, REST):

    GET  /v2/health/live | /v2/health/ready         {"live": true} / {"ready": true}
    GET  /v2                                         server metadata
    GET  /v2/models/{name}[/versions/{v}]            model metadata
    GET  /v2/models/{name}[/versions/{v}]/ready      model readiness
    POST /v2/models/{name}[/versions/{v}]/infer      inference (JSON or binary tensors)
    POST /invocations                                MLflow's payloads (first model, or ?model=)
    GET  /ping | /health                             MLflow's health checks

Errors are ``{"error": "...", "field": "..."}`` (``field`` when one thing in the request was
wrong: an input, a key, a column, ``body``) with 400 (bad input), 404 (no such model or
route), 405, 413 (body over the limit, refused before it is read when Content-Length says
so), 415, 503 (not ready); an unexpected failure is logged with its request id and answered
500 without a trace. Every response carries ``x-request-id`` (the client's, or a new one).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from modelyard._version import __version__
from modelyard.errors import (
    HTTP_STATUS,
    ModelyardError,
    NotFound,
    PayloadTooLarge,
)
from modelyard.serving import heap, metrics
from modelyard.serving.bodies import decoded, off_loop
from modelyard.serving.codec import HEADER_LENGTH, ProtocolError, decode_request, encode_response
from modelyard.serving.config import ServeConfig
from modelyard.serving.endpoints import Endpoint
from modelyard.serving.feedback import parse_feedback
from modelyard.serving.fleet import Fleet, NotServed
from modelyard.serving.follow import Follower
from modelyard.serving.loader import import_modules
from modelyard.serving.mlflow_payloads import (
    decode_invocation,
    encode_predictions,
    encode_probabilities,
)
from modelyard.serving.polling import StoreHealth, store_name
from modelyard.serving.predlog import PredictionLog, inputs_of
from modelyard.serving.runtime import Prepared, ServedModel
from modelyard.serving.ship_process import ShippingProcess
from modelyard.webapi.deadline import BodyDeadline

log = logging.getLogger("modelyard.serving")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
JSON = [(b"content-type", b"application/json")]


class Reply(Exception):
    """A finished answer raised from deep inside a handler (errors, mostly)."""

    def __init__(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None):
        self.status, self.body, self.headers = status, body, headers or []


def _error(status: int, message: str) -> Reply:
    return Reply(status, orjson.dumps({"error": message}), list(JSON))


class ServingApp:
    def __init__(self, config: ServeConfig, *, load: bool = True) -> None:
        self.config = config
        self.store = StoreHealth(
            store_name(config.tracking_uri),
            f"the models loaded keep serving; looking again every {config.watch_s:g} s",
        )
        self.fleet = Fleet(config, self.store)
        self.follower: Follower | None = None
        self.predlog: PredictionLog | None = None
        self.shipper: ShippingProcess | None = None
        self._monitoring: Any = None  # a MonitoringClient, for labels when there is no log
        self._shadow_tasks: set[asyncio.Task[None]] = set()
        self.ready = False
        self.inflight = 0  # inference requests admitted and not yet answered
        # a body that trickles is answered 408 and its connection closed
        self._deadline = BodyDeadline(self._http, timeout_s=config.body_timeout_s)
        if load:
            self.load()

    # --- models ------------------------------------------------------------------------
    def load(self) -> None:
        import_modules(self.config.imports)
        deployment = None
        if self.config.deployment is not None:
            self.follower = Follower(
                self.config.deployment,
                self.fleet,
                tracking_uri=self.config.tracking_uri,
                interval_s=self.config.watch_s,
                store=self.store,
            )
            deployment = self.follower.load()
        self.fleet.load(deployment)
        if self.config.prediction_log is not None:
            folder = Path(self.config.prediction_log)
            self.predlog = PredictionLog(
                folder,
                fsync_ms=self.config.log_fsync_ms,
                roll_s=self.config.log_roll_s,
                required=self.config.log_required,
            )
            self.shipper = ShippingProcess(
                folder, self.config.tracking_uri, interval_s=self.config.ship_s
            )
        self.ready = True

    def warnings(self) -> list[str]:
        """What readiness reports beside ``ready``: versions that failed to swap in, a
        deployment revision that failed to load (the old ones keep serving)."""
        found = sorted(self.fleet.swapper.errors.values())
        for part in (self.follower, self.predlog, self.shipper):
            if part is not None and part.error:
                found.append(part.error)
        return found

    def _log(
        self,
        request_id: str,
        endpoint: Endpoint,
        served: ServedModel,
        prepared: Prepared,
        result: Any,
        t0: float,
        *,
        shadow: bool = False,
        proba: Any = None,
    ) -> None:
        if self.predlog is None:
            return
        self.predlog.prediction(
            request_id,
            endpoint.name,
            served.model,
            served.version,
            inputs_of(served.column_names, prepared.matrix, prepared.data),
            result,
            (time.perf_counter() - t0) * 1e3,
            shadow=shadow,
            proba=None if proba is None else (served.classes, proba),
        )

    async def _proba(self, served: ServedModel, prepared: Prepared, asked: bool) -> Any:
        """Class probabilities when the client asked for them, or when the server logs them
        for every classifier (``log_probabilities``); else None."""
        if served.classes is None or not (asked or self.config.log_probabilities):
            return None
        call = asyncio.to_thread(served.run_proba, prepared)
        try:
            return await asyncio.wait_for(call, self.config.timeout_s)
        except (TimeoutError, asyncio.TimeoutError):
            raise _error(504, f"the model took longer than {self.config.timeout_s:g} s") from None

    def _endpoint(self, name: str) -> Endpoint:
        try:
            return self.fleet.endpoint(name)
        except NotServed as exc:
            raise _error(404, str(exc)) from None

    def _model(
        self, endpoint: Endpoint, version: str | None, headers: dict[bytes, bytes]
    ) -> ServedModel:
        try:
            return self.fleet.model(endpoint, version, headers)
        except NotServed as exc:
            raise _error(404, str(exc)) from None

    def _shadow(self, endpoint: Endpoint, prepare: Any, answer: Any, request_id: str) -> None:
        """Mirror the request to the endpoint's shadows once it is answered."""
        for shadow in self.fleet.shadows(endpoint):
            shadow.active += 1  # its batcher stays open until the shadow call is done
            task = asyncio.get_running_loop().create_task(
                self._run_shadow(endpoint, shadow, prepare, answer, request_id)
            )
            self._shadow_tasks.add(task)
            task.add_done_callback(self._shadow_tasks.discard)

    async def _run_shadow(
        self, endpoint: Endpoint, shadow: ServedModel, prepare: Any, answer: Any, request_id: str
    ) -> None:
        t0 = time.perf_counter()
        try:
            prepared = await asyncio.to_thread(prepare, shadow)
            out = await self.predict(shadow, prepared)
            self._log(request_id, endpoint, shadow, prepared, out, t0, shadow=True)
            same = np.array_equal(np.asarray(out), np.asarray(answer))
            outcome = "agree" if same else "differ"
        except Exception as exc:  # noqa: BLE001 - a shadow never affects anything
            outcome = "failed"
            log.warning("request %s: shadow %s failed: %s", request_id, shadow.name, exc)
        finally:
            shadow.active -= 1
        metrics.SHADOWS.labels(endpoint.name, shadow.version or "", outcome).inc()
        log.info(
            "request %s: shadow %s version %s %s in %.1f ms",
            request_id,
            endpoint.name,
            shadow.version,
            outcome,
            (time.perf_counter() - t0) * 1e3,
        )

    async def predict(self, served: ServedModel, prepared: Prepared) -> Any:
        if prepared.rows == 0:  # nothing to ask the model (a native one would refuse)
            return np.zeros(0, dtype=object if served.output_datatype == "BYTES" else None)
        batcher = served.batcher  # the request's own version, even if a swap happens now
        if batcher is not None and prepared.matrix is not None:
            call = batcher.submit(prepared.matrix)
        else:
            call = asyncio.to_thread(served.run, prepared)
        try:
            return await asyncio.wait_for(call, self.config.timeout_s)
        except (TimeoutError, asyncio.TimeoutError):  # one class from Python 3.11 on
            raise _error(504, f"the model took longer than {self.config.timeout_s:g} s") from None

    def _enter(self, scope: Scope, endpoint: Endpoint | None, served: ServedModel | None) -> None:
        """Admit an inference request (or refuse it) and mark it for the metrics."""
        name = endpoint.name if endpoint is not None else ""
        version = (served.version or "") if served is not None else ""
        scope["modelyard.timing"] = (name, version, time.perf_counter())  # 503s counted too
        self._admit()
        self.inflight += 1
        metrics.INFLIGHT.inc()

    def _leave(self) -> None:
        self.inflight -= 1
        metrics.INFLIGHT.dec()

    def _admit(self) -> None:
        """Refuse at once, before the body is read, what the process cannot take in time."""
        if not self.ready:
            raise _error(503, "the server is not ready")
        if self.predlog is not None and self.predlog.required and not self.predlog.accepting:
            raise _error(503, f"{self.predlog.error}; predictions need the log (log_required)")
        if self.inflight >= self.config.max_inflight:
            raise Reply(
                503,
                orjson.dumps({"error": "overloaded: too many requests in flight; retry"}),
                [*JSON, (b"retry-after", b"1")],
            )

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
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:128] or uuid.uuid4().hex
        scope["modelyard.request_id"] = request_id
        try:
            status, body, extra = await self._route(scope, receive, headers, request_id)
        except Reply as reply:
            status, body, extra = reply.status, reply.body, reply.headers
        except ModelyardError as exc:
            status = HTTP_STATUS.get(exc.code, 500)
            error = {"error": exc.message}
            if exc.field is not None:  # what was wrong, for a client to point at
                error["field"] = exc.field
            body, extra = orjson.dumps(error), list(JSON)
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
                self.fleet.swapper.start()
                if self.follower is not None:
                    self.follower.start()
                if self.shipper is not None:
                    self.shipper.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.fleet.swapper.stop()
                if self.follower is not None:
                    await self.follower.stop()
                self.fleet.close()
                await asyncio.to_thread(self._flush_log)
                metrics.process_gone()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _flush_log(self) -> None:
        """At shutdown: write and sync the queued records, then the shipping process ships
        what it can now and ends; what it cannot waits on disk for the next start."""
        if self.predlog is not None:
            self.predlog.close()
        if self.shipper is not None:
            self.shipper.stop()

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
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        parts = path.strip("/").split("/")
        if path in ("/v2/health/live", "/ping", "/health"):
            return 200, orjson.dumps({"live": True}), list(JSON)
        if path == "/v2/health/ready":
            log_ = self.predlog
            refusing = log_ is not None and log_.required and not log_.accepting
            code = 200 if self.ready and not refusing else 503
            body: dict[str, Any] = {"ready": self.ready}
            warnings = self.warnings()
            if warnings:
                body["warnings"] = warnings  # the old versions keep serving
            return code, orjson.dumps(body), list(JSON)
        if path == "/metrics":
            text, kind = metrics.render()
            return 200, text, [(b"content-type", kind.encode())]
        if path == "/v2":
            meta = {
                "name": "modelyard",
                "version": __version__,
                "extensions": ["binary_tensor_data"],
            }
            return 200, orjson.dumps(meta), list(JSON)
        if path == "/v2/feedback":
            self._method(method, "POST")
            raw = await self._body(receive, headers)
            return 200, orjson.dumps(await self._feedback(raw)), list(JSON)
        if path == "/invocations":
            self._method(method, "POST")
            self._enter(scope, None, None)
            try:
                return await self._invocations(scope, receive, headers)
            finally:
                self._leave()
        if len(parts) >= 3 and parts[:2] == ["v2", "models"]:
            name, rest = parts[2], parts[3:]
            version = None
            if len(rest) >= 2 and rest[0] == "versions":
                version, rest = rest[1], rest[2:]
            endpoint = self._endpoint(name)
            served = self._model(endpoint, version, headers)
            if not rest:
                self._method(method, "GET")
                return 200, orjson.dumps(self.fleet.metadata(endpoint, served)), list(JSON)
            if rest == ["ready"]:
                self._method(method, "GET")
                body = {"name": endpoint.name, "ready": self.ready}
                return 200 if self.ready else 503, orjson.dumps(body), list(JSON)
            if rest == ["infer"]:
                self._method(method, "POST")
                self._enter(scope, endpoint, served)
                served.active += 1  # a swap closes this version's batcher only after
                try:  # its last request is done
                    return await self._infer(endpoint, served, receive, headers, request_id)
                finally:
                    served.active -= 1
                    self._leave()
        raise NotFound(f"no route {method} {path}")

    def _rows(self, rows: int, name: str) -> None:
        """Refuse a request over the row limit (Triton's max batch size), naming the input."""
        if rows > self.config.max_rows:
            raise ProtocolError(
                f"input {name!r} holds {rows} rows; this server takes at most "
                f"{self.config.max_rows} in one request (max_rows)",
                field=name,
            )

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
        request_id: str,
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        t0 = time.perf_counter()
        body = await self._body(receive, headers)
        raw_length = headers.get(HEADER_LENGTH.encode())
        length = None
        if raw_length is not None:
            if not raw_length.isdigit():
                raise ProtocolError(
                    "Inference-Header-Content-Length must be a number",
                    field="Inference-Header-Content-Length",
                )
            length = int(raw_length)
        request = await off_loop(body, decode_request, body, length)
        unknown = [n for n in request.outputs if n not in served.outputs]
        if unknown:
            raise ProtocolError(
                f"unknown output(s) {unknown}; model {served.name!r} has "
                + ", ".join(repr(n) for n in served.outputs),
                field=unknown[0],
            )
        for tensor in request.inputs:  # before anything is built from them
            self._rows(tensor.shape[0] if tensor.shape else 1, tensor.name)
        prepared = await off_loop(body, served.from_tensors, request.inputs)
        result = await self.predict(served, prepared)
        proba = await self._proba(served, prepared, "predict_proba" in request.outputs)
        request_id = request.id or request_id  # the id the answer carries
        self._log(request_id, endpoint, served, prepared, result, t0, proba=proba)
        if endpoint.shadows:
            self._shadow(endpoint, lambda m: m.from_tensors(request.inputs), result, request_id)
        answers = {"predict": result, "predict_proba": proba}
        wanted = list(request.outputs) or ["predict"]
        binary = {n for n in wanted if request.binary(n)}
        classes = [str(c) for c in served.classes or ()]
        out, header = encode_response(
            endpoint.name,
            served.version,
            request.id or request_id,
            [(n, answers[n]) for n in wanted],
            binary,
            {"predict_proba": {"classes": classes}},
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
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        query = scope.get("query_string", b"").decode("latin-1")
        wanted = next(
            (p.split("=", 1)[1] for p in query.split("&") if p.startswith("model=")), None
        )
        endpoint = self._endpoint(wanted) if wanted else next(iter(self.fleet.endpoints.values()))
        served = self._model(endpoint, None, headers)
        scope["modelyard.timing"] = (
            endpoint.name,
            served.version or "",
            scope["modelyard.timing"][2],
        )
        served.active += 1
        try:
            body = await self._body(receive, headers)
            content_type = headers.get(b"content-type", b"application/json").decode("latin-1")
            prepared = await off_loop(body, decode_invocation, body, content_type, served)
            self._rows(prepared.rows, "body")
            asked = prepared.method == "predict_proba"
            if asked and served.classes is None:
                raise ProtocolError(
                    f"model {served.name!r} answers no class probabilities (not a classifier "
                    "with predict_proba)",
                    field="params.predict_method",
                )
            result = await self.predict(served, prepared)
            proba = await self._proba(served, prepared, asked)
            request_id = scope.get("modelyard.request_id", "")
            started = scope["modelyard.timing"][2]
            self._log(request_id, endpoint, served, prepared, result, started, proba=proba)
            if endpoint.shadows:
                self._shadow(
                    endpoint,
                    lambda m: decode_invocation(body, content_type, m),
                    result,
                    request_id,
                )
            version = str(served.version or "").encode()
            answer = (
                encode_probabilities(served.classes or [], proba)
                if asked
                else encode_predictions(result)
            )
            return 200, answer, [*JSON, (b"x-modelyard-version", version)]
        finally:
            served.active -= 1


def create_from_env() -> ServingApp:
    """The app factory uvicorn's worker processes call (``modelyard serve --workers N``)."""
    app = ServingApp(ServeConfig.from_env())
    heap.settle()
    return app
