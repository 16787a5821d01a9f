"""Schema migrations, applied automatically on first use and safe when processes race.

The upgrade runs inside one write transaction that first takes a lock (SQLite: the write lock
via ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock), then re-reads the
revision, so a second process that started at the same moment finds the work done.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from modelyard.store.database import Database

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_ADVISORY_LOCK_KEY = 0x6D6F64656C79  # "modely"
log = logging.getLogger(__name__)


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads, expected exactly one: {heads}")
    return heads[0]


def current_revision(db: Database) -> str | None:
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _upgrade(conn: Connection, db: Database) -> None:
    if not db.is_sqlite:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_KEY})")
    was = MigrationContext.configure(conn).get_current_revision()
    if was == head_revision():
        return
    command.upgrade(alembic_config(conn), "head")  # alembic's own lines are held at WARNING
    where = db.engine.url.render_as_string(hide_password=True)
    log.info("store schema %s -> %s (%s)", was or "empty", head_revision(), where)


def upgrade(db: Database) -> None:
    """Bring the schema to the newest revision; cheap when it already is."""
    if current_revision(db) == head_revision():
        return
    db.run_write(_upgrade, db)
