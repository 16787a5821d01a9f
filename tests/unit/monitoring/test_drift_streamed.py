"""Drift of a Parquet file read in parts: the same verdicts, and scores within a fine bin of
the in-memory ones, whatever the batch and column-group sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelyard.errors import InvalidArgument
from modelyard.monitoring.drift import streamed, summaries
from modelyard.monitoring.drift.compute import drift


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "income": rng.normal(50 + 3 * shift, 10, n),
            "skewed": rng.lognormal(0.2 * shift, 1.0, n),
            "flat": rng.uniform(0, 1, n),
            "rating": rng.integers(1, 6, n),  # 5 values: by counts
            "steps": rng.integers(0, 12, n).astype(float),  # 12 values: exact counts kept
            "plan": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1] if shift else None),
        }
    )


@pytest.mark.parametrize("n", [800, 30_000])  # p-value tests, then distances
def test_a_file_in_parts_gives_the_in_memory_verdicts(
    n: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(4)
    ref, cur = _frame(rng, n), _frame(rng, n, shift=1.0)
    path = tmp_path / "current.parquet"
    cur.to_parquet(path, index=False, row_group_size=n // 3)
    whole = drift(ref, cur)
    monkeypatch.setattr(streamed, "BATCH_ROWS", n // 7)  # many batches, and column groups
    monkeypatch.setattr(streamed, "GROUP_COLUMNS", 4)
    parts = drift(ref, str(path))
    assert parts.drifted_columns == whole.drifted_columns
    assert {"income", "plan"} <= set(parts.drifted_columns)
    for a, b in zip(whole.columns, parts.columns, strict=True):
        assert (a.name, a.test, a.drifted) == (b.name, b.test, b.drifted)
        assert (a.reference_rows, a.current_rows) == (b.reference_rows, b.current_rows)
        assert a.statistic is not None and b.statistic is not None
        if a.test in ("chisquare", "z") or a.kind == "categorical" or a.name == "steps":
            assert b.statistic == pytest.approx(a.statistic, rel=1e-9)  # exact counts
        elif a.test == "ks":
            assert abs(b.statistic - a.statistic) <= 2 / summaries.FINE_BINS + 1 / n
        elif a.test == "wasserstein":
            assert b.statistic == pytest.approx(a.statistic, rel=0.02, abs=0.002)
        else:
            assert b.statistic == pytest.approx(a.statistic, rel=0.05, abs=0.01)
    assert parts.current_rows == n and parts["income"].chart is not None


def test_nulls_type_changes_and_tests_that_need_every_value(tmp_path: Path) -> None:
    ref = pd.DataFrame({"x": np.arange(3000.0), "zip": np.arange(3000) % 50, "t": [1.5] * 3000})
    table = pa.table(
        {
            "x": pa.array([float(i) if i % 4 else None for i in range(3000)]),
            "zip": pa.array([f"{i % 50:05d}" for i in range(3000)]),
            "t": pa.array([1.5] * 3000),
        }
    )
    path = tmp_path / "cur.parquet"
    pq.write_table(table, path)
    report = drift(ref, path)
    assert report["x"].current_missing == pytest.approx(0.25) and report["x"].current_rows == 2250
    assert report["zip"].drifted and report["zip"].test is None
    assert report["zip"].message == "type changed: numeric in the reference, categorical now"
    assert report["zip"].current_rows == 3000
    assert not report["t"].drifted and report["t"].score is not None  # the same constant
    with pytest.raises(InvalidArgument, match="needs every value") as err:
        drift(ref, path, tests={"x": "anderson"})
    assert err.value.field == "tests.x"
    with pytest.raises(InvalidArgument, match="not a Parquet file") as err:
        (tmp_path / "bad.parquet").write_bytes(b"nope")
        drift(ref, tmp_path / "bad.parquet")
    assert err.value.field == "current"
