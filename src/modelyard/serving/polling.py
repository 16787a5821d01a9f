"""What the swapper and the deployment follower share: a task on the event loop that polls
every ``interval_s`` seconds, and when to try again a model that failed to load; and how a
store that is away is said in the log (here, and by the prediction log's shipper).

A log line is an event. A store that stops answering is one WARNING naming the store and
the error, a reminder every ``REMIND_S`` while it stays away and one INFO when it answers
again, never a line (or a traceback) per poll; another refusal (an alias deleted, no
permission) is one WARNING until it changes or passes. Only a bug gets a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from modelyard.config import DEFAULT_DATA_DIR
from modelyard.errors import ModelyardError, Unavailable
from modelyard.platform.current import chosen_uri

log = logging.getLogger("modelyard.serving")
RETRY_S = 30.0  # a version that failed for a passing reason is tried again after this
PASSING = ("UNAVAILABLE", "INTERNAL_ERROR")  # error codes that say nothing about the model
REMIND_S = 300.0  # while the store stays away, it is said again this often


def retry_time(exc: BaseException) -> float | None:
    """When to try a failed load again: later for a passing failure (the store away, a
    download cut), never for a broken model (tampered, refused, not found)."""
    transient = not isinstance(exc, ModelyardError) or exc.code in PASSING
    return time.monotonic() + RETRY_S if transient else None


def retry_due(retry_at: float | None) -> bool:
    return retry_at is not None and time.monotonic() >= retry_at


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
    """Whether the store answers, said in the log when that changes. ``meanwhile`` says
    what goes on while it is away; ``who`` (if any) starts each line. Used from one
    thread."""

    def __init__(
        self,
        store: str,
        meanwhile: str,
        *,
        who: str = "",
        remind_s: float = REMIND_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = f"{who}: the store {store}" if who else f"the store {store}"
        self.meanwhile = meanwhile
        self.remind_s = remind_s
        self._clock = clock
        self.since: float | None = None  # when it stopped answering; None: it answers
        self._said = 0.0

    def failed(self, exc: Unavailable) -> None:
        now = self._clock()
        if self.since is None:
            self.since = self._said = now
            log.warning("%s is unreachable: %s; %s", self.store, exc.message, self.meanwhile)
        elif now - self._said >= self.remind_s:
            self._said = now
            log.warning(
                "%s is still unreachable after %.0f s: %s",
                self.store,
                now - self.since,
                exc.message,
            )

    def answered(self) -> None:
        if self.since is not None:
            log.info(
                "%s answers again (unreachable for %.0f s)",
                self.store,
                self._clock() - self.since,
            )
            self.since = None


class Poller(ABC):
    interval_s: float
    store: StoreHealth
    said: dict[str, str]  # the refusal said of each thing, until a look at it succeeds
    _task: asyncio.Task[None] | None = None

    @abstractmethod
    async def poll(self) -> None:
        """One look (at the registry, at the deployment); what changed is acted on."""

    def refused(self, key: str, what: str, exc: ModelyardError) -> None:
        """A look at ``key`` the store did not answer: ``StoreHealth`` says an unreachable
        store; any other refusal ("``what``: message") is said once, until its message
        changes or a look at ``key`` succeeds (the caller then drops ``said[key]``)."""
        if isinstance(exc, Unavailable):
            self.store.failed(exc)
        elif self.said.get(key) != exc.message:
            self.said[key] = exc.message
            log.warning("%s: %s", what, exc.message)

    def start(self) -> None:
        if self.interval_s > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.poll()
            except Exception:  # a bug (a refusal is said by poll): keep serving, look again
                log.exception("%s: poll failed", type(self).__name__)
