"""The serving tokens the platform signed, kept until they expire so that one can be
revoked before its time: by its id (``jti``; its holder or a global admin), and all of a
principal's (and of the service accounts it owns) when it is disabled. Inference servers
read the revoked ids of unexpired tokens (``revoked``) every few seconds; nothing on their
request path waits on it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.auth.tables import principals, serving_tokens
from modelyard.errors import InvalidArgument, NotFound
from modelyard.identity import current_actor
from modelyard.platform.access import allowed
from modelyard.platform.ids import now_ms
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database

MAX_LISTED = 1000


def _missing(jti: str) -> NotFound:
    shown = jti if len(jti) <= 32 else f"{jti[:16]}..."
    return NotFound(f"no serving token with id {shown!r}", field="jti")


def _info(row: Any) -> dict[str, Any]:
    return {
        "jti": row["jti"],
        "principal": row["principal"],
        "endpoint": row["endpoint"],
        "issued_time": int(row["issued_time"]),
        "expires_time": int(row["expires_time"]),
        "revoked_time": row["revoked_time"],
        "revoked_by": row["revoked_by"],
    }


def revoke_principal(conn: Connection, principal_id: str, t: int) -> int:
    """Revoke the unexpired serving tokens of a principal and of the service accounts it
    owns (it was disabled); how many."""
    names = conn.execute(
        sa.select(principals.c.name).where(
            sa.or_(principals.c.principal_id == principal_id, principals.c.owner_id == principal_id)
        )
    ).scalars()
    done = conn.execute(
        serving_tokens.update()
        .where(
            serving_tokens.c.principal.in_(list(names)),
            serving_tokens.c.revoked_time.is_(None),
            serving_tokens.c.expires_time > t,
        )
        .values(revoked_time=t, revoked_by=current_actor().name)
    )
    return int(done.rowcount or 0)


class SqlServingTokens:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, jti: str, principal: str, endpoint: str, expires_ms: int) -> None:
        t = now_ms()

        def write(conn: Connection) -> None:
            # rows of tokens that expired long ago go as new ones come
            conn.execute(
                serving_tokens.delete().where(serving_tokens.c.expires_time < t - 86_400_000)
            )
            conn.execute(
                serving_tokens.insert().values(
                    jti=jti,
                    principal=principal,
                    endpoint=endpoint,
                    issued_time=t,
                    expires_time=expires_ms,
                )
            )
            after = {"principal": principal, "endpoint": endpoint, "expires_time": expires_ms}
            event = AuditEvent("serving_token.create", "serving_token", jti, after=after)
            audit.record(conn, [event], time_ms=t)

        self.db.run_write(write)

    def list_for(self, principal: str | None = None) -> list[dict[str, Any]]:
        """Unexpired serving tokens: the caller's own, or ``principal``'s (a global admin)."""
        actor = current_actor()
        name = actor.name if principal is None else principal
        if (
            name != actor.name
            and actor.grants is not None
            and not allowed(actor, "user.read", None)
        ):
            raise NotFound(
                f"no principal named {name!r} whose tokens you may see", field="principal"
            )
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(serving_tokens)
                .where(serving_tokens.c.principal == name, serving_tokens.c.expires_time > now_ms())
                .order_by(serving_tokens.c.issued_time)
                .limit(MAX_LISTED)
            ).mappings()
            return [_info(r) for r in rows]

    def revoke(self, jti: str) -> None:
        """Revoke one; its holder or a global admin may (to anyone else it does not exist)."""
        if not isinstance(jti, str) or not 0 < len(jti) <= 64:
            raise InvalidArgument("jti must be a serving token's id", field="jti")
        actor = current_actor()

        def write(conn: Connection) -> None:
            row = conn.execute(
                sa.select(serving_tokens.c.principal, serving_tokens.c.revoked_time).where(
                    serving_tokens.c.jti == jti
                )
            ).first()
            mine = row is not None and (
                row[0] == actor.name or actor.grants is None or allowed(actor, "user.write", None)
            )
            if row is None or not mine:
                raise _missing(jti)
            if row[1] is not None:
                return
            t = now_ms()
            conn.execute(
                serving_tokens.update()
                .where(serving_tokens.c.jti == jti)
                .values(revoked_time=t, revoked_by=actor.name)
            )
            event = AuditEvent(
                "serving_token.revoke", "serving_token", jti, after={"principal": row[0]}
            )
            audit.record(conn, [event], time_ms=t)

        self.db.run_write(write)

    def revoked(self) -> list[str]:
        """The ids of revoked serving tokens that have not expired (what inference servers
        refuse); random ids, nothing more."""
        with self.db.read() as conn:
            return list(
                conn.execute(
                    sa.select(serving_tokens.c.jti)
                    .where(
                        serving_tokens.c.revoked_time.is_not(None),
                        serving_tokens.c.expires_time > now_ms(),
                    )
                    .order_by(serving_tokens.c.jti)
                ).scalars()
            )
