"""Cron schedules: the parser (good and bad expressions, each error naming its field), fire
times against croniter and a brute-force reference, daylight-saving changes in five zones,
leap years, and the catch-up policies."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from modelyard.errors import InvalidArgument
from modelyard.platform.cron import MAX_MS, CronSchedule
from modelyard.platform.cron_catchup import COUNT_LIMIT, DueRuns, due_runs
from modelyard.platform.cron_fields import CronFields

PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
UTC = timezone.utc
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def utc(text: str) -> int:
    """Epoch ms of a time in UTC written '2025-03-30T01:00'."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def fires(expr: str, tz: str, after: int, count: int) -> list[int]:
    schedule = CronSchedule.parse(expr, tz)
    out: list[int] = []
    t = after
    for _ in range(count):
        t = schedule.next_after(t)
        out.append(t)
    return out


# Parsing: what each field matches.

GOOD = [
    ("*/15 * * * *", "minutes", (0, 15, 30, 45)),
    ("1-30/7 * * * *", "minutes", (1, 8, 15, 22, 29)),
    ("30/10 * * * *", "minutes", (30, 40, 50)),
    ("5,1,5,3-4 * * * *", "minutes", (1, 3, 4, 5)),
    ("0 9-17/4 * * *", "hours", (9, 13, 17)),
    ("0 0 1/10 * *", "days", (1, 11, 21, 31)),
    ("0 0 * JAN,jul *", "months", (1, 7)),
    ("0 0 * */3 *", "months", (1, 4, 7, 10)),
    ("0 0 * Mar-may *", "months", (3, 4, 5)),
    ("0 0 * * mon-FRI", "weekdays", (1, 2, 3, 4, 5)),
    ("0 0 * * 0,7", "weekdays", (0,)),
    ("0 0 * * 7", "weekdays", (0,)),
    ("0 0 * * 5-7", "weekdays", (0, 5, 6)),
    ("0 0 * * SUN,sat", "weekdays", (0, 6)),
    ("0 0 * * */2", "weekdays", (0, 2, 4, 6)),
    ("0 0 * * *", "weekdays", (0, 1, 2, 3, 4, 5, 6)),
    ("\t0  0 *\t* *  ", "hours", (0,)),
    ("00 07 * * *", "hours", (7,)),
]


@pytest.mark.parametrize(("expr", "name", "values"), GOOD)
def test_each_field_matches_what_it_says(expr: str, name: str, values: tuple[int, ...]) -> None:
    assert getattr(CronFields.parse(expr), name) == values


@pytest.mark.parametrize(
    ("macro", "same_as"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@Daily", "0 0 * * *"),
        (" @HOURLY ", "0 * * * *"),
    ],
)
def test_macros_are_their_expansions(macro: str, same_as: str) -> None:
    assert CronFields.parse(macro) == CronFields.parse(same_as)
    start = utc("2024-02-27T13:17")
    assert fires(macro, "UTC", start, 5) == fires(same_as, "UTC", start, 5)


def test_a_day_field_is_unrestricted_only_when_written_star() -> None:
    assert CronFields.parse("0 0 * * */1").any_weekday
    assert CronFields.parse("0 0 */1 * *").any_day
    assert not CronFields.parse("0 0 * * 0-6").any_weekday
    assert not CronFields.parse("0 0 1-31 * *").any_day


def test_a_schedule_keeps_its_text_and_zone() -> None:
    schedule = CronSchedule.parse("  0 9 * * MON-FRI ", "Europe/Berlin")
    assert schedule.expression == "0 9 * * MON-FRI"
    assert schedule.timezone == "Europe/Berlin"
    assert repr(schedule) == "CronSchedule(expression='0 9 * * MON-FRI', timezone='Europe/Berlin')"
    assert schedule == CronSchedule.parse("0 9 * * MON-FRI", "Europe/Berlin")
    assert CronSchedule.parse("@daily").timezone == "UTC"


# Parsing: what is refused, and how the message says it.

