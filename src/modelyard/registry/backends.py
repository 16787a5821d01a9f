"""The registry store beside a tracking backend: SQL on its database, or REST on its server.

Built once per tracking backend and cached, so every client on one store shares connections.
"""

from __future__ import annotations

from modelyard.registry.rest_store import RestRegistryStore
from modelyard.registry.sql_store import SqlRegistryStore
from modelyard.registry.store import RegistryStore
from modelyard.tracking.backends import Backend, PerBackend


def _build(backend: Backend) -> RegistryStore:
    if backend.remote:
        assert backend.http is not None
        return RestRegistryStore(backend.http)
    assert backend.db is not None
    allow = backend.settings.allow_private_webhooks if backend.settings else False
    return SqlRegistryStore(
        backend.db, backend.store, backend.artifacts, allow_private_webhooks=allow
    )


registry_store = PerBackend(_build)
forget = registry_store.forget
