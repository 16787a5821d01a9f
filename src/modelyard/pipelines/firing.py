"""What enqueues runs without a person: due cron schedules (with their catch-up policy) and
triggers' events. Each pass reads what is due and enqueues through ``SqlPipelineQueue``, whose
compare-and-sets make each fire time and each event one run, however many servers pass."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from modelyard.errors import ModelyardError, NotFound
from modelyard.pipelines.entities import QUEUED, PipelineInfo, RunRecord
from modelyard.pipelines.events import Event, EventSource
from modelyard.pipelines.sql_queue import SqlPipelineQueue, event_run_id
from modelyard.platform.cron import CronSchedule
from modelyard.platform.cron_catchup import due_runs

log = logging.getLogger("modelyard.pipelines")
# events are read again this far behind the cursor: one committed late (its time set before
# a slow transaction ended) is still seen; its run id keeps it from running twice
OVERLAP_MS = 5 * 60_000
EMPTY_PARAMS: dict[str, Any] = {}  # the encoded document of no parameters


def _when(ms: int, timezone: str) -> str:
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZoneInfo(timezone)).isoformat()


def queued(info: PipelineInfo, run_id: str, trigger: str, at: int) -> RunRecord:
    """A run for a server to start, with the pipeline's default parameters."""
    return RunRecord(
        run_id=run_id,
        pipeline=info.name,
        project=info.project,
        status=QUEUED,
        params=EMPTY_PARAMS,
        trigger=trigger,
        queued_time=at,
    )


def trigger_key(trigger: dict[str, Any]) -> str:
    extra = "".join(f" {k}={v}" for k, v in sorted(trigger.items()) if k not in ("kind", "target"))
    return f"{trigger['kind']}:{trigger.get('target') or ''}{extra}"[:400]


class Firing:
    def __init__(
        self,
        queue: SqlPipelineQueue,
        sources: dict[str, EventSource],
        clock: Callable[[], int],
    ) -> None:
        self.queue = queue
        self.sources = sources  # by trigger kind
        self.clock = clock

    def schedules(self) -> int:
        """Enqueue the runs of every due schedule this server claims; how many."""
        now = self.clock()
        made = 0
        for info in self.queue.due_schedules(now):
            assert info.schedule is not None and info.next_fire is not None
            try:
                cron = CronSchedule.parse(info.schedule, info.timezone)
                due = due_runs(cron, info.next_fire - 1, now, info.catchup)  # type: ignore[arg-type]
            except ModelyardError as exc:  # a schedule stored by an older version, say
                log.warning("pipeline %s: its schedule cannot fire: %s", info.name, exc.message)
                continue
            runs = [
                queued(
                    info,
                    event_run_id(info.name, "schedule", str(t)),
                    f"schedule {info.schedule} at {_when(t, info.timezone)}",
                    t,
                )
                for t in due.runs
            ]
            new = self.queue.claim_fire(info, info.next_fire, due.next_ms, runs)
            if new is None:
                continue  # another server fired it
            made += new
            if due.skipped:
                log.warning(
                    "pipeline %s: %d fire time(s) missed and not run (catchup=%s)",
                    info.name, due.skipped, info.catchup,
                )  # fmt: skip
            for t in due.runs:
                log.info("pipeline %s: queued by its schedule (%s)", info.name, _when(t, "UTC"))
        return made

    def triggers(self) -> int:
        """Enqueue a run for each new event of every trigger; how many."""
        made = 0
        for info in self.queue.with_triggers():
            for trigger in info.triggers:
                source = self.sources.get(str(trigger.get("kind")))
                if source is None:  # webhooks are called, not read
                    continue
                try:
                    made += self._fire(info, trigger, source)
                except NotFound:
                    continue  # what it watches does not exist (yet)
                except ModelyardError as exc:
                    log.warning(
                        "pipeline %s: trigger %s: %s", info.name, trigger_key(trigger), exc.message
                    )
        return made

    def _fire(self, info: PipelineInfo, trigger: dict[str, Any], source: EventSource) -> int:
        key = trigger_key(trigger)
        where = self.queue.cursor(info.name, key, since=info.updated_time)
        start = max(where.since, where.cursor - OVERLAP_MS)
        events: list[Event] = [e for e in source(trigger, start) if e.time > where.since]
        if not events:
            return 0
        runs = [
            queued(info, event_run_id(info.name, key, e.id), e.description[:512], e.time)
            for e in events
        ]
        new = self.queue.enqueue_events(info, key, runs, max(e.time for e in events))
        if new:
            log.info("pipeline %s: %d run(s) queued by %s", info.name, new, key)
        return new
