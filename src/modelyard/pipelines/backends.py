"""The pipelines store beside a tracking backend (SQL on its database, REST on its server) and
the blob store its outputs go in (the data domain's, content-addressed): one part per
backend, shared by every client of that store."""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.data.backends import data_backend
from modelyard.data.store import BlobStore
from modelyard.pipelines.rest_store import rest_pipeline_store
from modelyard.pipelines.sql_store import sql_pipeline_store
from modelyard.pipelines.store import PipelineStore
from modelyard.platform.backends import Backend, Part
from modelyard.tracking.backends import tracking_parts


@dataclass(frozen=True)
class PipelineBackend:
    store: PipelineStore
    blobs: BlobStore
    remote: bool


def _build(backend: Backend) -> PipelineBackend:
    data = data_backend(backend)
    blobs = data.blobs
    if backend.remote:
        assert backend.http is not None
        return PipelineBackend(rest_pipeline_store(backend.http), blobs, True)
    assert backend.db is not None
    runs = tracking_parts(backend).store

    def version_id(name: str, version: int) -> str:
        return data.store.get_version(name, version).version_id

    return PipelineBackend(
        sql_pipeline_store(backend.db, runs.check_runs, version_id), blobs, False
    )


pipeline_backend = Part(_build)
