"""What an inference request goes through once decoded, whichever protocol brought it (REST
in ``rest.infer``, gRPC in ``grpc_server``): admission, the model's signature (``from_tensors``),
the adaptive batcher or a thread, the timeout, the prediction log, the shadows and the
statistics. One path, so a request is refused, batched, logged and counted alike over both.

It owns the served models and the parts that run beside them (the swapper, the deployment
follower, the prediction log and its shipping process) and starts and stops them; all of
them use one store, the configuration's or else the one chosen in this process when it is
made (``set_tracking_uri``). It knows nothing of HTTP or gRPC. Errors are the root's
(``ModelyardError``): each protocol maps them to its own status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.errors import DeadlineExceeded, InvalidArgument, Unavailable
from modelyard.platform.current import chosen_uri
from modelyard.platform.store_health import StoreHealth, store_name
from modelyard.serving import metrics
from modelyard.serving.config import ServeConfig
from modelyard.serving.predlog.ship_process import ShippingProcess
from modelyard.serving.predlog.writer import PredictionLog, inputs_of
from modelyard.serving.protocol.bodies import off_loop
from modelyard.serving.protocol.codec import InferRequest, ProtocolError
from modelyard.serving.repository.control import ModelControl
from modelyard.serving.repository.endpoints import Endpoint
from modelyard.serving.repository.fleet import Fleet
from modelyard.serving.repository.follow import Follower
from modelyard.serving.runtime.loader import import_modules
from modelyard.serving.runtime.served import Prepared, ServedModel
from modelyard.serving.runtime.stats import Timing
from modelyard.serving.shadows import Shadows


def require_grpc() -> None:
    """Refuse, in one line, a gRPC port without the ``grpc`` extra installed (before any
    model loads)."""
    try:
        import grpc  # noqa: F401
        from tritonclient.grpc import service_pb2  # noqa: F401
    except (ImportError, RuntimeError) as exc:  # tritonclient says RuntimeError without grpc
        raise InvalidArgument(
            "--grpc-port needs the grpc extra: pip install 'modelyard[grpc]' "
            f"({str(exc).splitlines()[0]})",
            field="grpc_port",
        ) from None


# the protocol's extensions this server has (REST and gRPC server metadata)
EXTENSIONS = ["binary_tensor_data", "model_configuration", "model_repository", "statistics"]


class Overloaded(Unavailable):
    """Too many requests in flight: refused at once (503 with ``Retry-After``)."""

    retry_after_s = 1


@dataclass
class Call:
    """One inference request on its way: its id, when it was admitted, where its time went
    and how many rows it answered (for the statistics)."""

    request_id: str
    started_ns: int = field(default_factory=time.perf_counter_ns)
    timing: Timing = field(default_factory=Timing)
    rows: int = 0


@dataclass
class Answer:
    """What ``infer`` answers: the id the answer carries, the outputs asked for (in the
    order asked), and a classifier's classes (``predict_proba``'s columns, as text)."""

    request_id: str
    outputs: list[tuple[str, Any]]
    classes: list[str]


class Inference:
    def __init__(self, config: ServeConfig, *, load: bool = True) -> None:
        if config.tracking_uri is None:  # the store chosen in this process (set_tracking_uri)
            # for every part: the shipping process is another process and cannot see it
            config = replace(config, tracking_uri=chosen_uri())
        self.config = config
        self.store = StoreHealth(
            store_name(config.tracking_uri),
            f"the models loaded keep serving; looking again every {config.watch_s:g} s",
            logger=logging.getLogger("modelyard.serving"),
        )
        self.fleet = Fleet(config, self.store)
        self.follower: Follower | None = None
        self.predlog: PredictionLog | None = None
        self.shipper: ShippingProcess | None = None
        self.shadows = Shadows(self.fleet, self.predict, self._shadow_logged)
        self.control = ModelControl(self.fleet, explicit=config.model_control == "explicit")
        self.ready = False
        self.inflight = 0  # inference requests admitted and not yet answered
        if config.grpc_port is not None:  # before the models load: a missing extra says so
            require_grpc()
        if load:
            self.load()

    # --- models and the parts beside them ---------------------------------------------
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

    async def start(self) -> None:
        """On the event loop, before the first request: the pollers and the shipping
        process. The servers in front (HTTP, gRPC) start their own listening."""
        self.fleet.swapper.start()
        if self.follower is not None:
            self.follower.start()
        if self.shipper is not None:
            self.shipper.start()

    async def stop(self) -> None:
        """After the last request: the pollers stop, batchers close, the log is written and
        synced, the shipping process ends."""
        await self.fleet.swapper.stop()
        if self.follower is not None:
            await self.follower.stop()
        self.fleet.close()
        await asyncio.to_thread(self._flush_log)
        metrics.process_gone()

    def _flush_log(self) -> None:
        """At shutdown: write and sync the queued records, then the shipping process ships
        what it can now and ends; what it cannot waits on disk for the next start."""
        if self.predlog is not None:
            self.predlog.close()
        if self.shipper is not None:
            self.shipper.stop()

    def warnings(self) -> list[str]:
        """What readiness reports beside ``ready``: versions that failed to swap in, a
        deployment revision that failed to load (the old ones keep serving)."""
        found = sorted(self.fleet.swapper.errors.values())
        for part in (self.follower, self.predlog, self.shipper):
            if part is not None and part.error:
                found.append(part.error)
        return found

    def ready_now(self) -> bool:
        """Whether the server takes predictions (ready, and the log takes them if it must)."""
        log_ = self.predlog
        return self.ready and not (log_ is not None and log_.required and not log_.accepting)

    # --- admission ---------------------------------------------------------------------
    def enter(self) -> None:
        """Admit an inference request, or refuse it at once (503) when the process cannot
        take it in time; before its body is read."""
        if not self.ready:
            raise Unavailable("the server is not ready")
        if self.predlog is not None and self.predlog.required and not self.predlog.accepting:
            raise Unavailable(f"{self.predlog.error}; predictions need the log (log_required)")
        if self.inflight >= self.config.max_inflight:
            raise Overloaded("overloaded: too many requests in flight; retry")
        self.inflight += 1
        metrics.INFLIGHT.inc()

    def leave(self) -> None:
        self.inflight -= 1
        metrics.INFLIGHT.dec()

    def rows_allowed(self, rows: int, name: str) -> None:
        """Refuse a request over the row limit (Triton's max batch size), naming the input."""
        if rows > self.config.max_rows:
            raise ProtocolError(
                f"input {name!r} holds {rows} rows; this server takes at most "
                f"{self.config.max_rows} in one request (max_rows)",
                field=name,
            )

    @staticmethod
    @contextlib.contextmanager
    def counted(served: ServedModel, call: Call) -> Iterator[None]:
        """Count a request in the model version's statistics: a success when the block
        ends, a failure when it raises (or is cancelled)."""
        try:
            yield
        except BaseException:
            served.stats.failed(time.perf_counter_ns() - call.started_ns)
            raise
        served.stats.succeeded(call.timing, call.rows, time.perf_counter_ns() - call.started_ns)

    # --- the model ---------------------------------------------------------------------
    async def infer(
        self, endpoint: Endpoint, served: ServedModel, request: InferRequest, call: Call, size: int
    ) -> Answer:
        """A decoded protocol request through the one path: outputs and rows checked, the
        tensors fitted to the model's signature, the batcher or a thread, the prediction
        log, the shadows. ``size``: the request's bytes (a large one is fitted on a
        thread)."""
        unknown = [(i, n) for i, n in enumerate(request.outputs) if n not in served.outputs]
        if unknown:
            first, name = unknown[0]
            why = (
                " (not a classifier with predict_proba: it answers no class probabilities)"
                if name == "predict_proba"
                else ""
            )
            raise ProtocolError(
                f"unknown output(s) {[n for _, n in unknown]}; model {served.name!r}{why} has "
                + ", ".join(repr(n) for n in served.outputs),
                field=f"outputs[{first}].name",  # where the request named it, REST and gRPC
            )
        for tensor in request.inputs:  # before anything is built from them
            self.rows_allowed(tensor.shape[0] if tensor.shape else 1, tensor.name)
        t = time.perf_counter_ns()
        prepared = await off_loop(size, served.from_tensors, request.inputs)
        call.timing.input_ns += time.perf_counter_ns() - t
        result = await self.predict(served, prepared, call.timing)
        asked = "predict_proba" in request.outputs
        proba = await self.proba(served, prepared, asked, call.timing)
        request_id = request.id or call.request_id  # the id the answer carries
        call.rows = prepared.rows
        self.logged(request_id, endpoint, served, prepared, result, call.started_ns, proba)
        if endpoint.shadows:
            self.shadows.mirror(
                endpoint, lambda m: m.from_tensors(request.inputs), result, request_id
            )
        answers = {"predict": result, "predict_proba": proba}
        wanted = list(request.outputs) or ["predict"]
        classes = [str(c) for c in served.classes or ()]
        return Answer(request_id, [(n, answers[n]) for n in wanted], classes)

    async def predict(
        self, served: ServedModel, prepared: Prepared, timing: Timing | None = None
    ) -> Any:
        if prepared.rows == 0:  # nothing to ask the model (a native one would refuse)
            return np.zeros(0, dtype=object if served.output_datatype == "BYTES" else None)
        batcher = served.batcher  # the request's own version, even if a swap happens now
        if batcher is not None and prepared.matrix is not None:
            return await self._in_time(batcher.submit(prepared.matrix, timing))
        return await self._in_time(self._on_thread(served, served.run, prepared, timing))

    async def proba(
        self, served: ServedModel, prepared: Prepared, asked: bool, timing: Timing | None
    ) -> Any:
        """Class probabilities when the client asked for them, or when the server logs them
        for every classifier (``log_probabilities``); else None."""
        if served.classes is None or not (asked or self.config.log_probabilities):
            return None
        return await self._in_time(self._on_thread(served, served.run_proba, prepared, timing))

    async def _in_time(self, call: Any) -> Any:
        try:
            return await asyncio.wait_for(call, self.config.timeout_s)
        except (TimeoutError, asyncio.TimeoutError):  # one class from Python 3.11 on
            raise DeadlineExceeded(
                f"the model took longer than {self.config.timeout_s:g} s"
            ) from None

    @staticmethod
    async def _on_thread(
        served: ServedModel,
        run: Callable[[Prepared], Any],
        prepared: Prepared,
        timing: Timing | None,
    ) -> Any:
        """A model call on a thread, timed for the statistics (waiting for a thread is the
        request's queue time)."""
        queued = time.perf_counter_ns()

        def timed() -> tuple[Any, int, int]:
            started = time.perf_counter_ns()
            out = run(prepared)
            return out, started, time.perf_counter_ns()

        out, started, ended = await asyncio.to_thread(timed)
        served.stats.executed(prepared.rows, ended - started)
        if timing is not None:
            timing.queue_ns += started - queued
            timing.infer_ns += ended - started
        return out

    # --- the prediction log ------------------------------------------------------------
    def logged(
        self,
        request_id: str,
        endpoint: Endpoint,
        served: ServedModel,
        prepared: Prepared,
        result: Any,
        started_ns: int,
        proba: Any = None,
        *,
        shadow: bool = False,
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
            (time.perf_counter_ns() - started_ns) / 1e6,
            shadow=shadow,
            proba=None if proba is None else (served.classes, proba),
        )

    def _shadow_logged(
        self,
        request_id: str,
        endpoint: Endpoint,
        served: ServedModel,
        prepared: Prepared,
        result: Any,
        started_ns: int,
    ) -> None:
        self.logged(request_id, endpoint, served, prepared, result, started_ns, shadow=True)
