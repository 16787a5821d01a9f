"""Experiments in SQL: create, read, rename, soft delete, tags.

The Default experiment (id 0) is created on first use, by whichever process gets there first.
"""

from __future__ import annotations

import contextlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from modelyard.errors import AlreadyExists, InvalidArgument, NotFound
from modelyard.identity import current_actor
from modelyard.platform.access import sees
from modelyard.platform.checks import MAX_TAG_VALUE, check_name, check_string_value, check_tags
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import (
    check_project_exists,
    new_object_project,
    require_in,
    where_visible,
)
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database
from modelyard.store.sql import upsert
from modelyard.tracking.entities import Experiment, LifecycleStage, ViewType
from modelyard.tracking.tables import experiment_tags, experiments
from modelyard.tracking.validation import MAX_EXPERIMENT_NAME, parse_experiment_id

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


def check_experiment_name(name: Any) -> str:
    return check_name(name, "experiment name", max_len=MAX_EXPERIMENT_NAME)


def _row_to_experiment(row: Any, tags: dict[str, str]) -> Experiment:
    return Experiment(
        experiment_id=str(row.experiment_id),
        name=row.name,
        artifact_location=row.artifact_location,
        lifecycle_stage=row.lifecycle_stage,
        creation_time=row.creation_time,
        last_update_time=row.last_update_time,
        tags=tags,
        project=row.project,
    )


