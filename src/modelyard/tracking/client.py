"""``Client``: the explicit tracking API, the same against the embedded store and a server.

Writes to runs are validated at the call and queued to the background writer (they return at
once); every read first settles this client's writes (its queue flushed, and what it spooled
while the server was away delivered), so a client always reads its own writes or gets
``Unavailable``, never a stale answer. Experiment calls and artifact transfers are synchronous.
"""

from __future__ import annotations

import atexit
import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from modelyard.config import Settings
from modelyard.errors import InvalidArgument, Unavailable
from modelyard.identity import ActingAs, settings_actor
from modelyard.platform.backends import resolve
from modelyard.platform.checks import (
    MAX_NAME,
    check_name,
    check_params,
    check_string_value,
    check_tags,
)
from modelyard.platform.current import chosen_uri
from modelyard.platform.ids import new_run_id, now_ms
from modelyard.store.artifacts.base import StoredFile
from modelyard.store.artifacts.paths import safe_relpath
from modelyard.tracking.artifact_formats import encode_dict, encode_figure, encode_table
from modelyard.tracking.artifact_transfer import (
    ProgressFn,
    download_tree,
    file_destination,
    folder_destinations,
)
from modelyard.tracking.backends import tracking_parts
from modelyard.tracking.entities import (
    ArtifactInfo,
    Experiment,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunsPage,
    RunStatus,
    RunTag,
    ViewType,
)
from modelyard.tracking.known_experiments import KnownExperiments
from modelyard.tracking.metric_checks import MetricChecks
from modelyard.tracking.ops import CreateRun, DeleteTag, LogBatch, UpdateRun
from modelyard.tracking.run_paths import run_artifact_uri
from modelyard.tracking.spool import Spool
from modelyard.tracking.store import RunArtifacts, TrackingStore
from modelyard.tracking.validation import (
    check_metric_count,
    check_metric_value,
    check_run_id,
    check_status,
    check_step,
    check_timestamp,
)
from modelyard.tracking.writer import BatchWriter, close_all_at_exit

log = logging.getLogger("modelyard.tracking")


