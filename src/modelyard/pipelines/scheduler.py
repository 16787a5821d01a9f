"""Pipelines inside ``modelyard server``: every ``tick_s`` seconds fire the due schedules and
the triggers' new events (enqueueing runs), then let the worker recover runs whose process
stopped and claim what it may run. Several servers may share one database: each fire time,
event and queued run is taken by exactly one (see ``sql_queue``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from modelyard.config import Settings
from modelyard.errors import Unavailable
from modelyard.identity import Actor, acting_as
from modelyard.pipelines.events import EventSource
from modelyard.pipelines.firing import Firing
from modelyard.pipelines.services import Services
from modelyard.pipelines.sql_queue import SqlPipelineQueue
from modelyard.pipelines.worker import Worker
from modelyard.platform.current import set_uri
from modelyard.platform.ids import now_ms
from modelyard.platform.store_health import StoreHealth, store_name
from modelyard.store.database import Database

log = logging.getLogger("modelyard.pipelines")
SYSTEM = Actor("pipelines", kind="system")
RESAVE_S = 30.0


class PipelineScheduler:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        store_uri: str,
        pipelines: dict[str, Any],
        sources: dict[str, EventSource],
        *,
        clock: Callable[[], int] = now_ms,
        owner: str | None = None,
    ) -> None:
        """``pipelines``: the code this server runs (none: it only fires, for others)."""
        services = Services(settings, tracking_uri=store_uri) if pipelines else None
        if pipelines:  # what the steps log with yard.* goes in this server's store
            set_uri(store_uri)
        self.services = services
        self.pipelines = pipelines
        self.tick_s = settings.pipeline_tick_s
        self.queue = SqlPipelineQueue(db)
        self.firing = Firing(self.queue, sources, clock)
        self.worker = Worker(
            self.queue, pipelines, services, slots=max(0, settings.pipeline_slots),
            stale_ms=int(settings.pipeline_stale_s * 1000), clock=clock, owner=owner,
        )  # fmt: skip
        self.health = StoreHealth(
            store_name(store_uri), "schedules and triggers fire when it answers",
            who="pipelines", logger=log,
        )  # fmt: skip
        self._saved = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Record the pipelines this server holds (their schedules and triggers as its code
        declares them), then tick on a thread of its own."""
        self._save()
        if self._thread is None and self.tick_s > 0:
            self._thread = threading.Thread(target=self._loop, name="pipelines", daemon=True)
            self._thread.start()

    def _save(self) -> None:
        with acting_as(SYSTEM):
            for pipeline in self.pipelines.values():
                pipeline.save(self.services)
        self._saved = time.monotonic()

    def stop(self) -> None:
        """Stop firing and claiming; runs already started go on until the process ends."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def _loop(self) -> None:
        with acting_as(SYSTEM):
            self._ticks()

    def _ticks(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            self.tick_quietly()
            self._stop.wait(max(0.0, self.tick_s - (time.monotonic() - began)))

    def tick_quietly(self) -> None:
        try:
            self.tick()
        except Unavailable as exc:
            self.health.failed(exc)
        except Exception:
            log.exception("pipelines: the scheduler's tick failed")
        else:
            self.health.answered()

    def tick(self) -> tuple[int, int]:
        """One pass: (runs enqueued, runs started here). Every ``RESAVE_S`` the pipelines this
        server holds are recorded again: a definition changed by someone else (another
        server without the code, an older client) is put back as the code declares it."""
        if self.pipelines and time.monotonic() - self._saved > RESAVE_S:
            self._save()
        queued = self.firing.schedules() + self.firing.triggers()
        return queued, self.worker.tick()
