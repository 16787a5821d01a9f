"""The drift benchmark's data: a reference and a current table of 20 numeric and 5 categorical
columns, the same distributions except for 5 shifted columns (3 numeric, 2 categorical).

    python drift_data.py OUT_DIR [--rows 100000]    # writes reference.parquet, current.parquet

Deterministic (seeded); the shifted columns are the answer both tools must find.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

NUMERIC = 20
CATEGORICAL = 5
SHIFTED = ["n0", "n1", "n2", "c0", "c1"]
CATEGORIES = [[f"k{j}" for j in range(k)] for k in (4, 6, 10, 15, 20)]


def _numeric(rng: np.random.Generator, i: int, n: int, shifted: bool) -> Any:
    if i == 0:
        return rng.normal(50 + (5 if shifted else 0), 10, n)  # the mean moves half a sd
    if i == 1:
        return rng.normal(0, 1.5 if shifted else 1.0, n)  # the spread grows
    if i == 2:
        return rng.lognormal(0.3 if shifted else 0.0, 1.0, n)  # a skewed column moves
    kind = i % 4
    if kind == 0:
        return rng.normal(i, 1 + i / 10, n)
    if kind == 1:
        return rng.exponential(1 + i / 5, n)
    if kind == 2:
        return rng.uniform(-i, i, n)
    return rng.integers(0, 1000, n).astype(np.float64)


def _categorical(rng: np.random.Generator, j: int, n: int, shifted: bool) -> Any:
    values = CATEGORIES[j]
    p = np.full(len(values), 1 / len(values))
    if shifted and j == 0:
        p = np.array([0.4, 0.3, 0.2, 0.1])  # shares move
    if shifted and j == 1:
        p = np.array([0.1] * 5 + [0.5])  # one category takes half
    return rng.choice(values, n, p=p)


def frame(n: int, *, current: bool, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {}
    for i in range(NUMERIC):
        data[f"n{i}"] = _numeric(rng, i, n, current and f"n{i}" in SHIFTED)
    for j in range(CATEGORICAL):
        data[f"c{j}"] = _categorical(rng, j, n, current and f"c{j}" in SHIFTED)
    return pd.DataFrame(data)


def write(out: Path, rows: int) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    ref, cur = out / f"reference-{rows}.parquet", out / f"current-{rows}.parquet"
    if not ref.exists():
        frame(rows, current=False, seed=1).to_parquet(ref, index=False)
    if not cur.exists():
        frame(rows, current=True, seed=2).to_parquet(cur, index=False)
    return ref, cur


WIDE_COPIES = 4  # the wide table: the 25 columns four times over (100 columns)
WIDE_SHIFTED = [f"{c}_{k}" for k in range(WIDE_COPIES) for c in SHIFTED]
CHUNK = 500_000


def wide_frame(n: int, *, current: bool, seed: int) -> pd.DataFrame:
    parts = []
    for k in range(WIDE_COPIES):
        part = frame(n, current=current, seed=seed * 100 + k)
        parts.append(part.rename(columns=lambda c, k=k: f"{c}_{k}"))
    return pd.concat(parts, axis=1)


def write_wide(out: Path, rows: int, *, current: bool) -> Path:
    """A 100-column table of ``rows`` rows, written ``CHUNK`` rows at a time (one row group
    each), so that making a 10M-row file never holds it in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{'current' if current else 'reference'}-wide-{rows}.parquet"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    writer = None
    for i, start in enumerate(range(0, rows, CHUNK)):
        chunk = wide_frame(
            min(CHUNK, rows - start), current=current, seed=(3 if current else 4) + i
        )
        table = pa.Table.from_pandas(chunk, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(partial, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    partial.rename(path)
    return path


if __name__ == "__main__":
    rows = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 100_000
    print(*write(Path(sys.argv[1]), rows))
