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
_last: tuple[str, Backend] | None = None  # current_backend's answer for a URI set here


def set_uri(uri: str | None) -> None:
    global _uri
    with _lock:
        _uri = uri


def chosen_uri(settings: Settings | None = None) -> str | None:
    """The URI set in this process, else the environment's; None means the embedded default."""
    return _uri or (settings or Settings.from_env()).tracking_uri


def current_backend() -> Backend:
    """The backend of the chosen URI: what the fluent API of every domain works on (every
    ``yard.log_metric`` asks). For a URI set with ``set_tracking_uri`` it is remembered until
    that backend is closed, as the fluent client of a URI always was: reading the settings
    again would cost several times the call it serves."""
    global _last
    uri, last = _uri, _last
    if uri is not None and last is not None and last[0] == uri and not last[1].closed:
        return last[1]
    settings = Settings.from_env()
    backend = resolve(chosen_uri(settings), settings)
    if uri is not None:
        _last = (uri, backend)
    return backend
