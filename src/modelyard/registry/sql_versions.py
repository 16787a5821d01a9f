"""Model versions in SQL: creation (numbered under the model row's lock), reads, search, tags,
soft delete and editable model-card sections.

Creating a version locks the model row FOR UPDATE (creating the model if need be) and takes the
next number in the same transaction, so concurrent creators each get exactly one distinct
version; the version row, its tags, its sealed source, its lineage edge from the source run,
its audit entry and its webhook events land together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.data.lineage_rows import add_edge
from modelyard.errors import Conflict, InvalidArgument, NotFound
from modelyard.identity import GATE_ROLE, current_actor
from modelyard.platform.checks import check_name, check_string_value
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import require_in, require_role_in, where_visible
from modelyard.platform.search.paging import (
    decode_page_token,
    encode_page_token,
    query_fingerprint,
)
from modelyard.platform.search.parser import parse_filter, parse_order_by
from modelyard.registry import outbox
from modelyard.registry.entities import CARD_SECTIONS, ModelVersion, NewModelVersion
from modelyard.registry.names import (
    GATE_TAG_PREFIX,
    check_alias,
    check_model_name,
    check_model_tags,
    check_signature,
    check_source,
    check_text,
    check_version,
    is_sha256,
)
from modelyard.registry.search import VERSION_COMPILER, VERSIONS
from modelyard.registry.sources import CheckedSource, check_model_source, seal_checked
from modelyard.registry.sql_aliases import resolve_alias
from modelyard.registry.sql_models import insert_model
from modelyard.registry.sql_rows import (
    VERSION_SELECT,
    build_versions,
    check_max_results,
    dumps,
    loads,
    model_row,
    set_tag,
    version_row,
    write_retrying,
)
from modelyard.registry.store import VersionStore
from modelyard.registry.tables import (
    model_aliases,
    model_version_tags,
    model_versions,
    registered_models,
)
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database
from modelyard.tracking.store import RunArtifacts, TrackingStore

NODE_MODEL_VERSION = "model_version"


def _check_fields(draft: NewModelVersion) -> dict[str, str]:
    """What a caller passed, checked; the version's tags."""
    check_source(draft.source)
    check_text(draft.description, "description")
    tags = check_model_tags(draft.tags)
    if draft.flavor is not None:
        check_name(draft.flavor, "flavor", max_len=64)
    if draft.model_digest is not None and (
        not isinstance(draft.model_digest, str) or not is_sha256(draft.model_digest)
    ):
        raise InvalidArgument("model_digest must be 64 hex characters", field="model_digest")
    check_signature(draft.signature)
    return tags


def _as_recorded(draft: NewModelVersion, checked: CheckedSource) -> NewModelVersion:
    """The draft with what the model's own files say: said otherwise by the caller, refused."""
    for field, said, recorded in (
        ("flavor", draft.flavor, checked.flavor),
        ("signature", draft.signature, checked.signature),
    ):
        if said is not None and said != recorded:
            raise InvalidArgument(
                f"{field} {str(said)[:100]!r} is not the model's own ({str(recorded)[:100]!r} "
                "in its model.yaml); leave it out, it is read from there",
                field=field,
            )
    draft = replace(
        draft,
        run_id=checked.run_id,
        model_digest=checked.digest,
        flavor=checked.flavor,
        signature=checked.signature,
    )
    check_signature(draft.signature)  # what a card renders, checked as a caller's would be
    return draft


def _insert_version(
    conn: Connection, draft: NewModelVersion, tags: dict[str, str], checked: CheckedSource
) -> str:
    """The version's rows, its seal, lineage, audit entry and webhook events; its id."""
    name = draft.name
    model = insert_model(conn, name, None, {}, exists_ok=True, project=draft.project)
    version = int(model["last_version"]) + 1
    version_id = uuid.uuid4().hex
    t = now_ms()
    actor = current_actor().name
    seal_checked(conn, checked, actor=actor, time_ms=t)
    conn.execute(
        model_versions.insert().values(
            version_id=version_id,
            model_id=model["model_id"],
            version=version,
            source=draft.source,
            run_id=draft.run_id,
            status="READY",
            description=draft.description,
            flavor=draft.flavor,
            model_digest=draft.model_digest,
            signature=dumps(draft.signature),
            created_by=actor,
            created_time=t,
            updated_time=t,
        )
    )
    conn.execute(
        registered_models.update()
        .where(registered_models.c.model_id == model["model_id"])
        .values(last_version=version, updated_time=t)
    )
    if tags:
        conn.execute(
            model_version_tags.insert(),
            [{"version_id": version_id, "key": k, "value": v} for k, v in tags.items()],
        )
    if draft.run_id is not None:
        add_edge(conn, ("run", draft.run_id), (NODE_MODEL_VERSION, version_id), "output", "model")
    after = {"source": draft.source, "run_id": draft.run_id, "digest": draft.model_digest}
    event = AuditEvent("model_version.create", "model_version", f"{name}/{version}", after=after)
    audit.record(conn, [replace(event, project=model["project"])], time_ms=t)
    outbox.enqueue(
        conn,
        "model_version.created",
        name,
        {"version": version, "source": draft.source, "run_id": draft.run_id},
        project=model["project"],
        time_ms=t,
    )
    return version_id


