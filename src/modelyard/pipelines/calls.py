"""One step call inside a run, and the walks over its arguments: which ``StepFuture``s it
waits for (at any depth of lists, tuples, dicts and sets) and the same structure with each
future replaced by its value (or its stored reference)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelyard.pipelines.entities import OutputRef
from modelyard.pipelines.futures import StepFuture


@dataclass
class Call:
    step: Any  # Step
    key: str
    seq: int
    arguments: dict[str, Any]
    deps: list[StepFuture]
    future: StepFuture | None  # None once finished (the run no longer holds its value)
    waiting: int = 0
    attempts: int = 0
    tracked_run_id: str | None = None
    cache_key: str | None = None
    start_time: int | None = None
    logs: list[str] = field(default_factory=list)
    models: int = 0  # models saved from its output so far (their artifact paths)
    input_refs: dict[str, OutputRef] = field(default_factory=dict)


def futures_in(value: Any, out: list[StepFuture] | None = None) -> list[StepFuture]:
    found = [] if out is None else out
    if isinstance(value, StepFuture):
        if all(f is not value for f in found):
            found.append(value)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            futures_in(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            futures_in(v, found)
    return found


def substitute(value: Any, replace: Callable[[StepFuture], Any]) -> Any:
    if isinstance(value, StepFuture):
        return replace(value)
    if isinstance(value, list):
        return [substitute(v, replace) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(substitute(v, replace) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(substitute(v, replace) for v in value)
    if isinstance(value, dict):
        return {k: substitute(v, replace) for k, v in value.items()}
    return value


def holds_future(value: Any) -> bool:
    return bool(futures_in(value))
