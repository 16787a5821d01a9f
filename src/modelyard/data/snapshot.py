"""Turning what a user logs into the files of a snapshot, hashed, with its table profile.

A DataFrame or Arrow table is written once to a Parquet file in a temporary folder (fixed
writer settings, so the same data gives the same bytes); a file or a folder is used in place.
Every file is hashed by streaming it (a rich progress bar shows the bytes), and its size and
modification time are compared before and after: a file that changes while it is hashed is
an error, never a version whose digest lies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from modelyard.data.entities import FileEntry
from modelyard.data.frames import TabularSource, is_tabular_file, rows_per_batch, to_table
from modelyard.errors import Conflict, InvalidArgument
from modelyard.store.artifacts.paths import safe_relpath

HASH_CHUNK = 4 << 20
TABLE_FILE = "data.parquet"

Progress = Callable[[int], None]


@dataclass
class LocalFile:
    path: str  # relative path inside the snapshot
    local: Path
    size: int
    mtime_ns: int
    sha256: str = ""

    def entry(self) -> FileEntry:
        return FileEntry(self.path, self.sha256, self.size)


@dataclass
class Snapshot:
    format: str  # parquet | csv | files
    files: list[LocalFile]
    source: str
    table: TabularSource | None = None  # for profiling, when the snapshot is a table
    _tmp: Path | None = field(default=None, repr=False)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def manifest(self) -> list[FileEntry]:
        return sorted((f.entry() for f in self.files), key=lambda e: e.path)

    def cleanup(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _local_file(rel: str, path: Path) -> LocalFile:
    size, mtime = _stat(path)
    return LocalFile(safe_relpath(rel), path, size, mtime)


def _walk(folder: Path) -> list[LocalFile]:
    files = []
    root = folder.resolve()
    seen: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = Path(dirpath).resolve()
        if not real.is_relative_to(root):
            raise InvalidArgument(
                f"{dirpath} links to {real}, outside the folder being logged", field="data"
            )
        if real in seen:  # a link back into the tree: each folder is stored once
            dirnames.clear()
            continue
        seen.add(real)
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root):
                    raise InvalidArgument(
                        f"{path} is a link to {target}, outside the folder being logged",
                        field="data",
                    )
            if not path.is_file():
                continue
            files.append(_local_file(path.relative_to(folder).as_posix(), path))
    if not files:
        raise InvalidArgument(f"folder {str(folder)!r} holds no files", field="data")
    return files


def prepare(data: Any) -> Snapshot:
    """The files of the snapshot ``data`` (DataFrame, Arrow table, file or folder path)."""
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if not path.exists():
            raise InvalidArgument(f"no file or folder at {str(path)!r}", field="data")
        if path.is_dir():
            return Snapshot("files", _walk(path), str(path.resolve()))
        if is_tabular_file(path):
            fmt = "csv" if path.suffix.lower() == ".csv" else "parquet"
            table = TabularSource(path=path)
            return Snapshot(fmt, [_local_file(path.name, path)], str(path.resolve()), table)
        return Snapshot("files", [_local_file(path.name, path)], str(path.resolve()))
    table = to_table(data)
    tmp = Path(tempfile.mkdtemp(prefix="modelyard-snapshot-"))
    try:
        target = tmp / TABLE_FILE
        write_parquet(table, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    kind = "DataFrame" if not isinstance(data, pa.Table | pa.RecordBatch) else "Arrow table"
    return Snapshot(
        "parquet",
        [_local_file(TABLE_FILE, target)],
        f"{kind} ({table.num_rows} rows x {table.num_columns} columns)",
        TabularSource(table=table),
        tmp,
    )


def write_parquet(table: pa.Table, target: Path) -> None:
    """Parquet with fixed settings: the same table gives the same bytes (and digest)."""
    pq.write_table(
        table,
        target,
        compression="zstd",
        row_group_size=rows_per_batch(table.schema),  # wide tables: smaller row groups
        write_statistics=True,
        use_dictionary=True,
    )


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            yield chunk


def hash_files(files: list[LocalFile], progress: Progress | None = None) -> None:
    """Fill in each file's sha256, streaming; refuse a file that changes meanwhile."""
    for item in files:
        digest = hashlib.sha256()
        for chunk in _chunks(item.local):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
        check_unchanged(item)
        item.sha256 = digest.hexdigest()


def check_unchanged(item: LocalFile) -> None:
    if _stat(item.local) != (item.size, item.mtime_ns):
        raise Conflict(
            f"{str(item.local)!r} changed while it was being read; log the dataset again "
            "once it is no longer being written",
            field="data",
        )


def file_chunks(item: LocalFile, progress: Progress | None = None) -> Iterator[bytes]:
    for chunk in _chunks(item.local):
        if progress is not None:
            progress(len(chunk))
        yield chunk
    check_unchanged(item)
