"""Starting a pipeline run in this process: record it (RUNNING) with its tracked run, run the
body on its own thread, watch the store for a cancel asked from elsewhere, and at the end
store the return value and the run's outcome. Ctrl-C while waiting cancels the run."""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
import time
from typing import Any

from modelyard.errors import Conflict, ModelyardError
from modelyard.pipelines.attempts import failure
from modelyard.pipelines.calls import substitute
from modelyard.pipelines.entities import (
    CANCELLED,
    COMPLETED,
    FAILED,
    FINISHED_RUN,
    RUNNING,
    SKIPPED,
    OutputRef,
    RunRecord,
    StepRecord,
)
from modelyard.pipelines.executors.base import Executor
from modelyard.pipelines.futures import StepFailed
from modelyard.pipelines.handle import PipelineRun
from modelyard.pipelines.runner import Runner
from modelyard.pipelines.services import Services
from modelyard.pipelines.values import Stored, encode
from modelyard.platform.ids import new_run_id, now_ms

log = logging.getLogger("modelyard.pipelines")
WATCH_SECONDS = 1.0
_TRACKED = {COMPLETED: "FINISHED", FAILED: "FAILED", CANCELLED: "KILLED"}


class Launch:
    def __init__(
        self,
        pipeline: Any,
        params: dict[str, Any],
        services: Services,
        executor: Executor,
        *,
        use_cache: bool,
        trigger: str,
        retry_of: str | None = None,
        reuse: dict[str, StepRecord] | None = None,
        claimed: RunRecord | None = None,
        owner: str | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.params = params
        self.services = services
        self.executor = executor
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        info = pipeline.save(services)
        experiment = services.experiment_id(pipeline.name)
        self.run_id = claimed.run_id if claimed is not None else new_run_id()
        tracked = services.tracking.create_run(
            experiment,
            run_name=f"{pipeline.name}-{self.run_id[:8]}",
            tags={"modelyard.pipeline": pipeline.name, "modelyard.pipeline_run": self.run_id},
        )
        services.tracking.log_batch(tracked.info.run_id, params=_loggable(params))
        if claimed is not None:  # a queued run a server's worker claimed (RUNNING, its own)
            self.record = services.store.runs.update(
                self.run_id, tracked_run_id=tracked.info.run_id
            )
        else:
            self.record = self._create(info.project, trigger, retry_of, tracked.info.run_id)
        self.runner = Runner(
            name=pipeline.name,
            run_id=self.run_id,
            project=self.record.project,
            services=services,
            executor=executor,
            use_cache=use_cache,
            tracked_run_id=tracked.info.run_id,
            experiment_id=experiment,
            reuse=reuse,
        )
        self.handle = PipelineRun(self.record, services, live=self)
        self.done = threading.Event()
        self._interrupted = False
        # the threads act as whoever started the run (a server's worker, a user's process)
        body, watch = contextvars.copy_context(), contextvars.copy_context()
        self.thread = threading.Thread(
            target=body.run, args=(self._main,), name=f"pipeline-{pipeline.name}", daemon=True
        )
        self.watcher = threading.Thread(
            target=watch.run, args=(self._watch,), name="pipeline-watch", daemon=True
        )

    def _create(
        self, project: str, trigger: str, retry_of: str | None, tracked_run_id: str
    ) -> RunRecord:
        params_doc = encode(
            self.params, where=f"the parameters of pipeline {self.pipeline.name}", lenient=True
        )
        self.services.write_blobs(params_doc.blobs)
        record = RunRecord(
            run_id=self.run_id,
            pipeline=self.pipeline.name,
            project=project,
            status=RUNNING,
            params=params_doc.doc,
            trigger=trigger,
            tracked_run_id=tracked_run_id,
            start_time=now_ms(),
            retry_of=retry_of,
            executor=self.executor.name,
        )
        created: RunRecord = self.services.store.runs.create(record)
        return created

    def start(self) -> PipelineRun:
        self.thread.start()
        self.watcher.start()
        return self.handle

    def join(self, timeout: float | None = None) -> None:
        try:
            self.done.wait(timeout)
        except KeyboardInterrupt:
            self.interrupted()
            raise

    def interrupted(self) -> None:
        """Ctrl-C while this process waits for the run: cancel it and wait for its end; a
        second Ctrl-C (or a run that does not end) records it cancelled as it stands."""
        if self._interrupted:
            return
        self._interrupted = True
        log.warning("pipeline run %s: interrupted, cancelling it", self.run_id)
        self.cancel()
        try:
            self.done.wait(30)
        finally:
            if not self.done.is_set():
                self._abandon()

    def _abandon(self) -> None:
        try:
            self.services.store.runs.update(
                self.run_id, status=CANCELLED, end_time=now_ms(),
                error="cancelled: interrupted before its steps had stopped",
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the process is going: say it, go on
            log.warning("pipeline run %s: could not record its cancel: %s", self.run_id, exc)

    def steps(self) -> list[StepRecord]:
        with self.runner.lock:
            records = dict(self.runner.records)
            order = {k: c.seq for k, c in self.runner.calls.items()}
        return sorted(records.values(), key=lambda r: order.get(r.key, 0))

    def cancel(self) -> None:
        self.runner.cancel()

    def _watch(self) -> None:
        """Each second: a cancel asked from elsewhere, or the run failed by a server that
        took this process for dead, stops it. Every ``pipeline_heartbeat_s`` it says it
        lives (a server fails, or resumes, a run silent for ``pipeline_stale_s``)."""
        last_beat, every = 0.0, self.services.settings.pipeline_heartbeat_s
        while not self.done.wait(WATCH_SECONDS):
            try:
                runs = self.services.store.runs
                record = runs.get(self.run_id)
                if record.cancel_requested or record.status in FINISHED_RUN:
                    self.runner.cancel()
                elif time.monotonic() - last_beat >= every:
                    runs.update(self.run_id, owner=self.owner, heartbeat=now_ms())
                    last_beat = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - the store away: try again next time
                log.debug("pipeline run %s: could not read its record: %s", self.run_id, exc)

    def _main(self) -> None:
        value, error, has_value = None, None, False
        try:
            value = self.runner.body(self.pipeline.fn, self.params)
            has_value = True
        except StepFailed as exc:  # the body waited for a step that did not complete
            error = exc.message
            self.runner.wait_idle()
            if exc.status == SKIPPED or self.runner.cancelled.is_set():
                error = self._first_failure()
        except ModelyardError as exc:
            error = f"{type(exc).__name__}: {exc.message}"
        except BaseException as exc:  # noqa: BLE001 - the body's own failure, with its traceback
            error = failure(exc)
        self.runner.wait_idle()
        self._end(value, has_value, error)

    def _end(self, value: Any, has_value: bool, error: str | None) -> None:
        result = None
        try:
            if has_value and error is None:
                result = self._result()
        except ModelyardError as exc:
            error, has_value = exc.message, False
        # the tracked run's end goes out with the steps' (the recorder settles the tracking
        # writes before it records the steps): one flush, not two, unless the recording fails
        tracking, tracked = self.services.tracking, self.runner.tracked_run_id
        expected = self._status(error)
        tracking.set_terminated(tracked, _TRACKED[expected])
        try:
            self.runner.recorder.close()
        except Exception as exc:  # noqa: BLE001 - the steps could not be recorded: say so
            error = error or f"the steps could not be recorded: {exc}"
        status = self._status(error)
        if status != COMPLETED and error is None:
            error = self._first_failure()
        self.executor.shutdown()
        if status != expected:
            tracking.set_terminated(tracked, _TRACKED[status])
        tracking.flush()
        try:
            record = self.services.store.runs.update(
                self.run_id, status=status, end_time=now_ms(), error=error, result=result
            )
        except Conflict:  # ended elsewhere meanwhile (a server took this process for dead)
            record = self.services.store.runs.get(self.run_id)
            log.warning("pipeline run %s: ended elsewhere as %s", self.run_id, record.status)
        self.handle._finished(record, value, has_value and status == COMPLETED)
        self.done.set()

    def _result(self) -> OutputRef:
        """The return value stored: a step's output it holds is named as that step stored
        it (a model included); anything else is encoded here, a model logged to the
        pipeline's own run."""
        models = [0]

        def save_model(value: Any, where: str) -> dict[str, Any]:
            models[0] += 1
            path = "model" if models[0] == 1 else f"model-{models[0]}"
            return self.services.save_model(value, self.runner.tracked_run_id, path)

        held = substitute(
            self.runner.raw_result, lambda f: f.result() if f.ref is None else Stored(f.ref)
        )
        where = f"the return value of pipeline {self.pipeline.name}"
        encoded = encode(held, where=where, save_model=save_model)
        self.services.write_blobs(encoded.blobs)
        return encoded.ref()

    def _status(self, error: str | None) -> str:
        if self.runner.cancelled.is_set():
            return CANCELLED
        if error is not None:
            return FAILED
        bad = [r for r in self.runner.records.values() if r.status in (FAILED, SKIPPED, CANCELLED)]
        return FAILED if bad else COMPLETED

    def _first_failure(self) -> str:
        for record in sorted(self.runner.records.values(), key=lambda r: r.end_time or 0):
            if record.status == FAILED:
                return f"step {record.key} failed: {record.error}"
        if self.runner.cancelled.is_set():
            return "cancelled"
        return "a step did not complete"


def _loggable(params: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in params.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            out[key] = str(value)[:6000]
    return out
