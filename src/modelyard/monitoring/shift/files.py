"""Drift computed from bins (``streamed``, ``summaries``): current data in a Parquet file,
read in parts, against a reference DataFrame or Parquet file; and any current data against
a data profile (``yard.data.profile``, or a dataset version's), so the raw reference need
not be kept.

A reference file is read ``GROUP_COLUMNS`` columns at a time and each column is kept only as
its summary, so neither side is ever whole in memory: what is held is one column group of
the reference, then one batch of one column group of the current data. A profile's numeric
columns become bins from its value sketch (buckets 1/128 of a value wide); its categorical
columns need the exact counts a profile keeps up to its limit of distinct values.
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
from modelyard.monitoring.shift.findings import ColumnDrift
from modelyard.monitoring.shift.inputs import (
    as_frame,
    column_kind,
    parquet_metadata,
    plan_columns,
    series_counts,
    text_columns,
    untested,
)
from modelyard.monitoring.shift.report import DriftReport
from modelyard.monitoring.shift.summaries import CategorySummary, NumericSummary

Summary = NumericSummary | CategorySummary


class _FrameReference:
    def __init__(self, frame: Any) -> None:
        if len(frame) == 0:
            raise InvalidArgument("reference has no rows: nothing to compare", field="reference")
        frame = text_columns(frame)
        self.frame, self.rows, self.columns = frame, len(frame), list(frame.columns)

    def kind(self, name: str) -> str:
        return column_kind(self.frame[name])

    def counts(self, name: str) -> tuple[int, float]:
        return series_counts(self.frame[name])

    def summaries(self, kinds: dict[str, str]) -> dict[str, Summary]:
        def one(name: str) -> Summary:
            return streamed.reference_summary(self.frame[name], kinds[name])

        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # sorting lets go of the GIL
            return dict(zip(kinds, pool.map(one, kinds), strict=True))


class _FileReference:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.meta = parquet_metadata(path, "reference")
        self.schema = self.meta.schema.to_arrow_schema()
        self.rows, self.columns = self.meta.num_rows, data_columns(self.schema)

    def kind(self, name: str) -> str:
        return streamed.arrow_kind(self.schema.field(name).type)

    def counts(self, name: str) -> tuple[int, float]:
        return streamed.present_in_file(self.meta, name)

    def summaries(self, kinds: dict[str, str]) -> dict[str, Summary]:
        import pyarrow.parquet as pq

        found: dict[str, Summary] = {}
        names = list(kinds)
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            for start in range(0, len(names), streamed.GROUP_COLUMNS):
                group = names[start : start + streamed.GROUP_COLUMNS]
                table = pq.read_table(self.path, columns=group)

                def one(name: str, table: Any = table) -> Summary:
                    return _arrow_summary(table.column(name), kinds[name])

                found.update(zip(group, pool.map(one, group), strict=True))
                del table
        return found


class _ProfileReference:
    def __init__(self, profile: Any) -> None:
        if profile.num_rows == 0:
            raise InvalidArgument("reference has no rows: nothing to compare", field="reference")
        self.profile, self.rows, self.columns = profile, profile.num_rows, list(profile.columns)
        self.problems: dict[str, str] = {}  # columns a profile cannot test, and why

    def kind(self, name: str) -> str:
        kind = self.profile[name].type
        if kind in ("integer", "float"):
            return "numeric"
        return "time" if kind in ("timestamp", "date") else "categorical"

    def counts(self, name: str) -> tuple[int, float]:
        col = self.profile[name]
        gone = col.missing + col.infinite
        return col.count - gone, gone / col.count if col.count else 0.0

    def summaries(self, kinds: dict[str, str]) -> dict[str, Summary]:
        from modelyard.monitoring.shift.summaries import FEW

        found: dict[str, Summary] = {}
        for name, kind in kinds.items():
            col = self.profile[name]
            if kind == "categorical":
                if col.values is None:
                    self.problems[name] = "the profile kept no counts (too many categories)"
                    continue
                categories = CategorySummary()
                categories.add(list(col.values), list(col.values.values()), col.missing)
                found[name] = categories
                continue
            if col.sketch is None or col.min is None or col.max is None:
                points, weights = np.zeros(0), np.zeros(0)
            else:
                points, weights = col.sketch.points()
                points = np.clip(points, col.min, col.max)
            summary = NumericSummary.of_weighted(
                points, weights.astype(np.float64), col.missing + col.infinite, col.std
            )
            if col.sketch is not None and col.n_finite:  # a bucket's width where most values are
                typical = min(max(abs(col.min), abs(col.max)), abs(col.mean) + (col.std or 0.0))
                summary.resolution = col.sketch.RELATIVE_WIDTH * typical
            if col.values is not None and len(col.values) <= FEW:
                summary.values = {float(k): int(v) for k, v in col.values.items()}
            found[name] = summary
        return found


def _arrow_summary(column: Any, kind: str) -> Summary:
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "numeric":
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        kept = np.sort(values[np.isfinite(values)])
        return NumericSummary.of_reference(kept, len(values) - len(kept))
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

    plan = plan_columns(ref.columns, data_columns(schema), columns, tests, thresholds, categorical,
                 drift_share)  # fmt: skip
    kinds: dict[str, str] = {}
    found: dict[str, ColumnDrift] = {}
    for name in plan.names:
        before, now = ref.kind(name), streamed.arrow_kind(schema.field(name).type)
        forced = name in plan.categorical and "time" not in (before, now)
        kind = "categorical" if forced else before
        counts = ref.counts(name), present(name)
        if before != now and not forced:
            message = f"type changed: {before} in the reference, {now} now"
            found[name] = untested(name, before, True, message, *counts)
        elif kind == "time":
            found[name] = untested(
                name, kind, False, "timestamps are not tested for drift", *counts
            )
        else:
            kinds[name] = kind
    refs = ref.summaries(kinds)
    for column, reason in getattr(ref, "problems", {}).items():
        found[column] = untested(column, kinds.pop(column), False, reason, ref.counts(column),
                                 present(column))  # fmt: skip
    with count_progress(f"drift {name}", rows * len(refs)) as advance:
        counted = streamed.count_current(source, refs, advance)
    for column, kind in kinds.items():
        found[column] = streamed.column_drift(
            column, kind, refs[column], counted[column],
            plan.tests.get(column), plan.thresholds.get(column),
        )  # fmt: skip
    ordered = [found[n] for n in plan.names]
    return DriftReport(ordered, drift_share, ref.rows, rows, plan.only_ref, plan.only_cur)


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
