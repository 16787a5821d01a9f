"""The prediction log: every prediction (and every label sent to ``/v2/feedback``) appended to
local segment files, off the hot path, then shipped to the store (``shipping.py``).

A request hands its record to an in-memory queue and goes on; one writer thread turns
records into JSON lines, appends them to the open segment as soon as it wakes, and
``fdatasync``s at most every ``fsync_ms``. So a killed process loses only what was still in
the queue (a few milliseconds of records), and a lost machine at most the last ``fsync_ms``
of predictions. A segment is closed after ``roll_s`` seconds or ``roll_bytes`` bytes; a
closed segment is what the shipper takes. The open one is held with ``flock``, so the
shippers of other worker processes (and of a later run, after a crash) know which files are
still being written.

The log never fails a prediction unless told to (``required``): when the disk is full, the
folder cannot be made or written (a read-only filesystem) or the queue overflows, records are
dropped and counted, and ``/v2/health/ready`` carries the reason until writing works again
(tried every second).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from modelyard.serving import metrics

log = logging.getLogger("modelyard.serving")
SUFFIX = ".log"
_STOP = object()
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def _plain(values: Any) -> Any:
    """A column or tensor as something orjson writes quickly."""
    if isinstance(values, np.ndarray):
        if values.dtype == object or values.dtype.kind in "USM":
            return values.tolist()
        return np.ascontiguousarray(values)
    if hasattr(values, "to_numpy"):
        return _plain(values.to_numpy())
    return values


def inputs_of(columns: list[str], matrix: Any, data: Any) -> Any:
    """A request's inputs as the writer takes them: the fast path's matrix whole (columns
    in signature order; split into columns only when shipped), a DataFrame by column, or
    one ``input`` tensor."""
    if matrix is not None:
        return (columns, matrix)
    if hasattr(data, "columns"):
        return {str(c): data[c] for c in data.columns}
    return {"input": data}


class PredictionLog:
    def __init__(
        self,
        folder: Path,
        *,
        fsync_ms: float = 200.0,
        roll_s: float = 60.0,
        roll_bytes: int = 64 << 20,
        max_queue: int = 100_000,
        required: bool = False,
    ) -> None:
        self.folder = folder
        self.fsync_s = fsync_ms / 1000
        self.roll_s = roll_s
        self.roll_bytes = roll_bytes
        self.max_queue = max_queue
        self.required = required
        self.error: str | None = None  # why records are being dropped, while they are
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._fd: int | None = None
        self._opened = 0.0
        self._size = 0
        self._seq = 0
        self._dirty = False
        self._synced = time.monotonic()
        self._tried = 0.0
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a read-only root, say: serve on, and say so once
            cause = exc.strerror or str(exc)
            self.error = f"prediction log: dropping records: cannot make {folder}: {cause}"
            log.warning(
                "prediction log: cannot make %s (%s); %s until it can be made",
                folder,
                cause,
                "predictions are refused (log_required)" if required else "serving without it",
            )
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    # --- the hot path --------------------------------------------------------------------
    @property
    def accepting(self) -> bool:
        """False while records are being dropped (a required log then refuses requests)."""
        return self.error is None

    def prediction(
        self,
        request_id: str,
        endpoint: str,
        model: str,
        version: str | None,
        inputs: Any,
        outputs: Any,
        latency_ms: float,
        *,
        shadow: bool = False,
        proba: tuple[list[Any] | None, Any] | None = None,
    ) -> None:
        """Log one answered request; ``proba`` is (classes, [rows, classes] probabilities)
        when they were computed."""
        self._put(
            ("p", request_id, time.time_ns() // 1_000_000, endpoint, model, version, inputs,
             outputs, latency_ms, shadow, proba)
        )  # fmt: skip

    def labels(self, items: list[dict[str, Any]]) -> None:
        self._put(("l", time.time_ns() // 1_000_000, items))

    def _put(self, record: tuple[Any, ...]) -> None:
        if self._queue.qsize() >= self.max_queue:
            self._dropped(1, "the writer is falling behind (queue full)")
            return
        self._queue.put(record)

    # --- the writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self.fsync_s or 0.05)
            except queue.Empty:
                first = None
            batch = [] if first is None else [first]
            while len(batch) < 10_000:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in batch:
                stopping = True
                batch = [r for r in batch if r is not _STOP]
            if not batch and self.error is not None and time.monotonic() - self._tried >= 1.0:
                batch = [("probe",)]  # nothing comes while a required log refuses: try anyway
            if batch:
                self._tried = time.monotonic()
                self._write(batch)
            if self._fd is not None and (
                time.monotonic() - self._opened >= self.roll_s or self._size >= self.roll_bytes
            ):
                self._close_segment()
            elif self._dirty and time.monotonic() - self._synced >= self.fsync_s:
                self._sync()
        self._close_segment()

    def _encode(self, record: tuple[Any, ...]) -> bytes:
        if record[0] == "probe":  # readers skip kinds they do not know
            return b'{"k":"probe"}\n'
        if record[0] == "l":
            _, t, items = record
            return orjson.dumps({"k": "l", "t": t, "labels": items}) + b"\n"
        _, rid, t, endpoint, model, version, inputs, outputs, ms, shadow, proba = record
        body = {
            "k": "p",
            "id": rid,
            "t": t,
            "e": endpoint,
            "m": model,
            "v": version,
            "ms": round(ms, 3),
            "s": shadow,
            "out": _plain(outputs),
        }
        if proba is not None and proba[0]:
            body["pc"], body["p"] = [str(c) for c in proba[0]], _plain(proba[1])
        if isinstance(inputs, tuple):  # (columns, matrix): one array, written in one go
            body["c"], body["x"] = inputs[0], _plain(inputs[1])
        else:
            body["in"] = {k: _plain(v) for k, v in inputs.items()}
        return orjson.dumps(body, option=_OPTIONS) + b"\n"

    def _write(self, batch: list[Any]) -> None:
        lines = []
        for record in batch:
            try:
                lines.append(self._encode(record))
            except (TypeError, ValueError) as exc:  # a value JSON cannot hold: skip the record
                log.warning("prediction log: a record cannot be written: %s", exc)
                metrics.PREDLOG_DROPPED.inc()
        data = b"".join(lines)
        try:
            if self._fd is None:
                self._open_segment()
            assert self._fd is not None
            self._append(self._fd, data)
        except OSError as exc:
            self._dropped(len(lines), f"cannot write to {self.folder}: {exc.strerror or exc}")
            self._close_segment()  # a torn record stays at the end of a closed segment
            return
        self._size += len(data)
        self._dirty = True
        metrics.PREDLOG_RECORDS.inc(len(lines))
        if self.error is not None:
            log.warning("prediction log: writing again (%s)", self.error)
            self.error = None

    @staticmethod
    def _append(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def _dropped(self, count: int, reason: str) -> None:
        metrics.PREDLOG_DROPPED.inc(count)
        if self.error is None:
            log.error("prediction log: dropping records: %s", reason)
        self.error = f"prediction log: dropping records: {reason}"

    def _open_segment(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)  # (again, if it could not be at start)
        self._seq += 1
        name = f"{time.time_ns() // 1_000_000:013d}-{os.getpid()}-{self._seq:06d}{SUFFIX}"
        fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # ours until closed: shippers leave it alone
        if os.fstat(fd).st_nlink == 0:  # a shipper took the empty file before the lock
            os.close(fd)
            raise OSError(f"segment {name} was removed as it was created; trying again")
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)  # the new name survives a lost machine too
        finally:
            os.close(directory)
        self._fd, self._opened, self._size = fd, time.monotonic(), 0

    def _sync(self) -> None:
        if self._fd is None:
            return
        try:
            os.fdatasync(self._fd)
        except OSError as exc:
            self._dropped(0, f"cannot sync {self.folder}: {exc.strerror or exc}")
        self._dirty, self._synced = False, time.monotonic()

    def _close_segment(self) -> None:
        if self._fd is None:
            return
        self._sync()
        with contextlib.suppress(OSError):
            os.close(self._fd)  # the lock goes with it
        self._fd = None

    # --- stopping ------------------------------------------------------------------------
    def close(self, timeout: float = 30.0) -> None:
        """Write and sync what is queued, close the open segment (SIGTERM does this)."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
