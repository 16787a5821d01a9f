"""Aliases and their history, in SQL.

Moving an alias writes the alias row, an alias-history event, an audit entry and the webhook
events in one transaction (``move_alias``, on the caller's connection: a plain ``set`` or an
approval's). An alias governed by a policy (``sql_policies``) moves only when a request is
approved (``sql_approvals``): ``set`` is refused for it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import InvalidArgument, NotFound, PermissionDenied
from modelyard.identity import Actor, current_actor
from modelyard.platform.checks import check_count
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import holds_role, require_in
from modelyard.platform.search.paging import encode_page_token, list_fingerprint, page_offset
from modelyard.registry import outbox
from modelyard.registry.entities import AliasEvent
from modelyard.registry.names import check_alias, check_model_name, check_version
from modelyard.registry.sql_policies import check_gates, policy_for
from modelyard.registry.sql_rows import model_row, version_row
from modelyard.registry.store import EVENTS_PAGE_DEFAULT, EVENTS_PAGE_MAX, AliasStore
from modelyard.registry.tables import alias_history, model_aliases, model_versions
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database


def _current(conn: Connection, model: Any, alias: str) -> int | None:
    found = conn.execute(
        sa.select(model_versions.c.version)
        .join(model_aliases, model_aliases.c.version_id == model_versions.c.version_id)
        .where(model_aliases.c.model_id == model["model_id"], model_aliases.c.alias == alias)
    ).scalar()
    return None if found is None else int(found)


def resolve_alias(conn: Connection, model: Any, alias: str, at: int | None) -> int:
    """The version ``alias`` of ``model`` (a row) names, or named at time ``at``."""
    check_alias(alias)
    if at is None:
        found = _current(conn, model, alias)
        if found is None:
            raise NotFound(f"model {model['name']!r} has no alias {alias!r}", field="alias")
        return found
    if isinstance(at, bool) or not isinstance(at, int):
        raise InvalidArgument("at must be a time in epoch milliseconds", field="at")
    event = conn.execute(
        sa.select(alias_history.c.version)
        .where(
            alias_history.c.model_id == model["model_id"],
            alias_history.c.alias == alias,
            alias_history.c.time <= at,
        )
        .order_by(alias_history.c.time.desc(), alias_history.c.event_id.desc())
        .limit(1)
    ).first()
    if event is None or event[0] is None:
        raise NotFound(
            f"model {model['name']!r} had no alias {alias!r} at {at} (epoch ms)", field="at"
        )
    return int(event[0])


def move_alias(
    conn: Connection,
    model: Any,
    alias: str,
    version: Any,
    actor: Actor,
    request_id: str | None,
    t: int,
) -> None:
    """Point ``alias`` at ``version`` (a version row, or None to delete it)."""
    current = _current(conn, model, alias)
    conn.execute(
        model_aliases.delete().where(
            model_aliases.c.model_id == model["model_id"], model_aliases.c.alias == alias
        )
    )
    number = None if version is None else int(version["version"])
    if version is not None:
        conn.execute(
            model_aliases.insert().values(
                model_id=model["model_id"],
                alias=alias,
                version_id=version["version_id"],
                set_by=actor.name,
                set_time=t,
            )
        )
    conn.execute(
        alias_history.insert().values(
            model_id=model["model_id"],
            alias=alias,
            version=number,
            previous_version=current,
            actor=actor.name,
            time=t,
            request_id=request_id,
        )
    )
    name = model["name"]
    action = "alias.set" if version is not None else "alias.delete"
    event = AuditEvent(
        action,
        "model",
        name,
        before={"alias": alias, "version": current},
        after={"alias": alias, "version": number, "request_id": request_id},
    )
    audit.record(conn, [replace(event, project=model["project"])], time_ms=t)
    data = {"alias": alias, "version": number, "previous_version": current}
    moved = "alias.moved" if version is not None else "alias.deleted"
    outbox.enqueue(conn, moved, name, data, project=model["project"], time_ms=t)


def _missing(name: str) -> NotFound:
    return NotFound(f"registered model {name!r} does not exist", field="name")


class SqlAliases(AliasStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def set(self, name: str, alias: str, version: int) -> None:
        name = check_model_name(name)
        alias = check_alias(alias)
        check_version(version)
        actor = current_actor()

        def write(conn: Connection) -> None:
            model = model_row(conn, name, action="model.read", lock=True)
            row = version_row(conn, model, version)
            policy = policy_for(conn, model, alias)
            if policy is not None and policy.require_approval:
                raise PermissionDenied(
                    f"alias {alias!r} of {name!r} is governed by a policy: it moves when a "
                    f"request is approved (request_approval({name!r}, {version}, "
                    f"alias={alias!r}); modelyard models approve ...)",
                    field="alias",
                )
            require_in("alias.set", model["project"], _missing(name))
            if policy is not None:
                check_gates(conn, name, row, policy)
            move_alias(conn, model, alias, row, actor, None, now_ms())

        self.db.run_write(write)

    def delete(self, name: str, alias: str) -> None:
        name = check_model_name(name)
        alias = check_alias(alias)
        actor = current_actor()

        def write(conn: Connection) -> None:
            model = model_row(conn, name, action="model.read", lock=True)
            resolve_alias(conn, model, alias, None)  # NotFound for an unset alias
            policy = policy_for(conn, model, alias)
            if policy is None:
                require_in("alias.set", model["project"], _missing(name))
            elif not holds_role(actor, policy.approver_role, model["project"]):
                raise PermissionDenied(
                    f"alias {alias!r} of {name!r} is governed: removing it needs the "
                    f"{policy.approver_role!r} role, which {actor.name!r} does not hold",
                    field="alias",
                )
            move_alias(conn, model, alias, None, actor, None, now_ms())

        self.db.run_write(write)

    def history_page(
        self,
        name: str,
        alias: str | None = None,
        *,
        limit: int = EVENTS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[AliasEvent], str | None]:
        name = check_model_name(name)
        if alias is not None:
            check_alias(alias)
        check_count(limit, "limit", EVENTS_PAGE_MAX)
        with self.db.read() as conn:
            model = model_row(conn, name, action="model.read", include_deleted=True)
            fingerprint = list_fingerprint("alias_history", model=model["model_id"], alias=alias)
            offset = page_offset(page_token, fingerprint, "model and alias")
            query = sa.select(alias_history).where(alias_history.c.model_id == model["model_id"])
            if alias is not None:
                query = query.where(alias_history.c.alias == alias)
            rows = (
                conn.execute(
                    query.order_by(alias_history.c.time, alias_history.c.event_id)
                    .limit(limit + 1)
                    .offset(offset)
                )
                .mappings()
                .all()
            )
        token = encode_page_token(offset + limit, fingerprint) if len(rows) > limit else None
        found = [
            AliasEvent(
                r["alias"],
                r["version"],
                r["previous_version"],
                r["actor"],
                int(r["time"]),
                r["request_id"],
            )
            for r in rows[:limit]
        ]
        return found, token
