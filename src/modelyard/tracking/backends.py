"""Tracking's part of a store: the run store and the run artifacts, SQL on an embedded
store's database, REST on a server."""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.platform.backends import Backend, Part
from modelyard.tracking.rest_store import RestRunArtifacts, RestTrackingStore
from modelyard.tracking.sql_artifacts import SqlRunArtifacts
from modelyard.tracking.sql_store import SqlTrackingStore
from modelyard.tracking.store import RunArtifacts, TrackingStore


@dataclass(frozen=True)
class TrackingParts:
    store: TrackingStore
    artifacts: RunArtifacts


def _build(backend: Backend) -> TrackingParts:
    if backend.remote:
        assert backend.http is not None
        return TrackingParts(RestTrackingStore(backend.http), RestRunArtifacts(backend.http))
    assert backend.db is not None and backend.artifact_root is not None
    settings = backend.settings
    arts = SqlRunArtifacts(
        backend.db,
        max_bytes=settings.max_artifact_bytes,
        s3_endpoint_url=settings.s3_endpoint_url,
        fsync=settings.artifact_fsync,
    )
    return TrackingParts(SqlTrackingStore(backend.db, backend.artifact_root), arts)


tracking_parts = Part(_build)