BAD = [
    ("61 * * * *", "minute", "'61'", "out of range 0-59"),
    ("-1 * * * *", "minute", "'-1'", "expected a number 0-59"),
    ("* 24 * * *", "hour", "'24'", "out of range 0-23"),
    ("* * 0 * *", "day-of-month", "'0'", "out of range 1-31"),
    ("* * 1-32 * *", "day-of-month", "'1-32'", "out of range 1-31"),
    ("* * * 13 *", "month", "'13'", "out of range 1-12"),
    ("* * * FOO *", "month", "'FOO'", "a name (JAN-DEC)"),
    ("* * * * 8", "day-of-week", "'8'", "out of range 0-7"),
    ("* * * * MONDAY", "day-of-week", "'MONDAY'", "a name (SUN-SAT)"),
    ("MON * * * *", "minute", "'MON'", "expected a number 0-59"),
    ("* * * 1-JUNE *", "month", "'1-JUNE'", "expected a number 1-12"),
    ("*/0 * * * *", "minute", "'*/0'", "step '0'; expected a whole number from 1 to 60"),
    ("*/61 * * * *", "minute", "'*/61'", "from 1 to 60"),
    ("* */x * * *", "hour", "'*/x'", "from 1 to 24"),
    ("* * * * */8", "day-of-week", "'*/8'", "from 1 to 7"),
    ("*/5/2 * * * *", "minute", "'*/5/2'", "step '5/2'"),
    ("5-1 * * * *", "minute", "'5-1'", "start is after its end"),
    ("* * * * FRI-MON", "day-of-week", "'FRI-MON'", "start is after its end"),
    ("1-2-3 * * * *", "minute", "'1-2-3'", "expected a number 0-59"),
    ("1,,2 * * * *", "minute", "'1,,2'", "empty list item"),
    ("* 1, * * *", "hour", "'1,'", "empty list item"),
    ("? * * * *", "minute", "'?'", "expected a number 0-59"),
    ("* * L * *", "day-of-month", "'L'", "expected a number 1-31"),
    ("* * * * 1#2", "day-of-week", "'1#2'", "expected a number 0-7"),
    ("* * * *", "5 (minute hour", "'* * * *'", "has 4 fields"),
    ("0 * * * * *", "5 (minute hour", "'0 * * * * *'", "has 6 fields"),
    ("", "5 (minute hour", "''", "has 0 fields"),
    ("@reboot", "@yearly", "'@reboot'", "unknown macro"),
    ("@every 5m", "@hourly", "'@every 5m'", "unknown macro"),
    ("0 0 31 2 *", "day-of-month", "'0 0 31 2 *'", "never fires"),
    ("0 0 30,31 2 *", "day-of-month", "(30, 31)", "occurs in February"),
    ("0 0 31 4,6,9,11 *", "day-of-month", "(31)", "April or June or September or November"),
]


