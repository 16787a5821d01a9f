"""The background writer: logging calls return at once, a thread ships ops in batches.

Invariants: ops are delivered in submission order; the queue is bounded (a producer that
outruns the store blocks instead of growing memory); a store error is never swallowed — it is
kept and raised by the next ``flush``; a batch the server cannot take for lack of a server is
retried for ``retry_seconds`` and then spooled to disk, not dropped.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from modelyard.errors import ModelyardError, Unavailable
from modelyard.tracking.ops import Op, merge_ops, op_size
from modelyard.tracking.spool import Spool

log = logging.getLogger("modelyard.tracking")

MAX_BATCH_POINTS = 20_000


class _Stop:
    """Put by close(): the thread delivers what came before it, then ends."""


_STOP = _Stop()

# Writers with work that must reach the store before the interpreter exits. Held strongly:
# a Client dropped without close() must not take its queued data with it.
_open_writers: set[BatchWriter] = set()


def close_all_at_exit() -> None:
    """Deliver every open writer's queue; an absent server is not waited for (its batches go
    to the spool). Errors are printed, since nobody is left to raise them to."""
    for writer in list(_open_writers):
        try:
            writer.close(fast=True)
        except ModelyardError as exc:
            print(
                f"modelyard: data logged in the background was not stored: {exc.message}",
                file=sys.stderr,
            )


class _Marker:
    def __init__(self, fast: bool = False, durable: bool = False) -> None:
        self.done = threading.Event()
        self.fast = fast
        self.durable = durable  # the spool must be delivered too, or it is an error
        self.error: ModelyardError | None = None


class BatchWriter:
    def __init__(
        self,
        apply: Callable[[Sequence[Op]], None],
        *,
        spool: Spool | None = None,
        queue_size: int = 100_000,
        retry_seconds: float = 10.0,
        probe_interval: float = 5.0,
    ) -> None:
        self._apply = apply
        self._spool = spool
        self._retry_seconds = retry_seconds
        self._probe_interval = probe_interval  # while spooling: how often to try the server
        self._queue: queue.Queue[Op | _Marker | _Stop] = queue.Queue(maxsize=queue_size)
        self._errors: list[ModelyardError] = []
        self._errors_lock = threading.Lock()
        self._spooled: list[Path] = []  # files this writer spooled and has not yet replayed
        self._last_probe = 0.0
        self._fast = False
        self._hurry = threading.Event()  # set when the process is leaving: stop retrying
        self._closed = False
        self._count_lock = threading.Lock()
        self._submitted = 0  # ops handed to the queue
        self._done = 0  # ops delivered, spooled or failed
        self._thread = threading.Thread(target=self._loop, name="modelyard-writer", daemon=True)
        self._thread.start()
        _open_writers.add(self)

    # producer side ---------------------------------------------------------------------
    def submit(self, op: Op) -> None:
        if self._closed:
            raise ModelyardError("this client is closed; create a new one to log more")
        with self._count_lock:
            self._submitted += 1
        self._queue.put(op)

    def flush(self, *, fast: bool = False, durable: bool = False) -> None:
        """Wait until everything submitted so far is delivered or spooled; raise errors.
        With ``durable``, spooled batches are delivered now too, and ``Unavailable`` is
        raised (naming the spool) if the store still cannot take them."""
        if self._idle() and not fast and not (durable and self._spooled):
            self.raise_errors()
            return
        marker = _Marker(fast, durable)
        if fast:
            self._hurry.set()
        self._queue.put(marker)
        while not marker.done.wait(0.5):
            if not self._thread.is_alive():
                raise ModelyardError("the background writer stopped unexpectedly")
        self.raise_errors()
        if marker.error is not None:
            raise marker.error

    def _idle(self) -> bool:
        with self._count_lock:
            return self._submitted == self._done

    def raise_errors(self) -> None:
        with self._errors_lock:
            errors, self._errors = self._errors, []
        if not errors:
            return
        first = errors[0]
        if len(errors) > 1:
            more = "; ".join(e.message for e in errors[1:4])
            first.message = (
                f"{first.message} (and {len(errors) - 1} more errors from "
                f"background logging: {more})"
            )
            first.args = (first.message,)
        raise first

    @property
    def spooled_files(self) -> int:
        return len(self._spooled)

    def close(self, *, fast: bool = True) -> None:
        """Deliver what is queued and stop the thread; with ``fast`` an absent server is not
        waited for (what it cannot take goes to the spool)."""
        if self._closed:
            return
        try:
            self.flush(fast=fast)
        finally:
            self._closed = True
            self._queue.put(_STOP)
            _open_writers.discard(self)

    # consumer side ---------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            batch: list[Op] = []
            markers: list[_Marker] = []
            points = 0
            stop = False
            while True:
                if isinstance(item, _Stop):
                    stop = True
                    break
                if isinstance(item, _Marker):
                    markers.append(item)
                    break  # deliver what precedes the marker, then release it
                batch.append(item)
                points += op_size(item)
                if points >= MAX_BATCH_POINTS:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            self._fast = self._hurry.is_set() or any(m.fast for m in markers)
            if batch:
                try:
                    self._deliver(batch)
                except Exception as exc:  # a bug of ours: the batch is kept in the error
                    log.exception("background logging failed")
                    self._record(ModelyardError(f"background logging failed: {exc!r}"))
            with self._count_lock:
                self._done += len(batch)
            for m in markers:
                if m.durable:
                    m.error = self._deliver_spool()
                m.done.set()
            if stop:
                return

    def _record(self, err: ModelyardError) -> None:
        log.warning("modelyard logging error: %s", err.message)
        with self._errors_lock:
            self._errors.append(err)

    def _deliver(self, batch: list[Op]) -> None:
        """Deliver ``batch`` (ops as submitted, merged here) in order, or spool it."""
        if self._spooled:
            if self._fast or time.monotonic() - self._last_probe < self._probe_interval:
                self._to_spool(batch)
                return
            self._last_probe = time.monotonic()
            if not self._replay_own():
                self._to_spool(batch)
                return
        deadline = time.monotonic() + (0.0 if self._fast else self._retry_seconds)
        delay = 0.1
        while True:
            try:
                self._apply(merge_ops(batch))
                return
            except Unavailable as exc:
                if time.monotonic() + delay > deadline or self._hurry.is_set():
                    if self._spool is None:
                        self._record(exc)
                    else:
                        self._to_spool(batch)
                    return
                self._hurry.wait(delay)
                delay = min(delay * 2, 2.0)
            except Exception:  # noqa: BLE001 - refused: find the bad ops, keep the rest
                self._isolate(batch)
                return

    def _isolate(self, ops: list[Op]) -> None:
        """Some op of ``ops`` is refused: split the ops as submitted in halves, in order, until
        each refused one stands alone, so only refused ops fail (log n tries per bad op)."""
        try:
            self._apply(merge_ops(ops))
            return
        except Unavailable:
            self._deliver(ops)
            return
        except ModelyardError as exc:
            if len(ops) == 1:
                self._record(exc)
                return
        except Exception as exc:  # noqa: BLE001 - e.g. a driver error: report, keep the rest
            if len(ops) == 1:
                self._record(ModelyardError(f"the store refused an op: {exc!r}"))
                return
        half = len(ops) // 2
        self._isolate(ops[:half])
        self._isolate(ops[half:])

    def _to_spool(self, batch: list[Op]) -> None:
        assert self._spool is not None
        if not self._spooled:
            log.warning(
                "modelyard server unreachable: logging to the local spool %s; it is delivered "
                "when the server is back, or run `modelyard sync`%s",
                self._spool.dir,
                "; the spool is in a temporary folder the system may clear: set "
                "MODELYARD_SPOOL_DIR to a lasting one"
                if self._spool.temporary
                else "",
            )
            self._last_probe = time.monotonic()
        self._spooled.append(self._spool.write(batch))

    def _deliver_spool(self) -> Unavailable | None:
        """Deliver this writer's spooled batches now (a durable flush); the error if some
        are still only on this machine."""
        if not self._spooled or self._spool is None:
            return None
        deadline = time.monotonic() + self._retry_seconds
        delay = 0.1
        while not self._replay_own():
            if time.monotonic() + delay > deadline or self._hurry.is_set():
                return Unavailable(
                    f"{len(self._spooled)} batch(es) of logged data are only in the local "
                    f"spool {self._spool.dir}, not in the store: it is unreachable. They are "
                    "delivered when it is back (the next flush, or `modelyard sync`)"
                )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        return None

    def _replay_own(self) -> bool:
        assert self._spool is not None
        try:
            _, rejected = self._spool.replay(self._apply, list(self._spooled))
        except Unavailable:
            self._spooled = [p for p in self._spooled if p.exists()]
            return False
        for path, message in rejected:
            self._record(ModelyardError(f"spooled batch {path.name} was rejected: {message}"))
        self._spooled = []
        return True
