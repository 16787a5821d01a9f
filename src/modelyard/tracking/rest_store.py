"""The tracking store over HTTP: the same contract as the SQL store, spoken to a server.

Each method is one request to ``/api/v1``; no business rule lives here, the server applies
the same SQL store code the embedded mode uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from modelyard.errors import ModelyardError
from modelyard.platform.checks import check_name
from modelyard.store.artifacts.base import StoredFile, read_file_chunks
from modelyard.store.artifacts.paths import safe_relpath
from modelyard.store.rest import HttpTransport
from modelyard.tracking.entities import (
    RUN_ROW_COLUMNS,
    ArtifactInfo,
    Experiment,
    Metric,
    MetricHistoryPage,
    Run,
    RunsPage,
    ViewType,
    decode_float,
    run_from_row,
)
from modelyard.tracking.ops import Op, encode_ops
from modelyard.tracking.store import HISTORY_PAGE_DEFAULT, RunArtifacts, TrackingStore
from modelyard.tracking.validation import check_run_id, parse_experiment_id

API = "/api/v1"


def _eid(experiment_id: str) -> str:
    return str(parse_experiment_id(experiment_id))


class RestTrackingStore(TrackingStore):
    def __init__(self, transport: HttpTransport) -> None:
        self.http = transport

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
        project: str | None = None,
    ) -> str:
        body = {
            "name": name,
            "artifact_location": artifact_location,
            "tags": tags or {},
            "project": project,
        }
        return str(self.http.request("POST", f"{API}/experiments", json=body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        return Experiment.from_dict(
            self.http.request("GET", f"{API}/experiments/{_eid(experiment_id)}")
        )

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        found = self.http.request("GET", f"{API}/experiments", params={"name": name, "view": "all"})
        items = found["experiments"]
        return Experiment.from_dict(items[0]) if items else None

    def search_experiments(
        self,
        view: ViewType = ViewType.ACTIVE,
        name_like: str | None = None,
        max_results: int = 1000,
    ) -> list[Experiment]:
        params: dict[str, Any] = {"view": ViewType(view).value, "max_results": max_results}
        if name_like:
            params["name_like"] = name_like
        found = self.http.request("GET", f"{API}/experiments", params=params)
        return [Experiment.from_dict(e) for e in found["experiments"]]

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.http.request(
            "PATCH", f"{API}/experiments/{_eid(experiment_id)}", json={"name": new_name}
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self.http.request("DELETE", f"{API}/experiments/{_eid(experiment_id)}")

    def restore_experiment(self, experiment_id: str) -> None:
        self.http.request("POST", f"{API}/experiments/{_eid(experiment_id)}/restore")

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self.http.request(
            "PUT",
            f"{API}/experiments/{_eid(experiment_id)}/tags",
            json={"key": key, "value": value},
        )

    def apply(self, ops: Sequence[Op]) -> None:
        if ops:
            # every op is safe to deliver twice (ops.py)
            self.http.request(
                "POST", f"{API}/runs/ops", json={"ops": encode_ops(ops)}, idempotent=True
            )

    def get_run(self, run_id: str) -> Run:
        check_run_id(run_id)
        return Run.from_dict(self.http.request("GET", f"{API}/runs/{run_id}"))

    def get_metric_history_page(
        self,
        run_id: str,
        key: str,
        max_results: int = HISTORY_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> MetricHistoryPage:
        check_run_id(run_id)
        check_name(key, "metric key")
        params: dict[str, Any] = {"key": key, "max_results": max_results}
        if page_token is not None:
            params["page_token"] = page_token
        found = self.http.request("GET", f"{API}/runs/{run_id}/metric-history", params=params)
        points = [Metric(key, decode_float(v), ts, step) for v, ts, step in found["points"]]
        return MetricHistoryPage(points, found.get("next_page_token"))

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view: ViewType = ViewType.ACTIVE,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> RunsPage:
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string,
            "view": ViewType(view).value,
            "max_results": max_results,
            "order_by": list(order_by or []),
            "page_token": page_token,
        }
        # a read
        found = self.http.request("POST", f"{API}/runs/search", json=body, idempotent=True)
        if tuple(found.get("columns", ())) != RUN_ROW_COLUMNS:
            raise ModelyardError(
                "the server answered a search with an unknown run layout; are the client and "
                "the server the same modelyard version?"
            )
        return RunsPage(
            runs=[run_from_row(r) for r in found["runs"]],
            next_page_token=found.get("next_page_token"),
        )

    def delete_run(self, run_id: str) -> None:
        check_run_id(run_id)
        self.http.request("DELETE", f"{API}/runs/{run_id}")

    def restore_run(self, run_id: str) -> None:
        check_run_id(run_id)
        self.http.request("POST", f"{API}/runs/{run_id}/restore")

    def close(self) -> None:
        self.http.close()


class RestRunArtifacts(RunArtifacts):
    def __init__(self, transport: HttpTransport) -> None:
        self.http = transport

    def upload(
        self,
        run_id: str,
        path: str,
        chunks: Iterator[bytes] | Sequence[bytes],
        *,
        size_hint: int | None = None,
    ) -> StoredFile:
        check_run_id(run_id)
        path = safe_relpath(path)
        found = self.http.upload(
            f"{API}/runs/{run_id}/artifacts", iter(chunks), params={"path": path}
        )
        return StoredFile(path=found["path"], size=found["size"], sha256=found["sha256"])

    def upload_file(
        self,
        run_id: str,
        path: str,
        local_path: Path,
        progress: Callable[[int], None] | None = None,
    ) -> StoredFile:
        return self.upload(run_id, path, read_file_chunks(local_path, 4 << 20, progress))

    def download_stream(self, run_id: str, path: str) -> Iterator[bytes]:
        check_run_id(run_id)
        return self.http.download(
            f"{API}/runs/{run_id}/artifacts/content", params={"path": safe_relpath(path)}
        )

    def list(self, run_id: str, path: str = "") -> list[ArtifactInfo]:
        check_run_id(run_id)
        params = {"path": safe_relpath(path)} if path else {}
        found = self.http.request("GET", f"{API}/runs/{run_id}/artifacts", params=params)
        # paths from the wire are checked like any input: they become local file names
        return [
            ArtifactInfo(
                safe_relpath(str(f["path"])), bool(f["is_dir"]), f.get("size"), f.get("sha256")
            )
            for f in found["files"]
        ]

    def stat(self, run_id: str, path: str) -> ArtifactInfo:
        check_run_id(run_id)
        found = self.http.request(
            "GET", f"{API}/runs/{run_id}/artifacts/stat", params={"path": safe_relpath(path)}
        )
        return ArtifactInfo(**found)
