"""The monitoring store beside a tracking backend: SQL on its database, or REST on its
server; cached per backend so clients share connections."""

from __future__ import annotations

import threading

from modelyard.monitoring.rest_store import RestMonitoringStore
from modelyard.monitoring.sql_store import SqlMonitoringStore
from modelyard.monitoring.store import MonitoringStore
from modelyard.tracking.backends import Backend

_cache: dict[int, tuple[Backend, MonitoringStore]] = {}
_lock = threading.Lock()


def monitoring_store(backend: Backend) -> MonitoringStore:
    with _lock:
        found = _cache.get(id(backend))
        if found is not None and found[0] is backend:
            return found[1]
        made: MonitoringStore
        if backend.remote:
            assert backend.http is not None
            made = RestMonitoringStore(backend.http)
        else:
            assert backend.db is not None
            made = SqlMonitoringStore(backend.db)
        _cache[id(backend)] = (backend, made)
        return made


def forget() -> None:
    with _lock:
        _cache.clear()
