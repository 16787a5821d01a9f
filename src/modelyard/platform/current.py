"""The process-wide tracking URI chosen with ``set_tracking_uri``.

Both the fluent API and ``Client()`` read it, so a client made without a URI uses the store
the user picked; ``None`` falls back to ``MODELYARD_TRACKING_URI``, then the embedded default.
"""

from __future__ import annotations

import threading

from modelyard.config import Settings
from modelyard.platform.backends import Backend, resolve

_lock = threading.Lock()
_uri: str | None = None


def set_uri(uri: str | None) -> None:
    global _uri
    with _lock:
        _uri = uri


def chosen_uri(settings: Settings | None = None) -> str | None:
    """The URI set in this process, else the environment's; None means the embedded default."""
    return _uri or (settings or Settings.from_env()).tracking_uri


def current_backend() -> Backend:
    """The backend of the chosen URI: what the fluent API of every domain works on."""
    settings = Settings.from_env()
    return resolve(chosen_uri(settings), settings)
