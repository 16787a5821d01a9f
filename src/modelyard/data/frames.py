"""Turning what a user hands over (pandas, Arrow, a Parquet/CSV path) into Arrow data.

Every check on the *shape* of the input lives here, so an empty frame, a mixed-type column
or a duplicate column name is refused with the column's name before anything is stored.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from modelyard.data.types import logical_type
from modelyard.errors import InvalidArgument

BATCH_ROWS = 1_000_000  # at most, for narrow tables
BATCH_BYTES = 128 << 20  # decoded bytes per batch: wide tables get fewer rows per batch
READ_BUFFER = 4 << 20  # Parquet pages are streamed through this buffer, not read per chunk


def rows_per_batch(schema: pa.Schema) -> int:
    """Rows per batch so that a batch decodes to about ``BATCH_BYTES``, whatever the width."""
    width = 0
    for fld in schema:
        kind = fld.type
        if pa.types.is_dictionary(kind):
            width += 4
        elif pa.types.is_boolean(kind):
            width += 1
        else:
            try:
                width += max(1, kind.bit_width // 8)
            except ValueError:  # variable width (strings): a guess, plus the offsets
                width += 24
    return max(4_096, min(BATCH_ROWS, BATCH_BYTES // max(1, width)))


TABULAR_SUFFIXES = (".parquet", ".pq", ".csv")


def index_columns(schema: pa.Schema) -> list[str]:
    """The columns pandas stored a DataFrame's index in (``__index_level_0__`` after
    ``sample()`` or a filter, or the name of a ``set_index`` column), as the pandas metadata
    of the schema records them. They are the frame's index, not its data: pandas reads them
    back as the index, and so every reader here leaves them out of the columns."""
    try:
        meta = schema.pandas_metadata
    except ValueError:  # metadata that is not JSON: no index is known
        return []
    found = meta.get("index_columns", []) if isinstance(meta, dict) else []
    return [c for c in found if isinstance(c, str) and c in schema.names]


def data_columns(schema: pa.Schema) -> list[str]:
    """The schema's column names less pandas' index columns."""
    skip = set(index_columns(schema))
    return [name for name in schema.names if name not in skip]


def without_index(table: pa.Table) -> pa.Table:
    skip = index_columns(table.schema)
    return table.drop_columns(skip) if skip else table


def _check_columns(names: list[Any]) -> None:
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidArgument(
                f"column names must be non-empty strings, got {name!r}", field="columns"
            )
        if name in seen:
            raise InvalidArgument(f"column {name!r} appears more than once", field=name)
        seen.add(name)


def _mixed_type_column(frame: Any) -> tuple[str, list[str]] | None:
    """The first object column holding values of more than one Python type (None ignored)."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype != object:
            continue
        kinds = sorted({type(v).__name__ for v in column.dropna().head(100_000)})
        if len(kinds) > 1:
            return str(name), kinds
    return None


def from_pandas(frame: Any) -> pa.Table:
    _check_columns(list(frame.columns))
    mixed = _mixed_type_column(frame)
    if mixed is not None:
        name, kinds = mixed
        raise InvalidArgument(
            f"column {name!r} mixes value types ({', '.join(kinds)}); convert it to one type",
            field=name,
        )
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise InvalidArgument(f"cannot convert the DataFrame: {exc}", field="data") from exc
    return table


def to_table(data: Any) -> pa.Table:
    """An Arrow table from a pandas DataFrame, an Arrow table or record batch."""
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        table = without_index(data)
    elif hasattr(data, "columns") and hasattr(data, "dtypes"):
        table = from_pandas(data)
    else:
        raise InvalidArgument(
            f"expected a pandas DataFrame, an Arrow table or a path, got {type(data).__name__}",
            field="data",
        )
    check_table_schema(table.schema, table.num_rows)
    return table


def check_table_schema(schema: pa.Schema, num_rows: int) -> None:
    _check_columns(list(schema.names))
    if not schema.names:
        raise InvalidArgument("the data has no columns", field="data")
    if num_rows == 0:
        raise InvalidArgument(
            "the data has no rows; an empty snapshot is not a dataset", field="data"
        )
    for field in schema:
        logical_type(field.type, field.name)


