"""Shipping the prediction log to the store: each closed segment becomes one Parquet file per
(endpoint, model, version), stored as a dataset blob and listed in the monitoring catalog;
its labels go to the store's label table. Only then is the segment deleted.

A segment is closed when its writer no longer holds its ``flock`` (rolled, or its process
ended, even by a crash), so any worker of any later run can ship it. A torn last line (a
crash mid-write) is dropped; shipping a segment twice (a crash between the upload and the
delete) lists its files once, since a file is known by its sha256, and labels replace
themselves. While the store is away, segments wait on disk and are tried again; the log
says so once when it goes and once when shipping works again
(``platform.store_health.StoreHealth``).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from modelyard.errors import Unavailable
from modelyard.platform.store_health import StoreHealth, store_name
from modelyard.serving.predlog.writer import SUFFIX

log = logging.getLogger("modelyard.serving")


class Unreadable(Exception):
    """A segment no reader can turn into a table (not a passing failure of the store)."""


META = ["request_id", "row", "timestamp", "endpoint", "model", "version", "shadow", "latency_ms"]
PROBABILITY = "probability."  # a classifier's probability of each class: probability.<class>


CHUNK = 2_000  # records made into one table at a time: bounds the objects alive while shipping


def segment_chunks(path: Path) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """The predictions and labels of a segment, ``CHUNK`` predictions at a time (read line by
    line: a 64 MiB segment never becomes millions of live Python objects at once, which would
    also make the collector walk them while the server answers requests). A torn last line
    (no newline: a crash mid-write) is skipped quietly, a corrupt one elsewhere with a warning.
    """
    predictions: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                if line.endswith(b"\n"):  # a whole line, so not torn by a crash
                    log.warning("prediction log: %s line %d is corrupt; skipped", path, number)
                continue
            if record.get("k") == "p":
                predictions.append(record)
            elif record.get("k") == "l":
                labels += [
                    {**item, "time": item.get("time") or record["t"]} for item in record["labels"]
                ]
            if len(predictions) >= CHUNK:
                yield predictions, labels
                predictions, labels = [], []
    if predictions or labels:
        yield predictions, labels


def read_segment(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """All the predictions and labels of a segment (for tests and tools; shipping reads it
    in chunks)."""
    predictions: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for p, lb in segment_chunks(path):
        predictions += p
        labels += lb
    return predictions, labels


def _rows(value: Any, n: int) -> list[Any]:
    """A column or output as ``n`` values (a tensor row stays a list)."""
    if isinstance(value, list) and len(value) == n:
        return value
    return [value] * n


def to_table(records: list[dict[str, Any]]) -> Any:
    """One row per predicted row: META columns, ``prediction``, ``probability.<class>`` when
    a classifier's probabilities were logged, and the inputs by name (an input named like one
    of those is kept as ``input.<name>``)."""
    import pyarrow as pa

    columns: dict[str, list[Any]] = defaultdict(list)
    total = 0
    for r in records:
        out = r["out"]
        n = len(out) if isinstance(out, list) else 1
        columns["request_id"] += [r["id"]] * n
        columns["row"] += list(range(n))
        columns["timestamp"] += [r["t"]] * n
        columns["endpoint"] += [r["e"]] * n
        columns["model"] += [r["m"]] * n
        columns["version"] += [r["v"]] * n
        columns["shadow"] += [bool(r.get("s"))] * n
        columns["latency_ms"] += [r["ms"]] * n
        columns["prediction"] += _rows(out, n)
        if "pc" in r:  # class probabilities: a column per class
            for j, name in enumerate(r["pc"]):
                column = columns[f"{PROBABILITY}{name}"]
                column += [None] * (total - len(column))
                column += [row[j] for row in r["p"]]
        inputs = r.get("in")
        if inputs is None:  # the fast path's matrix: rows of values in column order
            inputs = {c: [row[i] for row in r["x"]] for i, c in enumerate(r["c"])}
        for name, values in inputs.items():
            taken = name in META or name == "prediction" or name.startswith(PROBABILITY)
            key = f"input.{name}" if taken else name
            column = columns[key]
            column += [None] * (total - len(column))  # a column new in this record
            column += _rows(values, n)
        total += n
    arrays = {}
    for name, values in columns.items():
        values += [None] * (total - len(values))
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed kinds (2139 and "02139"): text
            arrays[name] = pa.array([None if v is None else str(v) for v in values])
    table = pa.table(arrays)
    stamp = table["timestamp"].cast(pa.timestamp("ms", tz="UTC"))
    return table.set_column(table.schema.get_field_index("timestamp"), "timestamp", stamp)


def join_tables(tables: list[Any]) -> Any:
    """The chunks of one group as one table: a column missing from a chunk is null there, and
    a column whose kind differs between chunks (2139 in one, "02139" in another) is text."""
    import pyarrow as pa

    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        kinds: dict[str, set[Any]] = defaultdict(set)
        for table in tables:
            for field in table.schema:
                kinds[field.name].add(field.type)
        mixed = {name for name, types in kinds.items() if len(types - {pa.null()}) > 1}
        as_text = [_with_text(table, mixed) for table in tables]
        return pa.concat_tables(as_text, promote_options="permissive")


def _with_text(table: Any, names: set[str]) -> Any:
    import pyarrow as pa

    for name in names & set(table.column_names):
        values = table[name].to_pylist()
        text = pa.array([None if v is None else str(v) for v in values], pa.string())
        table = table.set_column(table.schema.get_field_index(name), name, text)
    return table


def _epoch_ms(stamp: Any) -> int:
    """A timestamp scalar of the table (unit ms) as epoch ms, as the catalog keeps it."""
    return int(stamp.value)


class Shipper:
    """Ships the closed segments of one folder (``ship_all``). The server runs it in a process
    of its own (``predlog/ship_process.py``), which reports these counters back."""

    def __init__(self, folder: Path, tracking_uri: str | None):
        self.folder = folder
        self.tracking_uri = tracking_uri
        self.error: str | None = None  # the last failure to ship, while segments wait
        self.rows = 0  # rows shipped so far
        self.dropped = 0  # segments set aside as .bad
        self.backlog = 0  # closed segments still waiting after the last round
        self.store = StoreHealth(
            store_name(tracking_uri),
            "segments wait on disk until it answers",
            who="prediction log",
            logger=log,
        )
        self._client: Any = None

    def ship_all(self) -> int:
        """Ship every closed segment; how many were shipped."""
        waiting = sorted(self.folder.glob(f"*{SUFFIX}"))
        shipped = 0
        for path in waiting:
            try:
                done = self._ship_one(path)
            except Unreadable as exc:  # never shippable: set aside, so the rest still go
                log.error("prediction log: %s cannot be shipped (%s); kept as .bad", path, exc)
                with contextlib.suppress(OSError):
                    path.rename(path.with_suffix(".bad"))
                self.dropped += 1
            except Exception as exc:  # noqa: BLE001 - the store may be away: try again later
                error = f"prediction log: cannot ship to the store: {exc}"[:1000]
                if isinstance(exc, Unavailable):
                    self.store.failed(exc)
                elif error != self.error:  # the same refusal again is no news
                    log.warning("%s", error)
                self.error = error
                break
            else:
                if done:
                    self.store.answered()
                shipped += done
        else:
            self.error = None
        self.backlog = len(waiting) - shipped
        return shipped

    def _ship_one(self, path: Path) -> int:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # another worker shipped it just now
            return 0
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # still being written (or shipped by another worker)
                return 0
            if os.fstat(fd).st_nlink == 0:  # shipped and deleted while we waited
                return 0
            try:
                tables, labels = self._tables(path)
            except Exception as exc:  # bytes no reader makes sense of
                raise Unreadable(str(exc)[:500]) from exc
            self._send(tables, labels)
            path.unlink()
            return 1
        finally:
            os.close(fd)

    @staticmethod
    def _tables(path: Path) -> tuple[list[tuple[dict[str, Any], Any]], list[dict[str, Any]]]:
        """One table per (endpoint, model, version), with what the catalog lists of it; and
        the segment's labels."""
        import pyarrow.compute as pc

        parts: dict[tuple[str, str, str | None], list[Any]] = defaultdict(list)
        labels: list[dict[str, Any]] = []
        for predictions, chunk_labels in segment_chunks(path):
            labels += chunk_labels
            groups: dict[tuple[str, str, str | None], list[dict[str, Any]]] = defaultdict(list)
            for record in predictions:
                groups[(record["e"], record["m"], record["v"])].append(record)
            for key, records in groups.items():
                parts[key].append(to_table(records))
        found = []
        for (endpoint, model, version), tables in parts.items():
            table = join_tables(tables)
            meta = {
                "model": model,
                "version": version,
                "endpoint": endpoint,
                "rows": table.num_rows,
                "first_time": _epoch_ms(pc.min(table["timestamp"])),
                "last_time": _epoch_ms(pc.max(table["timestamp"])),
            }
            found.append((meta, table))
        return found, labels

    def _send(self, tables: list[tuple[dict[str, Any], Any]], labels: list[dict[str, Any]]) -> None:
        import pyarrow.parquet as pq

        from modelyard.monitoring.client import MonitoringClient

        if self._client is None:
            self._client = MonitoringClient(self.tracking_uri)
        for meta, table in tables:
            with tempfile.TemporaryDirectory(dir=self.folder) as tmp:
                out = Path(tmp) / "predictions.parquet"
                pq.write_table(table, out, compression="zstd")
                self._client.ship_file(out, meta)
            self.rows += table.num_rows
        if labels:
            self._client.log_labels(labels)
