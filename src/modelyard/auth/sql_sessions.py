"""Browser sessions in SQL: a random id in an HttpOnly cookie, its CSRF token beside it; only
their SHA-256 is stored. A session ends when its user logs out, changes or is given a new
password, is disabled, or after ``session_idle_s`` unused or ``session_max_s`` in all."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.auth.actors import actor_of
from modelyard.auth.sql_projects import roles_of
from modelyard.auth.sql_rows import PRINCIPAL_COLUMNS, PRINCIPAL_FROM
from modelyard.auth.tables import principals, sessions
from modelyard.errors import Unauthenticated
from modelyard.identity import Actor
from modelyard.platform.ids import now_ms
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database

ENDED = "the session has ended; log in again"
TOUCH_EVERY_MS = 60_000


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Session:
    actor: Actor
    csrf_sha256: str
    expires_time: int  # the absolute end, ms


GroupRoles = Callable[[Connection, list[str]], dict[str, set[str]]]


def with_group_roles(
    held: Mapping[str, frozenset[str]], mapped: Mapping[str, set[str]]
) -> dict[str, frozenset[str]]:
    """A principal's own roles and those its provider groups are mapped to, per project."""
    merged = {p: set(r) for p, r in held.items()}
    for project, roles in mapped.items():
        merged.setdefault(project, set()).update(roles)
    return {p: frozenset(r) for p, r in merged.items()}


class SqlSessions:
    def __init__(self, db: Database, *, idle_s: float, max_s: float) -> None:
        self.db = db
        self.idle_ms = int(idle_s * 1000)
        self.max_ms = int(max_s * 1000)
        # the project roles a single sign-on session's groups are mapped to (set with SSO)
        self.group_roles: GroupRoles | None = None

    def create(
        self, principal_id: str, method: str, groups: list[str] | None = None, *, name: str = ""
    ) -> tuple[str, str]:
        """``(session id, CSRF token)``: fresh ones, whatever the browser brought."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        t = now_ms()

        def write(conn: Connection) -> None:
            conn.execute(
                sessions.insert().values(
                    session_sha256=sha256_hex(session_id),
                    principal_id=principal_id,
                    csrf_sha256=sha256_hex(csrf),
                    method=method,
                    groups=None if groups is None else orjson.dumps(groups).decode(),
                    created_time=t,
                    last_seen_time=t,
                    expires_time=t + self.max_ms,
                )
            )
            # old sessions past their end are dropped as new ones come
            conn.execute(sessions.delete().where(sessions.c.expires_time < t - self.max_ms))
            after = {"method": method}
            event = AuditEvent("auth.login", "principal", name or principal_id, after=after)
            audit.record(conn, [event], time_ms=t)

        self.db.run_write(write)
        return session_id, csrf

    def lookup(self, session_id: str) -> Session:
        digest = sha256_hex(session_id)
        now = now_ms()
        with self.db.read() as conn:
            row = (
                conn.execute(
                    sa.select(
                        sessions.c.csrf_sha256,
                        sessions.c.expires_time,
                        sessions.c.last_seen_time,
                        sessions.c.revoked_time,
                        sessions.c.groups,
                        sessions.c.method,
                        *PRINCIPAL_COLUMNS,
                    )
                    .select_from(
                        PRINCIPAL_FROM.join(
                            sessions, sessions.c.principal_id == principals.c.principal_id
                        )
                    )
                    .where(sessions.c.session_sha256 == digest)
                )
                .mappings()
                .first()
            )
            if (
                row is None
                or row["revoked_time"] is not None
                or row["disabled_time"] is not None
                or int(row["expires_time"]) <= now
                or int(row["last_seen_time"]) + self.idle_ms <= now
            ):
                raise Unauthenticated(ENDED)
            held = roles_of(conn, row["principal_id"])
            groups = None if row["groups"] is None else tuple(orjson.loads(row["groups"]))
            if groups is not None and self.group_roles is not None:
                held = with_group_roles(held, self.group_roles(conn, list(groups)))
        if now - int(row["last_seen_time"]) > TOUCH_EVERY_MS:
            self.db.run_write(
                lambda c: c.execute(
                    sessions.update()
                    .where(sessions.c.session_sha256 == digest)
                    .values(last_seen_time=now)
                )
            )
        expires = min(int(row["expires_time"]), int(row["last_seen_time"]) + self.idle_ms)
        actor = actor_of(row, held)
        if row["method"] == "oidc":
            actor = replace(actor, credential="sso", groups=groups or ())
        return Session(actor, row["csrf_sha256"], expires)

    def end(self, session_id: str) -> None:
        digest = sha256_hex(session_id)

        def write(conn: Connection) -> None:
            t = now_ms()
            done = conn.execute(
                sessions.update()
                .where(sessions.c.session_sha256 == digest, sessions.c.revoked_time.is_(None))
                .values(revoked_time=t)
            )
            if done.rowcount:
                audit.record(conn, [AuditEvent("auth.logout", "session", digest[:16])], time_ms=t)

        self.db.run_write(write)
