"""The Ray executor: each attempt of a step is a Ray task on the cluster ``ray.init`` reaches
(the one this process already joined, else ``RAY_ADDRESS``, else a local one it starts).

Outputs go through the artifact store, not Ray's object store alone: a worker reads the
inputs it is handed as stored references and writes its output's blobs itself, so a finished
step's output outlives the cluster (a retry, on any executor, reuses it). A step's
``resources`` become the task's ``num_cpus``, ``num_gpus`` and ``memory``; one no node can
hold is refused before it is submitted, not left pending. Ray's own retries are off: the
runner retries, and a worker or node lost mid-step is a failed attempt like any other. One
watcher thread waits on the tasks in flight, cancels (force) those past their timeout and
hands finished ones to a small pool that reports them."""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

from modelyard.config import Settings
from modelyard.errors import InvalidArgument
from modelyard.pipelines.attempts import BlobWriter, Outcome, Task, failure, finish_attempt
from modelyard.pipelines.executors.base import Done, Executor
from modelyard.pipelines.executors.ray_worker import (
    Payload,
    Reply,
    Stored,
    run_on_worker,
    store_spec,
)
from modelyard.platform.current import chosen_uri

try:
    import ray
    from ray import exceptions as ray_errors
except ModuleNotFoundError:  # pragma: no cover - the extra is in the test environment
    raise InvalidArgument(
        "the Ray executor needs Ray: pip install 'modelyard[ray]'", field="executor"
    ) from None

POLL_SECONDS = 0.05  # how soon a task submitted while the watcher waits is waited on too
_RESOURCES = {"cpus": "CPU", "gpus": "GPU", "memory": "memory"}
_UNITS = {"cpus": "cpus", "gpus": "gpus", "memory": "bytes of memory"}
# the worker, the process or the node under a task went away: the attempt failed
_LOST = (
    ray_errors.WorkerCrashedError,
    ray_errors.NodeDiedError,
    ray_errors.OutOfMemoryError,
    ray_errors.ObjectLostError,
    ray_errors.RaySystemError,
    ray_errors.LocalRayletDiedError,
)
_init_lock = threading.Lock()


@dataclass
class _Pending:
    task: Task
    write_blobs: BlobWriter
    done: Done
    timeout: float | None
    deadline: float | None


class RayExecutor(Executor):
    name = "ray"
    in_process = False

    def __init__(self, address: str | None = None) -> None:
        connect(address)
        settings = Settings.from_env()
        self.store = store_spec(settings, chosen_uri(settings))
        self.nodes = _node_resources()
        self.pending: dict[Any, _Pending] = {}
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.closed = False
        self.cancelled = False
        self.reporters = ThreadPoolExecutor(4, thread_name_prefix="ray-step-done")
        self.watcher = threading.Thread(target=self._watch, name="ray-steps", daemon=True)
        self.watcher.start()

    # --- before a step runs ---------------------------------------------------------------
    def check(self, step: Any) -> None:
        asked = _asked(step.options.resources)
        if _fits(asked, self.nodes):
            return
        self.nodes = _node_resources()  # the cluster may have grown since
        if _fits(asked, self.nodes):
            return
        message = _too_large(step.name, step.options.resources, self.nodes)
        raise InvalidArgument(message, field="resources")

    # --- one attempt ----------------------------------------------------------------------
    def submit(
        self, task: Task, write_blobs: BlobWriter, done: Done, timeout: float | None
    ) -> None:
        if self.cancelled:
            done(Outcome(False, error="cancelled before it started"))
            return
        arguments = {
            name: Stored(task.input_refs[name].doc) if name in task.input_refs else value
            for name, value in task.arguments.items()
        }
        payload = Payload(
            task.step, task.key, arguments, task.attempt, task.tracked_run_id, self.store
        )
        try:
            ref = _remote().options(**_options(task)).remote(payload)
        except Exception as exc:  # noqa: BLE001 - e.g. an argument Ray cannot pickle
            done(Outcome(False, error=f"step {task.key} could not be sent to Ray\n{failure(exc)}"))
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.lock:
            self.pending[ref] = _Pending(task, write_blobs, done, timeout, deadline)
        self.wake.set()

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True
            stopped = list(self.pending.items())
            self.pending.clear()
        for ref, pending in stopped:
            _force_cancel(ref)
            pending.done(Outcome(False, error=f"step {pending.task.key} was cancelled on Ray"))

    def shutdown(self) -> None:
        with self.lock:
            self.closed = True
            left = list(self.pending)
            self.pending.clear()
        for ref in left:
            _force_cancel(ref)
        self.wake.set()
        self.reporters.shutdown(wait=False)

    # --- the watcher ----------------------------------------------------------------------
    def _watch(self) -> None:
        while True:
            self.wake.clear()
            with self.lock:
                if self.closed:
                    return
                refs = list(self.pending)
                deadlines = [p.deadline for p in self.pending.values() if p.deadline is not None]
            if not refs:
                self.wake.wait(1.0)
                continue
            wait = POLL_SECONDS
            if deadlines:
                wait = max(0.0, min(wait, min(deadlines) - time.monotonic()))
            try:
                ready, rest = ray.wait(refs, num_returns=1, timeout=wait, fetch_local=False)
                if ready and rest:
                    more, _ = ray.wait(rest, num_returns=len(rest), timeout=0, fetch_local=False)
                    ready += more
            except Exception:  # noqa: BLE001 - the cluster went away: each task reports why
                ready = refs
            for ref in ready:
                pending = self._take(ref)
                if pending is not None:
                    self.reporters.submit(self._report, ref, pending)
            self._expire()

    def _take(self, ref: Any) -> _Pending | None:
        with self.lock:
            return self.pending.pop(ref, None)

    def _expire(self) -> None:
        now = time.monotonic()
        with self.lock:
            late = [
                r for r, p in self.pending.items() if p.deadline is not None and p.deadline <= now
            ]
            expired = [(r, self.pending.pop(r)) for r in late]
        for ref, pending in expired:
            _force_cancel(ref)
            pending.done(
                Outcome(
                    False,
                    error=f"step {pending.task.key} timed out after {pending.timeout:g} s "
                    "(its Ray task was cancelled)",
                    timed_out=True,
                )
            )

    def _report(self, ref: Any, pending: _Pending) -> None:
        try:
            outcome = _outcome(ref, pending)
        except BaseException as exc:  # noqa: BLE001 - a bug here must still end the step
            outcome = Outcome(False, error=f"the Ray executor failed: {exc!r}")
        pending.done(outcome)