class SqlVersions(VersionStore):
    def __init__(self, db: Database, runs: TrackingStore, artifacts: RunArtifacts) -> None:
        self.db = db
        self.runs = runs
        self.artifacts = artifacts

    def create(self, draft: NewModelVersion) -> ModelVersion:
        draft = replace(draft, name=check_model_name(draft.name))
        tags = _check_fields(draft)
        if draft.run_id is not None:
            self.runs.get_run(draft.run_id)  # NotFound before anything is written
        checked = check_model_source(
            self.artifacts, draft.source, draft.run_id, draft.model_digest
        )  # the files are the store's own, and model.yaml fits them, before anything is written
        draft = _as_recorded(draft, checked)
        version_id = write_retrying(
            self.db, lambda conn: _insert_version(conn, draft, tags, checked)
        )
        with self.db.read() as conn:
            row = (
                conn.execute(VERSION_SELECT.where(model_versions.c.version_id == version_id))
                .mappings()
                .one()
            )
            return build_versions(conn, [row])[0]

    def get(
        self,
        name: str,
        version: int | None = None,
        *,
        alias: str | None = None,
        at: int | None = None,
        include_deleted: bool = False,
    ) -> ModelVersion:
        name = check_model_name(name)
        if version is not None:
            check_version(version)
        if alias is not None:
            check_alias(alias)
        with self.db.read() as conn:
            model = model_row(conn, name, action="model.read", include_deleted=include_deleted)
            if alias is not None:
                version = resolve_alias(conn, model, alias, at)
            elif version is None:
                version = self._latest(conn, model)
            row = version_row(conn, model, version, include_deleted=include_deleted)
            return build_versions(conn, [{**row, "name": model["name"]}])[0]

    def _latest(self, conn: Connection, model: Any) -> int:
        found = conn.execute(
            sa.select(sa.func.max(model_versions.c.version)).where(
                model_versions.c.model_id == model["model_id"],
                model_versions.c.deleted_time.is_(None),
            )
        ).scalar()
        if found is None:
            raise InvalidArgument(
                f"registered model {model['name']!r} has no versions yet", field="version"
            )
        return int(found)

    def search(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[ModelVersion], str | None]:
        max_results = check_max_results(max_results)
        expr = parse_filter(filter_string, VERSIONS)
        order = VERSION_COMPILER.order(parse_order_by(order_by, VERSIONS))
        fingerprint = query_fingerprint(
            ["versions"], filter_string or "", list(order_by or []), str(include_deleted)
        )
        offset = decode_page_token(page_token, fingerprint) if page_token else 0
        query = where_visible(VERSION_SELECT, registered_models.c.project)
        if not include_deleted:
            query = query.where(
                model_versions.c.deleted_time.is_(None),
                registered_models.c.deleted_time.is_(None),
            )
        if expr is not None:
            query = query.where(VERSION_COMPILER.where(expr))
        query = query.order_by(
            *order, registered_models.c.name_key.asc(), model_versions.c.version.desc()
        )
        with self.db.read() as conn:
            rows = list(conn.execute(query.limit(max_results + 1).offset(offset)).mappings())
            found = build_versions(conn, rows[:max_results])
        more = len(rows) > max_results
        return found, encode_page_token(offset + max_results, fingerprint) if more else None

    def update(self, name: str, version: int, description: str | None) -> ModelVersion:
        name = check_model_name(name)
        check_version(version)
        description = check_text(description, "description")

        def write(conn: Connection) -> None:
            model = model_row(conn, name, action="model.write", lock=True)
            row = version_row(conn, model, version)
            t = now_ms()
            conn.execute(
                model_versions.update()
                .where(model_versions.c.version_id == row["version_id"])
                .values(description=description, updated_time=t)
            )
            event = AuditEvent(
                "model_version.update",
                "model_version",
                f"{name}/{version}",
                before={"description": row["description"]},
                after={"description": description},
            )
            audit.record(conn, [replace(event, project=model["project"])], time_ms=t)

        self.db.run_write(write)
        return self.get(name, version)

    def set_tag(self, name: str, version: int, key: str, value: str) -> None:
        self._tag(name, version, key, value)

    def delete_tag(self, name: str, version: int, key: str) -> None:
        self._tag(name, version, key, None)

    def _tag(self, name: str, version: int, key: str, value: str | None) -> None:
        name = check_model_name(name)
        check_version(version)
        key = check_name(key, "key")
        if value is not None:
            value = check_string_value(value, "value", 5000)

        def write(conn: Connection) -> None:
            model = model_row(conn, name, action="model.read", lock=True)
            project = model["project"]
            if key.startswith(GATE_TAG_PREFIX):  # a gate result unlocks approvals
                require_role_in(GATE_ROLE, project, f"recording gate {key!r}", or_admin=True)
            else:
                missing = NotFound(f"registered model {name!r} does not exist", field="name")
                require_in("model.write", project, missing)
            row = version_row(conn, model, version)
            set_tag(conn, model_version_tags, "version_id", row["version_id"], key, value)
            action = "model_version.set_tag" if value is not None else "model_version.delete_tag"
            event = AuditEvent(action, "model_version", f"{name}/{version}", after={key: value})
            audit.record(conn, [replace(event, project=model["project"])], time_ms=now_ms())

        self.db.run_write(write)

    def delete(self, name: str, version: int) -> None:
        self._lifecycle(name, version, deleted=True)

    def restore(self, name: str, version: int) -> None:
        self._lifecycle(name, version, deleted=False)

    def _lifecycle(self, name: str, version: int, *, deleted: bool) -> None:
        name = check_model_name(name)
        check_version(version)

        def write(conn: Connection) -> None:
            model = model_row(conn, name, action="model.delete", lock=True)
            row = version_row(conn, model, version, include_deleted=True)
            if (row["deleted_time"] is not None) == deleted:
                state = "deleted" if deleted else "not deleted"
                raise Conflict(f"version {version} of {name!r} is already {state}", field="version")
            if deleted:
                held = sorted(
                    conn.execute(
                        sa.select(model_aliases.c.alias).where(
                            model_aliases.c.version_id == row["version_id"]
                        )
                    ).scalars()
                )
                if held:
                    raise Conflict(
                        f"version {version} of {name!r} holds the alias(es) {', '.join(held)}; "
                        "move or delete them first",
                        field="version",
                    )
            t = now_ms()
            conn.execute(
                model_versions.update()
                .where(model_versions.c.version_id == row["version_id"])
                .values(deleted_time=t if deleted else None, updated_time=t)
            )
            action = "model_version.delete" if deleted else "model_version.restore"
            event = AuditEvent(action, "model_version", f"{name}/{version}")
            audit.record(conn, [replace(event, project=model["project"])], time_ms=t)

        self.db.run_write(write)

    def set_card(self, name: str, version: int | None, sections: dict[str, str]) -> None:
        name = check_model_name(name)
        clean = _check_sections(sections)

        def write(conn: Connection) -> None:
            model = model_row(conn, name, action="model.write", lock=True)
            t = now_ms()
            stored = model["card"]
            if version is None:
                table, key, ident, target = (
                    registered_models,
                    registered_models.c.model_id,
                    model["model_id"],
                    name,
                )
            else:
                row = version_row(conn, model, check_version(version))
                table, key, ident, target = (
                    model_versions,
                    model_versions.c.version_id,
                    row["version_id"],
                    f"{name}/{version}",
                )
                stored = row["card"]
            # the sections given replace theirs; the others stay; an empty text removes one
            merged = {**(loads(stored) or {}), **clean}
            merged = {k: v for k, v in merged.items() if v}
            conn.execute(
                table.update().where(key == ident).values(card=dumps(merged), updated_time=t)
            )
            kind = "model" if version is None else "model_version"
            event = AuditEvent(f"{kind}.set_card", kind, target, after=clean)
            audit.record(conn, [replace(event, project=model["project"])], time_ms=t)

        self.db.run_write(write)


def _check_sections(sections: Any) -> dict[str, str]:
    if not isinstance(sections, dict):
        raise InvalidArgument("card sections must be a mapping", field="sections")
    out = {}
    for key, text in sections.items():
        if key not in CARD_SECTIONS:
            raise InvalidArgument(
                f"unknown card section {key!r} (expected {', '.join(CARD_SECTIONS)})",
                field="sections",
            )
        out[key] = check_text(text, f"sections.{key}", 50_000) or ""
    return out
