"""The pipeline run the current thread is building, if any: a step called while one is active
is submitted to it; called anywhere else (in a plain script, in a test, inside another step)
it is an ordinary function call. ``step_run`` is the tracked run of the step attempt running
on this thread (a built-in step such as ``batch_predict`` hangs its lineage on it)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Protocol


class Submitter(Protocol):
    def submit(self, step: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...

    def enter_pipeline(self, name: str) -> None: ...

    def leave_pipeline(self, name: str) -> None: ...


active_runner: ContextVar[Submitter | None] = ContextVar("modelyard_pipeline_runner", default=None)
step_run: ContextVar[str | None] = ContextVar("modelyard_step_run", default=None)
