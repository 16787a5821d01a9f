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
from modelyard.monitoring.shift import streamed, summaries
from modelyard.monitoring.shift.compute import drift


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


@pytest.mark.parametrize("n", [800, 30_000])
def test_a_data_profile_is_enough_as_the_reference(n: int, tmp_path: Path) -> None:
    """The raw reference need not be kept: its profile gives the same verdicts, scores
    within the sketch's resolution (buckets 1/128 of a value wide)."""
    import modelyard as yard

    rng = np.random.default_rng(6)
    ref, cur = _frame(rng, n), _frame(rng, n, shift=1.0)
    ref["flag"] = rng.random(n) < 0.3
    cur["flag"] = rng.random(n) < 0.3
    profile = yard.data.profile(ref)
    whole = drift(ref, cur)
    for current in (cur, pa.Table.from_pandas(cur, preserve_index=False)):
        found = drift(profile, current)
        assert found.drifted_columns == whole.drifted_columns
        assert found.reference_rows == n and found.current_rows == n
        for a, b in zip(whole.columns, found.columns, strict=True):
            assert (a.name, a.test, a.drifted) == (b.name, b.test, b.drifted), a.name
            assert a.statistic is not None and b.statistic is not None
            if a.kind == "categorical" or a.test in ("chisquare", "z") or a.name == "steps":
                assert b.statistic == pytest.approx(a.statistic, rel=1e-9), a.name
            elif a.test == "ks":
                assert abs(b.statistic - a.statistic) <= 0.02, a.name
            else:
                assert b.statistic == pytest.approx(a.statistic, rel=0.05, abs=0.005), a.name
    path = tmp_path / "current.parquet"
    cur.to_parquet(path, index=False)
    assert drift(profile, path).drifted_columns == whole.drifted_columns  # a file, in parts


def test_a_profile_without_counts_of_a_categorical_column_says_so() -> None:
    import modelyard as yard

    ref = pd.DataFrame({"id": [f"user-{i}" for i in range(30_000)], "x": np.arange(30_000.0)})
    profile = yard.data.profile(ref)
    report = drift(profile, ref.head(1000))
    assert profile["id"].values is None  # more distinct values than a profile counts
    assert report["id"].test is None and "no counts" in (report["id"].message or "")
    assert report["x"].test == "wasserstein"
