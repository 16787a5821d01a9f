"""Registered models in SQL: create (names unique ignoring case), read, search, tags, soft delete.

``insert_model`` is also how a first version creates its model, in that version's transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import AlreadyExists, Conflict, NotFound
from modelyard.identity import current_actor
from modelyard.platform.access import sees
from modelyard.platform.checks import check_name, check_string_value
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import (
    check_project_exists,
    new_object_project,
    require_in,
    where_visible,
)
from modelyard.platform.search.paging import (
    decode_page_token,
    encode_page_token,
    query_fingerprint,
)
from modelyard.platform.search.parser import parse_filter
from modelyard.registry.entities import RegisteredModel
from modelyard.registry.names import check_model_name, check_model_tags, check_text
from modelyard.registry.search import MODEL_COMPILER, MODELS
from modelyard.registry.sql_rows import (
    build_models,
    check_max_results,
    model_row,
    set_tag,
    write_retrying,
)
from modelyard.registry.store import ModelStore
from modelyard.registry.tables import registered_model_tags, registered_models
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database


def _check_free(found: Any, name: str, *, exists_ok: bool) -> None:
    if not sees(current_actor(), found["project"]):
        # names are global (they are the models' addresses); one held in a project the
        # caller cannot see is taken, and nothing more is said about it
        raise AlreadyExists(f"the model name {name!r} is taken", field="name")
    if found["name"] != name:
        raise AlreadyExists(
            f"model name {name!r} collides with the registered model "
            f"{found['name']!r} (names are unique ignoring case)",
            field="name",
        )
    if found["deleted_time"] is not None:
        raise AlreadyExists(
            f"registered model {name!r} is deleted but keeps its name; restore it "
            "(restore_model / modelyard models restore) to use it again",
            field="name",
        )
    if not exists_ok:
        raise AlreadyExists(f"registered model {name!r} already exists", field="name")
    require_in(
        "model.write",
        found["project"],
        NotFound(f"registered model {name!r} does not exist", field="name"),
    )


def insert_model(
    conn: Connection,
    name: str,
    description: str | None,
    tags: dict[str, str],
    *,
    exists_ok: bool,
    project: str | None,
) -> Any:
    """The model's row, locked: the one there (``exists_ok``; the caller may write to it) or
    a new one in ``project`` (None: the caller's only project, else default), audited."""
    found = (
        conn.execute(
            sa.select(registered_models)
            .where(registered_models.c.name_key == name.lower())
            .with_for_update()
        )
        .mappings()
        .first()
    )
    if found is not None:
        _check_free(found, name, exists_ok=exists_ok)
        return found
    where = new_object_project(project, "model.create")
    check_project_exists(conn, where)
    t = now_ms()
    model_id = uuid.uuid4().hex
    conn.execute(
        registered_models.insert().values(
            model_id=model_id,
            project=where,
            name=name,
            name_key=name.lower(),
            description=description,
            created_by=current_actor().name,
            created_time=t,
            updated_time=t,
            last_version=0,
        )
    )
    if tags:
        conn.execute(
            registered_model_tags.insert(),
            [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()],
        )
    after = {"description": description, "tags": tags}
    event = AuditEvent("model.create", "model", name, after=after, project=where)
    audit.record(conn, [event], time_ms=t)
    return model_row(conn, name, action="model.read", lock=True)


class SqlModels(ModelStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        name: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        project: str | None = None,
    ) -> RegisteredModel:
        name = check_model_name(name)
        description = check_text(description, "description")
        clean = check_model_tags(tags)

        def write(conn: Connection) -> None:
            insert_model(conn, name, description, clean, exists_ok=False, project=project)

        write_retrying(self.db, write)
        return self.get(name)

    def get(self, name: str, *, include_deleted: bool = False) -> RegisteredModel:
        name = check_model_name(name)
        with self.db.read() as conn:
            return build_models(
                conn, [model_row(conn, name, action="model.read", include_deleted=include_deleted)]
            )[0]

    def search(
        self,
        filter_string: str | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]:
        max_results = check_max_results(max_results)
        expr = parse_filter(filter_string, MODELS)
        fingerprint = query_fingerprint(["models"], filter_string or "", [], str(include_deleted))
        offset = decode_page_token(page_token, fingerprint) if page_token else 0
        query = where_visible(sa.select(registered_models), registered_models.c.project)
        if not include_deleted:
            query = query.where(registered_models.c.deleted_time.is_(None))
        if expr is not None:
            query = query.where(MODEL_COMPILER.where(expr))
        query = query.order_by(registered_models.c.name_key).limit(max_results + 1).offset(offset)
        with self.db.read() as conn:
            rows = list(conn.execute(query).mappings().all())
            found = build_models(conn, rows[:max_results])
        more = len(rows) > max_results
        return found, encode_page_token(offset + max_results, fingerprint) if more else None

    def update(self, name: str, description: str | None) -> RegisteredModel:
        name = check_model_name(name)
        description = check_text(description, "description")

        def write(conn: Connection) -> None:
            row = model_row(conn, name, action="model.write", lock=True)
            t = now_ms()
            conn.execute(
                registered_models.update()
                .where(registered_models.c.model_id == row["model_id"])
                .values(description=description, updated_time=t)
            )
            event = AuditEvent(
                "model.update",
                "model",
                name,
                before={"description": row["description"]},
                after={"description": description},
                project=row["project"],
            )
            audit.record(conn, [event], time_ms=t)

        self.db.run_write(write)
        return self.get(name)

    def set_tag(self, name: str, key: str, value: str) -> None:
        self._tag(name, key, value)

    def delete_tag(self, name: str, key: str) -> None:
        self._tag(name, key, None)

    def _tag(self, name: str, key: str, value: str | None) -> None:
        name = check_model_name(name)
        key = check_name(key, "key")
        if value is not None:
            value = check_string_value(value, "value", 5000)

        def write(conn: Connection) -> None:
            row = model_row(conn, name, action="model.write", lock=True)
            set_tag(conn, registered_model_tags, "model_id", row["model_id"], key, value)
            action = "model.set_tag" if value is not None else "model.delete_tag"
            event = AuditEvent(action, "model", name, after={key: value}, project=row["project"])
            audit.record(conn, [event], time_ms=now_ms())

        self.db.run_write(write)

    def delete(self, name: str) -> None:
        self._lifecycle(name, deleted=True)

    def restore(self, name: str) -> None:
        self._lifecycle(name, deleted=False)

    def _lifecycle(self, name: str, *, deleted: bool) -> None:
        name = check_model_name(name)

        def write(conn: Connection) -> None:
            row = model_row(conn, name, action="model.delete", lock=True, include_deleted=True)
            if (row["deleted_time"] is not None) == deleted:
                state = "deleted" if deleted else "not deleted"
                raise Conflict(f"registered model {name!r} is already {state}", field="name")
            t = now_ms()
            conn.execute(
                registered_models.update()
                .where(registered_models.c.model_id == row["model_id"])
                .values(deleted_time=t if deleted else None, updated_time=t)
            )
            action = "model.delete" if deleted else "model.restore"
            event = AuditEvent(action, "model", name, project=row["project"])
            audit.record(conn, [event], time_ms=t)

        self.db.run_write(write)
