"""A cron expression's five fields, in wall-clock time: the parser (lists, ranges, steps, month
and weekday names, macros; each error names the field, the bad part and what is expected) and
the search for the next or previous matching minute, jumping by field. It knows no time zone
and does no I/O; ``cron.py`` maps these wall-clock minutes to instants."""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime

from modelyard.errors import InvalidArgument

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_NUMBER = re.compile(r"[0-9]{1,4}")
_FIELDS_HELP = "minute hour day-of-month month day-of-week"


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int  # the highest value written (day-of-week: 7, another Sunday)
    names: tuple[str, ...] = ()

    @property
    def last(self) -> int:  # the highest value a star or an open step reaches
        return 6 if self.name == "day-of-week" else self.high

    def expected(self) -> str:
        named = f", a name ({self.names[0]}-{self.names[-1]})" if self.names else ""
        return (
            f"a number {self.low}-{self.high}{named}, '*', a range 'a-b', a step '*/n' or "
            "'a-b/n', or a comma-separated list of these"
        )


_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DOM = _Field("day-of-month", 1, 31)
_MONTH = _Field("month", 1, 12, _MONTHS)
_DOW = _Field("day-of-week", 0, 7, _WEEKDAYS)
_ORDER = (_MINUTE, _HOUR, _DOM, _MONTH, _DOW)


def _fail(message: str) -> InvalidArgument:
    return InvalidArgument(f"schedule: {message}", field="schedule")


def _value(text: str, part: str, field: _Field) -> int:
    upper = text.upper()
    if field.names and upper in field.names:
        return field.low + field.names.index(upper)
    if not _NUMBER.fullmatch(text):
        raise _fail(f"{part!r} in the {field.name} field is not valid; expected {field.expected()}")
    number = int(text)
    if not field.low <= number <= field.high:
        raise _fail(f"{part!r} in the {field.name} field is out of range {field.low}-{field.high}")
    return number


def _step(text: str, part: str, field: _Field) -> int:
    size = field.last - field.low + 1
    if not _NUMBER.fullmatch(text) or not 1 <= int(text) <= size:
        raise _fail(
            f"{part!r} in the {field.name} field has step {text!r}; expected a whole number "
            f"from 1 to {size}"
        )
    return int(text)


def _item(part: str, field: _Field) -> range:
    """One list item: '*', 'a', 'a-b', each with an optional '/n'; 'a/n' is 'a-last/n'."""
    base, slash, step_text = part.partition("/")
    step = _step(step_text, part, field) if slash else 1
    if base == "*":
        return range(field.low, field.last + 1, step)
    first_text, dash, last_text = base.partition("-")
    first = _value(first_text, part, field)
    if not dash:
        return range(first, (max(first, field.last) if slash else first) + 1, step)
    last = _value(last_text, part, field)
    if first > last:
        raise _fail(
            f"{part!r} in the {field.name} field is a range whose start is after its end; "
            "expected 'a-b' with a <= b"
        )
    return range(first, last + 1, step)


def _parse_field(text: str, field: _Field) -> tuple[int, ...]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise _fail(
                f"{text!r} in the {field.name} field has an empty list item; "
                f"expected {field.expected()}"
            )
        values.update(_item(part, field))
    if field is _DOW and 7 in values:
        values = (values - {7}) | {0}
    return tuple(sorted(values))


def _split(expr: str) -> list[str]:
    text = expr.strip()
    if text.startswith("@"):
        macro = MACROS.get(text.lower())
        if macro is None:
            raise _fail(f"unknown macro {text[:40]!r}; expected one of {', '.join(MACROS)}")
        return macro.split()
    parts = text.split()
    if len(parts) != 5:
        raise _fail(
            f"{expr[:80]!r} has {len(parts)} fields; expected 5 ({_FIELDS_HELP}) "
            "or a macro such as @daily"
        )
    return parts


def _month_days(month: int) -> int:
    return 29 if month == 2 else calendar.monthrange(2001, month)[1]


