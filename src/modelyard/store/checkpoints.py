"""Checkpoints of a SQLite database's write-ahead log, off the writers' path.

SQLite's own automatic checkpoint runs inside the commit that crosses 1,000 pages of log, so
one writer in a few dozen waits for the pages to be copied and the database file synced (8 ms
where a commit otherwise takes under 1 ms). Each engine here switches it off
(``wal_autocheckpoint=0``) and a thread of its own runs the same passive checkpoint at most
every ``INTERVAL_SECONDS`` while there are commits to copy. Durability is unchanged: with
``synchronous=NORMAL`` the log is synced at checkpoints, wherever they run; a process that
ends leaves the log to the next one (SQLite replays it), and the last connection to close
checkpoints it. ``journal_size_limit`` keeps the log file from staying at its largest size.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("modelyard.store")
INTERVAL_SECONDS = 0.5
LOG_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the log file is cut back to after a checkpoint


class WalCheckpointer:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.dirty = threading.Event()
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.runs = 0  # checkpoints run (read by tests)

    def committed(self) -> None:
        """A write transaction committed: its pages are copied within the interval."""
        if self.dirty.is_set():
            return
        self.dirty.set()
        if self.thread is None:
            with self.lock:
                if self.thread is None and not self.stopped.is_set():
                    self.thread = threading.Thread(
                        target=self._loop, name="sqlite-checkpoint", daemon=True
                    )
                    self.thread.start()

    def _loop(self) -> None:
        while not self.stopped.is_set():
            self.dirty.wait()
            if self.stopped.wait(INTERVAL_SECONDS):
                return
            self.dirty.clear()
            self.checkpoint()

    def checkpoint(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
            self.runs += 1
        except Exception as exc:  # noqa: BLE001 - tried again after the next commit
            self.dirty.set()
            log.debug("sqlite checkpoint failed: %s", exc)

    def stop(self) -> None:
        self.stopped.set()
        self.dirty.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
