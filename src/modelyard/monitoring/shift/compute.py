"""Drift between a reference and a current table, column by column.

Each column is typed (numeric, or categorical: text, booleans, categories, and integers with
at most 5 distinct reference values), cleaned (missing values, and infinities for numbers,
are counted apart and left out), and tested with the test chosen for it (``registry``) or the
one asked for. Columns run in parallel threads: numpy's sorting, where the time goes, lets go
of the GIL.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.errors import InvalidArgument
from modelyard.monitoring.shift.chart import category_chart, numeric_edges
from modelyard.monitoring.shift.column import judged, unplanned, untested
from modelyard.monitoring.shift.files import drift_file
from modelyard.monitoring.shift.findings import ColumnDrift
from modelyard.monitoring.shift.inputs import as_frame, series_counts, text_columns
from modelyard.monitoring.shift.kinds import of_series
from modelyard.monitoring.shift.plan import ColumnPlan, Options, plan_column, plan_options
from modelyard.monitoring.shift.registry import FEW_VALUES, DriftTest
from modelyard.monitoring.shift.report import DriftReport

Array = np.ndarray[Any, Any]
PARALLEL_CELLS = 200_000  # below this many values in all, one thread is faster


@dataclass(frozen=True)
class _Side:
    values: Array  # sorted numbers, or category codes
    missing: float  # share of rows without a value


def _numbers(series: Any) -> _Side:
    values = np.asarray(series, dtype=np.float64)
    kept = values[np.isfinite(values)]
    missing = 1 - len(kept) / len(values) if len(values) else 0.0
    return _Side(np.sort(kept), missing)


def _distinct(sorted_values: Array) -> int:
    return int(len(sorted_values) and 1 + np.count_nonzero(np.diff(sorted_values)))


def drift(
    reference: Any,
    current: Any,
    *,
    columns: list[str] | None = None,
    tests: str | dict[str, str] | None = None,
    thresholds: float | dict[str, float] | None = None,
    categorical: list[str] | None = None,
    drift_share: float = 0.5,
    multivariate: bool = False,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column.

    ``tests`` and ``thresholds`` take one value for every column or a dict by column;
    ``categorical`` names numeric columns to test as categories; the dataset drifts when at
    least ``drift_share`` of its columns do. A column in only one of the two is schema drift
    (``only_in_reference`` counts as drifted; ``only_in_current`` is listed). ``current`` may
    be the path of a Parquet file of any size: it is then read in parts (``streamed``).
    ``multivariate`` adds a domain classifier over all the compared columns (``domain``);
    embedding columns (vectors) are always tested by one of their own.
    """
    options = (columns, tests, thresholds, categorical, drift_share)
    from modelyard.data.profiling import Profile

    if isinstance(reference, Profile):  # bins on both sides, whatever the current data
        if multivariate:
            raise InvalidArgument(
                "multivariate drift needs the reference rows, not a profile", field="multivariate"
            )
        return drift_file(reference, Path(current) if isinstance(current, str) else current,
                          *options)  # fmt: skip
    if isinstance(current, str | Path):
        if multivariate:
            raise InvalidArgument(
                "multivariate drift needs the data in memory, not a file read in parts",
                field="multivariate",
            )
        return drift_file(reference, Path(current), *options)
    ref = as_frame(reference, "reference")
    if len(ref) == 0:
        raise InvalidArgument("reference has no rows: nothing to compare", field="reference")
    ref = text_columns(ref)
    cur = as_frame(current, "current")
    if len(cur) == 0:
        raise InvalidArgument("current has no rows: nothing to compare", field="current")
    cur = text_columns(cur)
    plan = plan_options(list(ref.columns), list(cur.columns), *options)
    names = plan.names

    def one(name: str) -> ColumnDrift:
        return _column(name, ref[name], cur[name], plan)

    cells = (len(ref) + len(cur)) * len(names)
    if cells >= PARALLEL_CELLS and len(names) > 1 and (os.cpu_count() or 1) > 1:
        with ThreadPoolExecutor(min(len(names), os.cpu_count() or 1)) as pool:
            found = list(pool.map(one, names))
    else:
        found = [one(n) for n in names]
    joint = None
    if multivariate:
        from modelyard.monitoring.shift.domain import domain_drift

        tested = {c.name: c.kind for c in found if c.test is not None}
        if tested:
            joint = domain_drift(ref, cur, list(tested), tested)
    return DriftReport(found, drift_share, len(ref), len(cur), plan.only_ref, plan.only_cur, joint)


