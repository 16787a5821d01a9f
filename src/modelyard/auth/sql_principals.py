"""Users and service accounts in SQL: made, listed, disabled, their passwords set by an admin
or changed by themselves. Only a global admin manages principals (``user.*`` actions); with
auth off (the embedded store, an operator at the database) every check passes."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.auth.entities import NewUser, Principal, PrincipalKind
from modelyard.auth.names import check_principal_name, name_key
from modelyard.auth.passwords import PasswordCost, hash_password, verify_password
from modelyard.auth.sql_rows import (
    PRINCIPAL_COLUMNS,
    PRINCIPAL_FROM,
    bump_grants,
    principal_of,
    principal_row,
)
from modelyard.auth.sql_serving_tokens import revoke_principal
from modelyard.auth.tables import login_failures, passwords, principals, sessions
from modelyard.errors import AlreadyExists, Conflict, InvalidArgument, Unauthenticated
from modelyard.identity import current_actor
from modelyard.platform.access import require
from modelyard.platform.ids import now_ms
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database

WRONG = "invalid username or password"


def one_time_password() -> str:
    return secrets.token_urlsafe(18)  # 24 characters, 144 bits


class SqlPrincipals:
    def __init__(self, db: Database, cost: PasswordCost) -> None:
        self.db = db
        self.cost = cost

    def _insert(self, conn: Connection, name: str, kind: PrincipalKind, **values: Any) -> str:
        key = name_key(name)
        taken = conn.execute(
            sa.select(principals.c.name).where(principals.c.name_key == key)
        ).scalar()
        if taken is not None:
            raise AlreadyExists(f"a user or service account named {taken!r} exists", field="name")
        principal_id = uuid.uuid4().hex
        conn.execute(
            principals.insert().values(
                principal_id=principal_id,
                kind=kind,
                name=name,
                name_key=key,
                created_by=current_actor().name,
                created_time=now_ms(),
                **values,
            )
        )
        return principal_id

    def create_user(
        self,
        name: str,
        *,
        admin: bool = False,
        password: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
    ) -> NewUser:
        check_principal_name(name)
        require("user.write", None, "")
        for field, value in (("email", email), ("display_name", display_name)):
            if value is not None and (not isinstance(value, str) or len(value) > 256):
                raise InvalidArgument(
                    f"{field} must be text of at most 256 characters", field=field
                )
        one_time = password is None
        secret = one_time_password() if password is None else password
        hashed = hash_password(secret, self.cost)  # before the transaction: it takes a while

        def write(conn: Connection) -> None:
            principal_id = self._insert(
                conn, name, "user", is_admin=bool(admin), email=email, display_name=display_name
            )
            conn.execute(
                passwords.insert().values(
                    principal_id=principal_id,
                    hash=hashed,
                    must_change=one_time,
                    changed_time=now_ms(),
                )
            )
            bump_grants(conn)
            after = {"kind": "user", "admin": bool(admin)}
            audit.record(
                conn, [AuditEvent("user.create", "principal", name, after=after)], time_ms=now_ms()
            )

        self.db.run_write(write)
        return NewUser(self.get(name), secret if one_time else "")

    def create_service_account(self, name: str, *, owner: str | None = None) -> Principal:
        check_principal_name(name)
        require("service_account.write", None, "")
        owner_name = owner if owner is not None else current_actor().name

        def write(conn: Connection) -> None:
            found = principal_row(conn, owner_name)
            if found["kind"] != "user":
                raise InvalidArgument(
                    "the owner of a service account must be a user", field="owner"
                )
            self._insert(conn, name, "service", owner_id=found["principal_id"])
            after = {"kind": "service", "owner": found["name"]}
            audit.record(
                conn,
                [AuditEvent("service_account.create", "principal", name, after=after)],
                time_ms=now_ms(),
            )

        self.db.run_write(write)
        return self.get(name)

    def get(self, name: str) -> Principal:
        me = current_actor()
        if me.grants is not None and name_key(name) != name_key(me.name):
            require("user.read", None, "")
        with self.db.read() as conn:
            return principal_of(principal_row(conn, name))

    def list_all(self, kind: PrincipalKind | None = None) -> list[Principal]:
        require("user.read", None, "")
        query = sa.select(*PRINCIPAL_COLUMNS).select_from(PRINCIPAL_FROM)
        if kind is not None:
            query = query.where(principals.c.kind == kind)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(principals.c.name_key)).mappings().all()
        return [principal_of(r) for r in rows]

    def set_disabled(self, name: str, disabled: bool) -> Principal:
        require("user.write", None, "")

        def write(conn: Connection) -> None:
            row = principal_row(conn, name)
            t = now_ms()
            if disabled and row["is_admin"] and row["disabled_time"] is None:
                others = conn.execute(
                    sa.select(principals.c.principal_id).where(
                        principals.c.is_admin,
                        principals.c.disabled_time.is_(None),
                        principals.c.principal_id != row["principal_id"],
                    )
                ).first()
                if others is None:  # nobody could log in to manage the server any more
                    raise Conflict(
                        f"{row['name']!r} is the last global admin; make another one first",
                        field="name",
                    )
            conn.execute(
                principals.update()
                .where(principals.c.principal_id == row["principal_id"])
                .values(disabled_time=t if disabled else None)
            )
            if disabled:
                _end_sessions(conn, row["principal_id"], t)
                revoke_principal(conn, row["principal_id"], t)
            bump_grants(conn)
            action = "user.disable" if disabled else "user.enable"
            audit.record(conn, [AuditEvent(action, "principal", row["name"])], time_ms=t)

        self.db.run_write(write)
        return self.get(name)

    def reset_password(self, name: str, password: str | None = None) -> NewUser:
        require("user.write", None, "")
        one_time = password is None
        secret = one_time_password() if password is None else password
        hashed = hash_password(secret, self.cost)

        def write(conn: Connection) -> None:
            row = principal_row(conn, name)
            if row["kind"] != "user":
                raise InvalidArgument(
                    "only a user has a password; a service account uses tokens", field="name"
                )
            self._set_hash(conn, row["principal_id"], hashed, must_change=one_time)
            audit.record(
                conn,
                [AuditEvent("user.password_reset", "principal", row["name"])],
                time_ms=now_ms(),
            )

        self.db.run_write(write)
        return NewUser(self.get(name), secret if one_time else "")

    def change_password(self, name: str, old: str, new: str) -> None:
        """A user's own change, proven by the old password (works while ``must_change``)."""
        hashed = hash_password(new, self.cost)
        with self.db.read() as conn:
            row = (
                conn.execute(
                    sa.select(passwords.c.hash, principals.c.principal_id, principals.c.name)
                    .join(passwords, passwords.c.principal_id == principals.c.principal_id)
                    .where(
                        principals.c.name_key == name_key(name),
                        principals.c.disabled_time.is_(None),
                    )
                )
                .mappings()
                .first()
            )
        if row is None or not verify_password(row["hash"], old, self.cost)[0]:
            raise Unauthenticated(WRONG)
        if verify_password(row["hash"], new, self.cost)[0]:
            raise InvalidArgument(
                "the new password must differ from the old one", field="new_password"
            )

        def write(conn: Connection) -> None:
            self._set_hash(conn, row["principal_id"], hashed, must_change=False)
            audit.record(
                conn,
                [AuditEvent("user.password_change", "principal", row["name"])],
                time_ms=now_ms(),
            )

        self.db.run_write(write)

    def _set_hash(
        self, conn: Connection, principal_id: str, hashed: str, *, must_change: bool
    ) -> None:
        t = now_ms()
        done = conn.execute(
            passwords.update()
            .where(passwords.c.principal_id == principal_id)
            .values(hash=hashed, must_change=must_change, changed_time=t)
        )
        if done.rowcount == 0:
            conn.execute(
                passwords.insert().values(
                    principal_id=principal_id, hash=hashed, must_change=must_change, changed_time=t
                )
            )
        _end_sessions(conn, principal_id, t)

    def unlock(self, name: str) -> None:
        require("user.write", None, "")

        def write(conn: Connection) -> None:
            conn.execute(login_failures.delete().where(login_failures.c.name_key == name_key(name)))
            audit.record(
                conn, [AuditEvent("auth.unlock", "principal", name[:64])], time_ms=now_ms()
            )

        self.db.run_write(write)


def _end_sessions(conn: Connection, principal_id: str, t: int) -> None:
    conn.execute(
        sessions.update()
        .where(sessions.c.principal_id == principal_id, sessions.c.revoked_time.is_(None))
        .values(revoked_time=t)
    )
