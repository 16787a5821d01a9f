"""A planned column's finding (``ColumnDrift``), from its statistic's inputs, the same for
every source: a side without values, the test (``plan``), the statistic, the verdict and the
chart. ``Inputs`` is what a source gives: exact values (``compute``) or bins (``streamed``).
"""

from __future__ import annotations

from typing import Any, Protocol

from modelyard.monitoring.shift.findings import ColumnDrift
from modelyard.monitoring.shift.plan import ColumnPlan
from modelyard.monitoring.shift.registry import DriftTest

Result = tuple[float, float | None]


class Inputs(Protocol):
    """Both samples of a column as one source holds them."""

    @property
    def present(self) -> tuple[int, int]:
        """Values present (missing ones and infinities left out)."""
        ...

    @property
    def missing(self) -> tuple[float, float]:
        """The share of rows without a value."""
        ...

    def distinct(self) -> int:
        """Distinct values over both, exact at least up to ``registry.FEW_VALUES``."""
        ...

    def numeric(self, test: DriftTest) -> Result:
        """``test`` on the numbers."""
        ...

    def counts(self, test: DriftTest) -> Result:
        """``test`` on the counts of each value of either."""
        ...

    def chart(self, kind: str) -> dict[str, Any]: ...


def untested(
    plan: ColumnPlan, kind: str, ref: tuple[int, float], cur: tuple[int, float], message: str,
    drifted: bool,
) -> ColumnDrift:  # fmt: skip
    """A column reported without a test (``message`` says why); ``ref`` and ``cur`` are
    (values present, share missing)."""
    return ColumnDrift(
        plan.name, kind, None, None, None, None, None, drifted, ref[0], cur[0], ref[1], cur[1],
        message,
    )  # fmt: skip


def unplanned(plan: ColumnPlan, ref: tuple[int, float], cur: tuple[int, float]) -> ColumnDrift:
    """A column the plan leaves untested (``plan.reason``)."""
    return untested(plan, plan.kind, ref, cur, plan.reason or "", plan.drifted)


def judged(plan: ColumnPlan, kind: str, inputs: Inputs) -> ColumnDrift:
    """The finding of a column tested as ``kind`` (``plan.kind_for``)."""
    (na, nb), (ma, mb) = inputs.present, inputs.missing
    sides = (na, ma), (nb, mb)
    if na == 0 or nb == 0:
        if na == nb:
            return untested(plan, kind, *sides, "no values in either table", False)
        side = "the reference" if na == 0 else "the current data"
        return untested(plan, kind, *sides, f"no values in {side}", True)
    test = plan.test_for(kind, na, inputs.distinct())
    if kind == "numeric" and test.numeric is not None:
        statistic, p = inputs.numeric(test)
    else:
        statistic, p = inputs.counts(test)
    found = test.verdict(statistic, p, plan.threshold)
    if found is None:
        return untested(plan, kind, *sides, f"{test.name} gave no number for these values", False)
    score, limit, drifted = found
    return ColumnDrift(
        plan.name, kind, test.name, statistic, p, score, limit, drifted, na, nb, ma, mb,
        chart=inputs.chart(kind),
    )  # fmt: skip
