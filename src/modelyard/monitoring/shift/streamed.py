"""Drift of current data read from a Parquet file in bounded memory.

The reference is read whole (it is the smaller side: a training set, a past window) and
kept as fine bins (``summaries``). The current file is read ``GROUP_COLUMNS`` columns and
``BATCH_ROWS`` rows at a time, so memory stays near one batch of one column group whatever
the file's size, and counted into the reference's bins; columns of a batch are counted in
parallel threads. The tests then run on the bins: the same choice and thresholds as in
memory (``plan``), with KS's p-value from its asymptotic distribution (``Binned``: the
statistics' inputs as bins). Anderson-Darling and Cramér-von Mises need every value and are
refused here.
"""

from __future__ import annotations

import contextlib
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.errors import InvalidArgument
from modelyard.monitoring.shift.binned import jensenshannon, psi
from modelyard.monitoring.shift.chart import category_chart, numeric_edges
from modelyard.monitoring.shift.numeric import normed_wasserstein
from modelyard.monitoring.shift.plan import ColumnPlan
from modelyard.monitoring.shift.registry import DriftTest
from modelyard.monitoring.shift.summaries import (
    FEW,
    CategorySummary,
    NumericSummary,
    aligned,
    cdfs_on,
    ks_binned,
    shares_on,
    step_cdfs,
    wasserstein_binned,
    wasserstein_steps,
)

Array = np.ndarray[Any, Any]
BATCH_ROWS = 262_144
GROUP_COLUMNS = 16
Summary = NumericSummary | CategorySummary


def present_in_file(meta: Any, name: str) -> tuple[int, float]:
    """Values present in a Parquet file's column, and the missing share, from its metadata
    (without reading it); (rows, 0.0) when the file keeps no null counts."""
    index = meta.schema.to_arrow_schema().get_field_index(name)
    nulls = 0
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(index).statistics
        if stats is None or not stats.has_null_count:
            return meta.num_rows, 0.0
        nulls += stats.null_count
    rows = meta.num_rows
    return rows - nulls, nulls / rows if rows else 0.0


def reference_summary(series: Any, plan: ColumnPlan) -> Summary:
    if plan.numbers:
        values = np.asarray(series, dtype=np.float64)
        kept = np.sort(values[np.isfinite(values)])
        return NumericSummary.of_reference(kept, len(values) - len(kept), value_limit(plan))
    found = CategorySummary()
    counts = series.dropna().value_counts()
    found.add(list(counts.index), counts.tolist(), int(series.isna().sum()))
    return found


def _count(summary: Summary, column: Any) -> None:
    import pyarrow.compute as pc

    if isinstance(summary, NumericSummary):
        values = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        finite = values[np.isfinite(values)]
        summary.add(finite, len(values) - len(finite))
        return
    counted = pc.value_counts(column.drop_null())
    summary.add(
        counted.field("values").to_pylist(), counted.field("counts").to_pylist(), column.null_count
    )


def count_current(source: Any, refs: dict[str, Summary], advance: Any = None) -> dict[str, Summary]:
    """The current data (a Parquet path, or an Arrow table) counted into the reference's
    bins, column group by column group, batch by batch."""
    import pyarrow.parquet as pq

    found: dict[str, Summary] = {
        name: s.empty_like() if isinstance(s, NumericSummary) else CategorySummary()
        for name, s in refs.items()
    }
    names = list(refs)
    threads = min(os.cpu_count() or 1, GROUP_COLUMNS)
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(ThreadPoolExecutor(threads))
        reader = stack.enter_context(pq.ParquetFile(source)) if isinstance(source, Path) else None
        for start in range(0, len(names), GROUP_COLUMNS):
            group = names[start : start + GROUP_COLUMNS]
            if reader is not None:
                batches = reader.iter_batches(batch_size=BATCH_ROWS, columns=group)
            else:
                batches = source.select(group).to_batches(max_chunksize=BATCH_ROWS)
            for batch in batches:
                columns = [batch.column(n) for n in group]
                list(pool.map(_count, [found[n] for n in group], columns))
                if advance is not None:
                    advance(batch.num_rows * len(group))
    return found


def value_limit(plan: ColumnPlan) -> int | None:
    """How many distinct numbers a reference summary counts one by one: all of them when
    the user asked for them as categories, else up to ``FEW``."""
    return None if plan.forced else FEW


def reference_distinct(summary: Summary) -> int:
    """Distinct reference values (exact up to ``FEW``; more is reported as ``FEW + 1``)."""
    if isinstance(summary, CategorySummary):
        return len(summary.counts)
    return FEW + 1 if summary.values is None else len(summary.values)


