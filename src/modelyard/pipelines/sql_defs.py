"""Pipelines known to the store (SQL). A pipeline is a root object: it lives in a project,
and its runs, steps and cache entries take that project."""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import AlreadyExists, Conflict, NotFound
from modelyard.identity import current_actor
from modelyard.pipelines.entities import CANCELLING, QUEUED, RUNNING, PipelineInfo
from modelyard.pipelines.store import PipelineDefs
from modelyard.pipelines.tables import pipeline_runs, pipelines
from modelyard.platform.access import DEFAULT_PROJECT, sees
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import (
    check_project_exists,
    new_object_project,
    require_in,
    restricted,
    where_visible,
)
from modelyard.store.database import Database


def pipeline_project(conn: Connection, name: str, action: str) -> str:
    """The pipeline's project once the caller may ``action`` there; NotFound when missing or
    hidden (the same answer)."""
    found = conn.execute(sa.select(pipelines.c.project).where(pipelines.c.name == name)).scalar()
    missing = NotFound(f"no pipeline {name!r}", field="pipeline")
    if found is None:
        raise missing
    require_in(action, str(found), missing)
    return str(found)


def info_of_row(row: sa.RowMapping) -> PipelineInfo:
    return PipelineInfo(
        name=row["name"],
        project=row["project"],
        entrypoint=row["entrypoint"],
        description=row["description"],
        schedule=row["schedule"],
        timezone=row["timezone"],
        triggers=orjson.loads(row["triggers"]),
        catchup=row["catchup"],
        max_active=int(row["max_active"]),
        code_digest=row["code_digest"],
        created_time=int(row["created_time"]),
        updated_time=int(row["updated_time"]),
        next_fire=row["next_fire"],
    )


class SqlPipelineDefs(PipelineDefs):
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, info: PipelineInfo, project: str | None = None) -> PipelineInfo:
        t = now_ms()
        values = {
            "entrypoint": info.entrypoint,
            "description": info.description,
            "schedule": info.schedule,
            "timezone": info.timezone,
            "triggers": orjson.dumps(info.triggers, option=orjson.OPT_SORT_KEYS).decode(),
            "catchup": info.catchup,
            "max_active": info.max_active,
            "code_digest": info.code_digest,
        }

        def write(conn: Connection) -> None:
            c = pipelines.c
            known = conn.execute(sa.select(pipelines).where(c.name == info.name)).mappings().first()
            if known is not None and not sees(current_actor(), known["project"]):
                raise AlreadyExists(f"the pipeline name {info.name!r} is taken", field="name")
            if known is None:
                where = new_object_project(project, "pipeline.write")
                check_project_exists(conn, where)
                conn.execute(
                    pipelines.insert().values(
                        name=info.name, project=where, created_by=current_actor().name,
                        created_time=t, updated_time=t, next_fire=info.next_fire, **values,
                    )
                )  # fmt: skip
                return
            require_in(
                "pipeline.write", str(known["project"]), NotFound(f"no pipeline {info.name!r}")
            )
            if all(known[k] == v for k, v in values.items()):
                return  # the same definition again: nothing changes, its schedule kept
            changed = dict(values, updated_time=t)
            if (known["schedule"], known["timezone"]) != (info.schedule, info.timezone):
                changed["next_fire"] = info.next_fire
            conn.execute(pipelines.update().where(c.name == info.name).values(**changed))

        self.db.run_write(write)
        return self.get(info.name)

    def get(self, name: str) -> PipelineInfo:
        with self.db.read() as conn:
            pipeline_project(conn, name, "pipeline.read")
            row = (
                conn.execute(sa.select(pipelines).where(pipelines.c.name == name)).mappings().one()
            )
        return info_of_row(row)

    def list(self) -> list[PipelineInfo]:
        query = where_visible(sa.select(pipelines), pipelines.c.project).order_by(pipelines.c.name)
        with self.db.read() as conn:
            return [info_of_row(r) for r in conn.execute(query).mappings()]

    def delete(self, name: str) -> None:
        def write(conn: Connection) -> None:
            pipeline_project(conn, name, "pipeline.delete")
            active = conn.execute(
                sa.select(sa.func.count()).where(
                    pipeline_runs.c.pipeline == name,
                    pipeline_runs.c.status.in_([QUEUED, RUNNING, CANCELLING]),
                )
            ).scalar()
            if active:
                raise Conflict(
                    f"pipeline {name!r} has {active} active run(s); cancel them first",
                    field="pipeline",
                )
            conn.execute(pipelines.delete().where(pipelines.c.name == name))

        self.db.run_write(write)


def project_or_default(conn: Connection, name: str, action: str) -> str:
    """``pipeline_project``, or ``default`` for a name never saved when checks do not apply."""
    if not restricted():
        found = conn.execute(
            sa.select(pipelines.c.project).where(pipelines.c.name == name)
        ).scalar()
        return str(found) if found is not None else DEFAULT_PROJECT
    return pipeline_project(conn, name, action)
