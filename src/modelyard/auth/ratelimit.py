"""A token bucket per client address, in memory: password attempts from one address are
limited whatever names they try (the lockout per name is in the store). Per process: a
server run as several workers allows that many times the rate."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from modelyard.errors import TooManyRequests

MAX_ADDRESSES = 10_000


class RateLimit:
    def __init__(self, per_minute: float = 10.0, burst: float | None = None) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst if burst is not None else per_minute
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, address: str, what: str = "login attempts from this address") -> None:
        """Spend one from ``address``'s bucket, or raise ``TooManyRequests`` saying when."""
        now = time.monotonic()
        with self._lock:
            level, then = self._buckets.pop(address, (self.burst, now))
            level = min(self.burst, level + (now - then) * self.rate)
            if level < 1.0:
                self._buckets[address] = (level, now)
                wait = math.ceil((1.0 - level) / self.rate)
                raise TooManyRequests(
                    f"too many {what}; try again in {wait} s",
                    retry_after=wait,
                )
            self._buckets[address] = (level - 1.0, now)
            while len(self._buckets) > MAX_ADDRESSES:
                self._buckets.popitem(last=False)