def connect(address: str | None = None) -> None:
    """Join the cluster: the one this process is already in, else ``address``, else
    ``RAY_ADDRESS``, else a local one started here (and stopped when this process ends)."""
    with _init_lock:
        if ray.is_initialized():
            return
        ray.init(
            address=address,  # None: Ray reads RAY_ADDRESS itself, else starts a local one
            ignore_reinit_error=True,
            configure_logging=False,
        )


@cache
def _remote() -> Any:
    return ray.remote(run_on_worker)


def _options(task: Task) -> dict[str, Any]:
    resources = task.step.options.resources
    options: dict[str, Any] = {
        "name": task.key,
        "num_cpus": resources.get("cpus", 1),
        "max_retries": 0,  # the runner retries (with its backoff, and the attempt counted)
        "retry_exceptions": False,
    }
    if resources.get("gpus"):
        options["num_gpus"] = resources["gpus"]
    if resources.get("memory"):
        options["memory"] = int(resources["memory"])
    return options


def _outcome(ref: Any, pending: _Pending) -> Outcome:
    key = pending.task.key
    try:
        reply: Reply = ray.get(ref)
    except _LOST as exc:
        return Outcome(
            False,
            error=f"the Ray worker running step {key} was lost before it returned "
            f"({type(exc).__name__}: {exc})",
        )
    except ray_errors.TaskCancelledError:
        return Outcome(False, error=f"step {key} was cancelled on Ray")
    except ray_errors.RayError as exc:
        return Outcome(False, error=f"Ray could not run step {key}: {exc}")
    if not reply.ok:
        return Outcome(
            False,
            logs=reply.logs,
            error=reply.error,
            start_time=reply.start_time,
            end_time=reply.end_time,
        )
    if reply.ref is None:  # a model: logged to the step's run from here
        return finish_attempt(
            pending.task,
            reply.value,
            reply.logs,
            reply.start_time,
            reply.end_time,
            pending.write_blobs,
        )
    return Outcome(
        True,
        value=reply.value,
        ref=reply.ref,
        logs=reply.logs,
        start_time=reply.start_time,
        end_time=reply.end_time,
        extra={"pid": reply.pid},
    )


def _force_cancel(ref: Any) -> None:
    with contextlib.suppress(Exception):  # finished meanwhile, or the cluster is gone
        ray.cancel(ref, force=True)


# --- resources ------------------------------------------------------------------------------
def _node_resources() -> list[dict[str, float]]:
    return [dict(n.get("Resources", {})) for n in ray.nodes() if n.get("Alive")]


def _asked(resources: dict[str, float]) -> dict[str, float]:
    asked = {"CPU": resources.get("cpus", 1)}
    for key in ("gpus", "memory"):
        if resources.get(key):
            asked[_RESOURCES[key]] = resources[key]
    return asked


def _fits(asked: dict[str, float], nodes: list[dict[str, float]]) -> bool:
    return any(all(node.get(k, 0) >= v for k, v in asked.items()) for node in nodes)


def _too_large(step: str, resources: dict[str, float], nodes: list[dict[str, float]]) -> str:
    for key, value in resources.items():
        most = max((n.get(_RESOURCES[key], 0) for n in nodes), default=0)
        if value > most:
            return (
                f"step {step} asks for {value:g} {_UNITS[key]}; the largest node of the Ray "
                f"cluster has {most:g} ({len(nodes)} nodes); ask for less or add nodes"
            )
    return (
        f"step {step} asks for {resources}; no single node of the Ray cluster has all of it "
        f"({len(nodes)} nodes); ask for less or add a larger node"
    )
