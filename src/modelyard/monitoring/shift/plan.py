"""One drift column plan, whatever the data comes from (frames in memory, a file read in
parts, a data profile): which columns are compared with which options, and per column its
kind, whether it is tested at all (a type that changed, timestamps), whether numbers are
tested as categories (``categorical=[...]``, or integer codes with few reference values), and
which test applies. The sources differ only in how a statistic's inputs are gathered (exact
values or bins), never in what is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.monitoring.shift.kinds import Described
from modelyard.monitoring.shift.registry import FEW_VALUES, TESTS, DriftTest, choose

DOMAIN = "domain_classifier"  # the test of columns of vectors (``domain``)


@dataclass(frozen=True)
class Options:
    """The columns compared and the options by column, checked."""

    names: list[str]
    only_ref: list[str]
    only_cur: list[str]
    tests: dict[str, str]
    thresholds: dict[str, float]
    categorical: set[str]


def _by_column(option: Any, columns: list[str], field: str) -> dict[str, Any]:
    if option is None:
        return {}
    if not isinstance(option, dict):
        return dict.fromkeys(columns, option)
    unknown = sorted(set(option) - set(columns))
    if unknown:
        raise InvalidArgument(
            f"{field} names columns that are not compared: {unknown}", field=field
        )
    return dict(option)


def plan_options(
    ref_columns: list[str],
    cur_columns: list[str],
    columns: list[str] | None,
    tests: Any,
    thresholds: Any,
    categorical: list[str] | None,
    drift_share: float,
) -> Options:
    if not 0 <= drift_share <= 1:
        raise InvalidArgument("drift_share must be between 0 and 1", field="drift_share")
    only_ref = [c for c in ref_columns if c not in cur_columns]
    only_cur = [c for c in cur_columns if c not in ref_columns]
    if columns is None:
        names = [c for c in ref_columns if c in cur_columns]
    else:
        missing = [c for c in columns if c not in ref_columns or c not in cur_columns]
        if missing:
            raise InvalidArgument(f"columns not in both tables: {missing}", field="columns")
        names, only_ref, only_cur = list(columns), [], []
    chosen = _by_column(tests, names, "tests")
    for name, test in chosen.items():
        if test not in TESTS and test != DOMAIN:
            raise InvalidArgument(
                f"unknown drift test {test!r} for column {name!r}; known: {sorted(TESTS)}",
                field=f"tests.{name}",
            )
    limits = _by_column(thresholds, names, "thresholds")
    forced = set(_by_column(dict.fromkeys(categorical or []), names, "categorical"))
    return Options(names, only_ref, only_cur, chosen, limits, forced)


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    kind: str  # "numeric", "categorical", "time" or "embedding", as the report says
    test: str | None  # the test asked for; None: chosen from the data (``test_for``)
    threshold: float | None
    numbers: bool = False  # numbers on both sides: kept as numbers, even when categories
    integer: bool = False  # whole numbers by type: with few reference values, categories
    forced: bool = False  # numbers tested as categories because the user asked
    reason: str | None = None  # why the column is not tested; None when it is
    drifted: bool = False  # for a column not tested: whether that is drift

    def kind_for(self, reference_distinct: int) -> str:
        """The kind tested, given the distinct reference values: an integer column with at
        most ``FEW_VALUES`` of them (a 0/1 flag, a 1-5 rating) is tested by counts."""
        if self.kind == "numeric" and self.integer and reference_distinct <= FEW_VALUES:
            return "categorical"
        return self.kind

    def test_for(self, kind: str, reference_values: int, distinct: int) -> DriftTest:
        """The test asked for, or the automatic choice (``registry.choose``); a test without
        one for categories on a categorical column is an error naming ``tests.<column>``."""
        test = TESTS[self.test or choose(kind, reference_values, distinct)]
        if kind != "numeric" and test.counts is None:
            raise InvalidArgument(
                f"{test.name} needs a numeric column; {self.name!r} is {kind}",
                field=f"tests.{self.name}",
            )
        return test


def plan_column(name: str, ref: Described, cur: Described, options: Options) -> ColumnPlan:
    """What is done with column ``name``, from what both sides say of it."""
    plan = ColumnPlan(name, ref.kind, options.tests.get(name), options.thresholds.get(name))
    if ref.kind == "embedding":
        if plan.test not in (None, DOMAIN):
            raise InvalidArgument(
                f"{name!r} holds vectors: only {DOMAIN} tests it", field=f"tests.{name}"
            )
        if cur.kind != "embedding":
            return replace(plan, reason="type changed: vectors in the reference only", drifted=True)
        return plan
    if plan.test == DOMAIN:
        raise InvalidArgument(
            f"{DOMAIN} tests columns of vectors; {name!r} is not one", field=f"tests.{name}"
        )
    kinds = (ref.kind, cur.kind)
    forced = name in options.categorical and "time" not in kinds
    if kinds[0] != kinds[1] and not forced:
        message = f"type changed: {kinds[0]} in the reference, {kinds[1]} now"
        return replace(plan, reason=message, drifted=True)
    if ref.kind == "time":
        return replace(plan, reason="timestamps are not tested for drift")
    return replace(
        plan,
        kind="categorical" if forced else ref.kind,
        numbers=kinds == ("numeric", "numeric"),
        integer=ref.integer and not forced,
        forced=forced,
    )
