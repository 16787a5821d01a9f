"""The data stores that sit beside a tracking backend: SQL + artifact store, or REST.

Built once per tracking backend and cached, so every ``DataClient`` on one store shares its
connections.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from modelyard.data.blob_store import ArtifactBlobStore
from modelyard.data.rest_store import RestBlobStore, RestDatasetStore
from modelyard.data.sql_store import SqlDatasetStore
from modelyard.data.store import BlobStore, DatasetStore
from modelyard.store.artifacts.factory import open_repository
from modelyard.tracking.backends import Backend

DATASETS_PREFIX = "datasets"


@dataclass(frozen=True)
class DataBackend:
    store: DatasetStore
    blobs: BlobStore
    remote: bool


_cache: dict[int, tuple[Backend, DataBackend]] = {}
_lock = threading.Lock()


def data_backend(backend: Backend) -> DataBackend:
    with _lock:
        found = _cache.get(id(backend))
        if found is not None and found[0] is backend:
            return found[1]
        if backend.remote:
            assert backend.http is not None
            made = DataBackend(RestDatasetStore(backend.http), RestBlobStore(backend.http), True)
        else:
            assert backend.db is not None and backend.artifact_root is not None
            settings = backend.settings
            repo = open_repository(
                backend.artifact_root,
                s3_endpoint_url=settings.s3_endpoint_url if settings else None,
                fsync=settings.artifact_fsync if settings else False,
            ).child(DATASETS_PREFIX)
            blobs = ArtifactBlobStore(repo)
            made = DataBackend(SqlDatasetStore(backend.db, backend.store, blobs), blobs, False)
        _cache[id(backend)] = (backend, made)
        return made


def forget() -> None:
    """Drop cached data backends (their connections belong to the tracking backends)."""
    with _lock:
        _cache.clear()
