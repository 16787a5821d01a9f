"""Drift computed from bins (``streamed``, ``summaries``): current data in a Parquet file,
read in parts, against a reference DataFrame or Parquet file; and any current data against
a data profile (``yard.data.profile``, or a dataset version's), so the raw reference need
not be kept.

A reference file is read ``GROUP_COLUMNS`` columns at a time and each column is kept only as
its summary, so neither side is ever whole in memory: what is held is one column group of
the reference, then one batch of one column group of the current data. A profile's numeric
columns become bins from its value sketch (buckets 1/128 of a value wide); its categorical
columns, and numeric ones while it keeps them, use the exact counts a profile keeps up to its
limit of distinct values. What is done with each column is decided by ``plan``, as in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.data.frames import data_columns, without_index
from modelyard.errors import InvalidArgument
from modelyard.monitoring.shift import streamed
from modelyard.monitoring.shift.column import judged, unplanned, untested
from modelyard.monitoring.shift.findings import ColumnDrift
from modelyard.monitoring.shift.inputs import (
    as_frame,
    parquet_metadata,
    series_counts,
    text_columns,
)
from modelyard.monitoring.shift.kinds import Described, of_arrow, of_profile, of_series
from modelyard.monitoring.shift.plan import ColumnPlan, plan_column, plan_options
from modelyard.monitoring.shift.report import DriftReport
from modelyard.monitoring.shift.summaries import CategorySummary, NumericSummary

Summary = NumericSummary | CategorySummary


class _FrameReference:
    def __init__(self, frame: Any) -> None:
        if len(frame) == 0:
            raise InvalidArgument("reference has no rows: nothing to compare", field="reference")
        frame = text_columns(frame)
        self.frame, self.rows, self.columns = frame, len(frame), list(frame.columns)

    def describe(self, name: str) -> Described:
        return of_series(self.frame[name], vectors=False)

    def counts(self, name: str) -> tuple[int, float]:
        return series_counts(self.frame[name])

    def summaries(self, plans: dict[str, ColumnPlan]) -> dict[str, Summary]:
        def one(name: str) -> Summary:
            return streamed.reference_summary(self.frame[name], plans[name])

        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # sorting lets go of the GIL
            return dict(zip(plans, pool.map(one, plans), strict=True))


class _FileReference:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.meta = parquet_metadata(path, "reference")
        self.schema = self.meta.schema.to_arrow_schema()
        self.rows, self.columns = self.meta.num_rows, data_columns(self.schema)

    def describe(self, name: str) -> Described:
        return of_arrow(self.schema.field(name).type)

    def counts(self, name: str) -> tuple[int, float]:
        return streamed.present_in_file(self.meta, name)

    def summaries(self, plans: dict[str, ColumnPlan]) -> dict[str, Summary]:
        import pyarrow.parquet as pq

        found: dict[str, Summary] = {}
        names = list(plans)
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            for start in range(0, len(names), streamed.GROUP_COLUMNS):
                group = names[start : start + streamed.GROUP_COLUMNS]
                table = pq.read_table(self.path, columns=group)

                def one(name: str, table: Any = table) -> Summary:
                    return _arrow_summary(table.column(name), plans[name])

                found.update(zip(group, pool.map(one, group), strict=True))
                del table
        return found


class _ProfileReference:
    def __init__(self, profile: Any) -> None:
        if profile.num_rows == 0:
            raise InvalidArgument("reference has no rows: nothing to compare", field="reference")
        self.profile, self.rows, self.columns = profile, profile.num_rows, list(profile.columns)
        self.problems: dict[str, str] = {}  # columns a profile cannot test, and why

    def describe(self, name: str) -> Described:
        return of_profile(self.profile[name])

    def counts(self, name: str) -> tuple[int, float]:
        col = self.profile[name]
        gone = col.missing + col.infinite
        return col.count - gone, gone / col.count if col.count else 0.0

    def summaries(self, plans: dict[str, ColumnPlan]) -> dict[str, Summary]:
        found: dict[str, Summary] = {}
        for name, plan in plans.items():
            col = self.profile[name]
            if col.values is None and (plan.kind == "categorical" or plan.forced):
                self.problems[name] = "the profile kept no counts (too many categories)"
            elif plan.numbers:
                found[name] = _profile_numbers(col, streamed.value_limit(plan))
            else:
                assert col.values is not None
                categories = CategorySummary()
                categories.add(list(col.values), list(col.values.values()), col.missing)
                found[name] = categories
        return found


def _profile_numbers(col: Any, limit: int | None) -> NumericSummary:
    """A profiled numeric column as bins: from the exact counts of its values while it kept
    them (up to its limit of distinct values), else from its value sketch."""
    exact = col.values is not None and col.n_finite
    if exact:
        values = {float(k): int(v) for k, v in col.values.items()}
        points = np.array(sorted(values), dtype=np.float64)
        weights = np.array([values[p] for p in points.tolist()], dtype=np.float64)
    elif col.sketch is None or col.min is None or col.max is None:
        points, weights = np.zeros(0), np.zeros(0)
    else:
        points, weights = col.sketch.points()
        points = np.clip(points, col.min, col.max)
    summary = NumericSummary.of_weighted(
        points, weights.astype(np.float64), col.missing + col.infinite, col.std
    )
    summary.limit = limit
    if not exact and col.sketch is not None and col.n_finite:  # a bucket's width where most are
        typical = min(max(abs(col.min), abs(col.max)), abs(col.mean) + (col.std or 0.0))
        summary.resolution = col.sketch.RELATIVE_WIDTH * typical
    if exact and (limit is None or len(values) <= limit):
        summary.values = values
    return summary


def _arrow_summary(column: Any, plan: ColumnPlan) -> Summary:
    import pyarrow as pa
    import pyarrow.compute as pc

    if plan.numbers:
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        kept = np.sort(values[np.isfinite(values)])
        return NumericSummary.of_reference(
            kept, len(values) - len(kept), streamed.value_limit(plan)
        )
    found = CategorySummary()
    counted = pc.value_counts(column.drop_null())
    found.add(
        counted.field("values").to_pylist(), counted.field("counts").to_pylist(), column.null_count
    )
    return found


def drift_file(
    reference: Any,
    current: Any,
    columns: list[str] | None,
    tests: Any,
    thresholds: Any,
    categorical: list[str] | None,
    drift_share: float,
) -> DriftReport:
    from modelyard.data.profiling import Profile
    from modelyard.terminal import count_progress

    ref: _FrameReference | _FileReference | _ProfileReference
    if isinstance(reference, Profile):
        ref = _ProfileReference(reference)
    elif isinstance(reference, str | Path):
        ref = _FileReference(Path(reference))
    else:
        ref = _FrameReference(as_frame(reference, "reference"))
    present: Callable[[str], tuple[int, float]]
    if isinstance(current, Path):
        meta = parquet_metadata(current, "current")
        schema, rows, name = meta.schema.to_arrow_schema(), meta.num_rows, current.name

        def present(column: str) -> tuple[int, float]:
            return streamed.present_in_file(meta, column)

        source: Any = current
    else:
        source = _arrow(current)
        schema, rows, name = source.schema, source.num_rows, "current"

        def present(column: str) -> tuple[int, float]:
            return _present(source.column(column))

    options = plan_options(ref.columns, data_columns(schema), columns, tests, thresholds,
                           categorical, drift_share)  # fmt: skip
    plans: dict[str, ColumnPlan] = {}
    found: dict[str, ColumnDrift] = {}
    for column in options.names:
        plan = plan_column(column, ref.describe(column), of_arrow(schema.field(column).type),
                           options)  # fmt: skip
        if plan.reason is None:
            plans[column] = plan
        else:
            found[column] = unplanned(plan, ref.counts(column), present(column))
    refs = ref.summaries(plans)
    for column, reason in getattr(ref, "problems", {}).items():
        plan = plans.pop(column)
        found[column] = untested(plan, plan.kind, ref.counts(column), present(column), reason,
                                 False)  # fmt: skip
    kinds = {c: plan.kind_for(streamed.reference_distinct(refs[c])) for c, plan in plans.items()}
    for column, kind in kinds.items():
        streamed.count_by_value(refs[column], kind)
    with count_progress(f"drift {name}", rows * len(refs)) as advance:
        counted = streamed.count_current(source, refs, advance)
    for column, plan in plans.items():
        inputs = streamed.Binned(column, refs[column], counted[column])
        found[column] = judged(plan, kinds[column], inputs)
    ordered = [found[n] for n in options.names]
    return DriftReport(ordered, drift_share, ref.rows, rows, options.only_ref, options.only_cur)


def _arrow(data: Any) -> Any:
    """Current data in memory as an Arrow table (column names as text)."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        table = without_index(data)
    else:
        frame = text_columns(as_frame(data, "current"))
        table = pa.Table.from_pandas(frame, preserve_index=False)
    if table.num_rows == 0:
        raise InvalidArgument("current has no rows: nothing to compare", field="current")
    return table


def _present(column: Any) -> tuple[int, float]:
    rows = len(column)
    return rows - column.null_count, column.null_count / rows if rows else 0.0
