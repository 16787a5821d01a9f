"""The fluent tracking API (``yard.start_run``, ``yard.log_metric``, ...).

State is explicit and small: the tracking URI and current experiment are process-wide, the
stack of active runs is per thread (as in MLflow), and one ``Client`` per tracking URI does
the work. An exception inside ``with start_run()`` marks the run FAILED, Ctrl-C KILLED.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from modelyard.config import DEFAULT_DATA_DIR
from modelyard.errors import AlreadyExists, InvalidArgument, Unavailable
from modelyard.platform import current
from modelyard.platform.backends import Part, open_backends
from modelyard.platform.ids import now_ms
from modelyard.platform.resets import on_reset
from modelyard.store.artifacts.base import StoredFile
from modelyard.tracking.client import Client
from modelyard.tracking.entities import (
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunStatus,
    ViewType,
)
from modelyard.tracking.frames import runs_to_frame
from modelyard.tracking.reproducibility import USER, reproducibility_tags
from modelyard.tracking.sql_experiments import DEFAULT_EXPERIMENT_ID
from modelyard.tracking.system_metrics import SystemMetricsMonitor

NOTE_TAG = "modelyard.note"


class _Globals:
    experiment_id: str | None = None
    last_run_id: str | None = None


_g = _Globals()
_local = threading.local()
# the fluent API's client of each store: a part of the store's backend
fluent_client = Part(lambda backend: Client(backend.uri, settings=backend.settings))


def _stack() -> list[ActiveRun]:
    stack: list[ActiveRun] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def set_tracking_uri(uri: str | Path | None) -> None:
    """Choose the store: a folder, ``sqlite:///file.db``, ``postgresql+psycopg://...`` or
    ``http://host:port`` of a modelyard server. ``None`` goes back to the default."""
    current.set_uri(None if uri is None else str(uri))
    _g.experiment_id = None


def get_tracking_uri() -> str:
    return current.chosen_uri() or DEFAULT_DATA_DIR


def _client() -> Client:
    return fluent_client(current.current_backend())


def flush(*, durable: bool = False) -> None:
    """Block until everything logged so far is stored, or spooled locally while the server
    is unreachable; ``durable=True``: stored, spool included, or ``Unavailable`` (see
    ``Client.flush``). Raises errors from background logging."""
    for backend in open_backends():
        client = fluent_client.built(backend)
        if client is not None:
            client.flush(durable=durable)


# --- experiments --------------------------------------------------------------------------
def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment current, creating it by name when it does not exist."""
    client = _client()
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidArgument(
            "give exactly one of experiment_name or experiment_id", field="experiment_name"
        )
    try:
        exp = _find_or_create(client, experiment_name, experiment_id)
    except Unavailable:
        if not client.remote:
            raise
        exp = client.offline_experiment(
            None if experiment_id is None else str(experiment_id), experiment_name
        )  # seen before from this machine: runs start offline, spooled
    if exp.lifecycle_stage != LifecycleStage.ACTIVE.value:
        raise InvalidArgument(
            f"experiment {exp.name!r} is deleted; restore it with "
            f"`modelyard experiments restore {exp.experiment_id}`",
            field="experiment_name",
        )
    _g.experiment_id = exp.experiment_id
    return exp


def _find_or_create(client: Client, name: str | None, experiment_id: str | None) -> Experiment:
    if experiment_id is not None:
        return client.get_experiment(str(experiment_id))
    assert name is not None
    found = client.get_experiment_by_name(name)
    if found is None:
        with contextlib.suppress(AlreadyExists):  # someone else may create it first
            client.create_experiment(name)
        found = client.get_experiment_by_name(name)
    assert found is not None
    return found


def create_experiment(
    name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


# --- runs ---------------------------------------------------------------------------------
class ActiveRun:
    """The run ``start_run`` returns; usable as a context manager."""

    def __init__(self, run: Run, client: Client, monitor: SystemMetricsMonitor | None) -> None:
        self._run = run
        self._client = client
        self._monitor = monitor

    @property
    def info(self) -> Any:
        return self._run.info

    @property
    def data(self) -> Any:
        return self._client.get_run(self._run.info.run_id).data

    @property
    def run_id(self) -> str:
        return str(self._run.info.run_id)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        if self in _stack():
            end_run(status.value, _run=self)


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
    system_metrics_interval: float = 10.0,
) -> ActiveRun:
    """Start a run (or resume one by ``run_id``) and make it the active run of this thread."""
    stack = _stack()
    if stack and not nested:
        raise InvalidArgument(
            f"run {stack[-1].run_id} is already active; end it with end_run() or pass "
            "nested=True to start a child run",
            field="nested",
        )
    client = _client()
    _install_exit_hooks()
    if run_id is not None:
        run = client.get_run(run_id)
        if run.info.lifecycle_stage != LifecycleStage.ACTIVE.value:
            raise InvalidArgument(f"run {run_id} is deleted; restore it first", field="run_id")
        client.update_run(run_id, status=RunStatus.RUNNING.value)
    else:
        exp_id = (
            str(experiment_id)
            if experiment_id is not None
            else (_g.experiment_id or DEFAULT_EXPERIMENT_ID)
        )
        all_tags: dict[str, Any] = reproducibility_tags()
        all_tags[USER] = client.settings.user
        if description is not None:
            all_tags[NOTE_TAG] = description
        all_tags.update(tags or {})
        parent = stack[-1].run_id if stack else None
        run = client.create_run(exp_id, run_name=run_name, tags=all_tags, parent_run_id=parent)
    monitor = None
    if log_system_metrics:
        monitor = SystemMetricsMonitor(client.log_batch, run.info.run_id, system_metrics_interval)
        monitor.start()
    active = ActiveRun(run, client, monitor)
    stack.append(active)
    return active


def end_run(status: str = "FINISHED", *, _run: ActiveRun | None = None) -> None:
    """End the active run (the innermost). Everything logged is stored, or spooled locally
    while the server is unreachable (then delivered when it is back, or by ``modelyard
    sync``); call ``flush(durable=True)`` after it to insist on the store."""
    stack = _stack()
    if not stack:
        return
    active = _run if _run is not None else stack[-1]
    # ending an outer run ends the runs nested inside it first
    while stack:
        top = stack.pop()
        if top._monitor is not None:
            top._monitor.stop()
        # runs nested inside the one being ended share a success, or are KILLED with it
        inner_status = status if top is active or status == "FINISHED" else "KILLED"
        top._client.set_terminated(top.run_id, inner_status, now_ms())
        _g.last_run_id = top.run_id
        if top is active:
            break
    active._client.flush()


@on_reset
def _forget_fluent_state() -> None:
    """``platform.resets.reset``: end this thread's active runs, forget the current
    experiment and the last run."""
    while _stack():
        end_run()
    _g.experiment_id = None
    _g.last_run_id = None


class _ExitState:
    uncaught: BaseException | None = None


@functools.cache
def _install_exit_hooks() -> None:
    """At the first start_run, not at import: remember an uncaught exception (the run then
    ends FAILED) and end the runs still active when the interpreter exits."""
    previous = sys.excepthook

    def _record_uncaught(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        _ExitState.uncaught = exc
        previous(exc_type, exc, tb)

    sys.excepthook = _record_uncaught
    atexit.register(_end_runs_at_exit)


def _end_runs_at_exit() -> None:
    """Runs still active when the interpreter exits end FINISHED, or FAILED after an uncaught
    exception; the clients' own exit hook then delivers (or spools) what is queued."""
    status = RunStatus.FAILED if _ExitState.uncaught is not None else RunStatus.FINISHED
    stack = _stack()
    while stack:
        top = stack.pop()
        if top._monitor is not None:
            top._monitor.stop()
        top._client.set_terminated(top.run_id, status.value, now_ms())