@pytest.mark.parametrize(("expr", "names", "part", "says"), BAD)
def test_a_bad_expression_names_its_field_and_part(
    expr: str, names: str, part: str, says: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        CronSchedule.parse(expr, "UTC")
    message = caught.value.message
    assert caught.value.field == "schedule"
    assert message.startswith("schedule: ")
    for piece in (names, part, says):
        assert piece in message, message


def test_the_message_reads_as_a_sentence() -> None:
    with pytest.raises(InvalidArgument, match=r"^schedule: '61' in the minute field is out of "):
        CronSchedule.parse("61 * * * *")


@pytest.mark.parametrize("expr", [5, None, b"* * * * *", ["*"] * 5])
def test_an_expression_that_is_not_text(expr: object) -> None:
    with pytest.raises(InvalidArgument, match="schedule must be a cron expression") as caught:
        CronSchedule.parse(expr, "UTC")  # type: ignore[arg-type]
    assert caught.value.field == "schedule"


@pytest.mark.parametrize(
    "tz",
    [
        "Mars/Base",
        "utc",
        "",
        "../etc/passwd",
        "/etc/localtime",
        "localtime",
        "America",
        "Europe/Berlin\x00",
        "x" * 300,
        3,
    ],
)
def test_an_unknown_zone_is_refused_with_what_is_expected(tz: object) -> None:
    with pytest.raises(InvalidArgument, match=r"timezone.*expected an IANA time zone") as caught:
        CronSchedule.parse("0 9 * * *", tz)  # type: ignore[arg-type]
    assert caught.value.field == "timezone"


@pytest.mark.parametrize(
    "tz",
    [
        "UTC",
        "Etc/UTC",
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
        "Australia/Lord_Howe",
        "Etc/GMT+5",
    ],
)
def test_known_zones(tz: str) -> None:
    assert CronSchedule.parse("0 9 * * *", tz).timezone == tz


@pytest.mark.parametrize("expr", ["0 0 29 2 *", "0 0 31 2 MON", "0 0 31 1-2 *", "0 0 30 */2 *"])
def test_rare_but_possible_schedules_parse(expr: str) -> None:
    assert CronSchedule.parse(expr).next_after(utc("2025-01-01T00:00")) > 0


# Fire times against croniter, where no offset changes.


def _items(low: int, high: int, names: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    value = number.map(str) | (
        number.filter(lambda n: n - low < len(names)).map(lambda n: names[n - low])
        if names
        else number.map(str)
    )
    # a-b with a < b: croniter 7.0.0 reads 'a-a' as '*'
    span = st.tuples(number, number).filter(lambda ab: ab[0] != ab[1]).map(sorted)
    step = st.integers(1, high - low + 1)
    item = st.one_of(
        st.just("*"),
        step.map(lambda s: f"*/{s}"),
        value,
        span.map(lambda ab: f"{ab[0]}-{ab[1]}"),
        st.tuples(span, step).map(lambda x: f"{x[0][0]}-{x[0][1]}/{x[1]}"),
        st.tuples(number, step).map(lambda x: f"{x[0]}/{x[1]}"),
    )
    return st.lists(item, min_size=1, max_size=3).map(",".join)


MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
EXPRESSIONS = st.tuples(
    _items(0, 59),
    _items(0, 23),
    st.just("*") | _items(1, 31),
    st.just("*") | _items(1, 12, MONTH_NAMES),
    st.just("*") | _items(0, 6, DAY_NAMES),
).map(" ".join)
# Zones whose offset has not changed since before 1990 (and is not planned to).
STEADY_ZONES = st.sampled_from(["UTC", "Asia/Kolkata", "Asia/Tokyo", "Etc/GMT+5", "Asia/Kathmandu"])
INSTANTS = st.integers(utc("1990-01-01T00:00"), utc("2080-01-01T00:00"))


def _parsed(expr: str, tz: str) -> CronSchedule:
    try:
        return CronSchedule.parse(expr, tz)
    except InvalidArgument as error:
        assume("never fires" not in error.message)
        raise


def _croniter_reads_alike(expr: str) -> bool:
    """croniter decides whether a day field is unrestricted by its own heuristics (a full
    day-of-week counts as '*' when the day-of-month text holds a '*'); compare only where a
    day field is exactly '*' or matches fewer than all days."""
    fields = CronFields.parse(expr)
    days, weekdays = expr.split()[2], expr.split()[4]
    return (days == "*" or len(fields.days) < 31) and (weekdays == "*" or len(fields.weekdays) < 7)


def _croniter(expr: str, tz: str, t: int, *, forward: bool) -> int:
    at = datetime.fromtimestamp(t / 1000, ZoneInfo(tz))
    walker = croniter(expr, at)
    found = walker.get_next(datetime) if forward else walker.get_prev(datetime)
    return int(found.timestamp() * 1000)


@PROPERTIES
@given(EXPRESSIONS, STEADY_ZONES, INSTANTS)
def test_next_after_agrees_with_croniter(expr: str, tz: str, t: int) -> None:
    schedule = _parsed(expr, tz)
    assume(_croniter_reads_alike(expr))
    assert schedule.next_after(t) == _croniter(expr, tz, t, forward=True)


@PROPERTIES
@given(EXPRESSIONS, STEADY_ZONES, INSTANTS.map(lambda t: t - t % MINUTE))
def test_last_at_or_before_agrees_with_croniter(expr: str, tz: str, t: int) -> None:
    schedule = _parsed(expr, tz)
    assume(_croniter_reads_alike(expr))
    last = schedule.last_at_or_before(t)
    # croniter's previous is strictly before; ours includes a fire at t itself
    assert last == (t if schedule.next_after(t - 1) == t else _croniter(expr, tz, t, forward=False))


@settings(PROPERTIES, max_examples=100)
@given(EXPRESSIONS, STEADY_ZONES, INSTANTS, st.integers(1, 3))
def test_fire_times_are_next_after_chained(expr: str, tz: str, t: int, days: int) -> None:
    schedule = _parsed(expr, tz)
    listed = list(schedule.fire_times(t, t + days * DAY))
    chained = []
    at = schedule.next_after(t)
    while at <= t + days * DAY:
        chained.append(at)
        at = schedule.next_after(at)
    assert listed == chained


# Fire times against a brute-force reference, across offset changes: every UTC minute is
# looked at; it fires if the clock there shows a matching minute (at its first occurrence
# only, for fixed-hour schedules), or if it ends a gap that skipped a matching minute
# (fixed-hour schedules).

TRANSITIONS = {
    "Europe/Berlin": ["2025-03-30T01:00", "2025-10-26T01:00", "2026-03-29T01:00"],
    "America/New_York": ["2025-03-09T07:00", "2025-11-02T06:00"],
    "Australia/Lord_Howe": ["2025-04-05T15:00", "2025-10-04T15:30"],
    "America/Sao_Paulo": ["2018-11-04T03:00", "2019-02-17T02:00"],  # at midnight, local
    "Pacific/Apia": ["2011-12-30T10:00"],  # a whole day skipped
}
DAILY = st.tuples(
    _items(0, 59) | st.sampled_from(["0", "30", "15,45", "*/10", "*"]),
    _items(0, 23) | st.sampled_from(["*", "0", "1", "2", "3", "23", "0-3", "1-2", "*/2"]),
).map(lambda mh: f"{mh[0]} {mh[1]} * * *")


def _matcher(expr: str) -> Callable[[datetime], bool]:
    """Minute and hour as croniter reads them (the day fields of DAILY are '*')."""
    minutes, hours = croniter(expr).expanded[:2]

    def matches(wall: datetime) -> bool:
        return ("*" in minutes or wall.minute in minutes) and ("*" in hours or wall.hour in hours)

    return matches


def _brute_next(expr: str, tz: str, t: int) -> int:
    zone = ZoneInfo(tz)
    every_hour = CronFields.parse(expr).every_hour
    matches = _matcher(expr)
    u = t - t % MINUTE + MINUTE
    for _ in range(4 * 24 * 60):
        local = datetime.fromtimestamp(u / 1000, zone)
        before = datetime.fromtimestamp((u - 1000) / 1000, zone).utcoffset()
        after = local.utcoffset()
        assert before is not None and after is not None
        if matches(local) and (every_hour or local.fold == 0):
            return u
        if after > before and not every_hour:  # a gap ends at u
            skipped = local.replace(tzinfo=None) - (after - before)
            while skipped < local.replace(tzinfo=None):
                if matches(skipped):
                    return u
                skipped += timedelta(minutes=1)
        u += MINUTE
    raise AssertionError("no fire within four days")


@st.composite
def _near_transition(draw: st.DrawFn) -> tuple[str, int]:
    tz = draw(st.sampled_from(sorted(TRANSITIONS)))
    at = utc(draw(st.sampled_from(TRANSITIONS[tz])))
    return tz, at + draw(st.integers(-30 * HOUR, 30 * HOUR))


@PROPERTIES
@given(DAILY, _near_transition())
def test_next_after_agrees_with_brute_force_across_offset_changes(
    expr: str, zone_and_t: tuple[str, int]
) -> None:
    tz, t = zone_and_t
    assert CronSchedule.parse(expr, tz).next_after(t) == _brute_next(expr, tz, t)


@PROPERTIES
@given(DAILY | EXPRESSIONS, _near_transition())
def test_last_and_next_bracket_every_instant(expr: str, zone_and_t: tuple[str, int]) -> None:
    tz, t = zone_and_t
    schedule = _parsed(expr, tz)
    following = schedule.next_after(t)
    last = schedule.last_at_or_before(t)
    assert last is not None and last <= t < following
    assert schedule.next_after(last) == following
    assert schedule.last_at_or_before(following - 1) == last
    assert schedule.last_at_or_before(following) == following


# Offset changes, by hand. Times in UTC; the local time each one is in the comments.

DST = [
    # Berlin springs forward 2025-03-30 at 02:00 CET (01:00 UTC) to 03:00 CEST.
    (
        "Europe/Berlin",
        "30 2 * * *",
        "2025-03-29T12:00",
        [
            "2025-03-30T01:00",  # 02:30 does not exist: fires as the gap ends, 03:00 CEST
            "2025-03-31T00:30",  # 02:30 CEST
        ],
    ),
    (
        "Europe/Berlin",
        "*/15 2 * * *",
        "2025-03-29T12:00",
        [
            "2025-03-30T01:00",  # all four skipped times, once
            "2025-03-31T00:00",
            "2025-03-31T00:15",
        ],
    ),
    (
        "Europe/Berlin",
        "0,30 2,3 * * *",
        "2025-03-29T23:00",
        [
            "2025-03-30T01:00",  # 02:00, 02:30 (skipped) and 03:00 are one instant: one fire
            "2025-03-30T01:30",  # 03:30 CEST
        ],
    ),
    (
        "Europe/Berlin",
        "7,37 * * * *",
        "2025-03-30T00:00",
        [
            "2025-03-30T00:07",
            "2025-03-30T00:37",  # 01:07, 01:37 CET
            "2025-03-30T01:07",  # 03:07 CEST: hourly-and-finer follow the clock, 30 minutes on
        ],
    ),
    (
        "Europe/Berlin",
        "@hourly",
        "2025-03-29T23:30",
        [
            "2025-03-30T00:00",
            "2025-03-30T01:00",
            "2025-03-30T02:00",  # 01:00 CET, 03:00, 04:00
        ],
    ),
    # Berlin falls back 2025-10-26 at 03:00 CEST (01:00 UTC) to 02:00 CET.
    (
        "Europe/Berlin",
        "30 2 * * *",
        "2025-10-25T12:00",
        [
            "2025-10-26T00:30",  # 02:30 CEST, the first occurrence; not again at 02:30 CET
            "2025-10-27T01:30",
        ],
    ),
    (
        "Europe/Berlin",
        "*/30 * * * *",
        "2025-10-25T23:45",
        [
            "2025-10-26T00:00",
            "2025-10-26T00:30",  # 02:00, 02:30 CEST
            "2025-10-26T01:00",
            "2025-10-26T01:30",  # 02:00, 02:30 CET: the clock shows them again
            "2025-10-26T02:00",  # 03:00 CET
        ],
    ),
    (
        "Europe/Berlin",
        "0 1-3 * * *",
        "2025-10-25T22:00",
        [
            "2025-10-25T23:00",
            "2025-10-26T00:00",  # 01:00, 02:00 CEST
            "2025-10-26T02:00",  # 03:00 CET (02:00 CET is the second occurrence)
        ],
    ),
    # New York springs forward 2025-03-09 at 02:00 EST (07:00 UTC) to 03:00 EDT.
    (
        "America/New_York",
        "30 2 * * *",
        "2025-03-08T12:00",
        [
            "2025-03-09T07:00",
            "2025-03-10T06:30",
        ],
    ),
    (
        "America/New_York",
        "0 9 * * MON-FRI",
        "2025-03-07T15:00",
        [
            "2025-03-10T13:00",  # 09:00 EDT, an hour earlier in UTC than the Friday before
        ],
    ),
    # New York falls back 2025-11-02 at 02:00 EDT (06:00 UTC) to 01:00 EST.
    (
        "America/New_York",
        "30 1 * * *",
        "2025-11-01T12:00",
        [
            "2025-11-02T05:30",  # 01:30 EDT only
            "2025-11-03T06:30",  # 01:30 EST
        ],
    ),
    (
        "America/New_York",
        "0 */1 * * *",
        "2025-11-02T04:30",
        [
            "2025-11-02T05:00",
            "2025-11-02T06:00",
            "2025-11-02T07:00",  # 01:00 EDT, 01:00, 02:00 EST
        ],
    ),
    # Kolkata: +05:30 all year.
    ("Asia/Kolkata", "30 9 * * *", "2025-06-01T00:00", ["2025-06-01T04:00", "2025-06-02T04:00"]),
    ("Asia/Kolkata", "0 * * * *", "2025-06-01T00:00", ["2025-06-01T00:30", "2025-06-01T01:30"]),
    # Lord Howe springs forward 30 minutes 2025-10-05 at 02:00 +10:30 (15:30 UTC) to 02:30.
    (
        "Australia/Lord_Howe",
        "15 2 * * *",
        "2025-10-04T12:00",
        [
            "2025-10-04T15:30",  # 02:15 skipped: fires as the gap ends, 02:30 +11
            "2025-10-05T15:15",  # 02:15 +11
        ],
    ),
    (
        "Australia/Lord_Howe",
        "0 * * * *",
        "2025-10-04T14:00",
        [
            "2025-10-04T14:30",  # 01:00 +10:30
            "2025-10-04T16:00",  # 03:00 +11: 02:00 was never shown, 90 minutes on
        ],
    ),
    (
        "Australia/Lord_Howe",
        "30 * * * *",
        "2025-10-04T14:30",
        [
            "2025-10-04T15:00",
            "2025-10-04T15:30",
            "2025-10-04T16:30",  # 01:30, 02:30, 03:30
        ],
    ),
    # Lord Howe falls back 30 minutes 2025-04-06 at 02:00 +11 (15:00 UTC) to 01:30 +10:30.
    (
        "Australia/Lord_Howe",
        "45 1 * * *",
        "2025-04-05T12:00",
        [
            "2025-04-05T14:45",  # 01:45 +11 only
            "2025-04-06T15:15",  # 01:45 +10:30
        ],
    ),
    (
        "Australia/Lord_Howe",
        "45 * * * *",
        "2025-04-05T13:00",
        [
            "2025-04-05T13:45",
            "2025-04-05T14:45",
            "2025-04-05T15:15",
            "2025-04-05T16:15",
        ],
    ),
]


@pytest.mark.parametrize(("tz", "expr", "after", "expected"), DST)
def test_offset_changes(tz: str, expr: str, after: str, expected: list[str]) -> None:
    assert fires(expr, tz, utc(after), len(expected)) == [utc(e) for e in expected]


@pytest.mark.parametrize(("tz", "expr", "after", "expected"), DST)
def test_offset_changes_backwards(tz: str, expr: str, after: str, expected: list[str]) -> None:
    schedule = CronSchedule.parse(expr, tz)
    wanted = [utc(e) for e in expected]
    for earlier, later in pairwise(wanted):
        assert schedule.last_at_or_before(later - 1) == earlier
        assert schedule.last_at_or_before(later) == later


def test_the_second_occurrence_of_a_repeated_hour() -> None:
    berlin = "Europe/Berlin"
    at = utc("2025-10-26T01:45")  # 02:45 CET, the second 02:45 that day
    assert CronSchedule.parse("30 2 * * *", berlin).last_at_or_before(at) == utc("2025-10-26T00:30")
    assert CronSchedule.parse("30 * * * *", berlin).last_at_or_before(at) == utc("2025-10-26T01:30")
    assert CronSchedule.parse("30 2 * * *", berlin).next_after(at) == utc("2025-10-27T01:30")
    # inside the first occurrence, the second is still ahead for hourly schedules
    first = utc("2025-10-26T00:50")  # 02:50 CEST
    assert CronSchedule.parse("10 * * * *", berlin).next_after(first) == utc("2025-10-26T01:10")


def test_a_whole_day_skipped() -> None:
    # Samoa skipped 2011-12-30: 23:59:59 on the 29th (-10:00) was followed by 00:00 on the 31st
    assert fires("0 9 * * *", "Pacific/Apia", utc("2011-12-29T20:00"), 2) == [
        utc("2011-12-30T10:00"),  # the 30th's 09:00, as the day ends: 00:00 on the 31st
        utc("2011-12-30T19:00"),  # 09:00 on the 31st, +14:00
    ]
    assert fires("0 */6 * * *", "Pacific/Apia", utc("2011-12-30T09:00"), 2) == [
        utc("2011-12-30T10:00"),  # hourly-and-finer: the next time the clock shows one
        utc("2011-12-30T16:00"),
    ]


# Leap years and speed.


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("2024-02-29T00:00", "2028-02-29T00:00"),
        ("2097-01-01T00:00", "2104-02-29T00:00"),  # 2100 is not a leap year
        ("1999-03-01T00:00", "2000-02-29T00:00"),  # 2000 is
        ("9995-01-01T00:00", "9996-02-29T00:00"),
    ],
)
def test_february_29th(after: str, expected: str) -> None:
    schedule = CronSchedule.parse("0 0 29 2 *")
    started = time.perf_counter()
    assert schedule.next_after(utc(after)) == utc(expected)
    assert schedule.last_at_or_before(utc(expected) + DAY) == utc(expected)
    assert time.perf_counter() - started < 0.05


