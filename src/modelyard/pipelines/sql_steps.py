"""Step records and the step cache (SQL). A run's step records are written in batches by the
runner, each with the lineage edges it adds (the runs it took outputs from, the dataset
versions it read), in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.data.lineage_rows import Node, add_edges
from modelyard.errors import InvalidArgument
from modelyard.pipelines.checks import check_cache_entry, check_step
from modelyard.pipelines.entities import CacheEntry, OutputRef, StepRecord
from modelyard.pipelines.sql_runs import run_row
from modelyard.pipelines.store import DatasetInputs, PipelineSteps, StepCache
from modelyard.pipelines.tables import pipeline_cache, pipeline_steps
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import projects_with, restricted
from modelyard.store.database import Database

Edge = tuple[Node, Node, str, str | None]


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _row(run_id: str, seq: int, s: StepRecord) -> dict[str, object]:
    return {
        "run_id": run_id,
        "step_key": s.key,
        "name": s.name,
        "status": s.status,
        "tracked_run_id": s.tracked_run_id,
        "cache_key": s.cache_key,
        "cached_from": s.cached_from,
        "attempts": s.attempts,
        "start_time": s.start_time,
        "end_time": s.end_time,
        "error": s.error,
        "output": _json(s.output.to_dict()) if s.output else None,
        "logs": s.logs,
        "upstream": _json(list(s.upstream)),
        "seq": seq,
    }


def _edges(
    conn: Connection,
    run_id: str,
    context: str,
    steps: Sequence[tuple[int, StepRecord]],
    versions: dict[str, list[str]],
) -> list[Edge]:
    """Edges into each step's tracked run: from its upstream steps' runs (of this batch, or
    recorded before in the same run) and from the dataset versions it was given."""
    tracked = {s.key: s.tracked_run_id for _, s in steps}
    wanted = sorted({u for _, s in steps for u in s.upstream} - set(tracked))
    for start in range(0, len(wanted), 500):
        query = sa.select(pipeline_steps.c.step_key, pipeline_steps.c.tracked_run_id).where(
            pipeline_steps.c.run_id == run_id,
            pipeline_steps.c.step_key.in_(wanted[start : start + 500]),
        )
        tracked.update({k: t for k, t in conn.execute(query)})
    edges: list[Edge] = []
    for _, step in steps:
        if step.tracked_run_id is None:
            continue
        target = ("run", step.tracked_run_id)
        for key in step.upstream:
            source = tracked.get(key)
            if source is not None:
                edges.append((("run", source), target, "input", context))
        for version_id in versions.get(step.key, []):
            edges.append((("dataset_version", version_id), target, "input", context))
    return edges


def _step(row: sa.RowMapping) -> StepRecord:
    return StepRecord(
        run_id=row["run_id"],
        key=row["step_key"],
        name=row["name"],
        status=row["status"],
        tracked_run_id=row["tracked_run_id"],
        cache_key=row["cache_key"],
        cached_from=row["cached_from"],
        attempts=int(row["attempts"]),
        start_time=row["start_time"],
        end_time=row["end_time"],
        error=row["error"],
        output=OutputRef.from_dict(orjson.loads(row["output"])) if row["output"] else None,
        logs=row["logs"],
        upstream=tuple(orjson.loads(row["upstream"])),
    )


class SqlPipelineSteps(PipelineSteps):
    """``runs_visible(run_ids)`` and ``dataset_version_id(name, version)`` raise NotFound for
    what the caller may not read (the tracking and data stores' own checks), so a record
    never links a step to a run or dataset version its writer cannot see."""

    def __init__(
        self,
        db: Database,
        runs_visible: Callable[[Sequence[str]], None],
        dataset_version_id: Callable[[str, int], str],
    ) -> None:
        self.db = db
        self.runs_visible = runs_visible
        self.dataset_version_id = dataset_version_id

    def record(
        self, run_id: str, steps: Sequence[tuple[int, StepRecord]], datasets: DatasetInputs
    ) -> None:
        checked = [(seq, check_step(s, run_id)) for seq, s in steps]
        self.runs_visible([s.tracked_run_id for _, s in checked if s.tracked_run_id is not None])
        versions = {
            key: [self.dataset_version_id(name, version) for name, version in given]
            for key, given in datasets.items()
        }
        rows = [_row(run_id, seq, s) for seq, s in checked]

        def write(conn: Connection) -> None:
            run = run_row(conn, run_id, "pipeline.run")
            keys = [r["step_key"] for r in rows]
            for start in range(0, len(keys), 500):
                conn.execute(
                    pipeline_steps.delete().where(
                        pipeline_steps.c.run_id == run_id,
                        pipeline_steps.c.step_key.in_(keys[start : start + 500]),
                    )
                )
            if rows:
                conn.execute(pipeline_steps.insert(), rows)
            add_edges(conn, _edges(conn, run_id, f"pipeline {run['pipeline']}", checked, versions))

        self.db.run_write(write)

    def list(self, run_id: str) -> list[StepRecord]:
        with self.db.read() as conn:
            run_row(conn, run_id, "pipeline.read")
            query = (
                sa.select(pipeline_steps)
                .where(pipeline_steps.c.run_id == run_id)
                .order_by(pipeline_steps.c.seq)
            )
            return [_step(r) for r in conn.execute(query).mappings()]


def _entry(row: sa.RowMapping) -> CacheEntry:
    return CacheEntry(
        key=row["cache_key"],
        step=row["step"],
        project=row["project"],
        output=OutputRef.from_dict(orjson.loads(row["output"])),
        run_id=row["run_id"],
        step_key=row["step_key"],
        created_time=int(row["created_time"]),
        expires_time=row["expires_time"],
    )


class _Entries(Mapping[str, CacheEntry]):
    """A step's entries as read, each parsed when it is looked up (a hit), not before."""

    def __init__(self, rows: dict[str, sa.RowMapping]) -> None:
        self.rows = rows

    def __getitem__(self, key: str) -> CacheEntry:
        return _entry(self.rows[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


class SqlStepCache(StepCache):
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str, project: str) -> CacheEntry | None:
        c = pipeline_cache.c
        with self.db.read() as conn:
            row = (
                conn.execute(
                    sa.select(pipeline_cache).where(c.cache_key == key, c.project == project)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        entry = _entry(row)
        return None if entry.expired(now_ms()) else entry

    def of_step(self, step: str, project: str, limit: int) -> Mapping[str, CacheEntry] | None:
        c = pipeline_cache.c
        query = (
            sa.select(pipeline_cache)
            .where(c.step == step, c.project == project)
            .where(sa.or_(c.expires_time.is_(None), c.expires_time > now_ms()))
            .limit(limit + 1)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        if len(rows) > limit:
            return None
        return _Entries({row["cache_key"]: row for row in rows})

    def put(self, entries: Sequence[CacheEntry]) -> None:
        # a key stored twice in one batch (the same call made twice in a run): the later
        entries = list({(e.key, e.project): e for e in entries}.values())
        if not entries:
            return

        for e in entries:
            check_cache_entry(e)

        def write(conn: Connection) -> None:
            c = pipeline_cache.c
            for e in entries:  # an entry goes in the project of the run that made it
                if run_row(conn, e.run_id, "pipeline.run")["project"] != e.project:
                    raise InvalidArgument(
                        f"cache entry {e.key[:12]}… names project {e.project!r}, not its run's",
                        field="project",
                    )
            for e in entries:
                conn.execute(
                    pipeline_cache.delete().where(c.cache_key == e.key, c.project == e.project)
                )
            conn.execute(
                pipeline_cache.insert(),
                [
                    {
                        "cache_key": e.key,
                        "project": e.project,
                        "step": e.step,
                        "output": _json(e.output.to_dict()),
                        "run_id": e.run_id,
                        "step_key": e.step_key,
                        "created_time": e.created_time,
                        "expires_time": e.expires_time,
                    }
                    for e in entries
                ],
            )

        self.db.run_write(write)

    def clear(self, *, step: str | None = None, key: str | None = None) -> int:
        def write(conn: Connection) -> int:
            c = pipeline_cache.c
            query = pipeline_cache.delete()
            if step is not None:
                query = query.where(c.step == step)
            if key is not None:
                query = query.where(c.cache_key == key)
            if restricted():
                allowed = projects_with("pipeline.write")
                if allowed is not None:
                    query = query.where(c.project.in_(sorted(allowed)))
            return int(conn.execute(query).rowcount)

        return int(self.db.run_write(write))