def active_run() -> ActiveRun | None:
    stack = _stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    if _g.last_run_id is None:
        return None
    return _client().get_run(_g.last_run_id)


def _run_id() -> str:
    stack = _stack()
    if not stack:
        start_run()
    return _stack()[-1].run_id


def log_param(key: str, value: Any) -> Any:
    return _client().log_param(_run_id(), key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _client().log_batch(_run_id(), params=params)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    _client().log_metric(_run_id(), key, value, step, timestamp)


def log_metrics(
    metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
) -> None:
    ts = now_ms() if timestamp is None else timestamp
    _client().log_batch(
        _run_id(), metrics=[Metric(k, v, ts, step or 0) for k, v in metrics.items()]
    )


def set_tag(key: str, value: Any) -> None:
    _client().set_tag(_run_id(), key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _client().log_batch(_run_id(), tags=tags)


def delete_tag(key: str) -> None:
    _client().delete_tag(_run_id(), key)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> StoredFile:
    return _client().log_artifact(_run_id(), local_path, artifact_path)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> list[StoredFile]:
    return _client().log_artifacts(_run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> StoredFile:
    return _client().log_text(_run_id(), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str) -> StoredFile:
    return _client().log_dict(_run_id(), dictionary, artifact_file)


def log_table(data: Any, artifact_file: str) -> StoredFile:
    return _client().log_table(_run_id(), data, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> StoredFile:
    return _client().log_figure(_run_id(), figure, artifact_file)


def get_run(run_id: str) -> Run:
    return _client().get_run(run_id)


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter: str | None = None,
    run_view_type: ViewType | str = ViewType.ACTIVE,
    max_results: int = 100_000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    experiment_names: Sequence[str] | None = None,
    filter_string: str | None = None,
) -> Any:
    """Search runs; a pandas DataFrame by default (``output_format="list"`` for Run objects)."""
    if output_format not in ("pandas", "list"):
        raise InvalidArgument("output_format must be 'pandas' or 'list'", field="output_format")
    client = _client()
    ids = [str(e) for e in experiment_ids or []]
    for name in experiment_names or []:
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise InvalidArgument(f"experiment {name!r} does not exist", field="experiment_names")
        ids.append(exp.experiment_id)
    if not ids:
        ids = [_g.experiment_id or DEFAULT_EXPERIMENT_ID]
    runs = client.search_all_runs(
        ids,
        filter if filter is not None else filter_string,
        run_view_type,
        order_by,
        max_results=max_results,
    )
    return runs_to_frame(runs) if output_format == "pandas" else runs