class Client:
    """Tracking client. ``tracking_uri`` defaults to the one set with ``set_tracking_uri``,
    then ``MODELYARD_TRACKING_URI``, then the embedded store in ``./modelyard-data``."""

    def __init__(self, tracking_uri: str | None = None, *, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self.tracking_uri = tracking_uri if tracking_uri is not None else chosen_uri(self.settings)
        backend = resolve(self.tracking_uri, self.settings)
        self.remote = backend.remote
        parts = tracking_parts(backend)
        # every store call, the background writer's included, acts as this client's user
        actor = settings_actor(self.settings)
        self._store = cast(TrackingStore, ActingAs(parts.store, actor))
        spool = Spool(self.settings.spool_dir, backend.uri) if backend.remote else None
        self._known = (
            KnownExperiments(self.settings.cache_dir, backend.uri) if backend.remote else None
        )
        self._writer = BatchWriter(
            self._store.apply,
            spool=spool,
            queue_size=self.settings.writer_queue_size,
            retry_seconds=self.settings.http_retry_seconds,
        )
        check_string_value(self.settings.user, "user (MODELYARD_USER)", 256)
        self._artifacts = cast(RunArtifacts, ActingAs(parts.artifacts, actor))
        self._experiments: dict[str, Experiment] = {}
        self._unflushed_runs: set[str] = set()  # created here, maybe not yet stored
        self._params: dict[str, dict[str, str]] = {}
        self._metrics = MetricChecks()
        _register_exit_hook()

    # --- lifecycle ----------------------------------------------------------------------
    def flush(self, *, durable: bool = False) -> None:
        """Block until everything logged so far has left this process: stored, or, while the
        server is unreachable, written to the local spool (fsynced; delivered when the
        server is back, or by ``modelyard sync``). Raise errors the store gave back.

        ``durable=True`` promises more: everything is in the store itself, spooled batches
        included, or ``Unavailable`` is raised naming the spool that still holds them."""
        pending = set(self._unflushed_runs)
        self._writer.flush(durable=durable)
        self._unflushed_runs -= pending

    def _settle(self) -> None:
        """Before a read: this client's writes are in the store, those it spooled while the
        server was away included (tried once now), or ``Unavailable`` names the spool."""
        pending = set(self._unflushed_runs)
        self._writer.flush(settle=True)
        self._unflushed_runs -= pending

    def _ensure_run_stored(self, run_id: str) -> None:
        """Artifacts need the run's row: settle only if this client may still have it queued
        or spooled."""
        if run_id in self._unflushed_runs or self._writer.has_spooled:
            self._settle()

    def close(self) -> None:
        self._writer.close(fast=False)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def spooled_batches(self) -> int:
        """Batches this client wrote to the local spool because the server was unreachable."""
        return self._writer.spooled_files

    # --- experiments --------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> str:
        return self._store.create_experiment(
            name, artifact_location, check_tags(tags or {}), self.settings.project
        )

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._seen(self._store.get_experiment(str(experiment_id)))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        found = self._store.get_experiment_by_name(name)
        return None if found is None else self._seen(found)

    def _seen(self, exp: Experiment) -> Experiment:
        """Remember an experiment a server showed, so runs can start in it offline."""
        if self._known is not None:
            self._known.remember(exp)
        return exp

    def offline_experiment(self, experiment_id: str | None, name: str | None) -> Experiment:
        """The experiment as this machine last saw it, while the server is unreachable; the
        ``Unavailable`` to raise when it never saw it."""
        known = self._known
        found = None
        if known is not None:
            found = known.by_id(experiment_id) if experiment_id is not None else None
            found = found or (known.by_name(name) if name is not None else None)
        if found is None:
            what = f"experiment {experiment_id}" if experiment_id is not None else repr(name)
            raise Unavailable(
                f"the modelyard server at {self.tracking_uri} is unreachable, and {what} was "
                "never seen from this machine: a run can start offline only in an experiment "
                "seen before (or the default one)",
                field="experiment_id" if experiment_id is not None else "experiment_name",
            )
        return found

    def search_experiments(
        self,
        view: ViewType | str = ViewType.ACTIVE,
        name_like: str | None = None,
        max_results: int = 1000,
    ) -> list[Experiment]:
        return self._store.search_experiments(ViewType(view), name_like, max_results)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._store.rename_experiment(str(experiment_id), new_name)
        self._experiments.pop(str(experiment_id), None)

    def delete_experiment(self, experiment_id: str) -> None:
        self._store.delete_experiment(str(experiment_id))
        self._experiments.pop(str(experiment_id), None)

    def restore_experiment(self, experiment_id: str) -> None:
        self._store.restore_experiment(str(experiment_id))

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self._store.set_experiment_tag(str(experiment_id), key, str(value))

    def _experiment(self, experiment_id: str) -> Experiment:
        exp = self._experiments.get(experiment_id)
        if exp is None:
            try:
                exp = self.get_experiment(experiment_id)
            except Unavailable:
                if self._known is None:
                    raise
                exp = self.offline_experiment(experiment_id, None)
                log.warning(
                    "modelyard server unreachable: starting a run in experiment %s offline; "
                    "it is delivered with its data when the server is back",
                    experiment_id,
                )
                return exp  # not kept: the server's own answer is wanted once it is back
            self._experiments[experiment_id] = exp
        return exp

    # --- runs: writes -------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        run_name: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Create a run (RUNNING). The row is written in the background, in order."""
        exp = self._experiment(str(experiment_id))
        if exp.lifecycle_stage != LifecycleStage.ACTIVE.value:
            raise InvalidArgument(
                f"experiment {exp.experiment_id} is deleted", field="experiment_id"
            )
        run_id = check_run_id(run_id) if run_id is not None else new_run_id()
        if parent_run_id is not None:
            check_run_id(parent_run_id, "parent_run_id")
        name = run_name if run_name else run_id[:8]
        name = check_string_value(name, "run_name", MAX_NAME)
        clean_tags = check_tags(tags or {})
        start = check_timestamp(start_time if start_time is not None else now_ms(), "start_time")
        self._writer.submit(
            CreateRun(
                run_id,
                exp.experiment_id,
                name,
                self.settings.user,
                start,
                parent_run_id,
                clean_tags,
            )
        )
        if len(self._unflushed_runs) < 100_000:
            self._unflushed_runs.add(run_id)
        else:  # a client creating runs without end: make room the slow, safe way
            self.flush()
        info = RunInfo(
            run_id,
            name,
            exp.experiment_id,
            self.settings.user,
            RunStatus.RUNNING.value,
            start,
            None,
            LifecycleStage.ACTIVE.value,
            run_artifact_uri(exp.artifact_location, run_id) if exp.artifact_location else "",
            parent_run_id,
        )
        return Run(info, RunData(tags=dict(clean_tags)))

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        check_run_id(run_id)
        metric = Metric(
            self._metrics.key(key, "metric key"),
            check_metric_value(value, f"metric {key!r} value"),
            now_ms() if timestamp is None else check_timestamp(timestamp),
            0 if step is None else check_step(step),
        )
        self._writer.submit(LogBatch(run_id, [metric]))

    def _remember_params(self, run_id: str, params: dict[str, str]) -> None:
        known = self._params.setdefault(run_id, {})
        for k, v in params.items():
            prev = known.get(k)
            if prev is not None and prev != v:
                raise InvalidArgument(
                    f"param {k!r} of run {run_id} is already {prev[:100]!r}; params are "
                    f"immutable, cannot change it to {v[:100]!r}",
                    field=f"params[{k!r}]",
                )
        known.update(params)

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        self.log_batch(run_id, params={key: value})
        return value

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, tags={key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        self._writer.submit(DeleteTag(check_run_id(run_id), check_name(key, "tag key")))

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] | Mapping[str, Any] = (),
        tags: Sequence[RunTag] | Mapping[str, Any] = (),
    ) -> None:
        """Log many values in one call; all are validated before any is queued."""
        check_run_id(run_id)
        check_metric_count(len(metrics))
        clean_metrics = self._metrics.batch(metrics)
        p = params if isinstance(params, Mapping) else {x.key: x.value for x in params}
        t = tags if isinstance(tags, Mapping) else {x.key: x.value for x in tags}
        clean_params = check_params(p)
        clean_tags = check_tags(t)
        self._remember_params(run_id, clean_params)
        self._writer.submit(LogBatch(run_id, clean_metrics, clean_params, clean_tags))

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        self._writer.submit(
            UpdateRun(
                check_run_id(run_id),
                None if status is None else check_status(status),
                None,
                None if name is None else check_string_value(name, "run_name", MAX_NAME),
            )
        )

    def set_terminated(
        self, run_id: str, status: str = "FINISHED", end_time: int | None = None
    ) -> None:
        status = check_status(status)
        if not RunStatus(status).is_terminal:
            raise InvalidArgument(
                f"status must be FINISHED, FAILED or KILLED, got {status}", field="status"
            )
        end = now_ms() if end_time is None else check_timestamp(end_time, "end_time")
        self._writer.submit(UpdateRun(check_run_id(run_id), status, end))
        self._params.pop(run_id, None)

    def delete_run(self, run_id: str) -> None:
        self._settle()
        self._store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self._settle()
        self._store.restore_run(run_id)

    # --- runs: reads --------------------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        self._settle()
        return self._store.get_run(run_id)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        self._settle()
        return self._store.get_metric_history(run_id, key)

    def search_runs(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str | None = None,
        run_view_type: ViewType | str = ViewType.ACTIVE,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> RunsPage:
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        self._settle()
        return self._store.search_runs(
            [str(e) for e in experiment_ids],
            filter_string,
            ViewType(run_view_type),
            max_results,
            order_by,
            page_token,
        )

    def search_all_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: ViewType | str = ViewType.ACTIVE,
        order_by: Sequence[str] | None = None,
        max_results: int | None = None,
        page_size: int = 10_000,
    ) -> list[Run]:
        """Follow page tokens until ``max_results`` runs (or all of them) are read."""
        out: list[Run] = []
        token: str | None = None
        while True:
            want = page_size if max_results is None else min(page_size, max_results - len(out))
            page = self.search_runs(
                experiment_ids, filter_string, run_view_type, want, order_by, token
            )
            out.extend(page.runs)
            token = page.next_page_token
            if token is None or (max_results is not None and len(out) >= max_results):
                return out

    # --- artifacts ----------------------------------------------------------------------
    def _upload(
        self, run_id: str, path: str, chunks: Iterable[bytes], size_hint: int | None = None
    ) -> StoredFile:
        self._ensure_run_stored(run_id)
        return self._artifacts.upload(run_id, path, iter(chunks), size_hint=size_hint)

    def log_artifact(
        self,
        run_id: str,
        local_path: str | Path,
        artifact_path: str | None = None,
        progress: ProgressFn | None = None,
    ) -> StoredFile:
        src, dest = file_destination(local_path, artifact_path)
        self._ensure_run_stored(run_id)
        return self._artifacts.upload_file(run_id, dest, src, progress)

    def log_artifacts(
        self,
        run_id: str,
        local_dir: str | Path,
        artifact_path: str | None = None,
        progress: ProgressFn | None = None,
    ) -> list[StoredFile]:
        files = folder_destinations(local_dir, artifact_path)  # refuses links before any upload
        self._ensure_run_stored(run_id)
        return [self._artifacts.upload_file(run_id, dest, p, progress) for p, dest in files]

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> StoredFile:
        return self._upload(
            run_id, safe_relpath(artifact_file, field="artifact_file"), [data], len(data)
        )

    def log_text(self, run_id: str, text: str, artifact_file: str) -> StoredFile:
        return self.log_bytes(run_id, text.encode(), artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> StoredFile:
        return self.log_bytes(run_id, encode_dict(dictionary, artifact_file), artifact_file)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> StoredFile:
        return self.log_bytes(run_id, encode_table(data, artifact_file), artifact_file)

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> StoredFile:
        return self.log_bytes(run_id, encode_figure(figure, artifact_file), artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[ArtifactInfo]:
        self._settle()
        return self._artifacts.list(run_id, path or "")

    def artifact_info(self, run_id: str, path: str) -> ArtifactInfo:
        self._settle()
        return self._artifacts.stat(run_id, path)

    def read_artifact(self, run_id: str, path: str) -> bytes:
        self._settle()
        return b"".join(self._artifacts.download_stream(run_id, path))

    def download_artifacts(
        self,
        run_id: str,
        path: str = "",
        dst_path: str | Path = ".",
        progress: ProgressFn | None = None,
    ) -> Path:
        """Download a file or a folder of artifacts below ``dst_path``; returns the local path."""
        self._settle()
        return download_tree(self._artifacts, run_id, path, Path(dst_path), progress)


@functools.cache
def _register_exit_hook() -> None:
    """Registered by the first client, not at import: importing modelyard changes nothing."""
    atexit.register(close_all_at_exit)
