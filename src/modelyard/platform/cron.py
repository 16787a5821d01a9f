"""Cron schedules in a time zone: when a schedule fires, as epoch milliseconds. Pure arithmetic,
no I/O and no clock; the caller passes the times (``cron_catchup.py`` decides what a server
that was down runs).

A schedule is wall-clock time in its IANA zone: ``0 9 * * *`` in Europe/Berlin fires when
clocks in Berlin show 09:00, whatever the offset that day. Where the zone's offset changes,
two kinds of schedule behave differently:

- **Fixed-hour schedules** (the hour field names some hours, not all 24: ``30 2 * * *``,
  ``*/15 1-3 * * *``, ``@daily``). A local time skipped by a spring-forward gap fires once, at
  the instant the gap ends (02:30 on the day Berlin jumps from 02:00 to 03:00 fires at 03:00
  CEST; every skipped minute of ``*/15 2 * * *`` fires together, once, at 03:00). A local
  time repeated by a fall-back fires once, at its first occurrence.
- **Hourly-and-finer schedules** (the hour field is ``*`` or names all 24 hours: ``0 * * * *``,
  ``*/5 * * * *``, ``@hourly``) follow the clock: they fire whenever the clock shows a
  matching minute, in the offset in force. Minutes a gap skips do not fire (no real time was
  skipped, so an hourly job still runs 60 real minutes after the last); minutes a fall-back
  repeats fire at both occurrences (so ``*/15`` keeps firing every 15 real minutes through the
  repeated hour). Where the shift is not a whole hour (Australia/Lord_Howe moves 30 minutes)
  the real spacing around the change is uneven: ``0 * * * *`` fires at 01:00 and 03:00 on
  the spring day (90 minutes apart), and ``45 * * * *`` at 01:45 twice on the autumn day.

Day-of-month and day-of-week follow Vixie cron: when both are restricted (neither holds ``*``)
a day matches if either does; ``0 0 13 * FRI`` fires on every 13th and every Friday.
``*/1`` counts as ``*``; ``*/2`` and ``1-31`` are restricted, as in croniter and Kubernetes
(Vixie cron counts any field starting with ``*`` as unrestricted). ``a/n`` means ``a-last/n``;
0 and 7 are both Sunday. Schedules that can never fire (``0 0 31 2 *``) are refused by
``parse``; ``0 0 29 2 *`` fires in leap years. Fire times lie between the years 1 and 9999;
past the last one ``next_after`` raises and ``fire_times`` ends. A zone that changes its
offset twice within one day, or by more than a day, is outside what this module promises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from modelyard.errors import InvalidArgument
from modelyard.platform.cron_fields import CronFields

__all__ = ["CronSchedule"]

_EPOCH = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)
_MINUTE = timedelta(minutes=1)
_DAY_MS = 86_400_000
# The instants a schedule handles: a day inside datetime's range either side, so every wall
# time and offset probe around them is a valid datetime.
MIN_MS = (datetime(1, 1, 3) - _EPOCH) // _MS
MAX_MS = (datetime(9999, 12, 29) - _EPOCH) // _MS
_NOT_ZONES = ("localtime", "posixrules")  # this machine's own: two servers could disagree


def _utc(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _ms(naive_utc: datetime) -> int:
    return (naive_utc - _EPOCH) // _MS


def _floor_minute(wall: datetime) -> datetime:
    return wall.replace(second=0, microsecond=0)


def check_ms(value: Any, field: str) -> int:
    """Epoch milliseconds within the years a schedule handles."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(
            f"{field} must be epoch milliseconds (an int), got {type(value).__name__}",
            field=field,
        )
    if not MIN_MS <= value <= MAX_MS:
        raise InvalidArgument(
            f"{field} {value} is outside the years 1 to 9999 a schedule handles", field=field
        )
    return value


