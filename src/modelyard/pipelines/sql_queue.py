"""The server's side of pipeline runs (SQL only: a server runs on its own store).

What fires enqueues QUEUED runs; what runs them claims them. Every step that several servers
sharing one database could take twice is one transaction with a compare-and-set:

- a due schedule moves ``next_fire`` from the value read to the next time, and inserts the
  runs of the due fire times in the same transaction (a crash between them loses nothing);
- a trigger's events enqueue runs whose ids are derived from (pipeline, trigger, event), so
  the same event read by two servers (or twice, after a restart) is one run;
- a worker claims a QUEUED run (QUEUED -> RUNNING with its name as owner) under the lock of
  the pipeline's row, after counting the pipeline's active runs against ``max_active``;
- a run whose worker stopped heart-beating is failed by compare-and-set on the heartbeat read,
  and its resumption enqueued in the same transaction (by one server only).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.pipelines.entities import (
    CANCELLING,
    FAILED,
    QUEUED,
    RUNNING,
    PipelineInfo,
    RunRecord,
)
from modelyard.pipelines.sql_defs import info_of_row
from modelyard.pipelines.sql_runs import run_of_row
from modelyard.pipelines.tables import pipeline_runs, pipeline_triggers, pipelines
from modelyard.platform.ids import now_ms
from modelyard.store.database import Database

ACTIVE = (RUNNING, CANCELLING)


def last_sign_of_life() -> sa.ColumnElement[int]:
    """When a run last said it lives: its heartbeat, else its start (a run recorded by a
    client that never beat), else when it was queued."""
    c = pipeline_runs.c
    return sa.func.coalesce(c.heartbeat, c.start_time, c.queued_time)


def event_run_id(pipeline: str, source: str, event: str) -> str:
    """The id of the run an event starts: the same event, the same run (32 hex digits)."""
    text = f"{pipeline}\0{source}\0{event}".encode()
    return hashlib.sha256(text).hexdigest()[:32]


@dataclass(frozen=True)
class Cursor:
    since: int  # events at or before this do not fire (the trigger did not exist)
    cursor: int  # events read up to


def _insert_runs(conn: Connection, info: PipelineInfo, runs: Sequence[RunRecord]) -> int:
    """Insert the runs not already there (by id); how many were new."""
    if not runs:
        return 0
    ids = [r.run_id for r in runs]
    known = set(
        conn.execute(sa.select(pipeline_runs.c.run_id).where(pipeline_runs.c.run_id.in_(ids)))
        .scalars()
        .all()
    )
    fresh = [r for r in runs if r.run_id not in known]
    for record in fresh:
        conn.execute(
            pipeline_runs.insert().values(
                run_id=record.run_id,
                pipeline=info.name,
                project=info.project,
                status=QUEUED,
                params=orjson.dumps(record.params).decode(),
                trigger=record.trigger[:512],
                executor=record.executor,
                queued_time=record.queued_time or now_ms(),
                retry_of=record.retry_of,
                created_by=record.created_by,
                cancel_requested=False,
            )
        )
    return len(fresh)


class SqlPipelineQueue:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- what fires ----------------------------------------------------------------------
    def due_schedules(self, now: int) -> list[PipelineInfo]:
        c = pipelines.c
        query = sa.select(pipelines).where(
            c.schedule.is_not(None), c.next_fire.is_not(None), c.next_fire <= now
        )
        with self.db.read() as conn:
            return [info_of_row(r) for r in conn.execute(query.order_by(c.next_fire)).mappings()]

    def with_triggers(self) -> list[PipelineInfo]:
        c = pipelines.c
        query = sa.select(pipelines).where(c.triggers != "[]").order_by(c.name)
        with self.db.read() as conn:
            return [info_of_row(r) for r in conn.execute(query).mappings()]

    def claim_fire(
        self, info: PipelineInfo, due: int, next_fire: int | None, runs: Sequence[RunRecord]
    ) -> int | None:
        """Move the schedule on from ``due`` and enqueue ``runs``; None when another server
        did it first (or the schedule changed meanwhile), else how many runs are new."""

        def write(conn: Connection) -> int | None:
            moved = conn.execute(
                pipelines.update()
                .where(pipelines.c.name == info.name, pipelines.c.next_fire == due)
                .values(next_fire=next_fire)
            )
            if moved.rowcount != 1:
                return None
            return _insert_runs(conn, info, runs)

        found: int | None = self.db.run_write(write)
        return found

    def cursor(self, pipeline: str, key: str, since: int) -> Cursor:
        """Where trigger ``key`` of ``pipeline`` has read up to; a trigger seen for the first
        time starts at ``since`` (when its pipeline was saved)."""

        t = pipeline_triggers.c
        where = (t.pipeline == pipeline, t.trigger_key == key)
        with self.db.read() as conn:  # each tick reads; only a new trigger writes
            row = conn.execute(sa.select(t.since, t.cursor).where(*where)).first()
        if row is not None:
            return Cursor(int(row[0]), int(row[1]))

        def write(conn: Connection) -> Cursor:
            row = conn.execute(sa.select(t.since, t.cursor).where(*where)).first()
            if row is not None:
                return Cursor(int(row[0]), int(row[1]))
            conn.execute(
                pipeline_triggers.insert().values(
                    pipeline=pipeline, trigger_key=key, since=since, cursor=since,
                    updated_time=now_ms(),
                )
            )  # fmt: skip
            return Cursor(since, since)

        try:
            found: Cursor = self.db.run_write(write)
        except sa.exc.IntegrityError:  # another server made it first
            found = self.db.run_write(write)
        return found

    def enqueue_events(
        self, info: PipelineInfo, key: str, runs: Sequence[RunRecord], cursor: int
    ) -> int:
        """Enqueue the runs of a trigger's events (those new by id) and move its cursor on
        (never back); how many runs are new."""

        def write(conn: Connection) -> int:
            t = pipeline_triggers.c
            conn.execute(
                pipeline_triggers.update()
                .where(t.pipeline == info.name, t.trigger_key == key, t.cursor < cursor)
                .values(cursor=cursor, updated_time=now_ms())
            )
            return _insert_runs(conn, info, runs)

        return self._writing_runs(write)

    def _writing_runs(self, write: Callable[[Connection], int]) -> int:
        """``write`` again when another server inserted one of the same runs meanwhile (the
        second time it sees them, and leaves them)."""
        try:
            made: int = self.db.run_write(write)
        except sa.exc.IntegrityError:
            made = self.db.run_write(write)
        return made

    def enqueue(self, info: PipelineInfo, record: RunRecord) -> tuple[RunRecord, bool]:
        """Enqueue one run (a webhook's call); the same id again is the run it made."""

        def write(conn: Connection) -> int:
            return _insert_runs(conn, info, [record])

        made = self._writing_runs(write)
        return self.get(record.run_id), bool(made)

    def get(self, run_id: str) -> RunRecord:
        with self.db.read() as conn:
            row = (
                conn.execute(sa.select(pipeline_runs).where(pipeline_runs.c.run_id == run_id))
                .mappings()
                .one()
            )
        return run_of_row(row)

    # --- what runs -----------------------------------------------------------------------
    def claim_next(self, owner: str, names: Sequence[str], now: int) -> RunRecord | None:
        """The oldest QUEUED run of a pipeline in ``names`` whose pipeline has room under its
        ``max_active``, now RUNNING and owned by ``owner``; None when there is none."""
        if not names:
            return None
        c = pipeline_runs.c
        with self.db.read() as conn:
            waiting = conn.execute(
                sa.select(c.run_id, c.pipeline)
                .where(c.status == QUEUED, c.pipeline.in_(list(names)))
                .order_by(c.queued_time, c.run_id)
                .limit(50)
            ).all()
        full: set[str] = set()
        for run_id, name in waiting:
            if name in full:
                continue
            claimed = self.db.run_write(self._claim, run_id, name, owner, now)
            if claimed is True:
                return self.get(run_id)
            if claimed is None:
                full.add(name)
        return None

    @staticmethod
    def _claim(conn: Connection, run_id: str, name: str, owner: str, now: int) -> bool | None:
        """True: claimed; False: someone else took it; None: its pipeline is full."""
        p, c = pipelines.c, pipeline_runs.c
        # writing the pipeline's row takes its lock: claims of one pipeline go one at a time,
        # so the count below is not raced by another server's claim
        locked = conn.execute(
            pipelines.update().where(p.name == name).values(max_active=p.max_active)
        )
        if locked.rowcount != 1:
            return False  # the pipeline is gone
        limit = conn.execute(sa.select(p.max_active).where(p.name == name)).scalar()
        active = conn.execute(
            sa.select(sa.func.count()).where(c.pipeline == name, c.status.in_(ACTIVE))
        ).scalar()
        if int(active or 0) >= int(limit or 1):
            return None
        taken = conn.execute(
            pipeline_runs.update()
            .where(c.run_id == run_id, c.status == QUEUED)
            .values(status=RUNNING, owner=owner, heartbeat=now, start_time=now)
        )
        return taken.rowcount == 1

    def fail(self, run_id: str, error: str, now: int) -> None:
        """Fail a run its worker claimed and could not start."""
        c = pipeline_runs.c

        def write(conn: Connection) -> None:
            conn.execute(
                pipeline_runs.update()
                .where(c.run_id == run_id, c.status.in_(ACTIVE))
                .values(status=FAILED, end_time=now, error=error)
            )

        self.db.run_write(write)

    def stale(self, older_than: int) -> list[tuple[RunRecord, str | None, int | None]]:
        """Active runs silent since before ``older_than`` (their heartbeat, or their start
        when they never beat): each with its owner and heartbeat as read."""
        c = pipeline_runs.c
        query = sa.select(pipeline_runs).where(
            c.status.in_(ACTIVE), last_sign_of_life() < older_than
        )
        with self.db.read() as conn:
            rows = list(conn.execute(query).mappings())
        return [(run_of_row(r), r["owner"], r["heartbeat"]) for r in rows]

    def fail_stale(
        self, record: RunRecord, heartbeat: int | None, error: str, resume: RunRecord | None
    ) -> bool:
        """Fail a run whose owner stopped (if its heartbeat is still ``heartbeat``) and
        enqueue ``resume`` in the same transaction; False when another server did it, or
        the owner beat again."""
        c = pipeline_runs.c

        def write(conn: Connection) -> bool:
            failed = conn.execute(
                pipeline_runs.update()
                .where(c.run_id == record.run_id, c.status.in_(ACTIVE), c.heartbeat == heartbeat)
                .values(status=FAILED, end_time=now_ms(), error=error)
            )
            if failed.rowcount != 1:
                return False
            if resume is not None:
                info = info_of_row(
                    conn.execute(sa.select(pipelines).where(pipelines.c.name == record.pipeline))
                    .mappings()
                    .one()
                )
                _insert_runs(conn, info, [resume])
            return True

        done: bool = self.db.run_write(write)
        return done
