"""Checkpoints of a SQLite database's write-ahead log, mostly off the writers' path.

SQLite's own automatic checkpoint runs inside the commit that crosses 1,000 pages of log, so
one writer in a few dozen waits for the pages to be copied and the database file synced (8 ms
where a commit otherwise takes under 1 ms). Each engine here moves that point to
``BACKSTOP_PAGES`` and a thread of its own runs a passive checkpoint at most every
``INTERVAL_SECONDS`` while there are commits to copy: after a burst of writes the log is
copied while the process does other things, and the next writer starts the log over. A
stream of writes that never pauses keeps a passive checkpoint from catching up; the backstop
then checkpoints in a writer's commit (holding the write lock, it catches up), so the log
stays bounded. Durability is unchanged: with ``synchronous=NORMAL`` the log is synced at
checkpoints, wherever they run. ``journal_size_limit`` cuts the log file back after it grew.

The thread holds only a weak reference to its checkpointer, so a database dropped without
``dispose()`` lets it end; a forked child starts its own on its first commit.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import weakref
from typing import Any

log = logging.getLogger("modelyard.store")
INTERVAL_SECONDS = 0.5
BACKSTOP_PAGES = 4000  # a writer checkpoints past this many pages of log (~16 MiB)
LOG_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the log file is cut back to after a checkpoint
_IDLE_CHECK_SECONDS = 5.0  # how often an idle thread looks whether its owner is gone


class WalCheckpointer:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.runs = 0  # checkpoints run (read by tests)
        self._reset()

    def _reset(self) -> None:
        self.pid = os.getpid()
        self.dirty = threading.Event()
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def committed(self) -> None:
        """A write transaction committed: its pages are copied within the interval. Never
        raises (the commit is done whatever happens here)."""
        if self.pid != os.getpid():  # a forked child: the parent's thread is not here
            self._reset()
        if self.dirty.is_set():
            return
        self.dirty.set()
        if self.thread is None:
            self._start()

    def _start(self) -> None:
        with self.lock:
            if self.thread is not None or self.stopped.is_set() or sys.is_finalizing():
                return
            thread = threading.Thread(
                target=_loop, args=(weakref.ref(self), self.dirty, self.stopped),
                name="sqlite-checkpoint", daemon=True,
            )  # fmt: skip
            try:
                thread.start()
            except RuntimeError:  # the interpreter is shutting down: SQLite's backstop stays
                return
            self.thread = thread

    def checkpoint(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
            self.runs += 1
        except Exception as exc:  # noqa: BLE001 - tried again after the next commit
            log.debug("sqlite checkpoint failed: %s", exc)

    def stop(self) -> None:
        self.stopped.set()
        self.dirty.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)


def _loop(
    owner: weakref.ref[WalCheckpointer], dirty: threading.Event, stopped: threading.Event
) -> None:
    while not stopped.is_set():
        if not dirty.wait(_IDLE_CHECK_SECONDS):
            if owner() is None:
                return  # its database was dropped without dispose()
            continue
        if stopped.wait(INTERVAL_SECONDS):
            return
        dirty.clear()
        checkpointer = owner()
        if checkpointer is None:
            return
        checkpointer.checkpoint()
        del checkpointer
