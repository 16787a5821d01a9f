"""What the SQL auth services share: a principal row by name, the entity made from it, and
the grants version every change of grants moves."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.auth.entities import Principal
from modelyard.auth.names import name_key
from modelyard.auth.tables import grants_version, principals
from modelyard.errors import NotFound

_OWNER = principals.alias("owner")
PRINCIPAL_COLUMNS = [
    *principals.c,
    _OWNER.c.name.label("owner_name"),
    # a service account acts for its owner: when the owner is disabled, so is it
    _OWNER.c.disabled_time.label("owner_disabled_time"),
]
PRINCIPAL_FROM = principals.outerjoin(_OWNER, _OWNER.c.principal_id == principals.c.owner_id)


def no_principal(name: str) -> NotFound:
    return NotFound(f"no user or service account named {name!r}", field="name")


def principal_row(conn: Connection, name: str, *, missing: NotFound | None = None) -> Any:
    row = (
        conn.execute(
            sa.select(*PRINCIPAL_COLUMNS)
            .select_from(PRINCIPAL_FROM)
            .where(principals.c.name_key == name_key(name))
        )
        .mappings()
        .first()
    )
    if row is None:
        raise missing or no_principal(name)
    return row


def principal_of(row: Any) -> Principal:
    return Principal(
        name=row["name"],
        kind=row["kind"],
        is_admin=bool(row["is_admin"]),
        disabled=row["disabled_time"] is not None,
        owner=row["owner_name"],
        display_name=row["display_name"],
        email=row["email"],
        created_by=row["created_by"],
        created_time=int(row["created_time"]),
    )


def person_of(row: Any) -> str:
    """The human a principal acts for: a user themself, a service account's owner."""
    return str(row["owner_name"] or row["name"]) if row["kind"] == "service" else str(row["name"])


def bump_grants(conn: Connection) -> None:
    """Tell every server's caches that grants changed (they re-read what they hold)."""
    done = conn.execute(
        grants_version.update().where(grants_version.c.id == 1).values(n=grants_version.c.n + 1)
    )
    if done.rowcount == 0:
        conn.execute(grants_version.insert().values(id=1, n=1))


def read_grants_version(conn: Connection) -> int:
    found = conn.execute(sa.select(grants_version.c.n).where(grants_version.c.id == 1)).scalar()
    return int(found or 0)
