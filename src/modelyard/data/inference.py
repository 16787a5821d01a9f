"""A starting expectation suite inferred from a profile: one that fresh data from the same
source passes, and that still fails on what a person would call a defect.

The rules (docs/data.md, "Inferred suites", gives the measured false-alarm rates):

- Every column: present, of its type.
- Missing values: ``not_null`` when the profile saw none (a missing value where there never
  was one is a defect). Otherwise ``max_missing_rate`` at the rate seen plus sampling room:
  ``rate + 4·sqrt(rate·(1-rate)/m) + 1/m``, at least twice the rate, where ``m`` is a tenth of
  the profiled rows (at least 50): a fresh batch a tenth of the size stays under it.
- Numbers: two ``range`` rules. Each widens the seen min and max by a multiple of their
  distance from the 5th (95th) percentile, a little for a bounded column and much for a long
  tail (a new sample's extremes land beyond the old ones about half the time), and keeps the
  **domain**: a column never negative stays so (``min: 0``), one within [0, 1] stays there.
  - the **plausible range**, every row: 10 times that distance (age 150 where ages were 18
    to 89 fails; a negative amount fails);
  - the **typical range**, ``mostly`` 0.98: twice that distance (values beyond it in more
    than 2% of rows, such as a unit change, fail).
  A share in [0, 1] gets just its domain; key-like integers (unique and dense: ids) just
  ``min: 0`` when never negative, since new rows bring new ids.
- Strings with at most ``max_categories`` values: ``allowed_values``. Every row when each
  value was seen at least 5 times (a closed set: a new value is a defect); else ``mostly``
  1 - max(2%, 5·singletons/rows) (Good-Turing: singletons/rows estimates the share of rows
  whose value was not seen), no rule when singletons are more than 5% of rows (an open
  vocabulary, where unseen values are normal).
- String lengths: one length when every value had it (codes, ids); else non-empty when no
  value was empty, and at most twice the longest seen.
- ``unique`` for strings, and integers dense enough to be keys (their range under ten times
  the rows), whose every value was seen once, while the profile counts values exactly (up to
  1,000 distinct); never for floats, which are distinct by chance.
- At least one row.

Timestamps and dates get presence, type and missing rules only: fresh data is later.
"""

from __future__ import annotations

import math
from typing import Any

from modelyard.data.profiling import ColumnProfile, Profile
from modelyard.data.types import NUMERIC

Rule = tuple[str, str | None, dict[str, Any]]
"""One inferred rule as plain data: (rule, column, params); ``Expectations`` checks it."""

TYPICAL_MOSTLY = 0.98
TYPICAL_STRETCH = 2.0
PLAUSIBLE_STRETCH = 10.0
CLOSED_SET_MIN_COUNT = 5
OPEN_VOCABULARY_SHARE = 0.05


class _Rules:
    """The rules inferred so far, in order; ``add`` reads like ``Expectations.add``."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def add(self, rule: str, column: str | None = None, **params: Any) -> None:
        self.rules.append((rule, column, params))


def _round_up(rate: float) -> float:
    return math.ceil(rate * 10_000) / 10_000


def _missing(suite: _Rules, col: ColumnProfile) -> None:
    if col.missing == 0:
        suite.add("not_null", col.name)
        return
    rate = col.missing_rate
    m = max(50, col.count // 10)
    room = 4 * math.sqrt(rate * (1 - rate) / m) + 1 / m
    suite.add("max_missing_rate", col.name, max=_round_up(min(1.0, max(2 * rate, rate + room))))


def _bounds(
    col: ColumnProfile, lo: float, hi: float, stretch: float
) -> tuple[float | int | None, float | int | None]:
    """[lo, hi] with each side widened by ``stretch`` times its distance from the 5th (95th)
    percentile (a little for a bounded column, much for a long tail), kept inside the
    column's domain: never negative stays so, a share stays in [0, 1]."""
    q = col.quantiles()
    low = lo - stretch * max(0.0, q.get("p5", lo) - lo)
    high = hi + stretch * max(0.0, hi - q.get("p95", hi))
    if lo >= 0:
        low = max(low, 0.0)
        if hi <= 1:
            high = min(high, 1.0)
    if col.type == "integer":
        return math.floor(low), math.ceil(high)
    return _round(low, down=True), _round(high, down=False)


