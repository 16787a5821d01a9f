"""How a store that is away is said in the log, by every loop that looks at it (serving's
pollers and shipper, the server's webhook dispatcher and monitor scheduler).

A log line is an event. A store that stops answering is one WARNING naming the store
(without user, password or query) and the error, a reminder every ``REMIND_S`` while it
stays away and one INFO when it answers again; never a line, nor a traceback, per look.
Only a bug gets a traceback, and that is the caller's ``log.exception``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from modelyard.config import DEFAULT_DATA_DIR
from modelyard.errors import Unavailable
from modelyard.platform.current import chosen_uri

REMIND_S = 300.0  # while the store stays away, it is said again this often


def store_name(uri: str | None) -> str:
    """The store as a log line names it: its URI without user, password or query (where
    database options and passwords go)."""
    uri = uri or chosen_uri()
    if not uri:
        return DEFAULT_DATA_DIR
    parts = urlsplit(uri)
    if not parts.netloc:
        return uri.split("?", 1)[0]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class StoreHealth:
    """Whether the store answers, said in ``logger`` when that changes. ``meanwhile`` says
    what goes on while it is away; ``who`` (if any) starts each line. Safe to share between
    threads (the webhook dispatcher's loop and the passes an event starts)."""

    def __init__(
        self,
        store: str,
        meanwhile: str,
        *,
        who: str = "",
        remind_s: float = REMIND_S,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
    ) -> None:
        self.store = f"{who}: the store {store}" if who else f"the store {store}"
        self.meanwhile = meanwhile
        self.remind_s = remind_s
        self._clock = clock
        self._log = logger or logging.getLogger("modelyard")
        self._lock = threading.Lock()
        self.since: float | None = None  # when it stopped answering; None: it answers
        self._said = 0.0

    def failed(self, exc: Unavailable) -> None:
        with self._lock:
            now = self._clock()
            if self.since is None:
                self.since = self._said = now
                self._log.warning(
                    "%s is unreachable: %s; %s", self.store, exc.message, self.meanwhile
                )
            elif now - self._said >= self.remind_s:
                self._said = now
                self._log.warning(
                    "%s is still unreachable after %.0f s: %s",
                    self.store,
                    now - self.since,
                    exc.message,
                )

    def answered(self) -> None:
        with self._lock:
            if self.since is not None:
                self._log.info(
                    "%s answers again (unreachable for %.0f s)",
                    self.store,
                    self._clock() - self.since,
                )
                self.since = None