def _tags_of(conn: Connection, ids: list[int]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {i: {} for i in ids}
    if ids:
        rows = conn.execute(
            sa.select(experiment_tags).where(experiment_tags.c.experiment_id.in_(ids))
        )
        for r in rows:
            out[r.experiment_id][r.key] = r.value
    return out


class SqlExperiments:
    def __init__(self, db: Database, artifact_root: str) -> None:
        self.db = db
        self.artifact_root = artifact_root.rstrip("/")

    def ensure_default(self) -> None:
        with self.db.read() as conn:
            found = conn.execute(
                sa.select(experiments.c.experiment_id).where(experiments.c.experiment_id == 0)
            ).first()
        if found is not None:
            return

        def _create(conn: Connection) -> None:
            t = now_ms()
            conn.execute(
                sa.insert(experiments).values(
                    experiment_id=0,
                    name=DEFAULT_EXPERIMENT_NAME,
                    artifact_location=f"{self.artifact_root}/0",
                    lifecycle_stage=LifecycleStage.ACTIVE.value,
                    creation_time=t,
                    last_update_time=t,
                )
            )

        with contextlib.suppress(IntegrityError):  # another process created it first
            self.db.run_write(_create)

    def create(
        self,
        name: str,
        artifact_location: str | None,
        tags: dict[str, str] | None,
        project: str | None = None,
    ) -> str:
        name = check_experiment_name(name)
        clean_tags = check_tags(tags or {})
        where = new_object_project(project, "experiment.create")

        def _create(conn: Connection) -> int:
            check_project_exists(conn, where)
            taken = conn.execute(
                sa.select(experiments.c.project).where(experiments.c.name == name)
            ).first()
            if taken is not None and not sees(current_actor(), taken[0]):
                # names are global; one a hidden project holds is taken, nothing more
                raise AlreadyExists(f"the experiment name {name!r} is taken", field="name")
            if taken is not None:
                raise AlreadyExists(f"experiment {name!r} already exists", field="name")
            t = now_ms()
            result = conn.execute(
                sa.insert(experiments).values(
                    name=name,
                    project=where,
                    artifact_location=artifact_location or "",
                    lifecycle_stage=LifecycleStage.ACTIVE.value,
                    creation_time=t,
                    last_update_time=t,
                )
            )
            (eid,) = result.inserted_primary_key or (None,)
            assert eid is not None
            if not artifact_location:
                conn.execute(
                    sa.update(experiments)
                    .where(experiments.c.experiment_id == eid)
                    .values(artifact_location=f"{self.artifact_root}/{eid}")
                )
            if clean_tags:
                conn.execute(
                    sa.insert(experiment_tags),
                    [{"experiment_id": eid, "key": k, "value": v} for k, v in clean_tags.items()],
                )
            after = {"name": name, "tags": clean_tags}
            event = AuditEvent(
                "experiment.create", "experiment", str(eid), after=after, project=where
            )
            audit.record(conn, [event], time_ms=t)
            return int(eid)

        try:
            return str(self.db.run_write(_create))
        except IntegrityError as exc:
            raise AlreadyExists(f"experiment {name!r} already exists", field="name") from exc

    def get(self, experiment_id: str, action: str = "experiment.read") -> Experiment:
        eid = parse_experiment_id(experiment_id)
        missing = NotFound(f"experiment {experiment_id} does not exist", field="experiment_id")
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(experiments).where(experiments.c.experiment_id == eid)
            ).first()
            if row is None:
                raise missing
            require_in(action, row.project, missing)
            return _row_to_experiment(row, _tags_of(conn, [eid])[eid])

    def get_by_name(self, name: str) -> Experiment | None:
        query = where_visible(
            sa.select(experiments).where(experiments.c.name == name), experiments.c.project
        )
        with self.db.read() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            return _row_to_experiment(row, _tags_of(conn, [row.experiment_id])[row.experiment_id])

    def search(self, view: ViewType, name_like: str | None, max_results: int) -> list[Experiment]:
        if not 1 <= max_results <= 50_000:
            raise InvalidArgument("max_results must be between 1 and 50000", field="max_results")
        q = sa.select(experiments).order_by(experiments.c.experiment_id).limit(max_results)
        if view != ViewType.ALL:
            q = q.where(experiments.c.lifecycle_stage == view.value)
        if name_like:
            q = q.where(experiments.c.name.like(name_like))
        q = where_visible(q, experiments.c.project)
        with self.db.read() as conn:
            rows = conn.execute(q).all()
            tags = _tags_of(conn, [r.experiment_id for r in rows])
        return [_row_to_experiment(r, tags[r.experiment_id]) for r in rows]

    def _update(
        self,
        experiment_id: str,
        action: str,
        values: dict[str, Any],
        require_stage: str | None = None,
        *,
        needs: str = "experiment.write",
    ) -> None:
        eid = parse_experiment_id(experiment_id)
        missing = NotFound(f"experiment {experiment_id} does not exist", field="experiment_id")

        def _do(conn: Connection) -> None:
            row = conn.execute(
                sa.select(
                    experiments.c.lifecycle_stage, experiments.c.name, experiments.c.project
                ).where(experiments.c.experiment_id == eid)
            ).first()
            if row is None:
                raise missing
            require_in(needs, row.project, missing)
            if require_stage is not None and row.lifecycle_stage != require_stage:
                raise InvalidArgument(
                    f"experiment {experiment_id} is {row.lifecycle_stage}, expected "
                    f"{require_stage}",
                    field="experiment_id",
                )
            conn.execute(
                sa.update(experiments)
                .where(experiments.c.experiment_id == eid)
                .values(last_update_time=now_ms(), **values)
            )
            before = {"name": row.name, "lifecycle_stage": row.lifecycle_stage}
            event = AuditEvent(
                action, "experiment", str(eid), before=before, after=values, project=row.project
            )
            audit.record(conn, [event], time_ms=now_ms())

        try:
            self.db.run_write(_do)
        except IntegrityError as exc:
            raise AlreadyExists(
                f"an experiment named {values.get('name')!r} already exists", field="name"
            ) from exc

    def rename(self, experiment_id: str, new_name: str) -> None:
        self._update(experiment_id, "experiment.rename", {"name": check_experiment_name(new_name)})

    def delete(self, experiment_id: str) -> None:
        if parse_experiment_id(experiment_id) == int(DEFAULT_EXPERIMENT_ID):
            raise InvalidArgument("the Default experiment cannot be deleted", field="experiment_id")
        self._update(
            experiment_id,
            "experiment.delete",
            {"lifecycle_stage": LifecycleStage.DELETED.value},
            require_stage=LifecycleStage.ACTIVE.value,
            needs="experiment.delete",
        )

    def restore(self, experiment_id: str) -> None:
        self._update(
            experiment_id,
            "experiment.restore",
            {"lifecycle_stage": LifecycleStage.ACTIVE.value},
            require_stage=LifecycleStage.DELETED.value,
            needs="experiment.delete",
        )

    def set_tag(self, experiment_id: str, key: str, value: str) -> None:
        key = check_name(key, "tag key")
        value = check_string_value(value, "tag value", MAX_TAG_VALUE)
        eid = parse_experiment_id(experiment_id)
        project = self.get(experiment_id, "experiment.write").project

        def _do(conn: Connection) -> None:
            upsert(
                conn,
                experiment_tags,
                [{"experiment_id": eid, "key": key, "value": value}],
                ["value"],
            )
            event = AuditEvent(
                "experiment.set_tag", "experiment", str(eid), after={key: value}, project=project
            )
            audit.record(conn, [event], time_ms=now_ms())

        self.db.run_write(_do)
