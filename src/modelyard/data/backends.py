"""The data stores that sit beside a tracking backend: SQL + artifact store, or REST.

Built once per tracking backend and cached, so every ``DataClient`` on one store shares its
connections.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.data.blob_store import ArtifactBlobStore
from modelyard.data.rest_store import RestBlobStore, RestDatasetStore
from modelyard.data.sql_store import SqlDatasetStore
from modelyard.data.store import BlobStore, DatasetStore
from modelyard.platform.backends import Backend, Part
from modelyard.store.artifacts.factory import open_repository
from modelyard.tracking.backends import tracking_parts

DATASETS_PREFIX = "datasets"


@dataclass(frozen=True)
class DataBackend:
    store: DatasetStore
    blobs: BlobStore
    remote: bool


def _build(backend: Backend) -> DataBackend:
    if backend.remote:
        assert backend.http is not None
        return DataBackend(RestDatasetStore(backend.http), RestBlobStore(backend.http), True)
    assert backend.db is not None and backend.artifact_root is not None
    settings = backend.settings
    repo = open_repository(
        backend.artifact_root,
        s3_endpoint_url=settings.s3_endpoint_url,
        fsync=settings.artifact_fsync,
    ).child(DATASETS_PREFIX)
    blobs = ArtifactBlobStore(repo)
    return DataBackend(
        SqlDatasetStore(backend.db, tracking_parts(backend).store, blobs), blobs, False
    )


data_backend = Part(_build)
