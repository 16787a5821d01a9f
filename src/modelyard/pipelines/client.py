"""``PipelinesClient``: the pipelines, runs and steps in the store a tracking URI names (what
the command line and the HTTP API show), and the cache."""

from __future__ import annotations

from typing import Any

from modelyard.config import Settings
from modelyard.pipelines.entities import CacheEntry, PipelineInfo, RunRecord, StepRecord
from modelyard.pipelines.handle import PipelineRun
from modelyard.pipelines.services import Services
from modelyard.pipelines.store import RUNS_PAGE_MAX
from modelyard.platform.search.paging import read_pages


class PipelinesClient:
    def __init__(self, tracking_uri: str | None = None, *, settings: Settings | None = None):
        self.services = Services(settings, tracking_uri)
        self.store = self.services.store

    def list_pipelines(self) -> list[PipelineInfo]:
        return self.store.defs.list()

    def get_pipeline(self, name: str) -> PipelineInfo:
        return self.store.defs.get(name)

    def delete_pipeline(self, name: str) -> None:
        self.store.defs.delete(name)

    def runs(
        self, pipeline: str | None = None, *, status: str | None = None, limit: int | None = 100
    ) -> list[RunRecord]:
        """Runs, newest first (of one pipeline, in one status), the first ``limit``."""
        return read_pages(
            lambda size, token: self.store.runs.page(
                pipeline=pipeline, status=status, limit=size, page_token=token
            ),
            RUNS_PAGE_MAX,
            limit,
        )

    def trigger(
        self, name: str, params: dict[str, Any] | None = None, *, key: str | None = None
    ) -> RunRecord:
        """Queue a run of pipeline ``name`` (one that declares ``yard.on_webhook()``) for the
        servers holding its code; the same ``key`` again is the same run."""
        backend = self.services.backend
        if backend.http is not None:
            from urllib.parse import quote

            from modelyard.pipelines.rest_paths import PIPELINES

            body: dict[str, Any] = {"params": params or {}}
            if key is not None:
                body["key"] = key
            path = f"{PIPELINES}/{quote(name, safe='')}/trigger"
            return RunRecord.from_dict(
                backend.http.request("POST", path, json=body, idempotent=key is not None)
            )
        from modelyard.pipelines.sql_queue import SqlPipelineQueue
        from modelyard.pipelines.webhook import queue_webhook_run

        assert backend.db is not None
        queue = SqlPipelineQueue(backend.db)
        return queue_webhook_run(queue, self.store, name, params or {}, key)[0]

    def get_run(self, run_id: str) -> PipelineRun:
        return PipelineRun(self.store.runs.get(run_id), self.services)

    def steps(self, run_id: str) -> list[StepRecord]:
        return self.store.steps.list(run_id)

    def logs(self, run_id: str, step: str | None = None) -> dict[str, str]:
        """Each step's captured output (of one step, with ``step``), by step key."""
        records = self.steps(run_id)
        if step is not None:
            records = [r for r in records if r.key == step or r.name == step]
        return {r.key: r.logs for r in records}

    def cancel(self, run_id: str) -> RunRecord:
        return self.store.runs.cancel(run_id)

    def output(self, run_id: str, step: str) -> Any:
        """The value step ``step`` of run ``run_id`` returned (read back from the store)."""
        for record in self.steps(run_id):
            if record.key == step and record.output is not None:
                return self.services.load(record.output)
        from modelyard.errors import NotFound

        raise NotFound(f"run {run_id} has no stored output of step {step!r}", field="step")

    def clear_cache(self, *, step: str | None = None, key: str | None = None) -> int:
        return self.store.cache.clear(step=step, key=key)

    def cache_entry(self, key: str, project: str) -> CacheEntry | None:
        return self.store.cache.get(key, project)
