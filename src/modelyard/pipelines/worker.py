"""A server's worker: claims queued runs of the pipelines whose code the server loaded
(``modelyard server --pipelines``), at most ``slots`` at once and each pipeline's
``max_active``, and runs them here, as ``Pipeline.run`` would. A run whose process stopped
heart-beating is failed; one a server's worker was running is resumed (a new run that
reuses the steps it completed), at most ``MAX_RESUMES`` times in a row."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from modelyard.errors import ModelyardError
from modelyard.pipelines.entities import QUEUED, RunRecord, StepRecord
from modelyard.pipelines.services import Services
from modelyard.pipelines.sql_queue import SqlPipelineQueue, event_run_id

log = logging.getLogger("modelyard.pipelines")
OWNER_PREFIX = "worker:"


def iso_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


RESUMED = "resumed"
MAX_RESUMES = 2


def worker_name() -> str:
    return f"{OWNER_PREFIX}{socket.gethostname()}:{os.getpid()}"[:128]


class Worker:
    def __init__(
        self,
        queue: SqlPipelineQueue,
        pipelines: dict[str, Any],  # name -> Pipeline, the code this server loaded
        services: Services | None,  # None: no code, nothing to run
        *,
        slots: int,
        stale_ms: int,
        clock: Callable[[], int],
        owner: str | None = None,
    ) -> None:
        self.queue = queue
        self.pipelines = pipelines
        self.services = services
        self.slots = slots
        self.stale_ms = stale_ms
        self.clock = clock
        self.owner = owner or worker_name()
        self.active: dict[str, Any] = {}  # run id -> its Launch

    def tick(self) -> int:
        """Recover runs whose process stopped, then start what this server may; how many
        runs it started."""
        self.recover()
        self.active = {k: v for k, v in self.active.items() if not v.done.is_set()}
        started = 0
        while len(self.active) < self.slots:
            claimed = self.queue.claim_next(self.owner, sorted(self.pipelines), self.clock())
            if claimed is None:
                break
            started += 1
            self._start(claimed)
        return started

    def _start(self, record: RunRecord) -> None:
        from modelyard.pipelines.decorators import make_executor
        from modelyard.pipelines.launch import Launch

        pipeline = self.pipelines[record.pipeline]
        assert self.services is not None  # there is code to run
        try:
            params = pipeline.bind((), self.services.load_params(record.params))
            launch = Launch(
                pipeline, params, self.services, make_executor(record.executor),
                use_cache=True, trigger=record.trigger, claimed=record, owner=self.owner,
                reuse=self._reuse(record.retry_of), retry_of=record.retry_of,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the run fails, the worker goes on
            reason = exc.message if isinstance(exc, ModelyardError) else repr(exc)
            log.warning("pipeline run %s could not start: %s", record.run_id, reason)
            self.queue.fail(
                record.run_id, f"it could not start: {reason}", self.clock()
            )  # fmt: skip
            return
        log.info("pipeline %s: run %s started (%s)", record.pipeline, record.run_id, record.trigger)
        self.active[record.run_id] = launch
        launch.start()

    def _reuse(self, run_id: str | None) -> dict[str, StepRecord] | None:
        if run_id is None or self.services is None:
            return None
        steps = self.services.store.steps.list(run_id)
        return {s.key: s for s in steps if s.output is not None}

    def recover(self) -> int:
        """Fail the active runs silent for ``stale_ms`` (of any process), and resume those a
        worker ran; how many it failed."""
        failed = 0
        for record, owner, beat in self.queue.stale(self.clock() - self.stale_ms):
            worker = (owner or "").startswith(OWNER_PREFIX)
            resume = self._resumption(record) if worker else None
            since = beat if beat is not None else record.start_time or record.queued_time
            who = (
                f"its worker {owner}" if worker else f"its process {owner or '(never heard from)'}"
            )
            why = f"{who} stopped: silent since {iso_time(since)}"
            if resume is not None:
                why += f"; resumed as run {resume.run_id}"
            if self.queue.fail_stale(record, beat, why, resume):
                failed += 1
                log.warning("pipeline run %s failed: %s", record.run_id, why)
        return failed

    def _resumption(self, record: RunRecord) -> RunRecord | None:
        depth, at = 0, record
        while at.trigger.startswith(RESUMED) and at.retry_of is not None and depth <= MAX_RESUMES:
            depth += 1
            at = self.queue.get(at.retry_of)
        if depth >= MAX_RESUMES:
            return None  # it stopped its worker each time: it is not tried again
        return RunRecord(
            run_id=event_run_id(record.pipeline, "resume", record.run_id),
            pipeline=record.pipeline,
            project=record.project,
            status=QUEUED,
            params=record.params,
            trigger=f"{RESUMED} after run {record.run_id} lost its worker",
            queued_time=record.queued_time,  # it keeps the lost run's place in the queue
            retry_of=record.run_id,
            executor=record.executor,
            created_by=record.created_by,
        )
