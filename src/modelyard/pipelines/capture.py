"""Per-step logs: what a step prints (stdout, stderr) and logs (the ``logging`` module) while it
runs on a thread of this process is kept for that step, and still shown where it would have
been. Installed while a pipeline runs; each thread writes to its own step's buffer."""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

MAX_LOG_CHARS = 1_000_000  # a step's log keeps its first and last half of this

_local = threading.local()
_lock = threading.Lock()
_installed = 0
_saved: tuple[TextIO, TextIO] | None = None


class _Tee(io.TextIOBase):
    def __init__(self, target: TextIO) -> None:
        self.target = target

    def write(self, text: str) -> int:
        buf: StepLog | None = getattr(_local, "log", None)
        if buf is not None:
            buf.add(text)
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        buf: StepLog | None = getattr(_local, "log", None)
        if buf is not None and not buf.via_stream:
            try:
                buf.add(self.format(record) + "\n")
            except Exception:  # noqa: BLE001 - a bad log record must not fail the step
                self.handleError(record)


_handler = _Handler()
_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))


class StepLog:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0
        self.via_stream = False

    def add(self, text: str) -> None:
        if self.size + len(text) > MAX_LOG_CHARS:
            self.dropped += len(text)
            self.parts.append("")  # keep counting; the tail is kept below
            self.tail = (getattr(self, "tail", "") + text)[-MAX_LOG_CHARS // 2 :]
            return
        self.parts.append(text)
        self.size += len(text)

    def text(self) -> str:
        body = "".join(self.parts)
        if self.dropped:
            return (
                f"{body}\n[... {self.dropped} characters left out ...]\n{getattr(self, 'tail', '')}"
            )
        return body


@contextmanager
def installed() -> Iterator[None]:
    """Route this process's stdout, stderr and root logger through the per-step buffers."""
    global _installed, _saved
    with _lock:
        if _installed == 0:
            _saved = (sys.stdout, sys.stderr)
            sys.stdout = _Tee(sys.stdout)
            sys.stderr = _Tee(sys.stderr)
            logging.getLogger().addHandler(_handler)
        _installed += 1
    try:
        yield
    finally:
        with _lock:
            _installed -= 1
            if _installed == 0 and _saved is not None:
                if isinstance(sys.stdout, _Tee):
                    sys.stdout = _saved[0]
                if isinstance(sys.stderr, _Tee):
                    sys.stderr = _saved[1]
                logging.getLogger().removeHandler(_handler)
                _saved = None


@contextmanager
def step_log() -> Iterator[StepLog]:
    """Collect what this thread prints and logs into a ``StepLog``."""
    log = StepLog()
    previous = getattr(_local, "log", None)
    _local.log = log
    try:
        yield log
    finally:
        _local.log = previous
