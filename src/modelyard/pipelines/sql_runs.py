"""Pipeline runs (SQL): a run takes its pipeline's project; a queued run is claimed by
compare-and-set (status QUEUED -> RUNNING with an owner), so of several servers exactly one
runs it."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.config import Settings
from modelyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from modelyard.identity import current_actor
from modelyard.pipelines.checks import check_new_run, check_run_changes
from modelyard.pipelines.entities import (
    CANCELLED,
    CANCELLING,
    FINISHED_RUN,
    QUEUED,
    RUN_STATES,
    OutputRef,
    RunRecord,
)
from modelyard.pipelines.sql_defs import pipeline_project
from modelyard.pipelines.store import RUNS_PAGE_MAX, PipelineRuns
from modelyard.pipelines.tables import pipeline_runs
from modelyard.platform.checks import check_count
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import require_in, where_visible
from modelyard.platform.search.paging import encode_page_token, list_fingerprint, page_offset
from modelyard.store.database import Database

_CHANGEABLE = frozenset(
    {"status", "start_time", "end_time", "error", "result", "tracked_run_id", "owner", "heartbeat"}
)


def run_of_row(row: sa.RowMapping) -> RunRecord:
    return RunRecord(
        run_id=row["run_id"],
        pipeline=row["pipeline"],
        project=row["project"],
        status=row["status"],
        params=orjson.loads(row["params"]),
        trigger=row["trigger"],
        tracked_run_id=row["tracked_run_id"],
        queued_time=int(row["queued_time"]),
        start_time=row["start_time"],
        end_time=row["end_time"],
        error=row["error"],
        retry_of=row["retry_of"],
        created_by=row["created_by"],
        executor=row["executor"],
        result=OutputRef.from_dict(orjson.loads(row["result"])) if row["result"] else None,
        cancel_requested=bool(row["cancel_requested"]),
    )


def run_row(conn: Connection, run_id: str, action: str) -> sa.RowMapping:
    row = (
        conn.execute(sa.select(pipeline_runs).where(pipeline_runs.c.run_id == run_id))
        .mappings()
        .first()
    )
    missing = NotFound(f"no pipeline run {run_id!r}", field="run_id")
    if row is None:
        raise missing
    require_in(action, str(row["project"]), missing)
    return row


class SqlPipelineRuns(PipelineRuns):
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, record: RunRecord) -> RunRecord:
        check_new_run(record)

        def write(conn: Connection) -> None:
            project = pipeline_project(conn, record.pipeline, "pipeline.run")
            known = conn.execute(
                sa.select(pipeline_runs.c.pipeline).where(pipeline_runs.c.run_id == record.run_id)
            ).scalar()
            if known is not None:  # the same request delivered twice: the run it made
                if known != record.pipeline:
                    raise AlreadyExists(f"run id {record.run_id} is taken", field="run_id")
                return
            conn.execute(
                pipeline_runs.insert().values(
                    run_id=record.run_id,
                    pipeline=record.pipeline,
                    project=project,
                    status=record.status,
                    params=orjson.dumps(record.params).decode(),
                    trigger=record.trigger[:512],
                    executor=record.executor,
                    tracked_run_id=record.tracked_run_id,
                    queued_time=record.queued_time or now_ms(),
                    start_time=record.start_time,
                    retry_of=record.retry_of,
                    created_by=current_actor().name,
                    cancel_requested=False,
                )
            )

        self.db.run_write(write)
        return self.get(record.run_id)

    def update(self, run_id: str, **changes: Any) -> RunRecord:
        unknown = set(changes) - _CHANGEABLE
        if unknown:
            raise InvalidArgument(f"cannot change {sorted(unknown)} of a run", field="changes")
        if "status" in changes and changes["status"] not in RUN_STATES:
            raise InvalidArgument(f"unknown run status {changes['status']!r}", field="status")
        values = check_run_changes(dict(changes))
        if isinstance(values.get("result"), OutputRef):
            values["result"] = orjson.dumps(values["result"].to_dict()).decode()

        def write(conn: Connection) -> None:
            row = run_row(conn, run_id, "pipeline.run")
            if row["status"] in FINISHED_RUN:
                raise Conflict(
                    f"pipeline run {run_id} is {row['status']}: it is over", field="run_id"
                )
            conn.execute(
                pipeline_runs.update().where(pipeline_runs.c.run_id == run_id).values(**values)
            )

        self.db.run_write(write)
        return self.get(run_id)

    def get(self, run_id: str) -> RunRecord:
        with self.db.read() as conn:
            return run_of_row(run_row(conn, run_id, "pipeline.read"))

    def page(
        self,
        *,
        pipeline: str | None = None,
        status: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[RunRecord], str | None]:
        limit = check_count(limit, "limit", RUNS_PAGE_MAX)
        if status is not None and status not in RUN_STATES:
            raise InvalidArgument(
                f"status must be one of {', '.join(RUN_STATES)}, got {status!r}", field="status"
            )
        fingerprint = list_fingerprint("pipeline_runs", pipeline=pipeline, status=status)
        offset = page_offset(page_token, fingerprint, "pipeline and status")
        c = pipeline_runs.c
        query = where_visible(sa.select(pipeline_runs), c.project)
        with self.db.read() as conn:
            if pipeline is not None:
                pipeline_project(conn, pipeline, "pipeline.read")
                query = query.where(c.pipeline == pipeline)
            if status is not None:
                query = query.where(c.status == status)
            query = (
                query.order_by(c.queued_time.desc(), c.run_id.desc())
                .offset(offset)
                .limit(limit + 1)
            )
            rows = [run_of_row(r) for r in conn.execute(query).mappings()]
        token = encode_page_token(offset + limit, fingerprint) if len(rows) > limit else None
        return rows[:limit], token

    def cancel(self, run_id: str) -> RunRecord:
        def write(conn: Connection) -> None:
            row = run_row(conn, run_id, "pipeline.run")
            if row["status"] in FINISHED_RUN:
                raise Conflict(f"pipeline run {run_id} is already {row['status']}", field="run_id")
            values: dict[str, Any] = {"cancel_requested": True}
            now = now_ms()
            life = row["heartbeat"] or row["start_time"] or row["queued_time"]
            if row["status"] == QUEUED:
                values.update(status=CANCELLED, end_time=now, error="cancelled before it started")
            elif now - int(life) > Settings.from_env().pipeline_stale_s * 1000:
                # nobody is running it (silent past the stale time): over now, not CANCELLING
                values.update(
                    status=CANCELLED, end_time=now, error="cancelled (nobody was running it)"
                )
            else:
                values["status"] = CANCELLING
            conn.execute(
                pipeline_runs.update().where(pipeline_runs.c.run_id == run_id).values(**values)
            )

        self.db.run_write(write)
        return self.get(run_id)
