"""Which projects hold a blob. Blobs are content-addressed and shared (two projects that
store the same bytes store them once), so a blob is not anyone's by its hash: a project holds
it once a member uploaded its bytes, a dataset version of the project lists it, or a
prediction file of the project is it. A caller bound by projects reads, and hears about, only
blobs a project it may read holds; to anyone else a blob is "not stored".
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.data.tables import blob_holders
from modelyard.errors import NotFound
from modelyard.platform.access import visible_projects
from modelyard.platform.scope import restricted, where_visible
from modelyard.store.database import Database
from modelyard.store.sql import insert_ignore


def hold(conn: Connection, digests: Iterable[str], project: str) -> None:
    rows = [{"sha256": d, "project": project} for d in sorted(set(digests))]
    if rows:
        insert_ignore(conn, blob_holders, rows)


def held(db: Database, digests: Iterable[str]) -> set[str]:
    """Those of ``digests`` a project the caller may read holds (all, with no checks)."""
    wanted = sorted(set(digests))
    if not restricted() or visible_projects() is None:  # no checks, or a global admin
        return set(wanted)
    found: set[str] = set()
    with db.read() as conn:
        for start in range(0, len(wanted), 500):
            query = sa.select(blob_holders.c.sha256).where(
                blob_holders.c.sha256.in_(wanted[start : start + 500])
            )
            found.update(conn.execute(where_visible(query, blob_holders.c.project)).scalars())
    return found


def require_held(db: Database, sha256: str) -> None:
    if sha256 not in held(db, [sha256]):
        raise NotFound(f"dataset blob {sha256} is not stored", field="sha256")
