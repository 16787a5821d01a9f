"""Aliases, alias history and per-alias policies, in SQL.

Moving an alias writes the alias row, an alias-history event, an audit entry and the webhook
events in one transaction. A policy on (model, alias) or ('*', alias) makes the move need an
approved request (``sql_approvals``): ``set_alias`` is refused for it.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from modelyard.identity import ADMIN_ROLE, Actor, current_actor, require_role
from modelyard.platform.checks import check_count
from modelyard.platform.ids import now_ms
from modelyard.platform.search.paging import encode_page_token, list_fingerprint, page_offset
from modelyard.registry import outbox
from modelyard.registry.entities import (
    AliasEvent,
    AliasPolicy,
)
from modelyard.registry.names import (
    GATE_TAG_PREFIX,
    check_alias,
    check_gate,
    check_model_name,
    check_version,
)
from modelyard.registry.sql_rows import model_row, version_row
from modelyard.registry.store import EVENTS_PAGE_DEFAULT, EVENTS_PAGE_MAX, LIST_DEFAULT, LIST_MAX
from modelyard.registry.tables import (
    alias_history,
    alias_policies,
    model_aliases,
    model_version_tags,
    model_versions,
)
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database


def _policy(row: Any) -> AliasPolicy:
    return AliasPolicy(
        model=row["model_key"],
        alias=row["alias"],
        require_approval=bool(row["require_approval"]),
        approver_role=row["approver_role"],
        min_approvals=int(row["min_approvals"]),
        allow_self_approval=bool(row["allow_self_approval"]),
        required_gates=orjson.loads(row["required_gates"]),
        updated_by=row["updated_by"],
        updated_time=int(row["updated_time"]),
    )


class SqlAliases:
    db: Database

    # --- aliases -------------------------------------------------------------------------
    def _resolve_alias(self, conn: Connection, model: Any, alias: str, at: int | None) -> int:
        check_alias(alias)
        if at is None:
            found = conn.execute(
                sa.select(model_versions.c.version)
                .join(model_aliases, model_aliases.c.version_id == model_versions.c.version_id)
                .where(
                    model_aliases.c.model_id == model["model_id"], model_aliases.c.alias == alias
                )
            ).scalar()
            if found is None:
                raise NotFound(f"model {model['name']!r} has no alias {alias!r}", field="alias")
            return int(found)
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

    def _policy_for(self, conn: Connection, name: str, alias: str) -> AliasPolicy | None:
        rows = (
            conn.execute(
                sa.select(alias_policies).where(
                    alias_policies.c.model_key.in_([name.lower(), "*"]),
                    alias_policies.c.alias == alias,
                )
            )
            .mappings()
            .all()
        )
        specific = [r for r in rows if r["model_key"] != "*"]
        chosen = specific or rows
        return _policy(chosen[0]) if chosen else None

    def _move_alias(
        self,
        conn: Connection,
        model: Any,
        alias: str,
        version: Any,
        actor: Actor,
        request_id: str | None,
        t: int,
    ) -> None:
        """Point ``alias`` at ``version`` (a version row, or None to delete it)."""
        current = conn.execute(
            sa.select(model_versions.c.version)
            .join(model_aliases, model_aliases.c.version_id == model_versions.c.version_id)
            .where(model_aliases.c.model_id == model["model_id"], model_aliases.c.alias == alias)
        ).scalar()
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
        audit.record(conn, [event], time_ms=t)
        data = {"alias": alias, "version": number, "previous_version": current}
        outbox.enqueue(
            conn, "alias.moved" if version is not None else "alias.deleted", name, data, time_ms=t
        )

    def set_alias(self, name: str, alias: str, version: int) -> None:
        name = check_model_name(name)
        alias = check_alias(alias)
        check_version(version)
        actor = current_actor()

        def write(conn: Connection) -> None:
            model = model_row(conn, name, lock=True)
            row = version_row(conn, model, version)
            policy = self._policy_for(conn, name, alias)
            if policy is not None and policy.require_approval:
                raise PermissionDenied(
                    f"alias {alias!r} of {name!r} is governed by a policy: it moves when a "
                    f"request is approved (request_approval({name!r}, {version}, "
                    f"alias={alias!r}); modelyard models approve ...)",
                    field="alias",
                )
            if policy is not None:
                self._check_gates(conn, name, row, policy)
            self._move_alias(conn, model, alias, row, actor, None, now_ms())

        self.db.run_write(write)

    def delete_alias(self, name: str, alias: str) -> None:
        name = check_model_name(name)
        alias = check_alias(alias)
        actor = current_actor()

        def write(conn: Connection) -> None:
            model = model_row(conn, name, lock=True)
            self._resolve_alias(conn, model, alias, None)  # NotFound for an unset alias
            policy = self._policy_for(conn, name, alias)
            if policy is not None and not actor.has_role(policy.approver_role):
                raise PermissionDenied(
                    f"alias {alias!r} of {name!r} is governed: removing it needs the "
                    f"{policy.approver_role!r} role, which {actor.name!r} does not hold",
                    field="alias",
                )
            self._move_alias(conn, model, alias, None, actor, None, now_ms())

        self.db.run_write(write)

    def alias_history_page(
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
            model = model_row(conn, name, include_deleted=True)
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

    # --- policies ------------------------------------------------------------------------
    def set_policy(self, policy: AliasPolicy) -> AliasPolicy:
        model_key = "*" if policy.model == "*" else check_model_name(policy.model, "model")
        alias = check_alias(policy.alias)
        role = check_alias(policy.approver_role, "approver_role")
        if (
            isinstance(policy.min_approvals, bool)
            or not isinstance(policy.min_approvals, int)
            or not 1 <= policy.min_approvals <= 10
        ):
            raise InvalidArgument(
                "min_approvals must be an integer from 1 to 10", field="min_approvals"
            )
        if not isinstance(policy.required_gates, list):
            raise InvalidArgument(
                "required_gates must be a list of gate names", field="required_gates"
            )
        gates = sorted({check_gate(g) for g in policy.required_gates})
        actor = require_role(ADMIN_ROLE, "changing alias policies")

        def write(conn: Connection) -> None:
            if model_key != "*":
                model_row(conn, model_key)
            key = model_key.lower()
            t = now_ms()
            before = (
                conn.execute(
                    sa.select(alias_policies).where(
                        alias_policies.c.model_key == key, alias_policies.c.alias == alias
                    )
                )
                .mappings()
                .first()
            )
            conn.execute(
                alias_policies.delete().where(
                    alias_policies.c.model_key == key, alias_policies.c.alias == alias
                )
            )
            values = {
                "require_approval": bool(policy.require_approval),
                "approver_role": role,
                "min_approvals": policy.min_approvals,
                "allow_self_approval": bool(policy.allow_self_approval),
                "required_gates": orjson.dumps(gates).decode(),
            }
            conn.execute(
                alias_policies.insert().values(
                    model_key=key, alias=alias, updated_by=actor.name, updated_time=t, **values
                )
            )
            event = AuditEvent(
                "policy.set",
                "policy",
                f"{key}@{alias}",
                before=None if before is None else _policy(before).to_dict(),
                after=values,
            )
            audit.record(conn, [event], time_ms=t)

        self.db.run_write(write)
        with self.db.read() as conn:
            row = (
                conn.execute(
                    sa.select(alias_policies).where(
                        alias_policies.c.model_key == model_key.lower(),
                        alias_policies.c.alias == alias,
                    )
                )
                .mappings()
                .one()
            )
        return _policy(row)

    def list_policies(
        self, model: str | None = None, *, limit: int = LIST_DEFAULT
    ) -> list[AliasPolicy]:
        check_count(limit, "limit", LIST_MAX)
        query = sa.select(alias_policies)
        if model is not None:
            query = query.where(alias_policies.c.model_key.in_([model.lower(), "*"]))
        query = query.order_by(alias_policies.c.model_key, alias_policies.c.alias).limit(limit)
        with self.db.read() as conn:
            return [_policy(r) for r in conn.execute(query).mappings()]

    def delete_policy(self, model: str, alias: str) -> None:
        require_role(ADMIN_ROLE, "changing alias policies")
        key = model.lower()

        def write(conn: Connection) -> None:
            gone = conn.execute(
                alias_policies.delete().where(
                    alias_policies.c.model_key == key, alias_policies.c.alias == alias
                )
            ).rowcount
            if not gone:
                raise NotFound(f"no policy for {model}@{alias}", field="alias")
            event = AuditEvent("policy.delete", "policy", f"{key}@{alias}")
            audit.record(conn, [event], time_ms=now_ms())

        self.db.run_write(write)

    def _check_gates(self, conn: Connection, name: str, version: Any, policy: AliasPolicy) -> None:
        if not policy.required_gates:
            return
        passed = set(
            conn.execute(
                sa.select(model_version_tags.c.key).where(
                    model_version_tags.c.version_id == version["version_id"],
                    model_version_tags.c.key.in_(
                        [GATE_TAG_PREFIX + g for g in policy.required_gates]
                    ),
                    model_version_tags.c.value == "passed",
                )
            ).scalars()
        )
        missing = [g for g in policy.required_gates if GATE_TAG_PREFIX + g not in passed]
        if missing:
            raise Conflict(
                f"version {version['version']} of {name!r} has not passed the gate(s) "
                f"{', '.join(missing)} that alias {policy.alias!r} requires "
                f"(a passed gate is the version tag {GATE_TAG_PREFIX}<gate> = 'passed')",
                field="version",
            )
