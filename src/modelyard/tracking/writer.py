"""The background writer: logging calls return at once, a thread ships ops in batches.

Invariants: ops are delivered in submission order; the queue is bounded (a producer that
outruns the store blocks instead of growing memory); a store error is never swallowed — it is
kept and raised by the next ``flush``; a batch the server cannot take for lack of a server is
retried for ``retry_seconds`` and then spooled to disk, not dropped (a spool that cannot take
it either is one error at ``flush``, ``InsufficientStorage`` for a full disk). While anything
is spooled, later batches follow it into the spool until it is delivered: the server is tried
every ``probe_interval`` seconds, and at once before a read (``flush(settle=True)``). A writer
starts by taking over what earlier processes left in its server's spool, delivered before its
own batches.
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
from modelyard.platform.resets import on_reset
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


@on_reset
def close_open_writers() -> None:
    """Deliver every open writer's queue and close it, raising what the store gave back
    (``platform.resets.reset``: no client keeps writing into the next use of the process)."""
    for writer in list(_open_writers):
        writer.close(fast=False)


class _Marker:
    def __init__(self, fast: bool = False, spool_patience: float | None = None) -> None:
        self.done = threading.Event()
        self.fast = fast
        # not None: the spool must be delivered too (trying this long), or it is an error
        self.spool_patience = spool_patience
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
        # spooled files not yet delivered, oldest first: those earlier processes left for this
        # server (taken over, named in _adopted), then this writer's own
        self._spooled: list[Path] = spool.files() if spool is not None else []
        self._adopted = {p.name for p in self._spooled}
        self._offline = False  # the server was found unreachable: spool, probe now and then
        self._announced = False  # the "logging to the spool" line was written for this outage
        self._spool_error: ModelyardError | None = None  # the pending "spool failed" error
        self._spool_lost = 0  # calls that error counts
        self._spool_lost_runs: set[str] = set()
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

    def flush(self, *, fast: bool = False, durable: bool = False, settle: bool = False) -> None:
        """Wait until everything submitted so far is delivered or spooled; raise errors.
        With ``durable``, spooled batches are delivered now too, and ``Unavailable`` is
        raised (naming the spool) if the store still cannot take them within the retry
        window; ``settle`` (before a read) is the same with one try, not a window."""
        deliver_spool = (durable or settle) and bool(self._spooled) and not self._closed
        if self._idle() and not fast and not deliver_spool:
            self.raise_errors()
            return
        patience = self._retry_seconds if durable else 0.0 if settle else None
        marker = _Marker(fast, patience)
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
    def has_spooled(self) -> bool:
        """Whether batches (this writer's, or taken over) wait in the spool."""
        return bool(self._spooled)

    @property
    def spooled_files(self) -> int:
        """This writer's batches that are in the spool, not yet in the store."""
        return sum(1 for p in list(self._spooled) if p.name not in self._adopted)

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
        if self._spooled:  # left by earlier processes: theirs come before ours
            self._replay_spool(wait=0.0)
        while True:
            try:
                item = self._queue.get(timeout=self._probe_wait())
            except queue.Empty:  # nothing to send, something spooled: is the server back?
                self._replay_spool(wait=0.0)
                continue
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
                if m.spool_patience is not None:
                    m.error = self._deliver_spool(m.spool_patience)
                m.done.set()
            if stop:
                return

    def _record(self, err: ModelyardError) -> None:
        log.warning("modelyard logging error: %s", err.message)
        with self._errors_lock:
            self._errors.append(err)

    def _probe_wait(self) -> float | None:
        """How long the thread may wait for work before it tries to deliver the spool."""
        if not self._spooled or self._hurry.is_set():
            return None
        return max(self._last_probe + self._probe_interval - time.monotonic(), 0.05)

    def _deliver(self, batch: list[Op]) -> None:
        """Deliver ``batch`` (ops as submitted, merged here) in order, or spool it."""
        probing = False
        if self._spooled or self._offline:  # the spool goes first: order
            if self._fast or time.monotonic() - self._last_probe < self._probe_interval:
                self._to_spool(batch)
                return
            if not self._replay_spool(wait=0.0):
                self._to_spool(batch)
                return
            probing = self._offline  # nothing was spooled to show the server is back
        deadline = time.monotonic() + (0.0 if self._fast or probing else self._retry_seconds)
        delay = 0.1
        while True:
            try:
                self._apply(merge_ops(batch))
                self._back_online()
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

    def _back_online(self) -> None:
        self._offline = False
        self._announced = False
        self._spool_error = None

    def _to_spool(self, batch: list[Op]) -> None:
        assert self._spool is not None
        if not self._offline:
            self._offline = True
            self._last_probe = time.monotonic()
        try:
            path = self._spool.write(batch)
        except ModelyardError as exc:  # a full or unwritable spool: the batch is not kept
            self._spool_failed(exc, batch)
            return
        self._spool_error = None
        self._spooled.append(path)
        if not self._announced:
            self._announced = True
            log.warning(
                "modelyard server unreachable: logging to the local spool %s; it is delivered "
                "when the server is back, or run `modelyard sync`%s",
                self._spool.dir,
                "; the spool is in a temporary folder the system may clear: set "
                "MODELYARD_SPOOL_DIR to a lasting one"
                if self._spool.temporary
                else "",
            )

    def _spool_failed(self, exc: ModelyardError, batch: list[Op]) -> None:
        """One error (of ``exc``'s class) for every batch lost while the spool keeps
        failing, raised at the next flush; one log line when it starts failing."""
        with self._errors_lock:
            pending = self._spool_error
            if pending is None or not any(e is pending for e in self._errors):
                self._spool_lost = 0
                self._spool_lost_runs = set()
                pending = None
            self._spool_lost += len(batch)
            self._spool_lost_runs.update(op.run_id for op in batch)
            runs = sorted(self._spool_lost_runs)
            message = (
                f"{exc.message}. The server is unreachable, so {self._spool_lost} "
                f"logging call(s) for run(s) {', '.join(runs[:3])}"
                f"{' ...' if len(runs) > 3 else ''} were neither stored nor spooled"
            )
            if pending is None:
                pending = type(exc)(message, field=exc.field)
                self._errors.append(pending)
            pending.message = message
            pending.args = (message,)
            first = self._spool_error is None
            self._spool_error = pending
        if first:
            log.warning("modelyard logging error: %s", exc.message)

    def _deliver_spool(self, patience: float) -> Unavailable | None:
        """Deliver the spooled batches now (before a read, or a durable flush), trying for
        ``patience`` seconds; the error if some are still only on this machine."""
        if not self._spooled or self._spool is None:
            return None
        deadline = time.monotonic() + patience
        delay = 0.1
        while not self._replay_spool(wait=self._retry_seconds):
            if time.monotonic() + delay > deadline or self._hurry.is_set():
                return Unavailable(
                    f"{len(self._spooled)} batch(es) of logged data are only in the local "
                    f"spool {self._spool.dir}, not in the store: it is unreachable. They are "
                    "delivered when it is back (the next flush or read, or `modelyard sync`)"
                )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        return None

    def _replay_spool(self, wait: float) -> bool:
        """Deliver what is spooled, oldest first (``wait``: seconds to wait for another
        process delivering the same folder); whether nothing is left."""
        assert self._spool is not None
        self._last_probe = time.monotonic()
        if not self._spooled:
            return True
        try:
            _, rejected = self._spool.replay(
                self._apply, list(self._spooled), wait=wait, stop=self._hurry.is_set
            )
        except Unavailable:
            self._offline = True
            rejected = []
        set_aside = {path.name for path, _ in rejected}
        for path, message in rejected:
            if path.name in self._adopted:  # not this process's data: say it, raise nothing
                log.warning(
                    "modelyard: a spooled batch left by an earlier process was rejected and set "
                    "aside as %s: %s",
                    path,
                    message,
                )
            else:
                self._record(ModelyardError(f"spooled batch {path.name} was rejected: {message}"))
        self._spooled = [p for p in self._spooled if p.exists() and p.name not in set_aside]
        if self._spooled:
            return False
        self._adopted.clear()
        self._back_online()
        return True
