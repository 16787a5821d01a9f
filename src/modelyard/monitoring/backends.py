"""The monitoring store beside a tracking backend: SQL on its database, or REST on its
server; cached per backend so clients share connections."""

from __future__ import annotations

from modelyard.monitoring.rest_store import RestMonitoringStore
from modelyard.monitoring.sql_store import SqlMonitoringStore
from modelyard.monitoring.store import MonitoringStore
from modelyard.platform.backends import Backend, Part


def _build(backend: Backend) -> MonitoringStore:
    if backend.remote:
        assert backend.http is not None
        return RestMonitoringStore(backend.http)
    assert backend.db is not None
    return SqlMonitoringStore(backend.db)


monitoring_store = Part(_build)
