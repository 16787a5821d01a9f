"""Applying a batch of run ops in one SQL transaction.

Rows of all ops are accumulated and written with one statement per table (executemany), in an
order that respects dependencies: creates, then logged data, then updates; a ``DeleteTag``
flushes what came before it so a delete and a later set of the same tag keep their order.
All of it runs in one transaction: a bad op (found before or after a statement ran) rolls the
whole batch back, so nothing of it is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import AlreadyExists, InvalidArgument, NotFound
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import require_in
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.sql import bulk_insert_ignore, chunks, insert_ignore, upsert
from modelyard.tracking.entities import LifecycleStage, RunStatus
from modelyard.tracking.ops import CreateRun, DeleteTag, LogBatch, Op, UpdateRun
from modelyard.tracking.run_paths import run_artifact_uri
from modelyard.tracking.tables import (
    experiments,
    latest_metrics,
    metrics,
    params,
    runs,
    tags,
)
from modelyard.tracking.validation import parse_experiment_id


@dataclass
class _Pending:
    creates: list[dict[str, Any]] = field(default_factory=list)
    create_tags: list[dict[str, Any]] = field(default_factory=list)
    metric_rows: list[tuple[Any, ...]] = field(default_factory=list)  # in METRIC_COLUMNS order
    latest: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    param_rows: dict[tuple[str, str], str] = field(default_factory=dict)
    tag_rows: dict[tuple[str, str], str] = field(default_factory=dict)
    updates: list[UpdateRun] = field(default_factory=list)

    def empty(self) -> bool:
        return not (
            self.creates or self.metric_rows or self.param_rows or self.tag_rows or self.updates
        )


METRIC_COLUMNS = ("run_uuid", "key", "step", "timestamp", "value", "is_nan")


def _newer_point(table: sa.Table, incoming: Any) -> sa.ColumnElement[bool]:
    """The stored latest point is replaced only by one with a higher (step, timestamp, value)."""
    return sa.tuple_(incoming.step, incoming.timestamp, incoming.value) > sa.tuple_(
        table.c.step, table.c.timestamp, table.c.value
    )


class _Batch:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.known_runs: dict[str, str] = {}  # run id -> lifecycle stage
        self.projects: dict[str, str] = {}  # run id -> its experiment's project
        self.pending = _Pending()

    # --- checks -------------------------------------------------------------------------
    def load_runs(self, run_ids: set[str]) -> None:
        missing = [r for r in run_ids if r not in self.known_runs]
        for part in chunks(missing):
            for row in self.conn.execute(
                sa.select(runs.c.run_uuid, runs.c.lifecycle_stage, experiments.c.project)
                .select_from(
                    runs.join(experiments, runs.c.experiment_id == experiments.c.experiment_id)
                )
                .where(runs.c.run_uuid.in_(part))
            ):
                self.known_runs[row.run_uuid] = row.lifecycle_stage
                self.projects[row.run_uuid] = row.project

    def require_visible(self, run_id: str, action: str, field: str = "run_id") -> None:
        what = "parent run" if field == "parent_run_id" else "run"
        missing = NotFound(f"{what} {run_id} does not exist", field=field)
        if run_id not in self.known_runs:
            raise missing
        require_in(action, self.projects.get(run_id), missing)

    def require_active(self, run_id: str) -> None:
        self.require_visible(run_id, "run.write")
        stage = self.known_runs[run_id]
        if stage != LifecycleStage.ACTIVE.value:
            raise InvalidArgument(
                f"run {run_id} is deleted; restore it before logging to it", field="run_id"
            )

    def experiment_location(self, experiment_id: str) -> tuple[str, str]:
        """The experiment's artifact location and project, once runs may be made in it."""
        eid = parse_experiment_id(experiment_id)
        row = self.conn.execute(
            sa.select(
                experiments.c.artifact_location,
                experiments.c.lifecycle_stage,
                experiments.c.project,
            ).where(experiments.c.experiment_id == eid)
        ).first()
        missing = NotFound(f"experiment {experiment_id} does not exist", field="experiment_id")
        if row is None:
            raise missing
        require_in("run.write", row.project, missing)
        if row.lifecycle_stage != LifecycleStage.ACTIVE.value:
            raise InvalidArgument(
                f"experiment {experiment_id} is deleted; cannot create runs in it",
                field="experiment_id",
            )
        return str(row.artifact_location), str(row.project)

    # --- accumulation -------------------------------------------------------------------
    def add_create(self, op: CreateRun, locations: dict[str, tuple[str, str]]) -> None:
        if op.run_id in self.known_runs:
            self.require_visible(op.run_id, "run.write")
            existing = self.conn.execute(
                sa.select(runs.c.experiment_id).where(runs.c.run_uuid == op.run_id)
            ).first()
            if existing is not None and str(existing.experiment_id) != op.experiment_id:
                raise AlreadyExists(
                    f"run {op.run_id} already exists in experiment {existing.experiment_id}",
                    field="run_id",
                )
            return  # re-delivery of the same create
        if op.experiment_id not in locations:
            locations[op.experiment_id] = self.experiment_location(op.experiment_id)
        if op.parent_run_id is not None:
            self.require_visible(op.parent_run_id, "run.read", "parent_run_id")
        self.pending.creates.append(
            {
                "run_uuid": op.run_id,
                "name": op.run_name,
                "experiment_id": parse_experiment_id(op.experiment_id),
                "parent_run_id": op.parent_run_id,
                "user_id": op.user_id,
                "status": RunStatus.RUNNING.value,
                "start_time": op.start_time,
                "end_time": None,
                "lifecycle_stage": LifecycleStage.ACTIVE.value,
                "deleted_time": None,
                "artifact_uri": run_artifact_uri(locations[op.experiment_id][0], op.run_id),
            }
        )
        self.known_runs[op.run_id] = LifecycleStage.ACTIVE.value
        self.projects[op.run_id] = locations[op.experiment_id][1]
        for k, v in op.tags.items():
            self.pending.tag_rows[(op.run_id, k)] = v

    def add_log(self, op: LogBatch) -> None:
        self.require_active(op.run_id)
        p = self.pending
        latest = p.latest
        run_id = op.run_id
        rows = p.metric_rows
        for m in op.metrics:
            value = m.value
            isnan = value != value
            row = (run_id, m.key, m.step, m.timestamp, 0.0 if isnan else value, isnan)
            rows.append(row)
            # latest point: highest (step, timestamp), then a number over NaN, then value
            cur = latest.get((run_id, m.key))
            if cur is None or (row[2], row[3], not isnan, row[4]) > (
                cur[2],
                cur[3],
                not cur[5],
                cur[4],
            ):
                latest[(run_id, m.key)] = row
        for k, v in op.params.items():
            prev = p.param_rows.get((run_id, k))
            if prev is not None and prev != v:
                raise InvalidArgument(
                    f"param {k!r} of run {run_id} is logged twice with different values "
                    f"({prev[:100]!r} and {v[:100]!r}); params are immutable",
                    field=f"params[{k!r}]",
                )
            p.param_rows[(run_id, k)] = v
        for k, v in op.tags.items():
            p.tag_rows[(run_id, k)] = v

    # --- writing ------------------------------------------------------------------------
    def _check_params(self) -> None:
        rows = self.pending.param_rows
        if not rows:
            return
        run_ids = sorted({r for r, _ in rows})
        for part in chunks(run_ids):
            stored = self.conn.execute(
                sa.select(params.c.run_uuid, params.c.key, params.c.value).where(
                    params.c.run_uuid.in_(part)
                )
            )
            for r in stored:
                new = rows.get((r.run_uuid, r.key))
                if new is not None and new != r.value:
                    raise InvalidArgument(
                        f"param {r.key!r} of run {r.run_uuid} is already {r.value[:100]!r}; "
                        f"params are immutable, cannot change it to {new[:100]!r}",
                        field=f"params[{r.key!r}]",
                    )

    def flush(self) -> None:
        p = self.pending
        if p.empty():
            return
        conn = self.conn
        changed = _run_updates(p)
        if p.creates:
            conn.execute(sa.insert(runs), p.creates)
        if p.param_rows:
            insert_ignore(
                conn,
                params,
                [{"run_uuid": r, "key": k, "value": v} for (r, k), v in p.param_rows.items()],
            )
            # Checked after the insert: a concurrent writer's row is committed by now (our
            # insert waited for it), so a different value is seen and the batch rolls back.
            self._check_params()
        if p.tag_rows:
            upsert(
                conn,
                tags,
                [{"run_uuid": r, "key": k, "value": v} for (r, k), v in p.tag_rows.items()],
                ["value"],
            )
        if p.metric_rows:
            bulk_insert_ignore(conn, metrics, METRIC_COLUMNS, p.metric_rows)
            upsert(
                conn,
                latest_metrics,
                [dict(zip(METRIC_COLUMNS, row, strict=True)) for row in p.latest.values()],
                ["value", "timestamp", "step", "is_nan"],
                where=_newer_point,
            )
        for columns, rows in changed.items():  # one statement per set of columns changed
            stmt = (
                sa.update(runs)
                .where(runs.c.run_uuid == sa.bindparam("_run_uuid"))
                .values({c: sa.bindparam(f"_{c}") for c in columns})
            )
            conn.execute(stmt, rows)
        self.pending = _Pending()


