"""The background writer's promises, with the store replaced by failures we inject."""

from __future__ import annotations

import threading
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
