"""The background writer's promises, with the store replaced by failures we inject."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from modelyard.errors import InvalidArgument, ModelyardError, Unavailable
from modelyard.tracking import writer as writer_module
from modelyard.tracking.entities import Metric
from modelyard.tracking.ops import CreateRun, LogBatch, Op
from modelyard.tracking.spool import Spool
from modelyard.tracking.writer import MAX_BATCH_POINTS, BatchWriter

RUN = "a" * 32


def _log(i: int) -> LogBatch:
    return LogBatch(RUN, [Metric("m", float(i), 1, i)])


class Recorder:
    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.fail_with: Exception | None = None
        self.calls = 0

    def __call__(self, ops: Sequence[Op]) -> None:
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        for op in ops:
            if isinstance(op, LogBatch) and any(m.key == "bad" for m in op.metrics):
                raise InvalidArgument("bad metric", field="metrics")
        self.ops.extend(ops)


def _points(ops: list[Op]) -> list[int]:
    return [m.step for op in ops if isinstance(op, LogBatch) for m in op.metrics]


def test_order_is_kept_and_batches_are_merged() -> None:
    rec = Recorder()
    store_busy = threading.Event()

    def slow_store(ops: Sequence[Op]) -> None:
        store_busy.wait(10)  # a store slower than the caller: what piles up is merged
        rec(ops)

    writer = BatchWriter(slow_store)
    writer.submit(CreateRun(RUN, "0", "r", "u", 1))
    for i in range(5000):
        writer.submit(_log(i))
    store_busy.set()
    writer.flush()
    assert isinstance(rec.ops[0], CreateRun)
    assert _points(rec.ops) == list(range(5000))
    assert rec.calls < 100  # batched, not one call per point


def test_a_bad_op_fails_alone_and_is_raised_at_flush() -> None:
    rec = Recorder()
    writer = BatchWriter(rec)
    writer.submit(_log(1))
    writer.submit(LogBatch("b" * 32, [Metric("bad", 1.0, 1, 0)]))
    writer.submit(_log(2))
    with pytest.raises(InvalidArgument, match="bad metric"):
        writer.flush()
    assert _points(rec.ops) == [1, 2]
    writer.flush()  # the error was reported once


def test_unavailable_store_spools_after_the_retry_window(tmp_path: Path) -> None:
    rec = Recorder()
    rec.fail_with = Unavailable("down")
    spool = Spool(tmp_path, "http://example.invalid")
    writer = BatchWriter(rec, spool=spool, retry_seconds=0.3, probe_interval=0.0)
    for i in range(10):
        writer.submit(_log(i))
    writer.flush()
    assert writer.spooled_files == 1
    _, ops = Spool.read(spool.files()[0])
    assert _points(ops) == list(range(10))
    rec.fail_with = None  # the server is back: the spool is replayed before new data
    writer.submit(_log(10))
    writer.flush()
    assert _points(rec.ops) == list(range(11))
    assert spool.files() == []


def test_unavailable_without_a_spool_is_an_error(tmp_path: Path) -> None:
    rec = Recorder()
    rec.fail_with = Unavailable("down")
    writer = BatchWriter(rec, retry_seconds=0.1)
    writer.submit(_log(1))
    with pytest.raises(Unavailable):
        writer.flush()


def test_a_full_queue_blocks_the_producer_instead_of_growing() -> None:
    """Memory held is at most the queue plus the one batch being delivered."""
    gate = threading.Event()
    rec = Recorder()

    def slow(ops: Sequence[Op]) -> None:
        gate.wait()
        rec(ops)

    writer = BatchWriter(slow, queue_size=10)
    submitted = 0

    def produce() -> None:
        nonlocal submitted
        for i in range(MAX_BATCH_POINTS + 100):
            writer.submit(_log(i))
            submitted += 1

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join(1.0)
    assert producer.is_alive()  # blocked, not buffering without bound
    assert submitted <= MAX_BATCH_POINTS + 10 + 1
    gate.set()
    producer.join(10)
    writer.flush()
    assert _points(rec.ops) == list(range(MAX_BATCH_POINTS + 100))


def test_only_the_refused_op_fails_even_inside_a_merged_batch() -> None:
    """Consecutive log calls are merged before delivery; a refusal must not take the good
    points merged with the bad one down with it."""
    rec = Recorder()
    writer = BatchWriter(rec)
    for i in range(1000):
        writer.submit(_log(i))
        if i == 500:
            writer.submit(LogBatch(RUN, [Metric("bad", 1.0, 1, 0)]))
    with pytest.raises(InvalidArgument, match="bad metric"):
        writer.flush()
    assert _points(rec.ops) == list(range(1000))


def test_a_driver_error_is_isolated_and_reported() -> None:
    def apply(ops: Sequence[Op]) -> None:
        for op in ops:
            if isinstance(op, LogBatch) and any(m.key == "boom" for m in op.metrics):
                raise ValueError("driver said no")
        rec(ops)

    rec = Recorder()
    writer = BatchWriter(apply)
    writer.submit(_log(1))
    writer.submit(LogBatch(RUN, [Metric("boom", 1.0, 1, 0)]))
    writer.submit(_log(2))
    with pytest.raises(ModelyardError, match="driver said no"):
        writer.flush()
    assert _points(rec.ops) == [1, 2]


def test_close_stops_the_thread_and_a_dropped_client_is_still_delivered() -> None:
    rec = Recorder()
    writer = BatchWriter(rec)
    writer.submit(_log(1))
    assert writer in writer_module._open_writers  # held strongly until closed
    writer_module.close_all_at_exit()
    assert _points(rec.ops) == [1]
    assert writer not in writer_module._open_writers
    writer._thread.join(2)
    assert not writer._thread.is_alive()


def test_a_writer_takes_over_what_earlier_processes_spooled_and_sends_it_first(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path, "http://example.invalid")
    spool.write([CreateRun(RUN, "0", "r", "u", 1)])
    spool.write([_log(0), _log(1)])
    rec = Recorder()
    writer = BatchWriter(rec, spool=spool, probe_interval=0.0)
    writer.submit(_log(2))
    writer.flush()
    assert isinstance(rec.ops[0], CreateRun) and _points(rec.ops) == [0, 1, 2]
    assert spool.files() == [] and writer.spooled_files == 0
    writer.close()


def test_an_idle_writer_delivers_its_spool_when_the_server_is_back(tmp_path: Path) -> None:
    rec = Recorder()
    rec.fail_with = Unavailable("down")
    spool = Spool(tmp_path, "http://example.invalid")
    writer = BatchWriter(rec, spool=spool, retry_seconds=0.1, probe_interval=0.1)
    writer.submit(_log(1))
    writer.flush()
    assert writer.spooled_files == 1
    rec.fail_with = None  # back; nothing new is logged
    deadline = time.monotonic() + 5
    while spool.files() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spool.files() == [] and _points(rec.ops) == [1]
    writer.close()


def test_a_read_settles_the_spool_or_says_it_cannot(tmp_path: Path) -> None:
    rec = Recorder()
    rec.fail_with = Unavailable("down")
    spool = Spool(tmp_path, "http://example.invalid")
    writer = BatchWriter(rec, spool=spool, retry_seconds=0.1, probe_interval=3600)
    writer.submit(_log(1))
    writer.flush()  # spooled: that is all a plain flush promises
    with pytest.raises(Unavailable, match="only in the local spool"):
        writer.flush(settle=True)
    rec.fail_with = None
    writer.flush(settle=True)  # tried at once, not at the next probe an hour away
    assert _points(rec.ops) == [1] and writer.spooled_files == 0
    writer.close()


def test_one_process_at_a_time_delivers_a_spool_folder(tmp_path: Path) -> None:
    """The folder's lock: a replay waits for another process's, or says it is busy."""
    import fcntl
    import os

    spool = Spool(tmp_path, "http://example.invalid")
    spool.write([_log(1)])
    rec = Recorder()
    fd = os.open(spool.dir / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process is delivering
    try:
        with pytest.raises(Unavailable, match="another process is delivering"):
            spool.replay(rec, wait=0.2)
        assert rec.calls == 0 and len(spool.files()) == 1
        threading.Timer(0.3, fcntl.flock, [fd, fcntl.LOCK_UN]).start()  # it finishes
        assert spool.replay(rec, wait=5) == (1, [])
    finally:
        os.close(fd)
    assert _points(rec.ops) == [1]
