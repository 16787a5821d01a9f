"""What runs a step's attempts: the local executor (threads, child processes) or Ray. The
runner decides what runs when (dependencies, cache, retries); an executor only runs one
attempt and calls ``done`` exactly once with its outcome."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from modelyard.pipelines.attempts import BlobWriter, Outcome, Task

Done = Callable[[Outcome], None]


class Executor(ABC):
    name: str = "executor"
    # True: the runner hands each task its inputs' values; False: their stored references
    # (the executor's workers read them from the artifact store)
    in_process: bool = True

    @abstractmethod
    def submit(
        self, task: Task, write_blobs: BlobWriter, done: Done, timeout: float | None
    ) -> None:
        """Run one attempt; call ``done`` once (from any thread), also on a timeout."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop what can be stopped (child processes, queued work); attempts already running
        on threads finish and their outcomes are ignored."""

    @abstractmethod
    def shutdown(self) -> None:
        """Release the workers (the run is over)."""

    def check(self, step: Any) -> None:  # noqa: B027 - optional: refuse a step it cannot run
        """Refuse, before the run starts using it, a step this executor cannot run."""
