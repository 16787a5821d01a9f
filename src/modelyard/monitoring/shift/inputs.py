"""What both drift engines take in and share: the data as a frame or a Parquet file (read
whole here; ``files`` reads it in parts), the column plan (which columns, which test, which
threshold, which numbers to test as categories), a column's kind and counts, and the report
row of a column left untested. ``compute`` (frames in memory) and ``files`` (data read in
parts, or a profile) both build on it; it knows neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.monitoring.shift.findings import ColumnDrift
from modelyard.monitoring.shift.registry import TESTS


def parquet_metadata(path: Path, field: str) -> Any:
    """A Parquet file's metadata, checked: the file is there, is Parquet and has rows."""
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

    parquet_metadata(path, field)
    return pq.read_table(path).to_pandas()


def as_frame(data: Any, field: str) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, str | Path):  # a reference file, with current data in memory
        return read_parquet(Path(data), field)
    if hasattr(data, "to_pandas"):  # a pyarrow Table, a polars frame
        return data.to_pandas()
    raise InvalidArgument(
        f"{field} must be a pandas DataFrame or a pyarrow Table, not {type(data).__name__}",
        field=field,
    )


def text_columns(frame: Any) -> Any:
    """``frame`` with its column names as text (a new frame only when some are not)."""
    if all(isinstance(c, str) for c in frame.columns):
        return frame
    return frame.rename(columns=str)


def column_kind(series: Any) -> str:
    from pandas.api import types

    if types.is_bool_dtype(series.dtype):
        return "categorical"
    if types.is_datetime64_any_dtype(series.dtype) or types.is_timedelta64_dtype(series.dtype):
        return "time"
    if types.is_numeric_dtype(series.dtype):
        return "numeric"
    return "categorical"


def _options(option: Any, columns: list[str], field: str) -> dict[str, Any]:
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


@dataclass(frozen=True)
class Plan:
    names: list[str]
    only_ref: list[str]
    only_cur: list[str]
    tests: dict[str, str]
    thresholds: dict[str, float]
    categorical: set[str]


def plan_columns(
    ref_columns: list[str],
    cur_columns: list[str],
    columns: list[str] | None,
    tests: Any,
    thresholds: Any,
    categorical: list[str] | None,
    drift_share: float,
) -> Plan:
    """The columns to compare and the options by column, checked."""
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
    chosen = _options(tests, names, "tests")
    for name, test in chosen.items():
        if test not in TESTS and test != "domain_classifier":
            raise InvalidArgument(
                f"unknown drift test {test!r} for column {name!r}; known: {sorted(TESTS)}",
                field=f"tests.{name}",
            )
    limits = _options(thresholds, names, "thresholds")
    forced = set(_options(dict.fromkeys(categorical or []), names, "categorical"))
    return Plan(names, only_ref, only_cur, chosen, limits, forced)


def series_counts(series: Any) -> tuple[int, float]:
    """Values present in a column, and the share missing."""
    return int(series.notna().sum()), float(series.isna().mean()) if len(series) else 0.0


def untested(
    name: str,
    kind: str,
    drifted: bool,
    message: str,
    ref: tuple[int, float],
    cur: tuple[int, float],
) -> ColumnDrift:
    """A column reported without a test (``message`` says why)."""
    return ColumnDrift(
        name, kind, None, None, None, None, None, drifted, ref[0], cur[0], ref[1], cur[1], message
    )
