"""Writes a run's step records (and cache entries) in the background, in batches, so a step
costs the runner no database round trip. A record is queued only after the step's output is
stored, so the store never names an output it does not hold; ``close`` writes what is left and
raises the first failure."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from modelyard.pipelines.entities import CacheEntry, StepRecord
from modelyard.pipelines.store import PipelineStore

log = logging.getLogger("modelyard.pipelines")
FLUSH_SECONDS = 0.2


class StepRecorder:
    def __init__(self, store: PipelineStore, run_id: str, before_write: Callable[[], None]) -> None:
        self.store = store
        self.run_id = run_id
        self.before_write = before_write  # settles the tracked runs the edges name
        self.cond = threading.Condition()
        self.steps: list[tuple[int, StepRecord]] = []
        self.datasets: dict[str, list[tuple[str, int]]] = {}
        self.cache: list[CacheEntry] = []
        self.error: BaseException | None = None
        self.closing = False
        self.thread = threading.Thread(target=self._loop, name=f"steps-{run_id[:8]}", daemon=True)
        self.thread.start()

    def add(
        self,
        seq: int,
        record: StepRecord,
        datasets: list[tuple[str, int]],
        cache: CacheEntry | None,
    ) -> None:
        with self.cond:
            self.steps.append((seq, record))
            if datasets:
                self.datasets[record.key] = datasets
            if cache is not None:
                self.cache.append(cache)
            if len(self.steps) >= 500:
                self.cond.notify()

    def _loop(self) -> None:
        while True:
            with self.cond:
                if not self.closing:
                    self.cond.wait(FLUSH_SECONDS)
                steps, datasets, cache = self.steps, self.datasets, self.cache
                self.steps, self.datasets, self.cache = [], {}, []
                closing = self.closing
            if steps or cache:
                self._write(steps, datasets, cache)
            if closing:
                with self.cond:
                    if not self.steps and not self.cache:
                        return

    def _write(
        self,
        steps: list[tuple[int, StepRecord]],
        datasets: dict[str, list[tuple[str, int]]],
        cache: list[CacheEntry],
    ) -> None:
        try:
            self.before_write()
            if steps:
                self.store.steps.record(self.run_id, steps, datasets)
            self.store.cache.put(cache)
        except Exception as exc:  # noqa: BLE001 - kept, and raised by close()
            if self.error is None:
                self.error = exc
            log.warning(
                "pipeline run %s: could not record %d step(s): %s",
                self.run_id,
                len(steps),
                str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__,
            )

    def close(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify()
        self.thread.join()
        if self.error is not None:
            raise self.error