class TabularSource:
    """Record batches of a table, in memory or streamed from a Parquet/CSV file."""

    def __init__(self, table: pa.Table | None = None, path: Path | None = None) -> None:
        self.table = table
        self.path = path
        if path is not None:
            self.schema, self.num_rows = _file_schema(path)
        else:
            assert table is not None
            self.schema, self.num_rows = table.schema, table.num_rows

    def batches(self, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        if self.table is not None:
            table = self.table.select(columns) if columns is not None else self.table
            yield from table.to_batches(max_chunksize=rows_per_batch(table.schema))
            return
        assert self.path is not None
        if self.path.suffix.lower() == ".csv":
            yield from _csv_batches(self.path, columns)
            return
        if columns is None:
            columns = list(self.schema.names)  # pandas' index columns are not read
        strings = [
            f.name
            for f in self.schema
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        ]
        # pre_buffer would read ahead the whole file (memory grows with file size)
        yield from prefetch(_parquet_batches(self.path, strings, columns))

    def read(self) -> pa.Table:
        if self.table is not None:
            return self.table
        assert self.path is not None
        if self.path.suffix.lower() == ".csv":
            return pa.Table.from_batches(list(_csv_batches(self.path, None)))
        return pq.read_table(self.path, columns=list(self.schema.names))


def _parquet_batches(
    path: Path, strings: list[str], columns: list[str] | None
) -> Iterator[pa.RecordBatch]:
    """Batches of a Parquet file, one row group at a time (Arrow's whole-file batch reader
    holds far more than one batch); a row group too big to decode at once is streamed."""
    handle = pq.ParquetFile(
        path, read_dictionary=strings, pre_buffer=False, buffer_size=READ_BUFFER
    )
    schema = handle.schema_arrow
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    rows = rows_per_batch(schema)
    share = len(schema) / max(1, len(handle.schema_arrow))
    meta = handle.metadata
    for index in range(meta.num_row_groups):
        decoded = meta.row_group(index).total_byte_size * share
        if decoded <= 2 * BATCH_BYTES:
            table = handle.read_row_group(index, columns=columns)
            yield from table.to_batches(max_chunksize=rows)
            del table
        else:
            yield from handle.iter_batches(batch_size=rows, row_groups=[index], columns=columns)


def tabular_source(data: Any) -> TabularSource:
    """The source for a DataFrame, an Arrow table, or a Parquet/CSV path (read in place)."""
    if isinstance(data, TabularSource):
        return data
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_file():
            raise InvalidArgument(f"no data file at {str(path)!r}", field="data")
        if path.suffix.lower() == ".csv":
            return TabularSource(table=TabularSource(path=path).read())
        return TabularSource(path=path)
    return TabularSource(table=to_table(data))


def prefetch(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Decode the next batch in a thread while the caller works on this one (one ahead)."""
    slots: queue.Queue[Any] = queue.Queue(maxsize=1)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        slots.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(done)
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, raised there
            slots.put(exc)

    worker = threading.Thread(target=produce, name="decode", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                slots.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


def _csv_batches(path: Path, columns: list[str] | None) -> Iterator[pa.RecordBatch]:
    from pyarrow import csv

    convert = csv.ConvertOptions(include_columns=columns) if columns is not None else None
    with csv.open_csv(path, convert_options=convert) as reader:
        yield from reader


def _file_schema(path: Path) -> tuple[pa.Schema, int]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            table = pa.Table.from_batches(list(_csv_batches(path, None)))
            check_table_schema(table.schema, table.num_rows)
            return table.schema, table.num_rows
        meta = pq.ParquetFile(path)
        full, rows = meta.schema_arrow, meta.metadata.num_rows
        schema = pa.schema([full.field(c) for c in data_columns(full)], metadata=full.metadata)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidArgument(f"cannot read {path.name!r} as a table: {exc}", field="data") from exc
    check_table_schema(schema, rows)
    return schema, rows


def is_tabular_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in TABULAR_SUFFIXES
