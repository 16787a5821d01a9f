"""Drift of current data in a Parquet file, read in parts (``streamed``), against a reference
DataFrame or a reference Parquet file.

A reference file is read ``GROUP_COLUMNS`` columns at a time and each column is kept only as
its summary, so neither side is ever whole in memory: what is held is one column group of
the reference, then one batch of one column group of the current data.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.errors import InvalidArgument
from modelyard.monitoring.drift import streamed
from modelyard.monitoring.drift.compute import (
    as_frame,
    column_kind,
    plan_columns,
    series_counts,
    text_columns,
    untested,
)
from modelyard.monitoring.drift.report import ColumnDrift, DriftReport
from modelyard.monitoring.drift.summaries import CategorySummary, NumericSummary

Summary = NumericSummary | CategorySummary


def _metadata(path: Path, field: str) -> Any:
    import pyarrow.parquet as pq

    if not path.is_file():
        raise InvalidArgument(f"no data file at {str(path)!r}", field=field)
    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
        raise InvalidArgument(f"{path} is not a Parquet file: {exc}", field=field) from None
    if meta.num_rows == 0:
        raise InvalidArgument(f"{field} has no rows: nothing to compare", field=field)
    return meta


def read_parquet(path: Path, field: str) -> Any:
    """A whole Parquet file as a DataFrame (a reference compared with data in memory)."""
    import pyarrow.parquet as pq

    _metadata(path, field)
    return pq.read_table(path).to_pandas()


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
        self.meta = _metadata(path, "reference")
        self.schema = self.meta.schema.to_arrow_schema()
        self.rows, self.columns = self.meta.num_rows, list(self.schema.names)

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
    path: Path,
    columns: list[str] | None,
    tests: Any,
    thresholds: Any,
    categorical: list[str] | None,
    drift_share: float,
) -> DriftReport:
    from modelyard.terminal import count_progress

    if isinstance(reference, str | Path):
        ref: _FrameReference | _FileReference = _FileReference(Path(reference))
    else:
        ref = _FrameReference(as_frame(reference, "reference"))
    meta = _metadata(path, "current")
    schema = meta.schema.to_arrow_schema()
    plan = plan_columns(ref.columns, list(schema.names), columns, tests, thresholds, categorical,
                 drift_share)  # fmt: skip
    kinds: dict[str, str] = {}
    found: dict[str, ColumnDrift] = {}
    for name in plan.names:
        before, now = ref.kind(name), streamed.arrow_kind(schema.field(name).type)
        forced = name in plan.categorical and "time" not in (before, now)
        kind = "categorical" if forced else before
        counts = ref.counts(name), streamed.present_in_file(meta, name)
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
    with count_progress(f"drift {path.name}", meta.num_rows * len(refs)) as advance:
        current = streamed.count_current(path, refs, advance)
    for name, kind in kinds.items():
        found[name] = streamed.column_drift(
            name, kind, refs[name], current[name], plan.tests.get(name), plan.thresholds.get(name)
        )
    ordered = [found[n] for n in plan.names]
    return DriftReport(ordered, drift_share, ref.rows, meta.num_rows, plan.only_ref, plan.only_cur)
