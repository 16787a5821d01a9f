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


def _wide_file(path: Path, rows: int, cols: int = 50, group: int = 100_000) -> Path:
    rng = np.random.default_rng(0)
    schema = pa.schema([(f"c{i}", pa.float64()) for i in range(cols)])
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for _ in range(rows // group):
            block = rng.normal(size=(group, cols))
            writer.write_table(pa.table([block[:, i] for i in range(cols)], schema=schema))
            del block
    return path


def _growth(path: Path, rows: int) -> int:
    source = TabularSource(path=path)
    with PeakRss() as rss:
        profile = profile_batches(source.schema, source.batches())
    assert profile.num_rows == rows and profile["c7"].count == rows
    assert abs(profile["c7"].mean) < 0.02
    return rss.growth


@pytest.mark.slow
def test_profiling_a_large_wide_file_keeps_memory_bounded(tmp_path: Path) -> None:
    """A file four times longer costs about the same memory: what is held is a few row groups
    (two in flight while the next is read, and the profile's work on one), not the file. The
    small file is profiled first, so the allocator's pools are warm for both."""
    small, large = 400_000, 1_600_000
    small_growth = _growth(_wide_file(tmp_path / "small.parquet", small), small)
    large_growth = _growth(_wide_file(tmp_path / "large.parquet", large), large)
    decoded = large * 50 * 8  # 640 MB once decoded
    # memory that followed the file would grow 4x; a batch-bounded profile stays near 1x
    assert large_growth < 1.5 * small_growth + 32 * MiB, (
        f"RSS grew by {small_growth / MiB:.0f} MiB for {small:,} rows and "
        f"{large_growth / MiB:.0f} MiB for {large:,}"
    )
    assert large_growth < decoded // 2, f"RSS grew by {large_growth / MiB:.0f} MiB"
