"""The Open Inference Protocol over gRPC: KServe v2 / Triton's ``inference.GRPCInferenceService``
(``modelyard serve --grpc-port N``), served by ``grpc.aio`` on the HTTP server's own event
loop, so a gRPC request shares everything with a REST one: admission and ``--max-inflight``,
the models and their batchers, the prediction log, shadows, statistics and Prometheus
metrics (status as the HTTP status REST would have answered).

Each method is a thin adapter: decode (``grpc_codec``), call what REST calls, encode. Errors
are the root's, mapped once by code to a gRPC status (``STATUS``) with REST's message as the
details; the field REST names travels as the ``field`` trailing metadata, with the request
id as ``x-request-id``. Methods this server does not have (streaming, shared memory, trace
and log settings) answer UNIMPLEMENTED.

With ``--auth`` every method declares what it needs (``RPC_NEEDS``, its REST route's needs:
``serving.auth``'s nothing, a token, ``predict:<endpoint>`` or ``serve:admin``), checked by the
REST router's own ``ServingAuth`` against the call's ``authorization: Bearer <token>``
metadata before the method runs; a service is not built with a method that declares nothing.
Without ``--auth`` the methods are registered bare: a call pays nothing for it.

``grpc`` and the message classes (``tritonclient[grpc]``, the ``grpc`` extra) are imported
only here (and in ``grpc_codec``), and this module only when a gRPC port is asked for;
``inference.require_grpc`` says first, in one line, when the extra is missing.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format
from tritonclient.grpc import service_pb2 as pb

from modelyard._version import __version__
from modelyard.errors import HTTP_STATUS, InvalidArgument, ModelyardError, TooManyRequests
from modelyard.monitoring.entities import is_request_id
from modelyard.serving import metrics
from modelyard.serving.auth import ADMIN, PREDICT, PUBLIC, TOKEN, ServingAuth
from modelyard.serving.inference import EXTENSIONS, Call, Inference
from modelyard.serving.protocol.bodies import off_loop
from modelyard.serving.protocol.codec import client_request_id
from modelyard.serving.protocol.grpc_codec import decode_infer, encode_infer, parameters, raw_size
from modelyard.serving.protocol.model_config import model_config

log = logging.getLogger("modelyard.serving")

SERVICE = "inference.GRPCInferenceService"
# error code -> gRPC status name
STATUS = {
    "INVALID_ARGUMENT": "INVALID_ARGUMENT",
    "NOT_FOUND": "NOT_FOUND",
    "ALREADY_EXISTS": "ALREADY_EXISTS",
    "CONFLICT": "FAILED_PRECONDITION",
    "UNAUTHENTICATED": "UNAUTHENTICATED",
    "PERMISSION_DENIED": "PERMISSION_DENIED",
    "RATE_LIMITED": "RESOURCE_EXHAUSTED",
    "PAYLOAD_TOO_LARGE": "RESOURCE_EXHAUSTED",
    "UNSUPPORTED_MEDIA_TYPE": "INVALID_ARGUMENT",
    "REQUEST_TIMEOUT": "DEADLINE_EXCEEDED",
    "DEADLINE_EXCEEDED": "DEADLINE_EXCEEDED",
    "UNAVAILABLE": "UNAVAILABLE",
    "INSUFFICIENT_STORAGE": "RESOURCE_EXHAUSTED",
    "INTERNAL_ERROR": "INTERNAL",
}
GRACE_S = 30.0  # at shutdown, requests already taken get this long to finish


class GrpcServer:
    def __init__(self, server: Any, port: int) -> None:
        self.server = server
        self.port = port  # the one bound (grpc_port 0 picks a free one)

    @classmethod
    async def start(cls, app: Inference, auth: ServingAuth | None = None) -> GrpcServer:
        """Bind and start on the running event loop (with ``auth``, the REST router's, every
        call is checked as its REST twin is); a port that cannot be bound is an
        ``InvalidArgument`` naming it."""
        config = app.config
        options = [
            ("grpc.max_receive_message_length", config.max_body_bytes),
            ("grpc.max_send_message_length", -1),
            # workers share the port, as they share the HTTP one; one process binds it alone
            ("grpc.so_reuseport", 1 if config.workers > 1 else 0),
        ]
        server = grpc.aio.server(options=options)
        server.add_generic_rpc_handlers((Service(app, auth).handler(),))
        host = config.grpc_host
        address = f"[{host}]:{config.grpc_port}" if ":" in host else f"{host}:{config.grpc_port}"
        try:
            port = server.add_insecure_port(address)
        except RuntimeError:
            raise InvalidArgument(
                f"cannot serve gRPC on {address}: the port is taken (or the address is not "
                "this machine's)",
                field="grpc_port",
            ) from None
        await server.start()
        log.info("serving the inference protocol over gRPC on %s:%s", host, port)
        return cls(server, port)

    async def stop(self) -> None:
        await self.server.stop(GRACE_S)


Handler = Callable[[Any, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Needs:
    """What a method needs with ``--auth`` (``serving.auth``: PUBLIC, TOKEN, PREDICT, ADMIN);
    for PREDICT, the request's field that names the endpoint (``name``); ``unnamed``: what
    it needs instead when that field is empty."""

    needs: str
    name: str | None = None
    unnamed: str | None = None

    def __post_init__(self) -> None:
        known = (PUBLIC, TOKEN, PREDICT, ADMIN)
        if self.needs not in known or self.unnamed not in (None, *known):
            raise ValueError(f"a method needs one of {known}, not {self.needs!r}")
        if (self.needs == PREDICT) != (self.name is not None):
            raise ValueError("predict needs the request's field naming the endpoint, and only it")


# what each method needs with --auth: the same as its REST twin (the route in app.py)
RPC_NEEDS = {
    "ServerLive": Needs(PUBLIC),  # /v2/health/live
    "ServerReady": Needs(PUBLIC),  # /v2/health/ready
    "ModelReady": Needs(PREDICT, "name"),  # /v2/models/{name}/ready
    "ServerMetadata": Needs(TOKEN),  # /v2
    "ModelMetadata": Needs(PREDICT, "name"),  # /v2/models/{name}
    "ModelInfer": Needs(PREDICT, "model_name"),  # /v2/models/{name}/infer
    "ModelConfig": Needs(PREDICT, "name"),  # /v2/models/{name}/config
    # /v2/models/{name}/stats; without a name, every model's: /v2/models/stats
    "ModelStatistics": Needs(PREDICT, "name", unnamed=ADMIN),
    "RepositoryIndex": Needs(ADMIN),  # /v2/repository/index
    "RepositoryModelLoad": Needs(ADMIN),  # /v2/repository/models/{name}/load
    "RepositoryModelUnload": Needs(ADMIN),  # /v2/repository/models/{name}/unload
}


class Service:
    """The service's methods, each on the app's own parts (with ``auth``, behind it)."""

    def __init__(self, app: Inference, auth: ServingAuth | None = None) -> None:
        self.app = app
        self.auth = auth

    def methods(self) -> dict[str, tuple[Handler, Any, Any]]:
        """Each method's name: its handler, request and response classes."""
        return {
            "ServerLive": (self.server_live, pb.ServerLiveRequest, pb.ServerLiveResponse),
            "ServerReady": (self.server_ready, pb.ServerReadyRequest, pb.ServerReadyResponse),
            "ModelReady": (self.model_ready, pb.ModelReadyRequest, pb.ModelReadyResponse),
            "ServerMetadata": (
                self.server_metadata,
                pb.ServerMetadataRequest,
                pb.ServerMetadataResponse,
            ),
            "ModelMetadata": (
                self.model_metadata,
                pb.ModelMetadataRequest,
                pb.ModelMetadataResponse,
            ),
            "ModelInfer": (self.model_infer, pb.ModelInferRequest, pb.ModelInferResponse),
            "ModelConfig": (self.model_config, pb.ModelConfigRequest, pb.ModelConfigResponse),
            "ModelStatistics": (
                self.model_statistics,
                pb.ModelStatisticsRequest,
                pb.ModelStatisticsResponse,
            ),
            "RepositoryIndex": (
                self.repository_index,
                pb.RepositoryIndexRequest,
                pb.RepositoryIndexResponse,
            ),
            "RepositoryModelLoad": (
                self.repository_load,
                pb.RepositoryModelLoadRequest,
                pb.RepositoryModelLoadResponse,
            ),
            "RepositoryModelUnload": (
                self.repository_unload,
                pb.RepositoryModelUnloadRequest,
                pb.RepositoryModelUnloadResponse,
            ),
        }

    def handler(self) -> Any:
        """The generic handler of every method; a method that ``RPC_NEEDS`` does not declare
        (or a declaration of no method) is a ``ValueError`` here, with or without auth."""
        methods, auth = self.methods(), self.auth
        undeclared = sorted(methods.keys() ^ RPC_NEEDS.keys())
        if undeclared:
            raise ValueError(f"gRPC methods without a declaration in RPC_NEEDS: {undeclared}")
        handlers = {}
        for name, (fn, request, response) in methods.items():
            if auth is not None:  # bare without --auth: a call pays nothing for it
                fn = _guarded(fn, RPC_NEEDS[name], auth)
            handlers[name] = grpc.unary_unary_rpc_method_handler(
                _answering(fn),
                request_deserializer=request.FromString,
                response_serializer=response.SerializeToString,
            )
        return grpc.method_handlers_generic_handler(SERVICE, handlers)

    # --- health and metadata -------------------------------------------------------------
    async def server_live(self, request: Any, context: Any) -> Any:
        return pb.ServerLiveResponse(live=True)

    async def server_ready(self, request: Any, context: Any) -> Any:
        return pb.ServerReadyResponse(ready=self.app.ready_now())

    async def model_ready(self, request: Any, context: Any) -> Any:
        """Ready: served now, in that version when one is named. A name not served (or
        unloaded) is not ready, not an error."""
        fleet = self.app.fleet
        endpoint = fleet.endpoints.get(request.name)
        ready = self.app.ready and endpoint is not None
        if ready and endpoint is not None and request.version:
            versions = {fleet.models[k].version for k, _ in endpoint.routes}
            ready = request.version in versions
        return pb.ModelReadyResponse(ready=ready)

    async def server_metadata(self, request: Any, context: Any) -> Any:
        return pb.ServerMetadataResponse(
            name="modelyard", version=__version__, extensions=EXTENSIONS
        )

    async def model_metadata(self, request: Any, context: Any) -> Any:
        fleet = self.app.fleet
        endpoint = fleet.endpoint(request.name)
        served = fleet.model(endpoint, request.version or None, self._headers(endpoint, context))
        meta = fleet.metadata(endpoint, served)
        tensor = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=meta["name"],
            versions=meta["versions"],
            platform=meta["platform"],
            inputs=[tensor(**t) for t in meta["inputs"]],
            outputs=[tensor(**t) for t in meta["outputs"]],
        )

    async def model_config(self, request: Any, context: Any) -> Any:
        fleet = self.app.fleet
        endpoint = fleet.endpoint(request.name)
        served = fleet.described(endpoint, request.version or None)
        found = model_config(endpoint.name, served, self.app.config)
        return json_format.ParseDict({"config": found}, pb.ModelConfigResponse())

    async def model_statistics(self, request: Any, context: Any) -> Any:
        if request.version and not request.name:
            raise InvalidArgument("a version needs the model's name", field="version")
        found = self.app.fleet.statistics(request.name or None, request.version or None)
        return json_format.ParseDict({"model_stats": found}, pb.ModelStatisticsResponse())

    # --- the repository ------------------------------------------------------------------
    async def repository_index(self, request: Any, context: Any) -> Any:
        _one_repository(request.repository_name)
        index = pb.RepositoryIndexResponse.ModelIndex
        entries = self.app.control.index(request.ready)
        return pb.RepositoryIndexResponse(models=[index(**e) for e in entries])

    async def repository_load(self, request: Any, context: Any) -> Any:
        _one_repository(request.repository_name)
        await self.app.control.load(request.model_name, parameters(request.parameters))
        return pb.RepositoryModelLoadResponse()

    async def repository_unload(self, request: Any, context: Any) -> Any:
        _one_repository(request.repository_name)
        await self.app.control.unload(request.model_name, parameters(request.parameters))
        return pb.RepositoryModelUnloadResponse()

    # --- inference -----------------------------------------------------------------------
    async def model_infer(self, request: Any, context: Any) -> Any:
        """REST's path: admitted (or 503), decoded into the same tensors, ``infer``d,
        counted in the statistics and the metrics; an error carries the request id."""
        request_id = uuid.uuid4().hex  # until the client's is known to be one the log takes
        try:
            given = client_request_id(_metadata(context, "x-request-id"), "x-request-id")
            own = request.id if is_request_id(request.id) else None  # else refused when decoded
            request_id = own or given or request_id
            return await self._infer(request, context, request_id)
        except ModelyardError as exc:
            await _abort(context, exc, request_id)
            raise  # abort raises; this is never reached

    async def _infer(self, request: Any, context: Any, request_id: str) -> Any:
        app = self.app
        endpoint = app.fleet.endpoint(request.model_name)
        headers = self._headers(endpoint, context)
        served = app.fleet.model(endpoint, request.model_version or None, headers)
        call = Call(request_id)
        started, status = time.perf_counter(), 500
        served.active += 1  # a swap closes this version's batcher only after its last request
        try:
            with app.counted(served, call):
                app.enter()
                try:
                    size = raw_size(request)
                    t = time.perf_counter_ns()
                    decoded = await off_loop(size, decode_infer, request)
                    call.timing.input_ns += time.perf_counter_ns() - t
                    answer = await app.infer(endpoint, served, decoded, call, size)
                    t = time.perf_counter_ns()
                    response = encode_infer(endpoint.name, served.version, answer)
                    call.timing.output_ns += time.perf_counter_ns() - t
                finally:
                    app.leave()
            status = 200
            return response
        except ModelyardError as exc:
            status = HTTP_STATUS.get(exc.code, 500)
            raise
        finally:
            served.active -= 1
            version = served.version or ""
            metrics.REQUESTS.labels(endpoint.name, version, str(status)).inc()
            metrics.LATENCY.labels(endpoint.name).observe(time.perf_counter() - started)

    @staticmethod
    def _headers(endpoint: Any, context: Any) -> dict[bytes, bytes]:
        """The request's metadata as the route picker reads headers (only an endpoint that
        routes by a sticky header needs them)."""
        if endpoint.sticky_header is None:
            return {}
        found = {}
        for key, value in context.invocation_metadata() or ():
            if isinstance(value, str):
                found[key.lower().encode("latin-1")] = value.encode("utf-8")
        return found


