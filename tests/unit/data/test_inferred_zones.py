"""A suite inferred from timestamps records whether they carry a time zone: the same column
with its zone removed (or a zone where there was none) fails ``type``, as a type change a
person would call a defect; the same instants in another zone pass."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import modelyard as yard
from modelyard.data import Expectations
from modelyard.errors import InvalidArgument


def _frame(tz: str | None) -> pd.DataFrame:
    when = pd.date_range("2026-11-01", periods=200, freq="min", tz=tz)
    return pd.DataFrame({"when": when, "amount": np.linspace(1, 100, 200)})


Change = Callable[[pd.Series], pd.Series]
SAME: Change = lambda t: t  # noqa: E731
DROP: Change = lambda t: t.dt.tz_localize(None)  # noqa: E731
TO_UTC: Change = lambda t: t.dt.tz_convert("UTC")  # noqa: E731
ADD: Change = lambda t: t.dt.tz_localize("UTC")  # noqa: E731
TO_US: Change = lambda t: t.astype("datetime64[us, UTC]" if t.dt.tz else "datetime64[us]")  # noqa: E731

# (the reference's zone, what happens to the column, passes?)
CASES = [
    ("UTC", SAME, True),
    ("UTC", DROP, False),
    ("Europe/Paris", SAME, True),
    ("Europe/Paris", TO_UTC, True),  # the same instants, written in another zone
    ("Europe/Paris", DROP, False),
    ("America/New_York", DROP, False),
    (None, SAME, True),
    (None, ADD, False),
    ("UTC", TO_US, True),  # another unit is the same type
]


@pytest.mark.parametrize(("tz", "change", "passes"), CASES)
def test_a_lost_or_new_time_zone_is_a_type_change(
    tz: str | None, change: Change, passes: bool
) -> None:
    reference = _frame(tz)
    suite = Expectations.from_profile(yard.data.profile(reference))
    fresh = reference.assign(when=change(reference["when"]))
    report = yard.data.validate(fresh, suite)
    assert report.ok is passes, report.failures
    if not passes:
        (failure,) = report.failures
        assert failure.label == "type(when)"
        assert "time zone" in str(failure.observed) and "time zone" in str(failure.expected)


def test_the_rule_round_trips_and_a_profile_stored_without_zones_still_infers() -> None:
    profile = yard.data.profile(_frame("UTC"))
    suite = Expectations.from_profile(profile)
    assert Expectations.from_dict(suite.to_dict()).to_dict() == suite.to_dict()
    data = profile.to_dict()
    for column in data["columns"]:
        column.pop("zoned")  # as stored before zones were kept
    old = Expectations.from_profile(type(profile).from_dict(data))
    typed = [e for e in old.rules if e.rule == "type" and e.column == "when"]
    assert typed[0].params == {"type": "timestamp"}  # not known: not checked
    assert yard.data.validate(_frame("UTC").assign(when=DROP(_frame("UTC")["when"])), old).ok


def test_zoned_is_only_for_timestamps() -> None:
    for params in ({"type": "integer", "zoned": True}, {"type": "timestamp", "zoned": "yes"}):
        with pytest.raises(InvalidArgument, match="zoned") as err:
            Expectations.from_dict({"expectations": [{"rule": "type", "column": "x", **params}]})
        assert err.value.field is not None and err.value.field.endswith("zoned")
