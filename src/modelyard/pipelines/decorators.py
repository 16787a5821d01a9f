"""``@yard.step`` and ``@yard.pipeline``: plain Python functions become steps and pipelines.
The graph is the calls the pipeline's body makes; no DSL. ``Pipeline.run`` runs it here (on
threads and child processes, or on Ray) and records it as a tracked run with a nested run per
step."""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, overload

from modelyard.errors import InvalidArgument
from modelyard.pipelines.context import active_runner
from modelyard.pipelines.entities import PipelineInfo
from modelyard.pipelines.executors.base import Executor
from modelyard.pipelines.fingerprint import fingerprint
from modelyard.pipelines.handle import PipelineRun
from modelyard.pipelines.options import (
    RESERVED_PARAMS,
    check_catchup,
    check_max_active,
    check_step_name,
    step_options,
)
from modelyard.pipelines.steps import Step
from modelyard.pipelines.triggers import Trigger, check_schedule, check_triggers

EXECUTORS = ("local", "ray")
FILE_MODULE_PREFIX = "_modelyard_pipeline_"  # modules loaded from a file by entrypoints


@overload
def step(fn: Callable[..., Any], /) -> Step: ...
@overload
def step(*, name: str | None = None, **options: Any) -> Callable[[Callable[..., Any]], Step]: ...
def step(
    fn: Callable[..., Any] | None = None, /, *, name: str | None = None, **options: Any
) -> Any:
    """Make ``fn`` a step. Options: ``cache`` (reuse an output when code, inputs and package
    versions match), ``cache_expires`` ("7d"), ``retries``, ``retry_delay`` (doubled per
    retry), ``timeout`` ("10m"), ``resources`` ({"cpus": 1, "gpus": 0, "memory": bytes}),
    ``process`` (run in a child process)."""
    unknown = set(options) - {
        "cache",
        "cache_expires",
        "retries",
        "retry_delay",
        "timeout",
        "resources",
        "process",
    }
    if unknown:
        raise InvalidArgument(
            f"@step has no option {sorted(unknown)[0]!r}", field=sorted(unknown)[0]
        )

    def wrap(f: Callable[..., Any]) -> Step:
        return Step(f, step_options(name or f.__name__, **options))

    return wrap(fn) if fn is not None else wrap


_TEXT_REFUSED: dict[Any, str] = {int: "an integer", float: "a number", bool: "true or false"}