def _load_zone(name: Any) -> ZoneInfo:
    expected = "expected an IANA time zone name such as 'UTC', 'Europe/Berlin' or 'Asia/Kolkata'"
    if not isinstance(name, str):
        raise InvalidArgument(
            f"timezone must be a string, got {type(name).__name__}; {expected}", field="timezone"
        )
    if name not in _NOT_ZONES and name.isprintable() and 0 < len(name) <= 100:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise InvalidArgument(
        f"timezone: unknown time zone {name[:100]!r}; {expected}", field="timezone"
    )


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression in a time zone (see the module docstring for its rules)."""

    expression: str
    timezone: str
    _fields: CronFields = field(repr=False, compare=False)
    _zone: ZoneInfo = field(repr=False, compare=False)

    @classmethod
    def parse(cls, expr: str, tz: str = "UTC") -> CronSchedule:
        """Five fields (minute hour day-of-month month day-of-week) or a macro (@daily...), in
        the IANA zone ``tz``; raises ``InvalidArgument`` (field ``schedule`` or ``timezone``)."""
        if not isinstance(expr, str):
            raise InvalidArgument(
                f"schedule must be a cron expression (a string such as '0 9 * * *'), "
                f"got {type(expr).__name__}",
                field="schedule",
            )
        return cls(expr.strip(), tz, CronFields.parse(expr), _load_zone(tz))

    @property
    def follows_clock(self) -> bool:
        """Hourly-and-finer: fires at both occurrences of a repeated time, never in a gap."""
        return self._fields.every_hour

    def next_after(self, t_ms: int) -> int:
        """The first fire time strictly after ``t_ms`` (epoch milliseconds)."""
        found = self._next(check_ms(t_ms, "t_ms"))
        if found is None:
            raise InvalidArgument(
                f"t_ms: {self.expression!r} does not fire after {_utc(t_ms).isoformat()} UTC "
                "before the year 10000",
                field="t_ms",
            )
        return found

    def last_at_or_before(self, t_ms: int) -> int | None:
        """The last fire time at or before ``t_ms``; None if it never fired since the year 1."""
        return self._previous(check_ms(t_ms, "t_ms"))

    def fire_times(self, after_ms: int, until_ms: int | None = None) -> Iterator[int]:
        """Fire times in (``after_ms``, ``until_ms``], oldest first; without ``until_ms``,
        every one to the year 9999."""
        t = check_ms(after_ms, "after_ms")
        end = MAX_MS if until_ms is None else check_ms(until_ms, "until_ms")
        while (found := self._next(t)) is not None and found <= end:
            yield found
            t = found

    # Instants and offsets.

    def _offset(self, ms: int) -> timedelta:
        """The zone's UTC offset in force at instant ``ms``."""
        at = _utc(min(max(ms, MIN_MS), MAX_MS)).replace(tzinfo=self._zone)
        offset = self._zone.fromutc(at).utcoffset()
        assert offset is not None
        return offset

    def _wall(self, ms: int, offset: timedelta) -> datetime:
        return _floor_minute(_utc(ms) + offset)

    def _transition(self, before_ms: int, after_ms: int) -> int:
        """The first instant in (before, after] whose offset differs from ``before``'s (the
        zone changes offset in between); offsets change on whole seconds."""
        old = self._offset(before_ms)
        lo, hi = before_ms // 1000, -(-after_ms // 1000)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if self._offset(mid * 1000) == old else (lo, mid)
        return hi * 1000

    def _fires(self, wall: datetime) -> tuple[int, ...]:
        """The instants one matching wall-clock minute fires at (none, one or two)."""
        first = wall.replace(tzinfo=self._zone).utcoffset()
        second = wall.replace(tzinfo=self._zone, fold=1).utcoffset()
        assert first is not None and second is not None
        if first == second:
            return (_ms(wall - first),)
        if first > second:  # repeated by a fall-back: fold 0 is the earlier occurrence
            once = _ms(wall - first)
            return (once, _ms(wall - second)) if self.follows_clock else (once,)
        if self.follows_clock:  # skipped by a gap
            return ()
        return (self._transition(_ms(wall - second), _ms(wall - first)),)

    # The search: matching wall-clock minutes in order, mapped to instants. The mapping keeps
    # order except near an offset change, so the scan starts early enough and runs until no
    # later minute can map before the best instant found (offsets sampled a day around).

    def _next(self, t: int) -> int | None:
        here = self._offset(t)
        start = self._wall(t, here)
        ahead = self._offset(t + _DAY_MS)
        if ahead < here:  # a fall-back within the day repeats minutes before ``start``
            start = min(start, self._wall(self._transition(t, t + _DAY_MS), ahead))
        best: int | None = None
        limit = start
        wall = self._fields.next_match(start)
        while wall is not None:
            for fire in self._fires(wall):
                if fire > t and (best is None or fire < best):
                    best = fire
                    reach = max(self._offset(best), self._offset(best - _DAY_MS))
                    limit = _utc(best) + reach
            if best is not None and wall + _MINUTE >= limit:
                return best
            wall = self._fields.next_match(wall + _MINUTE)
        return best

    def _previous(self, t: int) -> int | None:
        here = self._offset(t)
        end = self._wall(t, here)
        behind = self._offset(t - _DAY_MS)
        if behind > here:  # a fall-back within the day repeated minutes after ``end``
            end = max(end, self._wall(self._transition(t - _DAY_MS, t), behind))
        best: int | None = None
        limit = end
        wall = self._fields.previous_match(end)
        while wall is not None:
            for fire in self._fires(wall):
                if fire <= t and (best is None or fire > best):
                    best = fire
                    reach = min(self._offset(best), self._offset(best + _DAY_MS))
                    limit = _utc(best) + reach
            if best is not None and wall - _MINUTE <= limit:
                return best
            wall = self._fields.previous_match(wall - _MINUTE)
        return best
