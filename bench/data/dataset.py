"""The benchmark table: 10 million rows x 30 columns of Parquet, written in chunks.

20 float columns (normal, 1% missing), 5 integer columns and 5 string categories; the same
seed gives the same file, so each tool sees identical data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

FLOATS = [f"f{i:02d}" for i in range(20)]
INTS = [f"i{i}" for i in range(5)]
CATS = [f"c{i}" for i in range(5)]
CATEGORIES = [f"cat-{j:02d}" for j in range(40)]
CHUNK = 1_000_000


def _chunk(rng: np.random.Generator, rows: int) -> pa.Table:
    columns: dict[str, pa.Array] = {}
    for k, name in enumerate(FLOATS):
        values = rng.normal(loc=k, scale=1 + k / 4, size=rows)
        mask = rng.random(rows) < 0.01
        columns[name] = pa.array(values, mask=mask)
    for k, name in enumerate(INTS):
        columns[name] = pa.array(rng.integers(0, 1000 * (k + 1), size=rows))
    cats = np.array(CATEGORIES, dtype=object)
    for k, name in enumerate(CATS):
        idx = rng.integers(0, 10 + 7 * k, size=rows)
        columns[name] = pa.array(cats[idx], type=pa.string())
    return pa.table(columns)


def write(path: Path, rows: int = 10_000_000, seed: int = 7) -> Path:
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return path
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, rows, CHUNK):
            table = _chunk(rng, min(CHUNK, rows - start))
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=CHUNK)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return path


def write_defects(path: Path, rows: int = 100_000, seed: int = 11) -> Path:
    """A table that breaks exactly 9 of the checks in checks.py, one defect each."""
    table = _chunk(np.random.default_rng(seed), rows)
    cols = {name: table.column(name) for name in table.column_names}
    f01 = np.asarray(cols["f01"].to_numpy(zero_copy_only=False), dtype=float)
    cols["f01"] = pa.array(f01, mask=np.arange(rows) % 20 == 0)  # 5% missing > 2%
    f02 = np.asarray(cols["f02"].to_numpy(zero_copy_only=False), dtype=float)
    f02[7] = 5_000.0  # out of [-1000, 1000]
    cols["f02"] = pa.array(f02, mask=np.isnan(f02))
    i1 = cols["i1"].to_numpy().copy()
    i1[3] = -1  # out of [0, 5000]
    cols["i1"] = pa.array(i1)
    cols["i3"] = pa.array(cols["i3"].to_numpy().astype(float))  # float, not integer
    c0 = np.array(cols["c0"].to_pylist(), dtype=object)
    c0[5] = "dog-toolong"  # not allowed, fails the regex and the length
    cols["c0"] = pa.array(c0, type=pa.string())
    c1 = np.array(cols["c1"].to_pylist(), dtype=object)
    c1[9] = "cat-99"  # not in the allowed set
    cols["c1"] = pa.array(c1, type=pa.string())
    c2 = cols["c2"].to_pylist()
    c2[11] = None  # null in a not-null column
    cols["c2"] = pa.array(c2, type=pa.string())
    pq.write_table(pa.table(cols), path)
    return path


if __name__ == "__main__":
    import sys

    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/bench-data/10m.parquet")))
