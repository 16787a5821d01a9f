"""Adaptive batching: requests for one model that arrive while it is busy run as one call.

A request that finds the model idle runs at once (no added latency at low traffic). While a
call runs, new requests queue; when it returns, everything queued (up to ``max_batch`` rows)
runs as the next call, and each request gets its own rows back. ``max_wait_ms`` (default 0)
lets a lone request wait that long for company, which trades latency for throughput. A call
never holds more than ``max_batch`` rows: a bigger request is cut into parts. The model runs
on one thread of its own, so the event loop keeps accepting requests meanwhile. A request
that passes a ``Timing`` learns how long it queued and how long its call took.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelyard.serving.runtime.stats import Timing

Matrix = np.ndarray[Any, Any]


@dataclass
class _Waiting:
    matrix: Matrix
    future: asyncio.Future[Matrix]
    queued_ns: int = 0
    timing: Timing | None = None


@dataclass
class BatchStats:
    calls: int = 0
    rows: int = 0
    sizes: list[int] = field(default_factory=list)  # rows per call, the last 1,000


class Batcher:
    def __init__(
        self,
        run: Callable[[Matrix], Matrix],
        *,
        max_batch: int = 64,
        max_wait_ms: float = 0.0,
        on_batch: Callable[[int], None] | None = None,
        on_depth: Callable[[int], None] | None = None,
        on_call: Callable[[int, int], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.run = run
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self.on_batch = on_batch
        self.on_depth = on_depth
        self.on_call = on_call  # (rows, ns) of each model call
        self.stats = BatchStats()
        self._queue: deque[_Waiting] = deque()
        self._busy = False
        self._task: asyncio.Task[None] | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="modelyard-model")

    @property
    def busy(self) -> bool:
        """Whether a call runs or requests wait."""
        return self._busy or bool(self._queue)

    @property
    def depth(self) -> int:
        """Requests waiting for the model (not counting the call that runs)."""
        return len(self._queue)

    async def submit(self, matrix: Matrix, timing: Timing | None = None) -> Matrix:
        if len(matrix) > self.max_batch:  # cut it, so that no call exceeds max_batch
            parts = [
                self.submit(matrix[i : i + self.max_batch], timing)
                for i in range(0, len(matrix), self.max_batch)
            ]
            return np.concatenate(await asyncio.gather(*parts))
        loop = asyncio.get_running_loop()
        waiting = _Waiting(matrix, loop.create_future(), time.perf_counter_ns(), timing)
        self._queue.append(waiting)
        self._depth_changed()
        if not self._busy:
            self._busy = True
            self._task = loop.create_task(self._drain())  # kept: a task needs a reference
        return await waiting.future

    def _take(self) -> list[_Waiting]:
        batch, rows = [], 0
        while self._queue and rows + len(self._queue[0].matrix) <= self.max_batch:
            item = self._queue.popleft()
            if item.future.done():  # timed out (or cancelled) while queued: nobody waits
                continue
            batch.append(item)
            rows += len(item.matrix)
        self._depth_changed()
        return batch

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                if self.max_wait > 0 and sum(len(w.matrix) for w in self._queue) < self.max_batch:
                    await asyncio.sleep(self.max_wait)
                batch = self._take()
                if batch:
                    await self._run(loop, batch)
        finally:
            self._busy = False

    async def _run(self, loop: asyncio.AbstractEventLoop, batch: list[_Waiting]) -> None:
        """One model call for ``batch``; every waiter gets its rows or the error."""
        try:
            matrices = [w.matrix for w in batch]
            joined = matrices[0] if len(matrices) == 1 else np.concatenate(matrices)
            started = time.perf_counter_ns()
            out = await loop.run_in_executor(self._pool, self.run, joined)
            took = time.perf_counter_ns() - started
            if len(out) != len(joined):
                raise RuntimeError(
                    f"the model answered {len(out)} rows for {len(joined)}; cannot split them"
                )
        except Exception as exc:  # noqa: BLE001 - each waiting request gets the error
            for w in batch:
                if not w.future.done():
                    w.future.set_exception(exc)
            return
        self._record(len(joined), took)
        start = 0
        for w in batch:
            n = len(w.matrix)
            if w.timing is not None:
                w.timing.queue_ns += started - w.queued_ns
                w.timing.infer_ns += took
            if not w.future.done():
                w.future.set_result(out[start : start + n])
            start += n

    def _depth_changed(self) -> None:
        if self.on_depth is not None:
            self.on_depth(len(self._queue))

    def _record(self, rows: int, ns: int) -> None:
        self.stats.calls += 1
        self.stats.rows += rows
        self.stats.sizes.append(rows)
        if len(self.stats.sizes) > 1000:
            del self.stats.sizes[:500]
        if self.on_batch is not None:
            self.on_batch(rows)
        if self.on_call is not None:
            self.on_call(rows, ns)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
