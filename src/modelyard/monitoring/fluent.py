"""``yard.monitoring.*`` on the current tracking URI."""

from __future__ import annotations

import threading
from typing import Any

from modelyard.monitoring.client import MonitoringClient
from modelyard.tracking.current import chosen_uri

_clients: dict[str | None, MonitoringClient] = {}
_lock = threading.Lock()


def current_client() -> MonitoringClient:
    uri = chosen_uri()
    with _lock:
        found = _clients.get(uri)
        if found is None:
            found = _clients[uri] = MonitoringClient(uri)
        return found


def log_labels(labels: Any) -> int:
    """Record true labels by request id (see ``MonitoringClient.log_labels``)."""
    return current_client().log_labels(labels)


def predictions(model: str | None = None, **kwargs: Any) -> Any:
    """Logged predictions with their late labels (see ``MonitoringClient.predictions``)."""
    return current_client().predictions(model, **kwargs)
