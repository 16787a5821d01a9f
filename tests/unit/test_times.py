"""One time parser for every domain: what it accepts, and errors that name the caller's field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import modelyard as yard
from modelyard.errors import InvalidArgument
from modelyard.platform.times import parse_time

AT = datetime(2026, 12, 3, 12, 30, 15, 250_000, tzinfo=timezone.utc)
MS = int(AT.timestamp() * 1000)


@pytest.mark.parametrize(
    "value",
    [
        MS,
        AT,
        AT.astimezone(timezone(timedelta(hours=5, minutes=30))),
        "2026-12-03T12:30:15.250+00:00",
        "2026-12-03T12:30:15.250Z",
        "2026-12-03T07:30:15.250-05:00",
        "2026-12-03 14:30:15.250+02:00",
    ],
)
def test_the_same_moment_however_it_is_written(value: Any) -> None:
    assert parse_time(value, "since") == MS


def test_none_is_no_bound_and_naive_text_is_local_time() -> None:
    assert parse_time(None, "until") is None
    naive = datetime(2026, 12, 3, 12, 30)
    assert parse_time("2026-12-03T12:30", "at") == int(naive.astimezone().timestamp() * 1000)
    assert parse_time(naive, "at") == parse_time("2026-12-03T12:30", "at")


@pytest.mark.parametrize("field", ["since", "until", "at", "now"])
@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "", True, 1.5, [MS], b"2026"])
def test_a_bad_time_names_the_callers_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidArgument, match=f"^{field} must be epoch milliseconds") as e:
        parse_time(value, field)
    assert e.value.field == field


def test_public_calls_name_their_own_field(tmp_path: Any) -> None:
    client = yard.Client(f"sqlite:///{tmp_path}/yard.db")
    for _ in range(2):
        with pytest.raises(InvalidArgument) as since:
            client.audit_log(since="last week")
        assert since.value.field == "since"
        with pytest.raises(InvalidArgument) as until:
            client.audit_log(until="soon")
        assert until.value.field == "until"