def test_february_29th_or_a_monday() -> None:
    # either day field may match: Mondays in February, and the 29th (a Wednesday in 2096)
    assert fires("0 0 29 2 MON", "UTC", utc("2096-02-20T00:00"), 3) == [
        utc("2096-02-27T00:00"),
        utc("2096-02-29T00:00"),
        utc("2097-02-04T00:00"),
    ]
    assert fires("0 0 29 2 MON", "UTC", utc("2100-02-20T00:00"), 2) == [
        utc("2100-02-22T00:00"),
        utc("2101-02-07T00:00"),
    ]


def test_the_end_of_time() -> None:
    schedule = CronSchedule.parse("0 0 29 2 *")
    assert list(schedule.fire_times(utc("9996-03-01T00:00"))) == []
    with pytest.raises(InvalidArgument, match="before the year 10000") as caught:
        schedule.next_after(utc("9996-03-01T00:00"))
    assert caught.value.field == "t_ms"
    assert schedule.last_at_or_before(utc("0004-02-28T00:00")) is None
    with pytest.raises(InvalidArgument, match="outside the years 1 to 9999"):
        schedule.next_after(MAX_MS + 1)
    with pytest.raises(InvalidArgument, match="must be epoch milliseconds"):
        schedule.next_after(1.5)  # type: ignore[arg-type]