def _run_updates(p: _Pending) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """The batch's run updates, the last value of each column winning: those of runs created
    in the same batch go into their rows (a step run made and ended between two flushes is
    one insert), the rest grouped by the columns they change."""
    created = {row["run_uuid"]: row for row in p.creates}
    merged: dict[str, dict[str, Any]] = {}
    for u in p.updates:
        values = {
            k: v
            for k, v in (("status", u.status), ("end_time", u.end_time), ("name", u.run_name))
            if v is not None
        }
        row = created.get(u.run_id)
        if row is not None:
            row.update(values)
        elif values:
            merged.setdefault(u.run_id, {}).update(values)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for run_id, values in merged.items():
        columns = tuple(sorted(values))
        row = {"_run_uuid": run_id, **{f"_{c}": values[c] for c in columns}}
        groups.setdefault(columns, []).append(row)
    return groups


def apply_ops(conn: Connection, ops: Sequence[Op]) -> None:
    batch = _Batch(conn)
    referenced = {op.run_id for op in ops}
    referenced.update(
        op.parent_run_id for op in ops if isinstance(op, CreateRun) and op.parent_run_id
    )
    batch.load_runs(referenced)
    locations: dict[str, tuple[str, str]] = {}
    for op in ops:
        if isinstance(op, LogBatch):
            batch.add_log(op)
        elif isinstance(op, CreateRun):
            batch.add_create(op, locations)
        elif isinstance(op, UpdateRun):
            batch.require_active(op.run_id)
            batch.pending.updates.append(op)
        elif isinstance(op, DeleteTag):
            batch.require_active(op.run_id)
            batch.flush()
            conn.execute(sa.delete(tags).where(tags.c.run_uuid == op.run_id, tags.c.key == op.key))
    batch.flush()
    events = [replace(e, project=batch.projects.get(e.object_id)) for e in audit_events(ops)]
    audit.record(conn, events, time_ms=now_ms())