class Pipeline:
    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str,
        schedule: str | None,
        timezone: str,
        triggers: list[Trigger],
        catchup: str,
        max_active: int,
        description: str | None,
    ) -> None:
        self.fn = fn
        self.name = check_step_name(name, "pipeline name")
        self.schedule = schedule
        self.timezone = timezone
        self.triggers = triggers
        self.catchup = catchup
        self.max_active = max_active
        self.description = description
        self.signature = inspect.signature(fn)
        clash = RESERVED_PARAMS & set(self.signature.parameters)
        if clash:
            raise InvalidArgument(
                f"pipeline {self.name}: parameter {sorted(clash)[0]!r} is a name run() uses "
                "for its own options; rename it",
                field="pipeline",
            )
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<Pipeline {self.name}>"

    @property
    def entrypoint(self) -> str:
        module = self.fn.__module__
        if module is None:  # defined by exec(): no file, no importable name
            return f"<exec>:{self.fn.__qualname__}"
        if module == "__main__" or module.startswith(FILE_MODULE_PREFIX):
            path = getattr(sys.modules.get(module), "__file__", None)
            if path:  # a script: its file (it has no importable name)
                return f"{Path(path).resolve()}:{self.fn.__qualname__}"
        return f"{module}:{self.fn.__qualname__}"

    def info(self) -> PipelineInfo:
        return PipelineInfo(
            name=self.name,
            project="",
            entrypoint=self.entrypoint,
            description=self.description,
            schedule=self.schedule,
            timezone=self.timezone,
            triggers=[t.to_dict() for t in self.triggers],
            catchup=self.catchup,
            max_active=self.max_active,
            code_digest=fingerprint(self.fn)[0],
        )

    def save(self, services: Any) -> PipelineInfo:
        """Record this pipeline in the store (done by every run; ``modelyard pipelines
        register`` and the server do it for pipelines that run on a schedule)."""
        from modelyard.pipelines.triggers import first_fire

        info = self.info()
        info = PipelineInfo(**{**info.to_dict(), "next_fire": first_fire(info)})
        saved: PipelineInfo = services.store.defs.save(info, services.settings.project)
        return saved

    def bind(self, args: tuple[Any, ...], params: dict[str, Any]) -> dict[str, Any]:
        try:
            bound = self.signature.bind(*args, **params)
        except TypeError as exc:
            raise InvalidArgument(f"pipeline {self.name}: {exc}", field="params") from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        for key, value in arguments.items():
            want = _TEXT_REFUSED.get(self._hints.get(key))
            if want is not None and isinstance(value, str):  # text from a command line, say
                raise InvalidArgument(
                    f"pipeline {self.name}: parameter {key!r} must be {want}, not the text "
                    f"{value[:60]!r}",
                    field=f"params[{key!r}]",
                )
        return arguments

    @functools.cached_property
    def _hints(self) -> dict[str, Any]:
        """The function's parameter annotations, resolved (none when they cannot be)."""
        try:
            return typing.get_type_hints(self.fn)
        except Exception:  # noqa: BLE001 - a name the module cannot resolve: not checked
            return {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Inside a running pipeline: its body runs as part of that run (a sub-pipeline);
        anywhere else: ``run(...).result()``."""
        runner = active_runner.get()
        if runner is None:
            return self.run(*args, **kwargs).result()
        runner.enter_pipeline(self.name)
        try:
            return self.fn(*args, **kwargs)
        finally:
            runner.leave_pipeline(self.name)

    def run(
        self,
        *args: Any,
        executor: str | Executor = "local",
        cache: bool = True,
        wait: bool = True,
        params: dict[str, Any] | None = None,
        trigger: str = "manual",
        **kwargs: Any,
    ) -> PipelineRun:
        """Run the pipeline now. ``executor``: "local" (threads, child processes for steps
        with ``process=True``) or "ray" (the cluster ``ray.init`` reaches). ``cache=False``
        runs every step (their new outputs still go in the cache). ``wait=False`` returns at
        once; the run goes on in the background."""
        from modelyard.pipelines.launch import Launch
        from modelyard.pipelines.services import Services

        bound = self.bind(args, {**(params or {}), **kwargs})
        services = Services()
        chosen = make_executor(executor)
        launch = Launch(self, bound, services, chosen, use_cache=cache, trigger=trigger)
        return _started(launch, wait)

    def retry(
        self, run_id: str, *, executor: str | Executor = "local", wait: bool = True
    ) -> PipelineRun:
        """Run again with the parameters of run ``run_id``; the steps that completed there are
        reused (when their code and inputs are unchanged), the rest run."""
        from modelyard.pipelines.launch import Launch
        from modelyard.pipelines.services import Services

        services = Services()
        old = services.store.runs.get(run_id)
        if old.pipeline != self.name:
            raise InvalidArgument(
                f"run {run_id} is a run of pipeline {old.pipeline!r}, not {self.name!r}",
                field="run_id",
            )
        params = services.load_params(old.params)
        reuse = {s.key: s for s in services.store.steps.list(run_id) if s.output is not None}
        launch = Launch(
            self, params, services, make_executor(executor), use_cache=True,
            trigger=f"retry of {run_id}", retry_of=run_id, reuse=reuse,
        )  # fmt: skip
        return _started(launch, wait)


def _started(launch: Any, wait: bool) -> PipelineRun:
    """Start the run (and wait for it): Ctrl-C at any point after the start cancels it."""
    try:
        handle: PipelineRun = launch.start()
        if wait:
            handle.wait()
    except KeyboardInterrupt:
        launch.interrupted()
        raise
    return handle


def make_executor(executor: str | Executor) -> Executor:
    if isinstance(executor, Executor):
        return executor
    if executor == "local":
        from modelyard.pipelines.executors.local import LocalExecutor

        return LocalExecutor()
    if executor == "ray":
        import importlib

        # the Ray executor (and Ray) load only when asked for
        module = importlib.import_module("modelyard.pipelines.executors.ray")
        made: Executor = module.RayExecutor()
        return made
    raise InvalidArgument(
        f"executor must be one of {', '.join(EXECUTORS)} or an Executor, got {executor!r}",
        field="executor",
    )


def pipeline(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    schedule: str | None = None,
    timezone: str = "UTC",
    triggers: list[Trigger] | None = None,
    catchup: str = "latest",
    max_active: int = 1,
    description: str | None = None,
) -> Any:
    """Make ``fn`` a pipeline: its body calls steps (and other pipelines). ``schedule``: a
    cron expression in ``timezone``; ``triggers``: ``on_dataset``, ``on_model``,
    ``on_alert``, ``on_webhook``; both are fired by ``modelyard server``. ``catchup``: what a
    server that was down runs for the times it missed (skip, latest, all); ``max_active``:
    how many runs of it may run at once."""

    def wrap(f: Callable[..., Any]) -> Pipeline:
        return Pipeline(
            f,
            name=name or f.__name__,
            schedule=check_schedule(schedule, timezone),
            timezone=timezone,
            triggers=check_triggers(triggers),
            catchup=check_catchup(catchup),
            max_active=check_max_active(max_active),
            description=description or inspect.getdoc(f),
        )

    return wrap(fn) if fn is not None else wrap
