"""The registry store beside a tracking backend: SQL on its database, or REST on its server.

Built once per tracking backend and cached, so every client on one store shares connections.
"""

from __future__ import annotations

import threading

from modelyard.registry.rest_store import RestRegistryStore
from modelyard.registry.sql_store import SqlRegistryStore
from modelyard.registry.store import RegistryStore
from modelyard.tracking.backends import Backend

_cache: dict[int, tuple[Backend, RegistryStore]] = {}
_lock = threading.Lock()


def registry_store(backend: Backend) -> RegistryStore:
    with _lock:
        found = _cache.get(id(backend))
        if found is not None and found[0] is backend:
            return found[1]
        made: RegistryStore
        if backend.remote:
            assert backend.http is not None
            made = RestRegistryStore(backend.http)
        else:
            assert backend.db is not None
            allow = backend.settings.allow_private_webhooks if backend.settings else False
            made = SqlRegistryStore(backend.db, backend.store, allow_private_webhooks=allow)
        _cache[id(backend)] = (backend, made)
        return made


def forget() -> None:
    with _lock:
        _cache.clear()