def audit_events(ops: Sequence[Op]) -> list[AuditEvent]:
    """One entry per run and kind of change in the batch (metric points are counted)."""
    logged: dict[str, dict[str, Any]] = {}
    events: list[AuditEvent] = []
    for op in ops:
        if isinstance(op, CreateRun):
            created = {"experiment_id": op.experiment_id, "run_name": op.run_name}
            events.append(AuditEvent("run.create", "run", op.run_id, after=created))
        elif isinstance(op, LogBatch):
            entry = logged.setdefault(op.run_id, {"metrics": 0, "params": {}, "tags": {}})
            entry["metrics"] += len(op.metrics)
            entry["params"].update(op.params)
            entry["tags"].update(op.tags)
        elif isinstance(op, UpdateRun):
            after: dict[str, Any] = {
                k: v
                for k, v in (
                    ("status", op.status),
                    ("end_time", op.end_time),
                    ("name", op.run_name),
                )
                if v is not None
            }
            events.append(AuditEvent("run.update", "run", op.run_id, after=after))
        elif isinstance(op, DeleteTag):
            events.append(AuditEvent("run.delete_tag", "run", op.run_id, before={"key": op.key}))
    events.extend(AuditEvent("run.log", "run", run_id, after=e) for run_id, e in logged.items())
    return events
