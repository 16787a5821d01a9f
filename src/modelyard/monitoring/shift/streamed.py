"""Drift of current data read from a Parquet file in bounded memory.

The reference is read whole (it is the smaller side: a training set, a past window) and
kept as fine bins (``summaries``). The current file is read ``GROUP_COLUMNS`` columns and
``BATCH_ROWS`` rows at a time, so memory stays near one batch of one column group whatever
the file's size, and counted into the reference's bins; columns of a batch are counted in
parallel threads. The tests then run on the bins: the same choice and thresholds as in
memory, with KS's p-value from its asymptotic distribution. Anderson-Darling and Cramér-von
Mises need every value and are refused here.
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
from modelyard.monitoring.shift.findings import ColumnDrift
from modelyard.monitoring.shift.numeric import normed_wasserstein
from modelyard.monitoring.shift.registry import FEW_VALUES, TESTS, choose
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
CHART_BINS = 20
Summary = NumericSummary | CategorySummary


def arrow_kind(kind: Any) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(kind):
        return "categorical"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "numeric"
    if pa.types.is_temporal(kind):
        return "time"
    return "categorical"


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


def reference_summary(series: Any, kind: str) -> Summary:
    if kind == "numeric":
        values = np.asarray(series, dtype=np.float64)
        kept = np.sort(values[np.isfinite(values)])
        return NumericSummary.of_reference(kept, len(values) - len(kept))
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


def _distinct(a: Summary, b: Summary) -> int:
    """Distinct values over both (for a numeric column, exact only up to ``FEW``; more is
    reported as ``FEW + 1``, which is all the choice of test needs)."""
    if isinstance(a, CategorySummary) and isinstance(b, CategorySummary):
        return len(set(a.counts) | set(b.counts))
    assert isinstance(a, NumericSummary) and isinstance(b, NumericSummary)
    if a.values is None or b.values is None:
        return FEW + 1
    return len(set(a.values) | set(b.values))


def _counts(a: Summary, b: Summary) -> tuple[list[Any], Array, Array]:
    if isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
        if a.values is None or b.values is None:
            raise ValueError("no exact counts")
        return aligned(a.values, b.values)
    assert isinstance(a, CategorySummary) and isinstance(b, CategorySummary)
    return aligned(a.counts, b.counts)


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


def column_drift(
    name: str,
    kind: str,
    a: Summary,
    b: Summary,
    test_name: str | None,
    threshold: float | None,
) -> ColumnDrift:
    def untested(drifted: bool, message: str) -> ColumnDrift:
        return ColumnDrift(
            name, kind, None, None, None, None, None, drifted,
            a.present, b.present, _missing(a), _missing(b), message,
        )  # fmt: skip

    if a.present == 0 or b.present == 0:
        if a.present == b.present:
            return untested(False, "no values in either table")
        side = "the reference" if a.present == 0 else "the current data"
        return untested(True, f"no values in {side}")
    distinct = _distinct(a, b)
    by_counts = kind == "categorical" or distinct <= FEW_VALUES
    test = TESTS[test_name or choose("categorical" if by_counts else kind, a.present, distinct)]
    if test.name in ("anderson", "cramer_von_mises"):
        raise InvalidArgument(
            f"{test.name} needs every value; it is not available when the current data is "
            "read from a file in parts (pass DataFrames)",
            field=f"tests.{name}",
        )
    exact = isinstance(a, NumericSummary) and a.values is not None and b.values is not None  # type: ignore[union-attr]
    if test.counts is not None and (by_counts or test.numeric is None or exact):
        try:
            _, ref_counts, cur_counts = _counts(a, b)
        except ValueError:
            raise InvalidArgument(
                f"{test.name} needs a categorical column; {name!r} is numeric",
                field=f"tests.{name}",
            ) from None
        statistic, p = test.counts(ref_counts, cur_counts)
    elif isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
        statistic, p = _numeric_test(test.name, a, b)
    else:
        raise InvalidArgument(
            f"{test.name} needs a numeric column; {name!r} is {kind}", field=f"tests.{name}"
        )
    found = test.verdict(statistic, p, threshold)
    if found is None:
        return untested(False, f"{test.name} gave no number for these values")
    score, limit, drifted = found
    return ColumnDrift(
        name, kind, test.name, statistic, p, score, limit, drifted,
        a.present, b.present, _missing(a), _missing(b), chart=_chart(a, b),
    )  # fmt: skip


def _missing(s: Summary) -> float:
    total = s.present + s.missing
    return s.missing / total if total else 0.0


def _chart(a: Summary, b: Summary) -> dict[str, Any]:
    if isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
        grid, fa, fb = cdfs_on(a, b)
        lo, hi = min(a.lo, b.lo), max(a.hi, b.hi)
        edges = np.linspace(lo, hi if hi > lo else lo + 1, CHART_BINS + 1)
        return {
            "edges": edges.tolist(),
            "reference": [float(x) for x in shares_on(edges, grid, fa)],
            "current": [float(x) for x in shares_on(edges, grid, fb)],
        }
    keys, r, c = _counts(a, b)
    r, c = r / r.sum(), c / c.sum()
    top = np.argsort(-(r + c), kind="stable")[:10]
    chart = {
        "labels": [str(keys[i]) for i in top],
        "reference": r[top].tolist(),
        "current": c[top].tolist(),
    }
    if len(keys) > 10:
        chart["labels"].append("(other)")
        chart["reference"].append(max(0.0, 1 - sum(chart["reference"])))
        chart["current"].append(max(0.0, 1 - sum(chart["current"])))
    return chart