def test_every_minute_for_a_day_is_quick() -> None:
    started = time.perf_counter()
    day = list(
        CronSchedule.parse("* * * * *", "Europe/Berlin").fire_times(
            utc("2025-10-25T12:00"), utc("2025-10-26T12:00")
        )
    )
    # one a real minute, through the hour Berlin's clocks repeat that day
    assert day == list(range(utc("2025-10-25T12:01"), utc("2025-10-26T12:01"), MINUTE))
    assert time.perf_counter() - started < 2


def test_fire_times_bounds() -> None:
    schedule = CronSchedule.parse("0 * * * *")
    listed = list(schedule.fire_times(utc("2025-01-01T00:00"), utc("2025-01-01T03:00")))
    assert listed == [utc("2025-01-01T01:00"), utc("2025-01-01T02:00"), utc("2025-01-01T03:00")]
    assert list(schedule.fire_times(utc("2025-01-01T03:00"), utc("2025-01-01T00:00"))) == []


# Catch-up: what runs when a server comes back.

HOURLY = CronSchedule.parse("0 * * * *")


@pytest.mark.parametrize(
    ("policy", "now", "runs", "skipped", "watermark"),
    [
        # down from just after 10:00 to 13:30: 11:00, 12:00 and 13:00 were missed
        ("latest", "13:30", ["13:00"], 2, "13:00"),
        ("skip", "13:30", [], 3, "13:00"),
        ("skip", "13:00:45", ["13:00"], 2, "13:00"),  # 13:00 is within the minute's grace
        ("all", "13:30", ["11:00", "12:00", "13:00"], 0, "13:00"),
        # the steady state: one time due, on time; every policy runs it
        ("latest", "11:00:05", ["11:00"], 0, "11:00"),
        ("skip", "11:00:05", ["11:00"], 0, "11:00"),
        ("all", "11:00:05", ["11:00"], 0, "11:00"),
        # nothing due yet: the watermark stays the last fired time
        ("latest", "10:59:59", [], 0, "10:00"),
        ("all", "10:00", [], 0, "10:00"),
    ],
)
def test_catch_up_policies(
    policy: str, now: str, runs: list[str], skipped: int, watermark: str
) -> None:
    day = "2025-06-01T"
    due = due_runs(HOURLY, utc(day + "10:00"), utc(day + now), policy)  # type: ignore[arg-type]
    assert due.runs == tuple(utc(day + r) for r in runs)
    assert due.skipped == skipped
    assert due.watermark_ms == utc(day + watermark)
    assert due.next_ms == HOURLY.next_after(utc(day + now))


