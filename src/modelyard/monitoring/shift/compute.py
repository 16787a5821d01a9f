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
from modelyard.monitoring.shift.files import drift_file
from modelyard.monitoring.shift.findings import ColumnDrift
from modelyard.monitoring.shift.inputs import (
    as_frame,
    column_kind,
    plan_columns,
    series_counts,
    text_columns,
    untested,
)
from modelyard.monitoring.shift.registry import FEW_VALUES, TESTS, choose
from modelyard.monitoring.shift.report import DriftReport

Array = np.ndarray[Any, Any]
PARALLEL_CELLS = 200_000  # below this many values in all, one thread is faster


CHART_BINS = 20  # bars per numeric column in a report's chart
CHART_CATEGORIES = 10  # categories shown per categorical column; the rest are "(other)"


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
    plan = plan_columns(list(ref.columns), list(cur.columns), *options)
    names, chosen, limits, forced = plan.names, plan.tests, plan.thresholds, plan.categorical

    def one(name: str) -> ColumnDrift:
        return _column(name, ref[name], cur[name], chosen.get(name), limits.get(name), forced)

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


def _column(
    name: str, ref: Any, cur: Any, test_name: str | None, threshold: float | None, forced: set[str]
) -> ColumnDrift:
    from modelyard.monitoring.shift.domain import is_embedding

    if ref.dtype == object and is_embedding(ref):
        return _embedding(name, ref, cur, test_name, threshold)
    if test_name == "domain_classifier":
        raise InvalidArgument(
            f"domain_classifier tests columns of vectors; {name!r} is not one",
            field=f"tests.{name}",
        )
    kinds = (column_kind(ref), column_kind(cur))
    if kinds[0] != kinds[1] and not (name in forced and "time" not in kinds):
        message = f"type changed: {kinds[0]} in the reference, {kinds[1]} now"
        return untested(name, kinds[0], True, message, series_counts(ref), series_counts(cur))
    kind = "categorical" if name in forced else kinds[0]
    if kind == "time":
        return untested(
            name,
            kind,
            False,
            "timestamps are not tested for drift",
            series_counts(ref),
            series_counts(cur),
        )
    if kind == "numeric":
        a, b = _numbers(ref), _numbers(cur)
        many = max(_distinct(a.values), _distinct(b.values))
        if _distinct(a.values) <= FEW_VALUES and ref.dtype.kind in "iu":
            kind = "categorical"  # an integer code with few values (0/1, 1..5): by counts
        # the choice only asks whether there are more than FEW_VALUES: count the union of
        # both only when each side has few (no merge of two large samples just to count)
        distinct = many if many > FEW_VALUES else len(np.union1d(a.values, b.values))
    labels: Array | None = None
    if kind == "categorical":
        a, b, labels = _categories(ref, cur)
        distinct = len(labels)
    if len(a.values) == 0 or len(b.values) == 0:
        drifted = len(a.values) != len(b.values)
        side = "the reference" if len(a.values) == 0 else "the current data"
        if not drifted:
            side = "either table"
        message = f"no values in {side}"
        return untested(name, kind, drifted, message, series_counts(ref), series_counts(cur))
    test = TESTS[test_name or choose(kind, len(a.values), distinct)]
    if kind == "numeric" and test.numeric is not None:
        statistic, p = test.numeric(a.values, b.values)
    elif test.counts is not None:
        ref_counts, cur_counts = _counts(a.values, b.values)
        statistic, p = test.counts(ref_counts, cur_counts)
    else:
        raise InvalidArgument(
            f"{test.name} needs a numeric column; {name!r} is {kind}", field=f"tests.{name}"
        )
    found = test.verdict(statistic, p, threshold)
    if found is None:
        message = f"{test.name} gave no number for these values"
        return untested(name, kind, False, message, series_counts(ref), series_counts(cur))
    score, limit, drifted = found
    return ColumnDrift(
        name,
        kind,
        test.name,
        statistic,
        p,
        score,
        limit,
        drifted,
        len(a.values),
        len(b.values),
        a.missing,
        b.missing,
        chart=_chart(a.values, b.values, labels),
    )


def _chart(a: Array, b: Array, labels: Array | None) -> dict[str, Any]:
    """Both samples' shares over common bars, for the report: numbers in equal-width bins
    (from the sorted values, without another pass), categories by the most frequent."""
    if labels is None:
        lo, hi = float(min(a[0], b[0])), float(max(a[-1], b[-1]))
        edges = np.linspace(lo, hi if hi > lo else lo + 1, CHART_BINS + 1)
        ends = edges.copy()
        ends[-1] = np.inf  # the last bin holds the maximum

        def shares(v: Array) -> list[float]:
            cuts = np.searchsorted(v, ends, side="left")
            return [float(x) for x in np.diff(cuts) / len(v)]

        return {"edges": edges.tolist(), "reference": shares(a), "current": shares(b)}
    ra = np.bincount(a, minlength=len(labels)) / len(a)
    rb = np.bincount(b, minlength=len(labels)) / len(b)
    top = np.argsort(-(ra + rb), kind="stable")[:CHART_CATEGORIES]
    names = [str(labels[i]) for i in top]
    ref_shares, cur_shares = ra[top].tolist(), rb[top].tolist()
    if len(labels) > CHART_CATEGORIES:
        names.append("(other)")
        ref_shares.append(max(0.0, 1 - sum(ref_shares)))
        cur_shares.append(max(0.0, 1 - sum(cur_shares)))
    return {"labels": names, "reference": ref_shares, "current": cur_shares}


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


def _embedding(
    name: str, ref: Any, cur: Any, test_name: str | None, threshold: float | None
) -> ColumnDrift:
    """A column of vectors: a domain classifier on its dimensions alone."""
    import pandas as pd

    from modelyard.monitoring.shift.domain import THRESHOLD, domain_drift, is_embedding

    counts = series_counts(ref), series_counts(cur)
    if test_name not in (None, "domain_classifier"):
        raise InvalidArgument(
            f"{name!r} holds vectors: only domain_classifier tests it", field=f"tests.{name}"
        )
    if cur.dtype != object or not is_embedding(cur):
        return untested(name, "embedding", True, "type changed: vectors in the reference only",
                        *counts)  # fmt: skip
    widths = {len(v) for v in pd.concat([ref, cur]).dropna()}
    if len(widths) != 1:
        return untested(name, "embedding", True, f"vectors of several lengths: {sorted(widths)}",
                        *counts)  # fmt: skip
    limit = THRESHOLD if threshold is None else float(threshold)
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
