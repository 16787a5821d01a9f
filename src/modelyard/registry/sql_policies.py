"""Per-alias policies in SQL, and the two checks every alias move makes against them.

A policy on (model, alias) or ('*', alias) makes the move need an approved request
(``sql_approvals``) and, optionally, passed gates. ``policy_for`` and ``check_gates`` run on the
caller's connection, inside the transaction of the move they guard.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import Conflict, InvalidArgument, NotFound
from modelyard.identity import ADMIN_ROLE, current_actor
from modelyard.platform.checks import check_count
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import (
    check_project_exists,
    new_object_project,
    require_role_in,
    where_visible,
)
from modelyard.registry.entities import AliasPolicy
from modelyard.registry.names import GATE_TAG_PREFIX, check_alias, check_gate, check_model_name
from modelyard.registry.sql_rows import model_row
from modelyard.registry.store import LIST_DEFAULT, LIST_MAX, PolicyStore
from modelyard.registry.tables import alias_policies, model_version_tags
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
        project=row["project"],
    )


def policy_for(conn: Connection, model: Any, alias: str) -> AliasPolicy | None:
    """The policy of ``alias`` of ``model`` (its row): its own, else the '*' one of its
    project, else None."""
    rows = (
        conn.execute(
            sa.select(alias_policies).where(
                alias_policies.c.project == model["project"],
                alias_policies.c.model_key.in_([str(model["name"]).lower(), "*"]),
                alias_policies.c.alias == alias,
            )
        )
        .mappings()
        .all()
    )
    specific = [r for r in rows if r["model_key"] != "*"]
    chosen = specific or rows
    return _policy(chosen[0]) if chosen else None


def check_gates(conn: Connection, name: str, version: Any, policy: AliasPolicy) -> None:
    """Conflict unless ``version`` (a row) has passed every gate the policy requires."""
    if not policy.required_gates:
        return
    passed = set(
        conn.execute(
            sa.select(model_version_tags.c.key).where(
                model_version_tags.c.version_id == version["version_id"],
                model_version_tags.c.key.in_([GATE_TAG_PREFIX + g for g in policy.required_gates]),
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


def _check_policy(policy: AliasPolicy) -> tuple[str, str, str, list[str]]:
    """The model key ('*' or a model name), alias, approver role and sorted gates."""
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
        raise InvalidArgument("required_gates must be a list of gate names", field="required_gates")
    gates = sorted({check_gate(g) for g in policy.required_gates})
    return model_key, alias, role, gates


def _where(project: str, key: str, alias: str) -> Any:
    return sa.and_(
        alias_policies.c.project == project,
        alias_policies.c.model_key == key,
        alias_policies.c.alias == alias,
    )


def _policy_project(conn: Connection, model_key: str, asked: str | None) -> str:
    """The project a policy is in: its model's, or for '*' the one asked for (the caller's
    only one, else default); the caller must hold the admin role there."""
    if model_key != "*":
        project = str(model_row(conn, model_key, action="policy.write")["project"])
    else:
        project = new_object_project(asked, "policy.write")
        check_project_exists(conn, project)
    require_role_in(ADMIN_ROLE, project, "changing alias policies")
    return project


class SqlPolicies(PolicyStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def set(self, policy: AliasPolicy) -> AliasPolicy:
        model_key, alias, role, gates = _check_policy(policy)
        actor = current_actor()
        key = model_key.lower()

        def write(conn: Connection) -> str:
            project = _policy_project(conn, model_key, policy.project)
            t = now_ms()
            query = sa.select(alias_policies).where(_where(project, key, alias))
            before = conn.execute(query).mappings().first()
            conn.execute(alias_policies.delete().where(_where(project, key, alias)))
            values = {
                "require_approval": bool(policy.require_approval),
                "approver_role": role,
                "min_approvals": policy.min_approvals,
                "allow_self_approval": bool(policy.allow_self_approval),
                "required_gates": orjson.dumps(gates).decode(),
            }
            conn.execute(
                alias_policies.insert().values(
                    project=project,
                    model_key=key,
                    alias=alias,
                    updated_by=actor.name,
                    updated_time=t,
                    **values,
                )
            )
            event = AuditEvent(
                "policy.set",
                "policy",
                f"{key}@{alias}",
                before=None if before is None else _policy(before).to_dict(),
                after=values,
                project=project,
            )
            audit.record(conn, [event], time_ms=t)
            return project

        project = self.db.run_write(write)
        with self.db.read() as conn:
            found = sa.select(alias_policies).where(_where(project, key, alias))
            return _policy(conn.execute(found).mappings().one())

    def list_all(self, model: str | None = None, *, limit: int = LIST_DEFAULT) -> list[AliasPolicy]:
        check_count(limit, "limit", LIST_MAX)
        query = where_visible(sa.select(alias_policies), alias_policies.c.project)
        order = (alias_policies.c.project, alias_policies.c.model_key, alias_policies.c.alias)
        with self.db.read() as conn:
            if model is not None:
                row = model_row(conn, check_model_name(model), action="policy.read")
                query = query.where(
                    alias_policies.c.project == row["project"],
                    alias_policies.c.model_key.in_([model.lower(), "*"]),
                )
            return [
                _policy(r) for r in conn.execute(query.order_by(*order).limit(limit)).mappings()
            ]

    def delete(self, model: str, alias: str, project: str | None = None) -> None:
        key = model.lower()

        def write(conn: Connection) -> None:
            where = _policy_project(conn, model, project)
            gone = conn.execute(alias_policies.delete().where(_where(where, key, alias))).rowcount
            if not gone:
                raise NotFound(f"no policy for {model}@{alias}", field="alias")
            event = AuditEvent("policy.delete", "policy", f"{key}@{alias}", project=where)
            audit.record(conn, [event], time_ms=now_ms())

        self.db.run_write(write)
