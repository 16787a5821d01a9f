"""One attempt of one step, wherever it runs: call the function with its arguments, keep what
it printed, turn what it returned into a stored document and write its blobs. Never raises:
the outcome says what happened (the error with its traceback)."""

from __future__ import annotations

import inspect
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelyard.errors import ModelyardError
from modelyard.pipelines.capture import step_log
from modelyard.pipelines.context import step_run
from modelyard.pipelines.entities import OutputRef
from modelyard.pipelines.values import ModelSaver, encode

BlobWriter = Callable[[dict[str, bytes]], None]


@dataclass
class Task:
    step: Any  # a Step
    key: str
    arguments: dict[str, Any]  # by parameter name, the inputs' values resolved
    attempt: int = 1
    tracked_run_id: str | None = None
    save_model: ModelSaver | None = None
    input_refs: dict[str, OutputRef] = field(default_factory=dict)  # inputs from other steps


@dataclass
class Outcome:
    ok: bool
    value: Any = None
    ref: OutputRef | None = None
    logs: str = ""
    error: str | None = None  # the message and traceback
    start_time: int = 0
    end_time: int = 0
    timed_out: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def call_arguments(step: Any, arguments: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    bound = inspect.BoundArguments(step.signature, arguments)
    return bound.args, bound.kwargs


def failure(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return text[-100_000:]


def call_step(task: Task) -> tuple[bool, Any, str, int, int]:
    """(ok, value or error text, logs, start ms, end ms) of calling the function here."""
    with step_log() as log:
        start = int(time.time() * 1000)
        token = step_run.set(task.tracked_run_id)
        try:
            args, kwargs = call_arguments(task.step, task.arguments)
            value: Any = task.step.fn(*args, **kwargs)
            ok = True
        except BaseException as exc:  # noqa: BLE001 - the step's own failure (SystemExit too), kept
            value, ok = failure(exc), False
        finally:
            step_run.reset(token)
        end = int(time.time() * 1000)
    return ok, value, log.text(), start, end


def store_output(task: Task, value: Any, write_blobs: BlobWriter) -> OutputRef:
    encoded = encode(
        value,
        where=f"the output of step {task.key}",
        save_model=task.save_model,
        as_model=task.step.returns_model,
    )
    if encoded.blobs:
        write_blobs(encoded.blobs)
    return encoded.ref()


def run_attempt(task: Task, write_blobs: BlobWriter) -> Outcome:
    ok, value, logs, start, end = call_step(task)
    if not ok:
        return Outcome(False, logs=logs, error=value, start_time=start, end_time=end)
    return finish_attempt(task, value, logs, start, end, write_blobs)


def finish_attempt(
    task: Task, value: Any, logs: str, start: int, end: int, write_blobs: BlobWriter
) -> Outcome:
    try:
        ref = store_output(task, value, write_blobs)
    except ModelyardError as exc:
        return Outcome(
            False,
            logs=logs,
            error=f"{type(exc).__name__}: {exc.message}",
            start_time=start,
            end_time=end,
        )
    except Exception as exc:  # noqa: BLE001 - a store that failed: the step failed, said why
        return Outcome(False, logs=logs, error=failure(exc), start_time=start, end_time=end)
    return Outcome(True, value=value, ref=ref, logs=logs, start_time=start, end_time=end)
