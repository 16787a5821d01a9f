"""Refusals go in the audit log: each ``PermissionDenied`` a server with --auth answers is an
``auth.permission_denied`` entry naming who, what and why.

At most one entry per principal and route a minute: a client hammering a route it may not
use would otherwise grow the hash chain at the speed of its requests.
"""

from __future__ import annotations

import threading
import time

from modelyard.identity import Actor
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database

QUIET_S = 60.0
_MAX_KEYS = 10_000


class Denials:
    def __init__(self, db: Database, *, quiet_s: float = QUIET_S) -> None:
        self.db = db
        self.quiet_s = quiet_s
        self._last: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def due(self, actor: Actor, method: str, route: str) -> bool:
        """Whether this refusal is recorded (the first of its kind this minute)."""
        key = (actor.id or actor.name, method, route)
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.quiet_s:
                return False
            if len(self._last) >= _MAX_KEYS:
                self._last.clear()
            self._last[key] = now
        return True

    def record(self, actor: Actor, method: str, route: str, message: str) -> None:
        after = {"method": method, "route": route, "message": message[:500]}
        event = AuditEvent("auth.permission_denied", "principal", actor.name, after=after)
        self.db.run_write(lambda conn: audit.record(conn, [event], time_ms=int(time.time() * 1000)))
