"""Profiling streams: memory follows the batch, not the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.fixtures.memory import PeakRss

from modelyard.data.frames import TabularSource
from modelyard.data.profiling import profile_batches

MiB = 1 << 20


@pytest.mark.slow
def test_profiling_a_large_wide_file_keeps_memory_bounded(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    rng = np.random.default_rng(0)
    rows, cols, group = 1_600_000, 50, 100_000
    schema = pa.schema([(f"c{i}", pa.float64()) for i in range(cols)])
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for _ in range(rows // group):
            block = rng.normal(size=(group, cols))
            writer.write_table(pa.table([block[:, i] for i in range(cols)], schema=schema))
            del block
    decoded = rows * cols * 8  # 640 MB once decoded
    source = TabularSource(path=path)
    with PeakRss() as rss:
        profile = profile_batches(source.schema, source.batches())
    assert profile.num_rows == rows and profile["c7"].count == rows
    assert abs(profile["c7"].mean) < 0.01
    assert rss.growth < decoded // 3, f"RSS grew by {rss.growth / MiB:.0f} MiB"
