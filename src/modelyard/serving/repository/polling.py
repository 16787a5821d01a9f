"""What the swapper and the deployment follower share: a task on the event loop that polls
every ``interval_s`` seconds, and when to try again a model that failed to load.

A log line is an event. A store that stops answering is said by ``StoreHealth``
(``platform.store_health``: one WARNING, a rare reminder, one INFO when it is back); another
refusal (an alias deleted, no permission) is one WARNING until it changes or passes. Only a
bug gets a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod

from modelyard.errors import ModelyardError, Unavailable
from modelyard.platform.store_health import StoreHealth

log = logging.getLogger("modelyard.serving")
RETRY_S = 30.0  # a version that failed for a passing reason is tried again after this
PASSING = ("UNAVAILABLE", "INTERNAL_ERROR")  # error codes that say nothing about the model


def retry_time(exc: BaseException) -> float | None:
    """When to try a failed load again: later for a passing failure (the store away, a
    download cut), never for a broken model (tampered, refused, not found)."""
    transient = not isinstance(exc, ModelyardError) or exc.code in PASSING
    return time.monotonic() + RETRY_S if transient else None


def retry_due(retry_at: float | None) -> bool:
    return retry_at is not None and time.monotonic() >= retry_at


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
