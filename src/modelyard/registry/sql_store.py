"""The SQL registry store (SQLite or PostgreSQL): registered models, versions and their tags.

Creating a version locks the model row FOR UPDATE and takes the next number in the same
transaction, so concurrent creators each get exactly one distinct version; the version row, its
tags, its lineage edge from the source run, its audit entry and its webhook events land
together or not at all. The store is composed from one mixin per concern: ``sql_versions``,
``sql_aliases`` (aliases and policies), ``sql_approvals``, ``sql_webhooks`` and
``sql_deployments``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.data.lineage_rows import register_labeller
from modelyard.errors import Conflict
from modelyard.platform.checks import check_name, check_string_value
from modelyard.platform.ids import now_ms
from modelyard.platform.search.paging import (
    decode_page_token,
    encode_page_token,
    query_fingerprint,
)
from modelyard.platform.search.parser import parse_filter
from modelyard.registry.entities import (
    RegisteredModel,
)
from modelyard.registry.names import (
    check_model_name,
    check_model_tags,
    check_text,
)
from modelyard.registry.search import MODEL_COMPILER, MODELS
from modelyard.registry.sql_deployments import SqlDeployments
from modelyard.registry.sql_rows import (
    build_models,
    check_max_results,
    model_row,
    set_tag,
)
from modelyard.registry.sql_versions import NODE_MODEL_VERSION, SqlVersions
from modelyard.registry.sql_webhooks import SqlWebhooks
from modelyard.registry.store import RegistryStore
from modelyard.registry.tables import (
    model_versions,
    registered_model_tags,
    registered_models,
)
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database
from modelyard.store.migrate import upgrade
from modelyard.tracking.store import RunArtifacts, TrackingStore


def _label(conn: Connection, version_id: str) -> str | None:
    row = conn.execute(
        sa.select(registered_models.c.name, model_versions.c.version)
        .join(registered_models, registered_models.c.model_id == model_versions.c.model_id)
        .where(model_versions.c.version_id == version_id)
    ).first()
    return f"{row[0]}/{row[1]}" if row else None


register_labeller(NODE_MODEL_VERSION, _label)


class SqlRegistryStore(SqlVersions, SqlWebhooks, SqlDeployments, RegistryStore):
    def __init__(
        self,
        db: Database,
        runs: TrackingStore,
        artifacts: RunArtifacts,
        *,
        allow_private_webhooks: bool = False,
    ) -> None:
        self.db = db
        self.runs = runs
        self.artifacts = artifacts
        self.allow_private_webhooks = allow_private_webhooks
        upgrade(db)

    # --- registered models ---------------------------------------------------------------
    def create_model(
        self, name: str, description: str | None = None, tags: dict[str, str] | None = None
    ) -> RegisteredModel:
        name = check_model_name(name)
        description = check_text(description, "description")
        clean = check_model_tags(tags)

        def write(conn: Connection) -> None:
            self._insert_model(conn, name, description, clean, exists_ok=False)

        self._write(write)
        return self.get_model(name)

    def get_model(self, name: str, *, include_deleted: bool = False) -> RegisteredModel:
        name = check_model_name(name)
        with self.db.read() as conn:
            return build_models(conn, [model_row(conn, name, include_deleted=include_deleted)])[0]

    def search_models(
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
        query = sa.select(registered_models)
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

    def update_model(self, name: str, description: str | None) -> RegisteredModel:
        name = check_model_name(name)
        description = check_text(description, "description")

        def write(conn: Connection) -> None:
            row = model_row(conn, name, lock=True)
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
            )
            audit.record(conn, [event], time_ms=t)

        self.db.run_write(write)
        return self.get_model(name)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        self._model_tag(name, key, value)

    def delete_model_tag(self, name: str, key: str) -> None:
        self._model_tag(name, key, None)

    def _model_tag(self, name: str, key: str, value: str | None) -> None:
        name = check_model_name(name)
        key = check_name(key, "key")
        if value is not None:
            value = check_string_value(value, "value", 5000)

        def write(conn: Connection) -> None:
            row = model_row(conn, name, lock=True)
            set_tag(conn, registered_model_tags, "model_id", row["model_id"], key, value)
            action = "model.set_tag" if value is not None else "model.delete_tag"
            event = AuditEvent(action, "model", name, after={key: value})
            audit.record(conn, [event], time_ms=now_ms())

        self.db.run_write(write)

    def delete_model(self, name: str) -> None:
        self._model_lifecycle(name, deleted=True)

    def restore_model(self, name: str) -> None:
        self._model_lifecycle(name, deleted=False)

    def _model_lifecycle(self, name: str, *, deleted: bool) -> None:
        name = check_model_name(name)

        def write(conn: Connection) -> None:
            row = model_row(conn, name, lock=True, include_deleted=True)
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
            audit.record(conn, [AuditEvent(action, "model", name)], time_ms=t)

        self.db.run_write(write)

    def close(self) -> None:
        self.db.dispose()
