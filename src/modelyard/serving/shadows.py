"""Shadows: an endpoint's shadows get every request's input once the answer is sent. Their
output is compared with the answer, logged as a shadow prediction and counted
(``modelyard_shadow_predictions_total``), never returned; a failing shadow changes nothing
for the client. REST and gRPC requests are mirrored the same way."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from modelyard.serving import metrics
from modelyard.serving.repository.endpoints import Endpoint
from modelyard.serving.repository.fleet import Fleet
from modelyard.serving.runtime.served import Prepared, ServedModel

log = logging.getLogger("modelyard.serving")

Predict = Callable[[ServedModel, Prepared], Awaitable[Any]]
# (request id, endpoint, version, prepared input, output, started ns) -> logged
Logger = Callable[[str, Endpoint, ServedModel, Prepared, Any, int], None]


class Shadows:
    def __init__(self, fleet: Fleet, predict: Predict, logged: Logger) -> None:
        self.fleet = fleet
        self.predict = predict
        self.logged = logged
        self._tasks: set[asyncio.Task[None]] = set()

    def mirror(
        self,
        endpoint: Endpoint,
        prepare: Callable[[ServedModel], Prepared],
        answer: Any,
        request_id: str,
    ) -> None:
        """Mirror the request to the endpoint's shadows once it is answered."""
        for shadow in self.fleet.shadows(endpoint):
            shadow.active += 1  # its batcher stays open until the shadow call is done
            task = asyncio.get_running_loop().create_task(
                self._run(endpoint, shadow, prepare, answer, request_id)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(
        self,
        endpoint: Endpoint,
        shadow: ServedModel,
        prepare: Callable[[ServedModel], Prepared],
        answer: Any,
        request_id: str,
    ) -> None:
        t0 = time.perf_counter_ns()
        try:
            prepared = await asyncio.to_thread(prepare, shadow)
            out = await self.predict(shadow, prepared)
            self.logged(request_id, endpoint, shadow, prepared, out, t0)
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
            (time.perf_counter_ns() - t0) / 1e6,
        )
