"""The local executor: steps on a thread pool (I/O, NumPy and pandas, which release the GIL);
``process=True`` steps in a child process each (CPU-bound Python; killed on timeout or
cancel). ``resources={"cpus": n}`` takes n of this machine's cores for the step's time, so
parallel branches never ask for more cores than there are."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.pipelines.attempts import (
    BlobWriter,
    Outcome,
    Task,
    call_step,
    finish_attempt,
    run_attempt,
)
from modelyard.pipelines.executors.base import Done, Executor


class _Cores:
    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        self.cond = threading.Condition()

    def take(self, n: int) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.free >= n)
            self.free -= n

    def give(self, n: int) -> None:
        with self.cond:
            self.free += n
            self.cond.notify_all()


class _Once:
    """Calls ``done`` for the first outcome only (a timeout, or the attempt's end)."""

    def __init__(self, done: Done) -> None:
        self.done = done
        self.lock = threading.Lock()
        self.fired = False

    def __call__(self, outcome: Outcome) -> None:
        with self.lock:
            if self.fired:
                return
            self.fired = True
        self.done(outcome)


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, max_workers: int | None = None) -> None:
        cores = os.cpu_count() or 1
        self.pool = ThreadPoolExecutor(max_workers or min(32, cores + 4), thread_name_prefix="step")
        self.cores = _Cores(cores)
        self.children: set[Any] = set()
        self.running: set[_Once] = set()  # attempts on threads, not yet answered
        self.lock = threading.Lock()
        self.cancelled = False

    def check(self, step: Any) -> None:
        asked = step.options.resources.get("cpus", 0)
        if asked > self.cores.total:
            raise InvalidArgument(
                f"step {step.name} asks for {asked:g} cpus; this machine has "
                f"{self.cores.total} (the local executor); ask for fewer or run on Ray",
                field="resources['cpus']",
            )

    def submit(
        self, task: Task, write_blobs: BlobWriter, done: Done, timeout: float | None
    ) -> None:
        once = _Once(done)
        if not task.step.options.process:
            with self.lock:
                self.running.add(once)
        if timeout is not None and not task.step.options.process:
            timer = threading.Timer(timeout, lambda: once(_timed_out(task, timeout)))
            timer.daemon = True
            timer.start()
        self.pool.submit(self._run, task, write_blobs, once, timeout)

    def _run(self, task: Task, write_blobs: BlobWriter, once: _Once, timeout: float | None) -> None:
        opts = task.step.options
        cpus = round(opts.resources.get("cpus", 1 if opts.process else 0))
        if cpus:
            self.cores.take(min(cpus, self.cores.total))
        try:
            if once.fired:
                return  # timed out while waiting for cores
            if opts.process:
                once(self._in_child(task, write_blobs, timeout))
            else:
                once(run_attempt(task, write_blobs))
        except BaseException as exc:  # noqa: BLE001 - a bug here must still end the step
            once(Outcome(False, error=f"the executor failed: {exc!r}"))
        finally:
            with self.lock:
                self.running.discard(once)
            if cpus:
                self.cores.give(min(cpus, self.cores.total))

    def _in_child(self, task: Task, write_blobs: BlobWriter, timeout: float | None) -> Outcome:
        ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        reader, writer = ctx.Pipe(duplex=False)
        child: Any = ctx.Process(target=_child_main, args=(task, writer), daemon=True)  # type: ignore[attr-defined]
        with self.lock:
            if self.cancelled:
                return Outcome(False, error="cancelled before it started")
            child.start()
            self.children.add(child)
        writer.close()
        start = time.monotonic()
        try:
            return self._wait_child(task, child, reader, timeout, start, write_blobs)
        finally:
            with self.lock:
                self.children.discard(child)
            if child.is_alive():
                child.kill()
            child.join(5)
            reader.close()

    def _wait_child(
        self,
        task: Task,
        child: Any,
        reader: Any,
        timeout: float | None,
        start: float,
        write_blobs: BlobWriter,
    ) -> Outcome:
        left = None if timeout is None else max(0.0, timeout - (time.monotonic() - start))
        if not reader.poll(left):
            if child.is_alive():
                child.kill()
                return _timed_out(task, timeout or 0)
            return _died(task, child)
        try:
            ok, value, logs, t0, t1 = reader.recv()
        except (EOFError, OSError, pickle.UnpicklingError):
            return _died(task, child)
        if not ok:
            return Outcome(False, logs=logs, error=value, start_time=t0, end_time=t1)
        return finish_attempt(task, value, logs, t0, t1, write_blobs)

    def cancel(self) -> None:
        """Kill the child processes; a step on a thread cannot be stopped, so its attempt is
        answered as cancelled now (the run ends without it) and what it returns is dropped."""
        with self.lock:
            self.cancelled = True
            children = list(self.children)
            threads = list(self.running)
        for child in children:
            child.kill()
        for once in threads:
            once(
                Outcome(
                    False, error="cancelled while it ran (on a thread: what it returns is dropped)"
                )
            )

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _child_main(task: Task, conn: Any) -> None:
    task.save_model = None  # models are saved by the parent, from the value sent back
    result = call_step(task)
    try:
        conn.send(result)
    except Exception as exc:  # noqa: BLE001 - an output pickle cannot carry
        _, _, logs, t0, t1 = result
        conn.send(
            (
                False,
                f"the step's output could not be sent back from its process: {exc!r}",
                logs,
                t0,
                t1,
            )
        )
    conn.close()


def _died(task: Task, child: Any) -> Outcome:
    child.join(5)
    code = child.exitcode
    how = (
        f"was killed by signal {-code}"
        if code is not None and code < 0
        else f"exited with code {code}"
    )
    return Outcome(False, error=f"the process of step {task.key} {how} before it returned")


def _timed_out(task: Task, timeout: float) -> Outcome:
    return Outcome(False, error=f"step {task.key} timed out after {timeout:g} s", timed_out=True)
