"""One pipeline run: the body runs on its own thread with this runner active, so each step
call is submitted here. A call waits for the calls whose outputs it takes, is answered from
the cache (or from the run it retries) when its key matches, else goes to the executor;
failed attempts are retried with backoff. Independent calls run in parallel. The run ends
when the body has returned and every call has finished; its record says how.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Mapping
from typing import Any

from modelyard.errors import InvalidArgument, ModelyardError
from modelyard.pipelines import capture
from modelyard.pipelines.attempts import Outcome, Task, failure
from modelyard.pipelines.cache_keys import cache_key, literal_digest
from modelyard.pipelines.calls import Call, futures_in, substitute
from modelyard.pipelines.context import active_runner
from modelyard.pipelines.entities import (
    CACHED,
    CANCELLED,
    COMPLETED,
    FAILED,
    SKIPPED,
    CacheEntry,
    OutputRef,
    StepRecord,
)
from modelyard.pipelines.executors.base import Executor
from modelyard.pipelines.futures import StepFailed, StepFuture
from modelyard.pipelines.recorder import StepRecorder
from modelyard.pipelines.services import Services
from modelyard.platform.ids import now_ms

log = logging.getLogger("modelyard.pipelines")
_TRACKED = {COMPLETED: "FINISHED", CACHED: "FINISHED", FAILED: "FAILED"}
CACHE_READ_LIMIT = 2000  # a step's cache entries read at once up to this many


class Runner:
    def __init__(
        self,
        *,
        name: str,
        run_id: str,
        project: str,
        services: Services,
        executor: Executor,
        use_cache: bool,
        tracked_run_id: str,
        experiment_id: str,
        reuse: dict[str, StepRecord] | None = None,
    ) -> None:
        self.name = name
        self.run_id = run_id
        self.project = project
        self.services = services
        self.executor = executor
        self.use_cache = use_cache
        self.tracked_run_id = tracked_run_id
        self.experiment_id = experiment_id
        self.reuse = reuse or {}
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.calls: dict[str, Call] = {}
        self.counts: dict[str, int] = {}
        self.records: dict[str, StepRecord] = {}
        self.active = 0
        self.cancelled = threading.Event()
        self.raw_result: Any = None
        self.pipelines: list[str] = [name]
        self.cache_entries: dict[str, Mapping[str, CacheEntry] | None] = {}  # by step name
        self.cache_lookups: dict[str, int] = {}
        self.recorder = StepRecorder(services.store, run_id, services.tracking.flush)

    # --- what the body calls (through Step.__call__ and Pipeline.__call__) ---------------
    def enter_pipeline(self, name: str) -> None:
        if name in self.pipelines:
            path = " -> ".join([*self.pipelines, name])
            raise InvalidArgument(f"pipeline {name!r} calls itself: {path}", field="pipeline")
        self.pipelines.append(name)

    def leave_pipeline(self, name: str) -> None:
        if self.pipelines and self.pipelines[-1] == name:
            self.pipelines.pop()

    def submit(self, step: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> StepFuture:
        self.executor.check(step)
        arguments = step.bind(args, kwargs)
        with self.lock:
            n = self.counts.get(step.name, 0) + 1
            self.counts[step.name] = n
            key = step.name if n == 1 else f"{step.name}-{n}"
            deps = futures_in(arguments)
            call = Call(
                step, key, len(self.calls), arguments, deps, StepFuture(key), waiting=len(deps)
            )
            self.calls[key] = call
            self.active += 1
        future = call.future
        assert future is not None
        if not deps:
            self._ready(call)
        for dep in deps:
            dep.add_done_callback(functools.partial(self._dep_done, call))
        return future

    def _dep_done(self, call: Call, _dep: StepFuture) -> None:
        with self.lock:
            call.waiting -= 1
            ready = call.waiting == 0
        if ready:
            self._ready(call)

    # --- a call whose inputs are there ---------------------------------------------------
    def _ready(self, call: Call) -> None:
        try:
            self._decide(call)
        except BaseException as exc:  # noqa: BLE001 - a failure here fails the call, not the runner
            self._finish(call, FAILED, error=failure(exc))

    def _decide(self, call: Call) -> None:
        if self.cancelled.is_set():
            self._finish(call, CANCELLED, error="the run was cancelled before the step started")
            return
        failed = [d.key for d in call.deps if d.failed()]
        if failed:
            self._finish(call, SKIPPED, error=f"its input from {', '.join(failed)} failed")
            return
        call.input_refs = {}
        call.cache_key = self._key(call)
        reused = self._reused(call)
        if reused is not None:
            value, ref, source = reused
            self._finish(call, CACHED, value=value, ref=ref, cached_from=source)
            return
        self._launch(call)

    def _key(self, call: Call) -> str | None:
        digests: dict[str, str] = {}
        for name, value in call.arguments.items():
            deps = futures_in(value)
            if deps and isinstance(value, StepFuture):
                assert value.ref is not None
                digests[name] = value.ref.digest
                call.input_refs[name] = value.ref
                continue
            plain = substitute(value, lambda f: {"$output": f.ref.digest if f.ref else None})
            digest = literal_digest(plain)
            if digest is None:
                return None
            digests[name] = digest
        return cache_key(call.step, digests)

    def _reused(self, call: Call) -> tuple[Any, OutputRef, str] | None:
        if call.cache_key is None:
            return None
        earlier = self.reuse.get(call.key)
        if earlier is not None and earlier.cache_key == call.cache_key and earlier.output:
            loaded = self._load(earlier.output, call)
            if loaded is not None:
                return loaded, earlier.output, earlier.run_id
        if not (self.use_cache and call.step.options.cache):
            return None
        entry = self._cache_entry(call.step.name, call.cache_key)
        if entry is None:
            return None
        loaded = self._load(entry.output, call)
        return None if loaded is None else (loaded, entry.output, entry.run_id)

    def _cache_entry(self, step: str, key: str) -> CacheEntry | None:
        """A step's first lookup in a run asks for its key; from its second, the step's
        entries are read once (up to ``CACHE_READ_LIMIT``; key by key past that) and its
        calls then cost no query each. So an entry written by another process after that
        read is a miss for this run, and one cleared after it may still be used by it."""
        cache = self.services.store.cache
        with self.lock:
            looked = self.cache_lookups.get(step, 0)
            self.cache_lookups[step] = looked + 1
            known = self.cache_entries.get(step)
        if looked == 1:
            known = cache.of_step(step, self.project, CACHE_READ_LIMIT)
            with self.lock:
                self.cache_entries[step] = known
        if known is None:
            return cache.get(key, self.project)
        entry = known.get(key)
        return None if entry is None or entry.expired(now_ms()) else entry

    def _load(self, ref: OutputRef, call: Call) -> Any | None:
        try:
            if not self.services.has_blobs(ref):
                raise ModelyardError("its stored output is gone")
            return _Loaded(self.services.load(ref))
        except Exception as exc:  # noqa: BLE001 - a bad entry is a miss, said once
            said = f"the cached output cannot be used ({exc}); running the step"
            log.warning("step %s: %s", call.key, said)
            call.logs.append(f"[modelyard] {said}\n")  # in the step's own log too
            return None

    # --- attempts ------------------------------------------------------------------------
    def _launch(self, call: Call) -> None:
        call.attempts += 1
        if call.tracked_run_id is None:
            call.tracked_run_id = self._track(call)
        if call.start_time is None:
            call.start_time = now_ms()
        values = substitute(call.arguments, _value_of)
        task = Task(
            call.step, call.key, values, call.attempts, call.tracked_run_id,
            save_model=functools.partial(self._save_model, call),
            input_refs=call.input_refs,
        )  # fmt: skip
        self.executor.submit(
            task,
            self.services.write_blobs,
            functools.partial(self._attempt_done, call),
            call.step.options.timeout,
        )

    def _attempt_done(self, call: Call, outcome: Outcome) -> None:
        if outcome.logs:
            header = (
                f"--- attempt {call.attempts} ---\n"
                if call.attempts > 1 or call.step.options.retries
                else ""
            )
            call.logs.append(header + outcome.logs)
        if outcome.ok:
            self._finish(call, COMPLETED, value=outcome.value, ref=outcome.ref)
            return
        retries = call.step.options.retries
        if call.attempts <= retries and not self.cancelled.is_set():
            delay = call.step.options.retry_delay * (2 ** (call.attempts - 1))
            note = f"--- attempt {call.attempts} failed; retrying in {delay:g} s ---"
            call.logs.append(f"{note}\n{outcome.error}\n")
            timer = threading.Timer(delay, self._ready_retry, (call,))
            timer.daemon = True
            timer.start()
            return
        status = CANCELLED if self.cancelled.is_set() and not outcome.timed_out else FAILED
        call.logs.append(f"--- attempt {call.attempts} failed ---\n{outcome.error}\n")
        self._finish(call, status, error=outcome.error)

    def _ready_retry(self, call: Call) -> None:
        if self.cancelled.is_set():
            self._finish(call, CANCELLED, error="the run was cancelled between attempts")
            return
        try:
            self._launch(call)
        except BaseException as exc:  # noqa: BLE001
            self._finish(call, FAILED, error=failure(exc))

    def _save_model(self, call: Call, value: Any, where: str) -> dict[str, Any]:
        call.models += 1
        path = "model" if call.models == 1 else f"model-{call.models}"
        assert call.tracked_run_id is not None
        return self.services.save_model(value, call.tracked_run_id, path)

    def _track(self, call: Call) -> str:
        run = self.services.tracking.create_run(
            self.experiment_id,
            run_name=call.key,
            tags={
                "modelyard.pipeline": self.name,
                "modelyard.pipeline_run": self.run_id,
                "modelyard.step": call.step.name,
            },
            parent_run_id=self.tracked_run_id,
        )
        return str(run.info.run_id)

    # --- the end of a call ---------------------------------------------------------------
    def _finish(
        self,
        call: Call,
        status: str,
        *,
        value: Any = None,
        ref: OutputRef | None = None,
        error: str | None = None,
        cached_from: str | None = None,
    ) -> None:
        if isinstance(value, _Loaded):
            value = value.value
        if status == CACHED and call.tracked_run_id is None:
            call.tracked_run_id = self._track(call)
        end = now_ms()
        record = StepRecord(
            run_id=self.run_id,
            key=call.key,
            name=call.step.name,
            status=status,
            tracked_run_id=call.tracked_run_id,
            cache_key=call.cache_key,
            cached_from=cached_from,
            attempts=call.attempts,
            start_time=call.start_time if call.start_time is not None else end,
            end_time=end,
            error=error,
            output=ref,
            logs="".join(call.logs),
            upstream=tuple(d.key for d in call.deps),
        )
        self._end_tracked(call, status, cached_from)
        entry = None
        if status == COMPLETED and ref is not None and call.cache_key and call.step.options.cache:
            expires = call.step.options.cache_expires
            entry = CacheEntry(
                call.cache_key, call.step.name, self.project, ref, self.run_id, call.key, end,
                None if expires is None else end + int(expires * 1000),
            )  # fmt: skip
        self.recorder.add(call.seq, record, _datasets(call.arguments), entry)
        with self.lock:
            self.records[call.key] = record
        future = call.future
        assert future is not None  # a call finishes once
        # the run lets go of the call's inputs and output: a value lives as long as the
        # pipeline's body (or a later step) holds its handle, not for the whole run
        call.future, call.arguments, call.deps = None, {}, []
        future.ref = ref
        future.tracked_run_id = call.tracked_run_id
        if status in (COMPLETED, CACHED):
            future._finish(value)
        else:
            message = f"step {call.key} {status.lower()}: {_last_line(error)}"
            future._finish(error=StepFailed(message, key=call.key, status=status))
        with self.lock:
            self.active -= 1
            if self.active == 0:
                self.idle.notify_all()

    def _end_tracked(self, call: Call, status: str, cached_from: str | None) -> None:
        if call.tracked_run_id is None:
            return
        tracking = self.services.tracking
        if status == CACHED:
            tracking.set_tag(call.tracked_run_id, "modelyard.cached_from", cached_from or "")
        tracking.set_terminated(call.tracked_run_id, _TRACKED.get(status, "KILLED"))

    # --- the run as a whole --------------------------------------------------------------
    def wait_idle(self) -> None:
        with self.lock:
            self.idle.wait_for(lambda: self.active == 0)

    def cancel(self) -> None:
        self.cancelled.set()
        self.executor.cancel()

    def body(self, fn: Any, params: dict[str, Any]) -> Any:
        """Run the pipeline's function with this runner active; its return value with every
        future in it replaced by the step's value."""
        token = active_runner.set(self)
        try:
            with capture.installed():
                value = fn(**params)
                self.raw_result = value  # with its handles: the result names their outputs
                return substitute(value, lambda f: f.result())
        finally:
            active_runner.reset(token)


class _Loaded:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _value_of(future: StepFuture) -> Any:
    return future.result()


def _datasets(arguments: dict[str, Any]) -> list[tuple[str, int]]:
    """The dataset versions a call was given (for its lineage)."""
    return [
        (v.name, int(v.version))
        for v in _flat(arguments)
        if type(v).__name__ == "DatasetVersion" and hasattr(v, "version")
    ]


def _flat(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flat(v)]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [x for v in value for x in _flat(v)]
    return [value]


def _last_line(error: str | None) -> str:
    lines = [line for line in (error or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no error text"