def count_by_value(summary: Summary, kind: str) -> None:
    """Numbers tested as categories (integer codes) count every current value by value."""
    if kind == "categorical" and isinstance(summary, NumericSummary):
        summary.limit = None


class Binned:
    """Both samples as summaries: the reference's bins and the current data counted into them
    (``column.Inputs``). What bins cannot give (every value, or counts of many numbers) is
    refused, naming ``tests.<column>``."""

    def __init__(self, name: str, a: Summary, b: Summary) -> None:
        self.name, self.a, self.b = name, a, b
        self.present = a.present, b.present
        self.missing = _missing(a), _missing(b)

    def distinct(self) -> int:
        """Distinct values over both (for numbers, exact only up to ``FEW``; more is
        reported as ``FEW + 1``, which is all the choice of test needs)."""
        a, b = self.a, self.b
        if isinstance(a, CategorySummary) and isinstance(b, CategorySummary):
            return len(set(a.counts) | set(b.counts))
        assert isinstance(a, NumericSummary) and isinstance(b, NumericSummary)
        if a.values is None or b.values is None:
            return FEW + 1
        return len(set(a.values) | set(b.values))

    def _refuse(self, test: DriftTest) -> None:
        if test.name in ("anderson", "cramer_von_mises"):
            raise InvalidArgument(
                f"{test.name} needs every value; it is not available when the current data "
                "is read from a file in parts (pass DataFrames)",
                field=f"tests.{self.name}",
            )

    def _exact(self) -> bool:
        a, b = self.a, self.b
        return isinstance(a, NumericSummary) and a.values is not None and b.values is not None  # type: ignore[union-attr]

    def numeric(self, test: DriftTest) -> tuple[float, float | None]:
        self._refuse(test)
        if test.counts is not None and self._exact():  # few values: the histogram's bins
            return self.counts(test)
        assert isinstance(self.a, NumericSummary) and isinstance(self.b, NumericSummary)
        return _numeric_test(test.name, self.a, self.b)

    def _aligned(self, test: str = "") -> tuple[list[Any], Array, Array]:
        a, b = self.a, self.b
        if isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
            if a.values is None or b.values is None:  # many numbers: only their bins
                raise InvalidArgument(
                    f"{test} needs a categorical column; {self.name!r} is numeric",
                    field=f"tests.{self.name}",
                )
            return aligned(a.values, b.values)
        assert isinstance(a, CategorySummary) and isinstance(b, CategorySummary)
        return aligned(a.counts, b.counts)

    def counts(self, test: DriftTest) -> tuple[float, float | None]:
        self._refuse(test)
        assert test.counts is not None
        _, ref_counts, cur_counts = self._aligned(test.name)
        return test.counts(ref_counts, cur_counts)

    def chart(self, kind: str) -> dict[str, Any]:
        a, b = self.a, self.b
        if kind == "numeric" and isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
            grid, fa, fb = cdfs_on(a, b)
            edges = numeric_edges(min(a.lo, b.lo), max(a.hi, b.hi))
            return {
                "edges": edges.tolist(),
                "reference": [float(x) for x in shares_on(edges, grid, fa)],
                "current": [float(x) for x in shares_on(edges, grid, fb)],
            }
        return category_chart(*self._aligned())


def _numeric_test(name: str, a: NumericSummary, b: NumericSummary) -> tuple[float, float | None]:
    from scipy import stats

    if a.values is not None and b.values is not None and name in ("ks", "wasserstein"):
        xs, sa, sb = step_cdfs(a.values, b.values)  # few values: the exact step functions
        d = float(np.max(np.abs(sa - sb)))
        if name == "wasserstein":
            distance = wasserstein_steps(xs, sa, sb)
            return normed_wasserstein(distance, a.std, a.lo, a.hi, a.resolution), None
        n, m = a.present, b.present
        return d, float(stats.kstwo.sf(d, np.round(n * m / (n + m))))
    grid, fa, fb = cdfs_on(a, b)
    if name == "ks":
        d = ks_binned(grid, fa, fb)
        n, m = a.present, b.present
        return d, float(stats.kstwo.sf(d, np.round(n * m / (n + m))))
    if name == "wasserstein":
        distance = wasserstein_binned(grid, fa, fb)
        return normed_wasserstein(distance, a.std, a.lo, a.hi, a.resolution), None
    bins = math.ceil(math.log2(a.present + b.present)) + 1  # Sturges, over both ranges
    edges = np.linspace(min(a.lo, b.lo), max(a.hi, b.hi), bins + 1)
    r, c = shares_on(edges, grid, fa), shares_on(edges, grid, fb)
    return (psi(r, c) if name == "psi" else jensenshannon(r, c)), None


def _missing(s: Summary) -> float:
    total = s.present + s.missing
    return s.missing / total if total else 0.0
