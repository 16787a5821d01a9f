"""SQLite's write-ahead log is checkpointed by a thread of the store's own after bursts of
writes, and by a writer only past a backstop: the log stays bounded under writes that never
pause, what was written is there for a fresh reader (and after the engine closes), a forked
child checkpoints its own writes, a dropped store's thread ends, and a store that only reads
starts none."""

from __future__ import annotations

import gc
import os
import sqlite3
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from modelyard.store import checkpoints
from modelyard.store.checkpoints import BACKSTOP_PAGES, INTERVAL_SECONDS
from modelyard.store.database import Database


def _table(db: Database) -> sa.Table:
    table = sa.Table(
        "t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.Text)
    )
    table.metadata.create_all(db.engine)
    return table


def _write(db: Database, table: sa.Table, start: int, count: int) -> None:
    rows = [{"id": i, "v": os.urandom(2000).hex()} for i in range(start, start + count)]
    with db.write() as conn:
        conn.execute(table.insert(), rows)


def test_bursts_of_writes_are_checkpointed_by_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "yard.db"
    db = Database(f"sqlite:///{path}")
    table = _table(db)
    with db.engine.connect() as conn:  # writers checkpoint only past the backstop
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == BACKSTOP_PAGES
    for burst in range(3):  # a burst, then a pause the thread copies the log in
        for start in range(0, 200, 10):
            _write(db, table, burst * 1000 + start, 10)
        time.sleep(INTERVAL_SECONDS * 2.5)
    assert db.checkpoints is not None and db.checkpoints.runs >= 3
    fresh = sqlite3.connect(path)
    assert fresh.execute("SELECT count(*) FROM t").fetchone() == (600,)
    fresh.close()
    db.dispose()
    again = sqlite3.connect(path)
    assert again.execute("SELECT count(*), max(id) FROM t").fetchone() == (600, 2199)
    again.close()


def test_the_log_stays_bounded_under_writes_that_never_pause(tmp_path: Path) -> None:
    path = tmp_path / "yard.db"
    db = Database(f"sqlite:///{path}")
    table = _table(db)
    wal = Path(f"{path}-wal")
    largest = 0
    for start in range(0, 12000, 20):  # ~48 MB of rows, 600 commits back to back
        _write(db, table, start, 20)
        largest = max(largest, wal.stat().st_size)
    # the backstop (BACKSTOP_PAGES of 4 KiB) bounds it; without one it held every page
    assert largest < BACKSTOP_PAGES * 4096 * 1.5, largest
    db.dispose()


def test_a_forked_child_checkpoints_its_own_writes(tmp_path: Path) -> None:
    path = tmp_path / "yard.db"
    db = Database(f"sqlite:///{path}")
    table = _table(db)
    _write(db, table, 0, 10)  # the parent's thread is running
    pid = os.fork()
    if pid == 0:  # the child: its own thread after its first commit
        code = 1
        try:
            _write(db, table, 100, 10)
            assert db.checkpoints is not None
            thread = db.checkpoints.thread
            code = 0 if thread is not None and thread.is_alive() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    db.dispose()


def test_a_database_dropped_without_dispose_lets_its_thread_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoints, "_IDLE_CHECK_SECONDS", 0.1)
    db = Database(f"sqlite:///{tmp_path / 'yard.db'}")
    _write(db, _table(db), 0, 10)
    assert db.checkpoints is not None
    thread = db.checkpoints.thread
    assert thread is not None and thread.is_alive()
    del db
    gc.collect()
    thread.join(INTERVAL_SECONDS + 2)
    assert not thread.is_alive()


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