def _metadata(context: Any, key: str) -> str | None:
    for k, value in context.invocation_metadata() or ():
        if k == key and isinstance(value, str):
            return value
    return None


def _guarded(fn: Handler, declared: Needs, auth: ServingAuth) -> Handler:
    """``fn`` after ``auth`` checked the call's ``authorization`` metadata for what it
    ``declared`` (REST's check: a cached token costs a dictionary lookup)."""
    if declared.needs == PUBLIC:
        return fn
    needs, name, unnamed = declared.needs, declared.name, declared.unnamed

    async def guarded(request: Any, context: Any) -> Any:
        endpoint = None if name is None else getattr(request, name)
        given = _metadata(context, "authorization")
        headers = {} if given is None else {b"authorization": given.encode()}
        await auth.check(headers, unnamed if unnamed and not endpoint else needs, endpoint)
        return await fn(request, context)

    return guarded


def _one_repository(name: str) -> None:
    if name:
        raise InvalidArgument(
            f"repository {name!r}: this server has one repository, named ''",
            field="repository_name",
        )


async def _abort(context: Any, exc: ModelyardError, request_id: str = "") -> None:
    """End the call with ``exc``'s status and REST's message; the field REST names and the
    request id go in the trailing metadata (when they are printable ASCII, as it needs)."""
    trailing = [("x-request-id", request_id), ("field", exc.field or "")]
    if isinstance(exc, TooManyRequests):
        trailing.append(("retry-after", str(exc.retry_after)))
    code = getattr(grpc.StatusCode, STATUS.get(exc.code, "INTERNAL"))
    kept = tuple((k, v) for k, v in trailing if v and v.isascii() and v.isprintable())
    await context.abort(code, exc.message, trailing_metadata=kept)


def _answering(fn: Handler) -> Handler:
    """``fn`` with its errors as gRPC statuses; anything unexpected logged and INTERNAL
    (without a trace)."""

    async def handle(request: Any, context: Any) -> Any:
        try:
            return await fn(request, context)
        except ModelyardError as exc:
            await _abort(context, exc)
        except grpc.aio.AbortError:
            raise
        except Exception:
            log.exception("gRPC %s failed", type(request).__name__)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")

    return handle
