"""Checking a password at login, with a lockout per submitted name.

Five failures within 15 minutes lock the name for 15 minutes, doubling at each lockout up to
a day. Failures are counted per name as submitted, whether a principal has it or not, and a
locked, unknown, disabled or wrong name all answer the one message in about the one time
(an unknown name is verified against a dummy hash; a locked one is not hashed at all, so a
lockout also stops the CPU cost of guessing). Every failure and lockout is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.auth.names import name_key
from modelyard.auth.passwords import PasswordCost, verify_password, verify_unknown
from modelyard.auth.sql_principals import WRONG
from modelyard.auth.sql_rows import PRINCIPAL_COLUMNS, PRINCIPAL_FROM
from modelyard.auth.tables import login_failures, passwords, principals
from modelyard.errors import Unauthenticated
from modelyard.platform.ids import now_ms
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database

MAX_FAILURES = 5
WINDOW_MS = 15 * 60 * 1000
FIRST_LOCK_MS = 15 * 60 * 1000
MAX_LOCK_MS = 24 * 3600 * 1000
_KEY_CHARS = 256


@dataclass(frozen=True)
class LoggedIn:
    row: Any  # the principal's row (PRINCIPAL_COLUMNS)
    must_change: bool


class SqlLogins:
    def __init__(self, db: Database, cost: PasswordCost) -> None:
        self.db = db
        self.cost = cost

    def check_password(self, name: Any, password: Any) -> LoggedIn:
        """The principal whose name and password these are; else ``Unauthenticated`` with
        one message for every reason."""
        shown = name[:64] if isinstance(name, str) else "?"
        key = name_key(name)[:_KEY_CHARS] if isinstance(name, str) else "?"
        now = now_ms()
        with self.db.read() as conn:
            locked = conn.execute(
                sa.select(login_failures.c.locked_until).where(login_failures.c.name_key == key)
            ).scalar()
            row = None
            if locked is None or int(locked) <= now:
                row = (
                    conn.execute(
                        sa.select(*PRINCIPAL_COLUMNS, passwords.c.hash, passwords.c.must_change)
                        .select_from(
                            PRINCIPAL_FROM.join(
                                passwords, passwords.c.principal_id == principals.c.principal_id
                            )
                        )
                        .where(principals.c.name_key == key)
                    )
                    .mappings()
                    .first()
                )
        if locked is not None and int(locked) > now:
            self._failed(key, shown, "locked")
            raise Unauthenticated(WRONG)
        if row is None or not isinstance(password, str):
            verify_unknown(password if isinstance(password, str) else "", self.cost)
            self._failed(key, shown, "unknown")
            raise Unauthenticated(WRONG)
        ok, rehashed = verify_password(row["hash"], password, self.cost)
        if not ok or row["disabled_time"] is not None:
            self._failed(key, shown, "disabled" if ok else "password")
            raise Unauthenticated(WRONG)

        def succeeded(conn: Connection) -> None:
            conn.execute(login_failures.delete().where(login_failures.c.name_key == key))
            if rehashed is not None:
                conn.execute(
                    passwords.update()
                    .where(passwords.c.principal_id == row["principal_id"])
                    .values(hash=rehashed)
                )

        self.db.run_write(succeeded)
        return LoggedIn(row, bool(row["must_change"]))

    def _failed(self, key: str, shown: str, reason: str) -> None:
        def write(conn: Connection) -> None:
            now = now_ms()
            found = (
                conn.execute(sa.select(login_failures).where(login_failures.c.name_key == key))
                .mappings()
                .first()
            )
            events = [AuditEvent("auth.login_failed", "principal", shown, after={"reason": reason})]
            if reason == "locked":
                audit.record(conn, events, time_ms=now)
                return
            if found is None:
                conn.execute(
                    login_failures.insert().values(
                        name_key=key, failures=1, window_start=now, lock_count=0
                    )
                )
                audit.record(conn, events, time_ms=now)
                return
            fresh = now - int(found["window_start"]) > WINDOW_MS
            failures = 1 if fresh else int(found["failures"]) + 1
            values: dict[str, Any] = {"failures": failures}
            if fresh:
                values["window_start"] = now
            if failures >= MAX_FAILURES:
                locks = int(found["lock_count"]) + 1
                lock_ms = min(FIRST_LOCK_MS * 2 ** (locks - 1), MAX_LOCK_MS)
                values.update(
                    failures=0, window_start=now, locked_until=now + lock_ms, lock_count=locks
                )
                events.append(
                    AuditEvent(
                        "auth.lockout", "principal", shown, after={"seconds": lock_ms // 1000}
                    )
                )
            conn.execute(
                login_failures.update().where(login_failures.c.name_key == key).values(**values)
            )
            audit.record(conn, events, time_ms=now)

        self.db.run_write(write)