def _column(name: str, ref: Any, cur: Any, options: Options) -> ColumnDrift:
    before = of_series(ref)
    plan = plan_column(name, before, of_series(cur, vectors=before.kind == "embedding"), options)
    if plan.reason is not None:
        return unplanned(plan, series_counts(ref), series_counts(cur))
    if plan.kind == "embedding":
        return _embedding(plan, ref, cur)
    kind = plan.kind
    if kind == "numeric":
        a, b = _numbers(ref), _numbers(cur)
        kind = plan.kind_for(_distinct(a.values))
        many = max(_distinct(a.values), _distinct(b.values))
        # the choice only asks whether there are more than FEW_VALUES: count the union of
        # both only when each side has few (no merge of two large samples just to count)
        distinct = many if many > FEW_VALUES else len(np.union1d(a.values, b.values))
    labels: Array | None = None
    if kind == "categorical":
        a, b, labels = _categories(ref, cur)
        distinct = len(labels)
    return judged(plan, kind, _Exact(a, b, labels, distinct))


@dataclass(frozen=True)
class _Exact:
    """Both samples whole: sorted numbers, or codes of ``labels`` (``column.Inputs``)."""

    a: _Side
    b: _Side
    labels: Array | None
    count: int  # distinct values over both (exact up to FEW_VALUES)

    @property
    def present(self) -> tuple[int, int]:
        return len(self.a.values), len(self.b.values)

    @property
    def missing(self) -> tuple[float, float]:
        return self.a.missing, self.b.missing

    def distinct(self) -> int:
        return self.count

    def numeric(self, test: DriftTest) -> tuple[float, float | None]:
        assert test.numeric is not None
        return test.numeric(self.a.values, self.b.values)

    def counts(self, test: DriftTest) -> tuple[float, float | None]:
        assert test.counts is not None
        return test.counts(*_counts(self.a.values, self.b.values))

    def chart(self, kind: str) -> dict[str, Any]:
        """Both samples' shares over common bars: numbers in equal-width bins (from the
        sorted values, without another pass), categories by the most frequent."""
        a, b = self.a.values, self.b.values
        if self.labels is not None:
            size = len(self.labels)
            ra, rb = np.bincount(a, minlength=size), np.bincount(b, minlength=size)
            return category_chart(self.labels, ra, rb)
        edges = numeric_edges(float(min(a[0], b[0])), float(max(a[-1], b[-1])))
        ends = edges.copy()
        ends[-1] = np.inf  # the last bin holds the maximum

        def shares(v: Array) -> list[float]:
            cuts = np.searchsorted(v, ends, side="left")
            return [float(x) for x in np.diff(cuts) / len(v)]

        return {"edges": edges.tolist(), "reference": shares(a), "current": shares(b)}


def _categories(ref: Any, cur: Any) -> tuple[_Side, _Side, Array]:
    """Both columns as codes of one set of categories (values compared as text)."""
    import pandas as pd

    both = pd.concat([ref, cur], ignore_index=True)
    present = both.notna().to_numpy()
    codes, uniques = pd.factorize(both[present].astype(str))
    n_ref = int(present[: len(ref)].sum())
    a = _Side(codes[:n_ref], 1 - n_ref / len(ref))
    b = _Side(codes[n_ref:], 1 - (len(codes) - n_ref) / len(cur))
    return a, b, np.asarray(uniques)


def _counts(a: Array, b: Array) -> tuple[Array, Array]:
    """Counts per value over the values of either (numbers or codes)."""
    keys, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    return (
        np.bincount(inverse[: len(a)], minlength=len(keys)),
        np.bincount(inverse[len(a) :], minlength=len(keys)),
    )


def _embedding(plan: ColumnPlan, ref: Any, cur: Any) -> ColumnDrift:
    """A column of vectors: a domain classifier on its dimensions alone."""
    import pandas as pd

    from modelyard.monitoring.shift.domain import THRESHOLD, domain_drift

    counts = series_counts(ref), series_counts(cur)
    name = plan.name
    widths = {len(v) for v in pd.concat([ref, cur]).dropna()}
    if len(widths) != 1:
        return untested(plan, "embedding", *counts, f"vectors of several lengths: {sorted(widths)}",
                        True)  # fmt: skip
    limit = THRESHOLD if plan.threshold is None else float(plan.threshold)
    found = domain_drift(
        pd.DataFrame({name: ref.dropna()}),
        pd.DataFrame({name: cur.dropna()}),
        [name],
        {name: "embedding"},
        threshold=limit,
    )
    return ColumnDrift(
        name, "embedding", "domain_classifier", found.auc, None, found.auc, limit,
        found.drifted, counts[0][0], counts[1][0], counts[0][1], counts[1][1],
        message=f"ROC AUC of telling current vectors from reference ones ({found.rows} rows)",
    )  # fmt: skip
