"""What a step call inside a pipeline returns: a handle on the step's output. Pass it to other
steps (they wait for it and run as soon as it is there; independent calls run in parallel) or
call ``result()`` to wait for the value in the pipeline's body."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from modelyard.errors import DeadlineExceeded, ModelyardError


class NotFinished(DeadlineExceeded, TimeoutError):
    """A wait ran out before the run (or step) finished; it goes on. Also a ``TimeoutError``,
    as ``concurrent.futures`` raises."""


class StepFailed(ModelyardError):
    """A step failed (after its retries), or was skipped because an input failed."""

    def __init__(self, message: str, *, key: str, status: str) -> None:
        super().__init__(message, field=None)
        self.key = key
        self.status = status


class StepFuture:
    """The output of one step call: ``result()`` waits for it (and raises ``StepFailed``)."""

    __slots__ = (
        "_callbacks",
        "_error",
        "_event",
        "_lock",
        "_value",
        "key",
        "ref",
        "tracked_run_id",
    )

    def __init__(self, key: str) -> None:
        self.key = key
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._value: Any = None
        self._error: StepFailed | None = None
        self._callbacks: list[Callable[[StepFuture], None]] = []
        self.ref: Any = None  # the stored output (OutputRef) once done
        self.tracked_run_id: str | None = None

    def __repr__(self) -> str:
        state = "failed" if self._error else "done" if self._event.is_set() else "pending"
        return f"<StepFuture {self.key} {state}>"

    def done(self) -> bool:
        return self._event.is_set()

    def failed(self) -> bool:
        return self._error is not None

    def result(self, timeout: float | None = None) -> Any:
        if not self._event.wait(timeout):
            raise NotFinished(f"step {self.key} has not finished after {timeout} s")
        if self._error is not None:
            raise self._error
        return self._value

    def add_done_callback(self, fn: Callable[[StepFuture], None]) -> None:
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(fn)
                return
        fn(self)

    def _finish(self, value: Any = None, error: StepFailed | None = None) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._value, self._error = value, error
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn(self)
