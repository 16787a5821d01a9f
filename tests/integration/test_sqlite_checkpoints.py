"""SQLite's write-ahead log is checkpointed by a thread of the store's own, not inside a
writer's commit: the log stays bounded under a stream of writes, what was written is there
for a fresh reader (and after the engine closes), and a store that only reads starts no
thread."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa

from modelyard.store.database import Database


def _table(db: Database) -> sa.Table:
    table = sa.Table(
        "t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.Text)
    )
    table.metadata.create_all(db.engine)
    return table


def test_the_log_is_checkpointed_off_the_writers_path(tmp_path: Path) -> None:
    path = tmp_path / "yard.db"
    db = Database(f"sqlite:///{path}")
    table = _table(db)
    with db.engine.connect() as conn:  # writers never checkpoint in their commits
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    wal = Path(f"{path}-wal")
    largest = 0
    for start in range(0, 3000, 10):  # ~12 MB of rows, 300 commits, over a few seconds
        rows = [{"id": i, "v": os.urandom(2000).hex()} for i in range(start, start + 10)]
        with db.write() as conn:
            conn.execute(table.insert(), rows)
        largest = max(largest, wal.stat().st_size)
        time.sleep(0.01)
    deadline = time.monotonic() + 5
    while db.checkpoints is not None and db.checkpoints.runs < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert db.checkpoints is not None and db.checkpoints.runs >= 2
    # without checkpoints the log would hold every page written (12 MB and more)
    assert largest < 8 * 1024 * 1024, largest
    fresh = sqlite3.connect(path)
    assert fresh.execute("SELECT count(*) FROM t").fetchone() == (3000,)
    fresh.close()
    db.dispose()
    again = sqlite3.connect(path)
    assert again.execute("SELECT count(*), max(id) FROM t").fetchone() == (3000, 2999)
    again.close()


def test_a_store_that_only_reads_starts_no_thread(tmp_path: Path) -> None:
    path = tmp_path / "yard.db"
    writer = Database(f"sqlite:///{path}")
    _table(writer)
    writer.dispose()
    reader = Database(f"sqlite:///{path}")
    for _ in range(2):
        with reader.read() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 0
    assert reader.checkpoints is not None and reader.checkpoints.thread is None
    reader.dispose()
    memory = Database("sqlite://")
    assert memory.checkpoints is None
