"""The local engine: Parquet record batches (never a whole file) go to a small pool of
threads that score them (ONNX Runtime and Arrow release the GIL), and come back in order to
one writer that appends them to a single Parquet file.

Memory is bounded by the window: at most ``2 * workers`` batches are read and not yet
written, whatever the size of the data. A failure stops the reading, drops what is queued and
is raised; the caller removes the partial file.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

READ_BUFFER = 1 << 20  # bytes read ahead per column stream (pre_buffer would read it all)


def batches(files: list[Path], columns: list[str], batch_rows: int) -> Iterator[Any]:
    """The record batches of ``files`` in order, ``columns`` only, ``batch_rows`` at most."""
    import pyarrow.parquet as pq

    for path in files:
        handle = pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER)
        try:
            yield from handle.iter_batches(batch_size=batch_rows, columns=columns)
        finally:
            handle.close()


def score_local(
    files: list[Path],
    columns: list[str],
    score: Callable[[Any], Any],
    target: Path,
    *,
    batch_rows: int,
    workers: int,
) -> int:
    """Score every batch of ``files`` with ``score`` on ``workers`` threads into the Parquet
    file ``target``; the number of rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    window: collections.deque[Future[Any]] = collections.deque()
    writer: pq.ParquetWriter | None = None
    rows = 0

    def write(batch: Any) -> None:
        nonlocal writer, rows
        if writer is None:
            writer = pq.ParquetWriter(target, batch.schema, compression="zstd")
        elif batch.schema != writer.schema:
            batch = pa.Table.from_batches([batch]).cast(writer.schema)
        writer.write(batch) if isinstance(batch, pa.Table) else writer.write_batch(batch)
        rows += batch.num_rows

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch-predict")
    try:
        for batch in batches(files, columns, batch_rows):
            window.append(pool.submit(score, batch))
            if len(window) >= 2 * workers:
                write(window.popleft().result())
        while window:
            write(window.popleft().result())
    finally:
        for pending in window:
            pending.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        if writer is not None:
            writer.close()
    return rows
