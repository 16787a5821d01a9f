"""The pipelines store as a client of a modelyard server (``/api/v1/pipelines``,
``/api/v1/pipeline-runs``, ``/api/v1/pipeline-cache``): the same interfaces as the SQL
store, so a pipeline runs the same against a server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from modelyard.errors import NotFound
from modelyard.pipelines.entities import CacheEntry, OutputRef, PipelineInfo, RunRecord, StepRecord
from modelyard.pipelines.rest_paths import CACHE, PIPELINES, RUNS
from modelyard.pipelines.store import (
    DatasetInputs,
    PipelineDefs,
    PipelineRuns,
    PipelineSteps,
    PipelineStore,
    StepCache,
)
from modelyard.store.rest import HttpTransport


def _q(text: str) -> str:
    return quote(text, safe="")


class RestPipelineDefs(PipelineDefs):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def save(self, info: PipelineInfo, project: str | None = None) -> PipelineInfo:
        body = {
            k: v
            for k, v in info.to_dict().items()
            if k not in ("project", "created_time", "updated_time")
        }
        if project is not None:
            body["project"] = project
        return PipelineInfo.from_dict(
            self.http.request("PUT", f"{PIPELINES}/{_q(info.name)}", json=body)
        )

    def get(self, name: str) -> PipelineInfo:
        return PipelineInfo.from_dict(self.http.request("GET", f"{PIPELINES}/{_q(name)}"))

    def list(self) -> list[PipelineInfo]:
        got = self.http.request("GET", PIPELINES)
        return [PipelineInfo.from_dict(p) for p in got["pipelines"]]

    def delete(self, name: str) -> None:
        self.http.request("DELETE", f"{PIPELINES}/{_q(name)}")


class RestPipelineRuns(PipelineRuns):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def create(self, record: RunRecord) -> RunRecord:
        return RunRecord.from_dict(
            self.http.request("POST", RUNS, json=record.to_dict(), idempotent=True)
        )

    def update(self, run_id: str, **changes: Any) -> RunRecord:
        body = {k: (v.to_dict() if isinstance(v, OutputRef) else v) for k, v in changes.items()}
        return RunRecord.from_dict(
            self.http.request("PATCH", f"{RUNS}/{_q(run_id)}", json=body, idempotent=True)
        )

    def get(self, run_id: str) -> RunRecord:
        return RunRecord.from_dict(self.http.request("GET", f"{RUNS}/{_q(run_id)}"))

    def page(
        self,
        *,
        pipeline: str | None = None,
        status: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[RunRecord], str | None]:
        params: dict[str, Any] = {"limit": limit}
        for key, value in (("pipeline", pipeline), ("status", status), ("page_token", page_token)):
            if value is not None:
                params[key] = value
        got = self.http.request("GET", RUNS, params=params)
        return [RunRecord.from_dict(r) for r in got["runs"]], got["next_page_token"]

    def cancel(self, run_id: str) -> RunRecord:
        return RunRecord.from_dict(
            self.http.request("POST", f"{RUNS}/{_q(run_id)}/cancel", json={})
        )


class RestPipelineSteps(PipelineSteps):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def record(
        self, run_id: str, steps: Sequence[tuple[int, StepRecord]], datasets: DatasetInputs
    ) -> None:
        body = {
            "steps": [{"seq": seq, **s.to_dict()} for seq, s in steps],
            "datasets": {k: [[n, v] for n, v in given] for k, given in datasets.items()},
        }
        self.http.request("PUT", f"{RUNS}/{_q(run_id)}/steps", json=body, idempotent=True)

    def list(self, run_id: str) -> list[StepRecord]:
        got = self.http.request("GET", f"{RUNS}/{_q(run_id)}/steps")
        return [StepRecord.from_dict(s) for s in got["steps"]]


class RestStepCache(StepCache):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def get(self, key: str, project: str) -> CacheEntry | None:
        try:
            got = self.http.request("GET", f"{CACHE}/{_q(key)}", params={"project": project})
        except NotFound:
            return None
        return CacheEntry.from_dict(got)

    def put(self, entries: Sequence[CacheEntry]) -> None:
        if entries:
            body = {"entries": [e.to_dict() for e in entries]}
            self.http.request("POST", CACHE, json=body, idempotent=True)

    def clear(self, *, step: str | None = None, key: str | None = None) -> int:
        params = {k: v for k, v in (("step", step), ("key", key)) if v is not None}
        got = self.http.request("DELETE", CACHE, params=params)
        return int(got["cleared"])


def rest_pipeline_store(http: HttpTransport) -> PipelineStore:
    return PipelineStore(
        RestPipelineDefs(http), RestPipelineRuns(http), RestPipelineSteps(http), RestStepCache(http)
    )
