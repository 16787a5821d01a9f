"""What the swapper and the deployment follower share: a task on the event loop that polls
every ``interval_s`` seconds (a failing poll is logged and tried again next time), and when
to try again a model that failed to load."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod

from modelyard.errors import ModelyardError

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
    _task: asyncio.Task[None] | None = None

    @abstractmethod
    async def poll(self) -> None:
        """One look (at the registry, at the deployment); what changed is acted on."""

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
            except Exception:  # the store may be away: keep serving, look again later
                log.warning("%s: poll failed", type(self).__name__, exc_info=True)
