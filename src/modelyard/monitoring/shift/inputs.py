"""What both drift engines take in: the data as a frame or a Parquet file (read whole here;
``files`` reads it in parts), with its column names as text, and a column's counts.
``compute`` (frames in memory) and ``files`` (data read in parts, or a profile) both build on
it; it knows neither. What is done with each column is ``plan``'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument


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


def series_counts(series: Any) -> tuple[int, float]:
    """Values present in a column, and the share missing."""
    return int(series.notna().sum()), float(series.isna().mean()) if len(series) else 0.0