@dataclass(frozen=True)
class CronFields:
    """The values each field matches, sorted. ``any_day`` and ``any_weekday``: the day field
    holds ``*`` (or ``*/1``), so only the other day field restricts the days."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0 is Sunday
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, expr: str) -> CronFields:
        texts = _split(expr)
        minutes, hours, days, months, weekdays = (
            _parse_field(text, field) for text, field in zip(texts, _ORDER, strict=True)
        )
        any_day, any_weekday = ({"*", "*/1"} & set(texts[i].split(",")) != set() for i in (2, 4))
        fields = cls(minutes, hours, days, months, weekdays, any_day, any_weekday)
        fields._check_possible(expr)
        return fields

    @property
    def every_hour(self) -> bool:
        """The hour field names all 24 hours (however written)."""
        return len(self.hours) == 24

    def _check_possible(self, expr: str) -> None:
        """Only a day-of-month that none of the months has can make a schedule never fire: a
        restricted day-of-week is OR-ed with it, or (alone) meets every month."""
        if self.any_day or not self.any_weekday:
            return
        if any(self.days[0] <= _month_days(m) for m in self.months):
            return
        names = " or ".join(calendar.month_name[m] for m in self.months)
        raise _fail(
            f"{expr.strip()[:80]!r} never fires: no day in its day-of-month field "
            f"({', '.join(map(str, self.days))}) occurs in {names}"
        )

    def day_matches(self, year: int, month: int, day: int) -> bool:
        """Vixie cron's rule: when both day fields are restricted, either one may match."""
        if self.any_weekday:
            return self.any_day or day in self.days
        weekday = (date(year, month, day).weekday() + 1) % 7
        if self.any_day:
            return weekday in self.weekdays
        return day in self.days or weekday in self.weekdays

    def _first_day(self, year: int, month: int, day: int) -> int | None:
        last = calendar.monthrange(year, month)[1]
        return next((d for d in range(day, last + 1) if self.day_matches(year, month, d)), None)

    def _last_day(self, year: int, month: int, day: int) -> int | None:
        day = min(day, calendar.monthrange(year, month)[1])
        return next((d for d in range(day, 0, -1) if self.day_matches(year, month, d)), None)

    def next_match(self, start: datetime) -> datetime | None:
        """The first matching minute at or after ``start`` (a naive wall-clock time whose
        seconds are ignored); None past the year 9999."""
        y, mo, d, h, mi = start.year, start.month, start.day, start.hour, start.minute
        while y <= MAXYEAR:
            month = _ceil(self.months, mo)
            if month is None:
                y, mo, d, h, mi = y + 1, 1, 1, 0, 0
                continue
            if month != mo:
                mo, d, h, mi = month, 1, 0, 0
            day = self._first_day(y, mo, d)
            if day is None:
                mo, d, h, mi = mo + 1, 1, 0, 0
                continue
            if day != d:
                d, h, mi = day, 0, 0
            hour = _ceil(self.hours, h)
            if hour is None:
                d, h, mi = d + 1, 0, 0
                continue
            if hour != h:
                h, mi = hour, 0
            minute = _ceil(self.minutes, mi)
            if minute is None:
                h, mi = h + 1, 0
                continue
            return datetime(y, mo, d, h, minute)
        return None

    def previous_match(self, end: datetime) -> datetime | None:
        """The last matching minute at or before ``end`` (naive wall-clock, seconds ignored);
        None before the year 1."""
        y, mo, d, h, mi = end.year, end.month, end.day, end.hour, end.minute
        while y >= MINYEAR:
            month = _floor(self.months, mo)
            if month is None:
                y, mo, d, h, mi = y - 1, 12, 31, 23, 59
                continue
            if month != mo:
                mo, d, h, mi = month, 31, 23, 59
            day = self._last_day(y, mo, d)
            if day is None:
                mo, d, h, mi = mo - 1, 31, 23, 59
                continue
            if day != d:
                d, h, mi = day, 23, 59
            hour = _floor(self.hours, h)
            if hour is None:
                d, h, mi = d - 1, 23, 59
                continue
            if hour != h:
                h, mi = hour, 59
            minute = _floor(self.minutes, mi)
            if minute is None:
                h, mi = h - 1, 59
                continue
            return datetime(y, mo, d, h, minute)
        return None


def _ceil(values: tuple[int, ...], at_least: int) -> int | None:
    i = bisect_left(values, at_least)
    return values[i] if i < len(values) else None


def _floor(values: tuple[int, ...], at_most: int) -> int | None:
    i = bisect_right(values, at_most)
    return values[i - 1] if i else None