def _numeric(suite: _Rules, col: ColumnProfile) -> None:
    if col.min is None or col.max is None or col.infinite:
        return
    lo, hi = float(col.min), float(col.max)
    if lo >= 0 and (hi <= 1 or _is_key(col)):  # a share, or ids: the domain is the rule
        suite.add("range", col.name, **({"min": 0, "max": 1} if hi <= 1 else {"min": 0}))
        return
    if _is_key(col):
        return  # ids of any sign: new rows bring new ones
    low, high = _bounds(col, lo, hi, PLAUSIBLE_STRETCH)
    suite.add("range", col.name, min=low, max=high)
    low, high = _bounds(col, lo, hi, TYPICAL_STRETCH)
    suite.add("range", col.name, min=low, max=high, mostly=TYPICAL_MOSTLY)


def _round(value: float, *, down: bool) -> float:
    """``value`` to 4 significant digits, outward."""
    if value == 0 or not math.isfinite(value):
        return value
    digits = 3 - math.floor(math.log10(abs(value)))
    step = (math.floor if down else math.ceil)(value * 10.0**digits)
    return float(round(step / 10.0**digits, max(digits, 0)))


def _strings(suite: _Rules, col: ColumnProfile, max_categories: int) -> None:
    values = col.values
    if values and len(values) <= max_categories and col.present:
        singletons = sum(1 for n in values.values() if n == 1)
        share = singletons / col.present
        if min(values.values()) >= CLOSED_SET_MIN_COUNT:
            suite.add("allowed_values", col.name, values=sorted(values))
        elif share <= OPEN_VOCABULARY_SHARE:
            mostly = _round_down(1 - max(0.02, 5 * share))
            suite.add("allowed_values", col.name, values=sorted(values), mostly=mostly)
    if col.min_length is None or col.max_length is None:
        return
    if col.min_length == col.max_length:
        suite.add("string_length", col.name, min=col.min_length, max=col.max_length)
    else:
        suite.add("string_length", col.name, min=min(col.min_length, 1), max=2 * col.max_length)


def _round_down(share: float) -> float:
    return math.floor(share * 10_000) / 10_000


def _all_distinct(col: ColumnProfile) -> bool:
    return col.values is not None and col.present > 0 and max(col.values.values()) == 1


def _is_key(col: ColumnProfile) -> bool:
    """An integer column that looks like ids: every value once (nearly, when there were too
    many values to count exactly), dense in its range."""
    distinct = _all_distinct(col) if col.values is not None else col.distinct >= 0.97 * col.present
    return (
        col.type == "integer"
        and distinct
        and col.min is not None
        and col.max is not None
        and col.max - col.min + 1 < 10 * col.present
    )


def _unique(suite: _Rules, col: ColumnProfile) -> None:
    if _all_distinct(col) and (col.type == "string" or _is_key(col)):
        suite.add("unique", col.name)


def infer_rules(profile: Profile, *, max_categories: int = 50) -> list[Rule]:
    """The rules for a starting suite; ``Expectations.from_profile`` makes them a suite."""
    suite = _Rules()
    for col in profile.columns.values():
        suite.add("column_present", col.name)
        if col.type == "timestamp" and col.zoned is not None:  # a lost zone is a type change
            suite.add("type", col.name, type=col.type, zoned=col.zoned)
        else:
            suite.add("type", col.name, type=col.type)
        _missing(suite, col)
        if col.type in NUMERIC:
            _numeric(suite, col)
        if col.type == "string":
            _strings(suite, col, max_categories)
        _unique(suite, col)
    suite.add("row_count", min=1)
    return suite.rules
