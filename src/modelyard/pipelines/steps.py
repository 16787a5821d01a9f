"""``Step``: a function with step options. Called inside a running pipeline it is submitted
(and returns a ``StepFuture``); called anywhere else it simply runs."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.pipelines.context import active_runner
from modelyard.pipelines.options import StepOptions, step_options
from modelyard.pipelines.values import Model


class Step:
    def __init__(self, fn: Callable[..., Any], options: StepOptions) -> None:
        if not callable(fn) or inspect.iscoroutinefunction(fn) or inspect.isgeneratorfunction(fn):
            what = (
                "a coroutine function"
                if inspect.iscoroutinefunction(fn)
                else "a generator function"
                if inspect.isgeneratorfunction(fn)
                else "not callable"
            )
            raise InvalidArgument(
                f"@step needs a plain function; {getattr(fn, '__name__', fn)!r} is {what}",
                field="step",
            )
        self.fn = fn
        self.options = options
        self.signature = inspect.signature(fn)
        self.returns_model = _returns_model(fn)
        functools.update_wrapper(self, fn)

    @property
    def name(self) -> str:
        return self.options.name

    def __repr__(self) -> str:
        return f"<Step {self.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        runner = active_runner.get()
        if runner is None:
            return self.fn(*args, **kwargs)
        return runner.submit(self, args, kwargs)

    def map(self, *iterables: Iterable[Any], **fixed: Any) -> list[Any]:
        """One call per element (of several iterables: per tuple, as ``zip``), ``fixed``
        keyword arguments shared; inside a pipeline the calls run in parallel."""
        if not iterables:
            raise InvalidArgument("map needs at least one iterable", field="iterables")
        return [self(*items, **fixed) for items in zip(*iterables, strict=True)]

    def with_options(self, **changes: Any) -> Step:
        current = {
            "cache": self.options.cache,
            "cache_expires": self.options.cache_expires,
            "retries": self.options.retries,
            "retry_delay": self.options.retry_delay,
            "timeout": self.options.timeout,
            "resources": self.options.resources,
            "process": self.options.process,
        }
        name = changes.pop("name", self.options.name)
        current.update(changes)
        return Step(self.fn, step_options(name, **current))

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by parameter name (defaults applied), or a clear error."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidArgument(f"step {self.name}: {exc}", field="args") from None
        bound.apply_defaults()
        return dict(bound.arguments)


def _returns_model(fn: Callable[..., Any]) -> bool:
    annotation = inspect.signature(fn).return_annotation
    if annotation is Model:
        return True
    if isinstance(annotation, str):  # from __future__ import annotations
        return annotation.split(".")[-1] == "Model"
    return False
