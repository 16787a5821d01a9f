"""What a Ray worker runs for one attempt of one step: read the inputs it was handed as stored
references from the artifact store, call the step (what it prints kept), encode the output and
write its blobs to the artifact store itself, and send back the stored reference with the
value. Never raises: the reply says what happened. Ray is not imported here: this module is
plain Python a worker unpickles.

A model output is the one value a worker does not store: models are logged to the step's
tracked run by the driver (as for the local executor's child processes), so it goes back
unstored and the driver saves it."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from modelyard.config import DEFAULT_DATA_DIR, Settings
from modelyard.pipelines import capture
from modelyard.pipelines.attempts import Task, call_step, failure, finish_attempt
from modelyard.pipelines.decoding import decode
from modelyard.pipelines.entities import OutputRef
from modelyard.pipelines.services import Services
from modelyard.platform.backends import absolute_artifact_root

_KEEP_SERVICES = 4  # stores a worker process keeps open (one per tracking URI it served)
_services: OrderedDict[str, Services] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class StoreSpec:
    """The store a run's outputs go in, as a worker (another process, maybe another machine)
    opens it: an absolute URI and the driver's settings, without its credentials."""

    uri: str
    settings: Settings


@dataclass(frozen=True)
class Stored:
    """An input handed over as its stored document; the worker reads it from the store."""

    doc: Any


@dataclass(frozen=True)
class Payload:
    step: Any  # a Step
    key: str
    arguments: dict[str, Any]  # by parameter name: values, or Stored documents
    attempt: int
    tracked_run_id: str | None
    store: StoreSpec


@dataclass(frozen=True)
class Reply:
    ok: bool
    value: Any = None
    ref: OutputRef | None = None  # None with ok: a model, for the driver to store
    logs: str = ""
    error: str | None = None
    start_time: int = 0
    end_time: int = 0
    pid: int = 0


class _ModelOutput(BaseException):
    """Raised by the model saver a worker hands the encoder: the value goes back unstored.
    Not an ``Exception``, so that it passes ``finish_attempt``'s handlers."""


def store_spec(settings: Settings, uri: str | None) -> StoreSpec:
    """What a worker needs to open the store ``uri`` names, made absolute here (a worker's
    working directory is not the driver's)."""
    portable = replace(
        settings,
        tracking_uri=None,
        artifacts_uri=absolute_artifact_root(settings.artifacts_uri),
        spool_dir=settings.spool_dir.resolve(),
        cache_dir=settings.cache_dir.resolve(),
        token=None,
        oidc_client_secret=None,
    )
    return StoreSpec(absolute_uri(uri), portable)


def absolute_uri(uri: str | None) -> str:
    if not uri:
        return str(Path(DEFAULT_DATA_DIR).resolve())
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///") :]
        if path and not path.startswith("/") and not path.startswith(":memory:"):
            return "sqlite:///" + str(Path(path).resolve())
        return uri
    if "://" not in uri:
        return str(Path(uri).resolve())
    return uri


def services_for(spec: StoreSpec) -> Services:
    """This process's ``Services`` for the store (opened once per worker process)."""
    key = repr(spec)
    with _lock:
        found = _services.get(key)
        if found is not None:
            _services.move_to_end(key)
            return found
        made = Services(spec.settings, tracking_uri=spec.uri)
        _services[key] = made
        while len(_services) > _KEEP_SERVICES:
            _services.popitem(last=False)
        return made


def run_on_worker(payload: Payload) -> Reply:
    """One attempt, on a Ray worker."""
    pid = os.getpid()
    try:
        services = services_for(payload.store)
        readers = services.readers()
        arguments = {
            name: decode(value.doc, readers) if isinstance(value, Stored) else value
            for name, value in payload.arguments.items()
        }
    except Exception as exc:  # noqa: BLE001 - a store this worker cannot read: the attempt failed
        return Reply(
            False,
            error=f"step {payload.key}: its inputs could not be read from the artifact store "
            f"on the Ray worker\n{failure(exc)}",
            pid=pid,
        )
    task = Task(payload.step, payload.key, arguments, payload.attempt, payload.tracked_run_id)
    with capture.installed():
        ok, value, logs, start, end = call_step(task)
    if not ok:
        return Reply(False, logs=logs, error=value, start_time=start, end_time=end, pid=pid)
    task.save_model = _model_goes_back
    try:
        outcome = finish_attempt(task, value, logs, start, end, services.write_blobs)
    except _ModelOutput:
        return Reply(True, value=value, logs=logs, start_time=start, end_time=end, pid=pid)
    return Reply(
        outcome.ok,
        value=value if outcome.ok else None,
        ref=outcome.ref,
        logs=logs,
        error=outcome.error,
        start_time=start,
        end_time=end,
        pid=pid,
    )


def _model_goes_back(value: Any, where: str) -> dict[str, Any]:
    raise _ModelOutput(where)
