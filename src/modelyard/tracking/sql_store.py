"""The SQL tracking store (SQLite or PostgreSQL): the embedded implementation of the contract.

Thin: it validates ids, opens transactions and delegates to ``sql_experiments``,
``sql_writes``, ``sql_reads`` and the search compiler.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import InvalidArgument, NotFound
from modelyard.platform.checks import check_count, check_name
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import require_in, restricted
from modelyard.platform.search.paging import (
    decode_page_token,
    encode_page_token,
    history_fingerprint,
    query_fingerprint,
)
from modelyard.platform.search.parser import parse_filter, parse_order_by
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database
from modelyard.store.migrate import upgrade
from modelyard.store.sql import in_ids
from modelyard.tracking.entities import (
    Experiment,
    LifecycleStage,
    MetricHistoryPage,
    Run,
    RunsPage,
    ViewType,
)
from modelyard.tracking.ops import CreateRun, Op
from modelyard.tracking.run_search import search_query
from modelyard.tracking.sql_experiments import SqlExperiments
from modelyard.tracking.sql_reads import load_runs, metric_history
from modelyard.tracking.sql_writes import apply_ops
from modelyard.tracking.store import HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX, TrackingStore
from modelyard.tracking.tables import experiments, runs
from modelyard.tracking.validation import check_run_id, parse_experiment_id

MAX_SEARCH_RESULTS = 50_000
_STATS_TABLES = ("runs", "latest_metrics", "params", "tags")


def check_run(conn: Connection, run_id: str, action: str) -> None:
    """NotFound unless the run exists and its project is visible; PermissionDenied unless the
    caller may ``action`` there. Free when no checks apply."""
    if not restricted():
        return
    project = conn.execute(
        sa.select(experiments.c.project)
        .select_from(runs.join(experiments, runs.c.experiment_id == experiments.c.experiment_id))
        .where(runs.c.run_uuid == run_id)
    ).scalar()
    missing = NotFound(f"run {run_id} does not exist", field="run_id")
    if project is None:
        raise missing
    require_in(action, project, missing)


def check_experiments(conn: Connection, ids: Sequence[int], action: str) -> None:
    """NotFound for the first of ``ids`` that is missing or hidden (free when no checks
    apply)."""
    if not restricted() or not ids:
        return
    found = dict(
        conn.execute(
            sa.select(experiments.c.experiment_id, experiments.c.project).where(
                experiments.c.experiment_id.in_(list(ids))
            )
        ).all()
    )
    for eid in ids:
        missing = NotFound(f"experiment {eid} does not exist", field="experiment_ids")
        if eid not in found:
            raise missing
        require_in(action, found[eid], missing)


class SqlTrackingStore(TrackingStore):
    def __init__(self, db: Database, artifact_root: str) -> None:
        self.db = db
        self.artifact_root = artifact_root
        upgrade(db)
        self.experiments = SqlExperiments(db, artifact_root)
        self._growth_lock = threading.Lock()
        self._created = 0
        self._next_refresh = 1_000
        self.experiments.ensure_default()

    # experiments -----------------------------------------------------------------------
    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
        project: str | None = None,
    ) -> str:
        return self.experiments.create(name, artifact_location, tags, project)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.experiments.get(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.experiments.get_by_name(name)

    def search_experiments(
        self,
        view: ViewType = ViewType.ACTIVE,
        name_like: str | None = None,
        max_results: int = 1000,
    ) -> list[Experiment]:
        return self.experiments.search(view, name_like, max_results)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.experiments.rename(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        self.experiments.delete(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self.experiments.restore(experiment_id)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self.experiments.set_tag(experiment_id, key, value)

    # runs ------------------------------------------------------------------------------
    def apply(self, ops: Sequence[Op]) -> None:
        if ops:
            self.db.run_write(apply_ops, ops)
            self._note_growth(sum(1 for op in ops if isinstance(op, CreateRun)))

    def _note_growth(self, created: int) -> None:
        """Refresh planner statistics each time the runs this process created double (from
        1,000): a handful of refreshes however large the load, never one per batch."""
        if not created:
            return
        with self._growth_lock:
            self._created += created
            if self._created < self._next_refresh:
                return
            self._next_refresh = self._created * 2
        self.db.refresh_statistics(_STATS_TABLES)

    def get_run(self, run_id: str) -> Run:
        check_run_id(run_id)
        with self.db.read() as conn:
            check_run(conn, run_id, "run.read")
            found = load_runs(conn, [run_id])
        if not found:
            raise NotFound(f"run {run_id} does not exist", field="run_id")
        return found[0]

    def check_runs(self, run_ids: Sequence[str]) -> None:
        wanted = list(dict.fromkeys(check_run_id(r) for r in run_ids))
        if not wanted:
            return
        c = runs.c
        with self.db.read() as conn:
            found = dict(
                conn.execute(
                    sa.select(c.run_uuid, experiments.c.project)
                    .select_from(
                        runs.join(experiments, c.experiment_id == experiments.c.experiment_id)
                    )
                    .where(
                        # a short list as literal ids: the index answers, not a scan
                        c.run_uuid.in_(wanted)
                        if len(wanted) <= 500
                        else in_ids(c.run_uuid, wanted, self.db.dialect)
                    )
                ).all()
            )
        for run_id in wanted:
            missing = NotFound(f"run {run_id} does not exist", field="run_id")
            if run_id not in found:
                raise missing
            require_in("run.read", found[run_id], missing)

    def get_metric_history_page(
        self,
        run_id: str,
        key: str,
        max_results: int = HISTORY_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> MetricHistoryPage:
        check_run_id(run_id)
        check_name(key, "metric key")
        check_count(max_results, "max_results", HISTORY_PAGE_MAX)
        if page_token is not None and not isinstance(page_token, str):
            raise InvalidArgument("page_token must be a string", field="page_token")
        fingerprint = history_fingerprint(run_id, key)
        offset = decode_page_token(page_token, fingerprint) if page_token else 0
        with self.db.read() as conn:
            if (
                conn.execute(sa.select(runs.c.run_uuid).where(runs.c.run_uuid == run_id)).first()
                is None
            ):
                raise NotFound(f"run {run_id} does not exist", field="run_id")
            check_run(conn, run_id, "run.read")
            points = metric_history(conn, run_id, key, limit=max_results + 1, offset=offset)
        more = len(points) > max_results
        token = encode_page_token(offset + max_results, fingerprint) if more else None
        return MetricHistoryPage(points[:max_results], token)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view: ViewType = ViewType.ACTIVE,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> RunsPage:
        check_count(max_results, "max_results", MAX_SEARCH_RESULTS)
        ids = [parse_experiment_id(e, "experiment_ids") for e in experiment_ids]
        view = ViewType(view)
        expr = parse_filter(filter_string)
        order = parse_order_by(order_by)
        fingerprint = query_fingerprint(
            [str(i) for i in ids], filter_string or "", list(order_by or []), view.value
        )
        if page_token is not None and not isinstance(page_token, str):
            raise InvalidArgument("page_token must be a string", field="page_token")
        offset = decode_page_token(page_token, fingerprint) if page_token else 0
        query = search_query(
            ids, expr, order, view=view.value, limit=max_results + 1, offset=offset
        )
        with self.db.read() as conn:
            check_experiments(conn, ids, "run.read")
            run_ids = list(conn.execute(query).scalars().all())
            more = len(run_ids) > max_results
            run_ids = run_ids[:max_results]
            found = load_runs(conn, run_ids)
        token = encode_page_token(offset + max_results, fingerprint) if more else None
        return RunsPage(runs=found, next_page_token=token)

    def _set_stage(self, run_id: str, stage: LifecycleStage) -> None:
        check_run_id(run_id)

        def _do(conn: Connection) -> None:
            row = conn.execute(
                sa.select(runs.c.lifecycle_stage).where(runs.c.run_uuid == run_id)
            ).first()
            if row is None:
                raise NotFound(f"run {run_id} does not exist", field="run_id")
            check_run(conn, run_id, "run.delete")
            deleted = now_ms() if stage == LifecycleStage.DELETED else None
            conn.execute(
                sa.update(runs)
                .where(runs.c.run_uuid == run_id)
                .values(lifecycle_stage=stage.value, deleted_time=deleted)
            )
            action = "run.delete" if stage == LifecycleStage.DELETED else "run.restore"
            event = AuditEvent(
                action,
                "run",
                run_id,
                before={"lifecycle_stage": row.lifecycle_stage},
                after={"lifecycle_stage": stage.value},
            )
            audit.record(conn, [event], time_ms=now_ms())

        self.db.run_write(_do)

    def delete_run(self, run_id: str) -> None:
        self._set_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_stage(run_id, LifecycleStage.ACTIVE)

    def close(self) -> None:
        self.db.dispose()