def test_the_watermark_is_the_latest_due_time_whatever_ran() -> None:
    due = due_runs(HOURLY, utc("2025-06-01T10:00"), utc("2025-06-01T13:30"), "skip")
    assert due == DueRuns((), 3, utc("2025-06-01T13:00"), utc("2025-06-01T14:00"))
    again = due_runs(HOURLY, due.watermark_ms, utc("2025-06-01T13:31"), "all")
    assert again.runs == () and again.skipped == 0  # nothing is due twice


def test_all_is_capped_at_the_most_recent() -> None:
    due = due_runs(HOURLY, utc("2025-06-01T00:00"), utc("2025-06-01T10:30"), "all", max_runs=3)
    assert due.runs == tuple(utc(f"2025-06-01T{h:02}:00") for h in (8, 9, 10))
    assert due.skipped == 7


def test_a_long_outage_of_a_minutely_schedule() -> None:
    minutely = CronSchedule.parse("* * * * *")
    week = due_runs(minutely, utc("2025-06-01T00:00"), utc("2025-06-08T00:00"), "all")
    assert len(week.runs) == 100 and week.runs[-1] == utc("2025-06-08T00:00")
    assert week.skipped == 7 * 24 * 60 - 100
    month = due_runs(minutely, utc("2025-06-01T00:00"), utc("2025-07-01T00:00"), "latest")
    assert month.runs == (utc("2025-07-01T00:00"),)
    assert month.skipped == COUNT_LIMIT  # counted up to the limit


