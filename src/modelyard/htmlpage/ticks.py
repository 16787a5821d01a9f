"""Where an axis puts its ticks and what they say: round numbers (1, 2, 2.5 or 5 times a power
of ten) for values, calendar steps (minutes to years, in UTC) for times, each tick labelled
only as precisely as its step needs."""

from __future__ import annotations

import calendar
import datetime as dt
import math

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_CLOCK_STEPS = (
    MINUTE,
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
)
_DAY_STEPS = (DAY, 2 * DAY, 3 * DAY, 7 * DAY, 14 * DAY)
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200)
_MONDAY = -3 * DAY  # 1969-12-29, the Monday before the epoch: weeks start on Mondays
_UNIT_MS = {"D": DAY, "s": 1000.0, "ms": 1.0, "us": 1e-3, "ns": 1e-6}


def nice_step(span: float, most: int) -> float:
    """The smallest round step that cuts ``span`` into at most ``most`` parts."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(most, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * power >= raw * (1 - 1e-9):
            return factor * power
    return 10.0 * power


def nice_ticks(lo: float, hi: float, most: int = 5) -> list[float]:
    """Round values covering [lo, hi]: the first at or below ``lo``, the last at or above
    ``hi`` (so a scale built on them holds every value)."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        lo, hi = (lo - 1, hi + 1) if lo == 0 else (lo - abs(lo) / 2, hi + abs(hi) / 2)
    step = nice_step(hi - lo, most)
    first = math.floor(lo / step + 1e-9) * step
    ticks = [0.0 if abs(first) < step * 1e-9 else float(f"{first:.12g}")]
    while ticks[-1] < hi - step * 1e-9 or len(ticks) < 2:
        value = first + step * len(ticks)
        ticks.append(0.0 if abs(value) < step * 1e-9 else float(f"{value:.12g}"))
    return ticks


def number(value: float, step: float, *, exact: bool = True, size: float | None = None) -> str:
    """``value`` with as many decimals as ``step`` needs (all of a round step's; two
    significant digits of any other, ``exact=False``); thousands as k, millions as M,
    billions as G, chosen by ``size`` (the largest value on the axis, so that one axis uses
    one notation); tiny or huge values in scientific notation."""
    if value == 0:
        return "0"
    size = max(abs(value), abs(step)) if size is None else max(abs(size), abs(step))
    if size >= 1e12 or size < 1e-4:
        return f"{value:.3g}"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= scale * 10:
            if abs(value) < scale:  # the small end of a large axis: 34, 7.6k, 15k
                return _plain(value, step, exact)
            return _plain(value / scale, step / scale, exact) + suffix
    return _plain(value, step, exact)


def _plain(value: float, step: float, exact: bool) -> str:
    return f"{value:,.{_decimals(step, exact)}f}"


def _decimals(step: float, exact: bool) -> int:
    if not step:
        return 0
    needed = 6  # the decimals that write the step exactly (a round step needs few)
    for decimals in range(7):
        scaled = abs(step) * 10**decimals
        if abs(scaled - round(scaled)) < 1e-6 * max(1.0, scaled):
            needed = decimals
            break
    if exact:
        return needed
    return min(needed, max(0, 1 - math.floor(math.log10(abs(step)))))


def percent(share: float, step: float) -> str:
    """A share (0.25) as a percentage label ("25%")."""
    return _plain(share * 100, step * 100, True) + "%"


def edge_labels(edges: list[float], most: int = 5) -> list[int]:
    """Which bin edges an axis labels: evenly spaced, the first and the last among them when
    the count allows, at most ``most``."""
    n = len(edges) - 1
    if n <= 0:
        return []
    every = max(1, math.ceil(n / max(most - 1, 1)))
    while n % every and every < n and n // every + 1 > most - 1:
        every += 1
    return list(range(0, n + 1, every))


def epoch_ms(value: float, unit: str) -> float:
    """A count of ``unit`` since 1970 (a profile's timestamps) as milliseconds."""
    return value * _UNIT_MS.get(unit, 1.0)


def _utc(ms: float) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=ms)


def _month_starts(lo: float, hi: float, months: int) -> list[float]:
    start = _utc(lo)
    year, month = start.year, start.month
    if (start.day, start.hour, start.minute, start.second, start.microsecond) != (1, 0, 0, 0, 0):
        month += 1
    index = year * 12 + month - 1
    index += (-index) % months
    out: list[float] = []
    while True:
        y, m = divmod(index, 12)
        at = dt.datetime(y, m + 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1000
        if at > hi:
            return out
        out.append(at)
        index += months


def time_ticks(lo: float, hi: float, most: int = 5) -> list[tuple[float, str, str]]:
    """Ticks over [lo, hi] (ms since 1970, UTC): (ms, first line, second line). The first
    line is the time of day for steps under a day, else the day (or month, or year); the
    second line gives the date (or year) on the first tick and wherever it changes."""
    span = hi - lo
    for step in (*_CLOCK_STEPS, *_DAY_STEPS):
        origin = _MONDAY if step >= 7 * DAY else 0
        first = math.ceil((lo - origin) / step) * step + origin
        count = math.floor((hi - first) / step) + 1 if hi >= first else 0
        if count <= most and (count >= 2 or step * 2 > span):
            return _labelled([first + i * step for i in range(count)], step)
    for months in _MONTH_STEPS:
        found = _month_starts(lo, hi, months)
        if len(found) <= most:
            return _labelled(found, months * 30 * DAY)
    return _labelled([lo, hi], hi - lo)


def _labelled(ticks: list[float], step: float) -> list[tuple[float, str, str]]:
    out = []
    previous = ""
    for ms in ticks:
        t = _utc(ms)
        day = f"{calendar.month_abbr[t.month]} {t.day}"
        if step < DAY:
            first, second = (
                t.strftime("%H:%M") if step >= MINUTE else t.strftime("%H:%M:%S"),
                f"{day}, {t.year}",
            )
        elif step < 28 * DAY:
            first, second = day, str(t.year)
        elif step < 365 * DAY:
            first, second = calendar.month_abbr[t.month], str(t.year)
        else:
            first, second = str(t.year), ""
        out.append((ms, first, second if second != previous else ""))
        previous = second
    return out


def when(ms: float) -> str:
    """A time as a person reads it in a tooltip or a table: 2026-01-03 14:00 UTC."""
    return _utc(ms).strftime("%Y-%m-%d %H:%M UTC")
