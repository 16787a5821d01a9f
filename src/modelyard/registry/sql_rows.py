"""Shared SQL helpers of the registry stores: finding (and locking) rows, building entities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import InvalidArgument, NotFound
from modelyard.platform.scope import require_in
from modelyard.registry.entities import ModelVersion, RegisteredModel
from modelyard.registry.store import SEARCH_MAX
from modelyard.registry.tables import (
    model_aliases,
    model_version_tags,
    model_versions,
    registered_model_tags,
    registered_models,
)
from modelyard.store.database import Database

T = TypeVar("T")


def write_retrying(db: Database, fn: Callable[[Connection], T]) -> T:
    """A write transaction, retried once more when a concurrent creator won a unique key."""
    for attempt in range(5):
        try:
            done: T = db.run_write(fn)
            return done
        except sa.exc.IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def dumps(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def loads(value: str | None) -> Any:
    return None if value is None else orjson.loads(value)


def model_row(
    conn: Connection,
    name: str,
    *,
    action: str,
    lock: bool = False,
    include_deleted: bool = False,
) -> Any:
    """The model's row (FOR UPDATE when ``lock``), once the caller may ``action`` in its
    project; NotFound when absent, deleted or in a project the caller cannot see."""
    query = sa.select(registered_models).where(registered_models.c.name_key == name.lower())
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    missing = NotFound(f"registered model {name!r} does not exist", field="name")
    if row is None:
        raise missing
    require_in(action, row["project"], missing)  # before a hint could name a hidden model
    if row["name"] != name:
        hint = f" (did you mean {row['name']!r}?)" if row is not None else ""
        raise NotFound(f"registered model {name!r} does not exist{hint}", field="name")
    if row["deleted_time"] is not None and not include_deleted:
        raise NotFound(f"registered model {name!r} is deleted; restore it to use it", field="name")
    return row


def version_row(
    conn: Connection, model: Any, version: int, *, include_deleted: bool = False
) -> Any:
    row = (
        conn.execute(
            sa.select(model_versions).where(
                model_versions.c.model_id == model["model_id"],
                model_versions.c.version == version,
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        latest = model["last_version"]
        raise NotFound(
            f"model {model['name']!r} has no version {version} (latest is {latest})",
            field="version",
        )
    if row["deleted_time"] is not None and not include_deleted:
        raise NotFound(
            f"version {version} of model {model['name']!r} is deleted; restore it to use it",
            field="version",
        )
    return row


def build_models(conn: Connection, rows: list[Any]) -> list[RegisteredModel]:
    ids = [r["model_id"] for r in rows]
    tags: dict[str, dict[str, str]] = {i: {} for i in ids}
    aliases: dict[str, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for t in conn.execute(
            sa.select(registered_model_tags).where(registered_model_tags.c.model_id.in_(ids))
        ).mappings():
            tags[t["model_id"]][t["key"]] = t["value"]
        for a in conn.execute(
            sa.select(model_aliases.c.model_id, model_aliases.c.alias, model_versions.c.version)
            .join(model_versions, model_versions.c.version_id == model_aliases.c.version_id)
            .where(model_aliases.c.model_id.in_(ids))
        ).mappings():
            aliases[a["model_id"]][a["alias"]] = int(a["version"])
    return [
        RegisteredModel(
            name=r["name"],
            description=r["description"],
            created_by=r["created_by"],
            created_time=int(r["created_time"]),
            updated_time=int(r["updated_time"]),
            latest_version=int(r["last_version"]),
            tags=tags[r["model_id"]],
            aliases=dict(sorted(aliases[r["model_id"]].items())),
            card=loads(r["card"]) or {},
            deleted_time=r["deleted_time"],
            project=r["project"],
        )
        for r in rows
    ]


def build_versions(conn: Connection, rows: list[Any]) -> list[ModelVersion]:
    ids = [r["version_id"] for r in rows]
    tags: dict[str, dict[str, str]] = {i: {} for i in ids}
    aliases: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for t in conn.execute(
            sa.select(model_version_tags).where(model_version_tags.c.version_id.in_(ids))
        ).mappings():
            tags[t["version_id"]][t["key"]] = t["value"]
        for a in conn.execute(
            sa.select(model_aliases.c.version_id, model_aliases.c.alias).where(
                model_aliases.c.version_id.in_(ids)
            )
        ).mappings():
            aliases[a["version_id"]].append(a["alias"])
    return [
        ModelVersion(
            name=r["name"],
            version=int(r["version"]),
            source=r["source"],
            run_id=r["run_id"],
            status=r["status"],
            description=r["description"],
            flavor=r["flavor"],
            model_digest=r["model_digest"],
            signature=loads(r["signature"]),
            created_by=r["created_by"],
            created_time=int(r["created_time"]),
            updated_time=int(r["updated_time"]),
            tags=tags[r["version_id"]],
            aliases=sorted(aliases[r["version_id"]]),
            card=loads(r["card"]) or {},
            deleted_time=r["deleted_time"],
            version_id=r["version_id"],
        )
        for r in rows
    ]


MAX_RESULTS = SEARCH_MAX

VERSION_SELECT = sa.select(model_versions, registered_models.c.name).join(
    registered_models, registered_models.c.model_id == model_versions.c.model_id
)


def check_max_results(max_results: Any) -> int:
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise InvalidArgument("max_results must be an integer", field="max_results")
    if not 1 <= max_results <= MAX_RESULTS:
        raise InvalidArgument(
            f"max_results must be between 1 and {MAX_RESULTS}, got {max_results}",
            field="max_results",
        )
    return max_results


def set_tag(
    conn: Connection, table: sa.Table, owner: str, ident: str, key: str, value: str | None
) -> None:
    conn.execute(table.delete().where(table.c[owner] == ident, table.c.key == key))
    if value is not None:
        conn.execute(table.insert().values({owner: ident, "key": key, "value": value}))
