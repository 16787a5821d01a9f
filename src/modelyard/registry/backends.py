"""The registry store beside a tracking backend: SQL on its database, or REST on its server.

Built once per tracking backend and cached, so every client on one store shares connections.
"""

from __future__ import annotations

from modelyard.platform.backends import Backend, Part
from modelyard.registry.rest_store import RestRegistryStore
from modelyard.registry.sql_store import SqlRegistryStore
from modelyard.registry.store import RegistryStore
from modelyard.registry.webhooks import Dispatcher
from modelyard.tracking.backends import tracking_parts


def _build(backend: Backend) -> RegistryStore:
    if backend.remote:
        assert backend.http is not None
        return RestRegistryStore(backend.http)
    assert backend.db is not None
    tracking = tracking_parts(backend)
    allow = backend.settings.allow_private_webhooks
    return SqlRegistryStore(
        backend.db, tracking.store, tracking.artifacts, allow_private_webhooks=allow
    )


registry_store = Part(_build)


def _dispatcher(backend: Backend) -> Dispatcher | None:
    if backend.db is None:
        return None  # a server delivers its own
    return Dispatcher(backend.db, allow_private=backend.settings.allow_private_webhooks)


webhook_dispatcher = Part(_dispatcher)  # an embedded store's, one per database
