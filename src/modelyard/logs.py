"""Logging of the long-running processes (``modelyard server``, ``modelyard serve`` and its
shipping process): one line per event, at the level asked for.

httpx and httpcore log every request they make at INFO, two lines for each look the server
takes at the store (every few seconds, all day); they are held at WARNING unless DEBUG is
asked for. So is alembic, which says which database dialect it found each time a store is
opened; a schema upgrade is one line of our own. Configures nothing at import: the process's
entry point calls ``configure``.
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY = ("httpx", "httpcore", "alembic")  # a line per HTTP request, six per store opened


def configure(level: str) -> None:
    """Log to stderr at ``level`` (a name: "info", "WARNING", ...), the HTTP client's
    request lines left out unless ``level`` is DEBUG."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in CHATTY:
            logging.getLogger(name).setLevel(logging.WARNING)