def test_a_grace_of_your_own() -> None:
    last, now = utc("2025-06-01T10:00"), utc("2025-06-01T11:04")
    assert due_runs(HOURLY, last, now, "skip").runs == ()
    assert due_runs(HOURLY, last, now, "skip", grace_ms=5 * MINUTE).runs == (
        utc("2025-06-01T11:00"),
    )
    assert due_runs(HOURLY, last, utc("2025-06-01T11:00"), "skip", grace_ms=0).runs == (
        utc("2025-06-01T11:00"),
    )


def test_catch_up_across_a_gap() -> None:
    nightly = CronSchedule.parse("30 2 * * *", "Europe/Berlin")
    due = due_runs(nightly, utc("2025-03-29T01:30"), utc("2025-03-31T12:00"), "all")
    assert due.runs == (utc("2025-03-30T01:00"), utc("2025-03-31T00:30"))  # 03:00, 02:30 CEST


def test_a_server_whose_clock_is_behind_the_last_fire() -> None:
    due = due_runs(HOURLY, utc("2025-06-01T12:00"), utc("2025-06-01T11:30"), "all")
    assert due.runs == () and due.watermark_ms == utc("2025-06-01T12:00")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"policy": "backfill"}, "catchup"),
        ({"policy": None}, "catchup"),
        ({"grace_ms": -1}, "grace_ms"),
        ({"grace_ms": 1.5}, "grace_ms"),
        ({"max_runs": 0}, "max_runs"),
        ({"max_runs": 1001}, "max_runs"),
        ({"now_ms": "now"}, "now_ms"),
        ({"last_fired_ms": True}, "last_fired_ms"),
    ],
)
def test_catch_up_arguments_are_checked(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "schedule": HOURLY,
        "last_fired_ms": 0,
        "now_ms": utc("2025-01-01T00:00"),
        **kwargs,
    }
    with pytest.raises(InvalidArgument) as caught:
        due_runs(**args)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert field in caught.value.message
