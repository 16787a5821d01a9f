"""``PipelineRun``: a run started here (live: its steps as they finish) or read from the store.
``result()`` waits for the end and gives the pipeline's return value (or raises why it
failed); ``cancel()`` stops it."""

from __future__ import annotations

import threading
from typing import Any

from modelyard.errors import ModelyardError, NotFound
from modelyard.pipelines.entities import COMPLETED, FINISHED_RUN, RunRecord, StepRecord
from modelyard.pipelines.futures import NotFinished


class PipelineFailed(ModelyardError):
    """The pipeline run failed or was cancelled; ``run`` is its record."""

    def __init__(self, message: str, run: RunRecord) -> None:
        super().__init__(message)
        self.run = run


class PipelineRun:
    def __init__(self, record: RunRecord, services: Any, *, live: Any = None) -> None:
        self._record = record
        self._services = services
        self._live = live  # the Launch running it in this process, if any
        self._value: Any = None
        self._has_value = False
        self._done = threading.Event()
        if record.status in FINISHED_RUN:
            self._done.set()

    def __repr__(self) -> str:
        return f"<PipelineRun {self.run_id} {self.pipeline} {self.status}>"

    @property
    def run_id(self) -> str:
        return self._record.run_id

    @property
    def pipeline(self) -> str:
        return self._record.pipeline

    @property
    def record(self) -> RunRecord:
        if self._live is None and not self._done.is_set():
            self._record = self._services.store.runs.get(self.run_id)
            if self._record.status in FINISHED_RUN:
                self._done.set()
        return self._record

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def error(self) -> str | None:
        return self.record.error

    @property
    def tracked_run_id(self) -> str | None:
        return self.record.tracked_run_id

    @property
    def steps(self) -> list[StepRecord]:
        """The run's steps in the order they were called (live: those finished so far)."""
        live = self._live
        if live is not None and not self._done.is_set():
            steps: list[StepRecord] = live.steps()
            return steps
        stored: list[StepRecord] = self._services.store.steps.list(self.run_id)
        return stored

    def step(self, key: str) -> StepRecord:
        for record in self.steps:
            if record.key == key:
                return record
        raise NotFound(f"pipeline run {self.run_id} has no step {key!r}", field="key")

    def wait(self, timeout: float | None = None) -> PipelineRun:
        live = self._live
        if live is not None:
            live.join(timeout)
        elif not self._done.is_set():
            import time

            deadline = None if timeout is None else time.monotonic() + timeout
            while self.record.status not in FINISHED_RUN:
                if deadline is not None and time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        return self

    def result(self, timeout: float | None = None) -> Any:
        self.wait(timeout)
        record = self.record
        if record.status not in FINISHED_RUN:
            raise NotFinished(f"pipeline run {self.run_id} is still {record.status}")
        if record.status != COMPLETED:
            raise PipelineFailed(
                f"pipeline {record.pipeline} run {record.run_id} {record.status.lower()}: "
                f"{_first_line(record.error)}",
                record,
            )
        if self._has_value:
            return self._value
        return None if record.result is None else self._services.load(record.result)

    def cancel(self) -> PipelineRun:
        live = self._live
        if live is not None:
            live.cancel()
        else:
            self._record = self._services.store.runs.cancel(self.run_id)
        return self

    def _finished(self, record: RunRecord, value: Any, has_value: bool) -> None:
        self._record = record
        self._value, self._has_value = value, has_value
        self._live = None
        self._done.set()


def _first_line(error: str | None) -> str:
    lines = [x for x in (error or "").strip().splitlines() if x.strip()]
    return lines[-1].strip() if lines else "no error text"
