"""Running stored monitors on their schedule inside ``modelyard server``.

Every ``tick_s`` seconds the scheduler reads the monitors that are due and claims each with
the store's compare-and-set (``claim_monitor``: next_run moves from the value read to now +
every). Of several servers (or workers) sharing one database, exactly one claim succeeds,
so each due run happens once. A monitor that cannot run (its reference gone, the store
away) is kept in its history as an ``error`` run; the scheduler goes on with the others.
Each run's window ends at its due time, so windows follow each other with no gap however
late a tick comes. A server that was down skips the runs it missed (more than a period
late) and runs each monitor once, over the last window, when it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from modelyard.errors import Unavailable
from modelyard.platform.ids import now_ms
from modelyard.platform.store_health import StoreHealth, store_name

log = logging.getLogger("modelyard.monitoring")


class MonitorScheduler:
    def __init__(
        self,
        client: Any,  # a MonitoringClient on the server's store
        *,
        tick_s: float = 10.0,
        allow_private: bool = False,
        clock: Callable[[], int] = now_ms,
        health_clock: Callable[[], float] = time.monotonic,  # s, for the outage's lines
    ) -> None:
        self.client = client
        self.allow_private = allow_private
        self.tick_s = tick_s
        self.clock = clock
        self.runs = 0  # runs this scheduler made (for tests and metrics)
        self.store = StoreHealth(
            store_name(client.tracking_uri),
            "due monitors run when it answers",
            who="monitors",
            logger=log,
            clock=health_clock,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="monitors", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            self.tick_quietly()

    def tick_quietly(self) -> None:
        """``tick`` for the loop: a store that is away is said once (``StoreHealth``), not
        at each tick; anything else is a bug, with its traceback."""
        try:
            self.tick()
        except Unavailable as exc:
            self.store.failed(exc)
        except Exception:
            log.exception("monitors: could not read the due monitors")
        else:
            self.store.answered()

    def tick(self) -> int:
        """Run every due monitor this server claims; how many it ran."""
        now = self.clock()
        ran = 0
        for stored in self.client.store.list_monitors():
            if not stored.enabled or stored.next_run > now:
                continue
            # the window ends at the due time, so windows follow each other with no gap;
            # a run more than a period late (the server was down) looks at the last window
            due = stored.next_run
            at = due if now - due < stored.every_ms else now
            if not self.client.store.claim_monitor(stored.name, due, at + stored.every_ms):
                continue  # another server claimed it
            ran += 1
            self.runs += 1
            try:
                found = self.client.run_monitor(
                    stored.monitor, now=at, allow_private_webhooks=self.allow_private
                )
                log.info("monitor %s: %s", stored.name, found.status)
            except Exception as exc:  # noqa: BLE001 - kept as an error run; the rest go on
                log.warning("monitor %s could not run: %s", stored.name, exc)
                self.client.store.add_monitor_run(
                    {
                        "monitor": stored.name,
                        "window_start": at,
                        "window_end": at,
                        "status": "error",
                        "rows": 0,
                        "labeled": 0,
                        "results": [],
                        "error": str(exc)[:2000],
                    }
                )
        return ran
