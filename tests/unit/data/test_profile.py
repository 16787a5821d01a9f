"""Profiles: exact where they claim to be, mergeable, and strict about what they accept."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from modelyard.data.frames import to_table
from modelyard.data.profiling import Profile, profile_batches
from modelyard.errors import InvalidArgument


def _profile(frame: pd.DataFrame, threads: int = 1) -> Profile:
    table = to_table(frame)
    return profile_batches(table.schema, table.to_batches(max_chunksize=700), threads=threads)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 5_000
    x = rng.normal(10, 3, n)
    x[::50] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "n": rng.integers(-5, 500, n),
            "plan": pd.Series(rng.choice(["basic", "pro", None], n), dtype=object),
            "flag": rng.random(n) < 0.3,
            "when": pd.date_range("2024-01-01", periods=n, freq="h"),
        }
    )


def test_exact_statistics_match_pandas(frame: pd.DataFrame) -> None:
    prof = _profile(frame, threads=2)
    assert prof.num_rows == len(frame)
    x = prof["x"]
    assert x.type == "float" and x.count == len(frame)
    assert x.missing == int(frame.x.isna().sum())
    assert x.min == frame.x.min() and x.max == frame.x.max()
    assert x.mean == pytest.approx(frame.x.mean(), rel=1e-12)
    assert x.std == pytest.approx(frame.x.std(ddof=0), rel=1e-9)
    n = prof["n"]
    assert n.type == "integer" and n.distinct_exact and n.distinct == frame.n.nunique()
    plan = prof["plan"]
    assert plan.type == "string" and plan.missing == int(frame.plan.isna().sum())
    assert dict(plan.top()) == frame.plan.value_counts().to_dict()
    assert (plan.min_length, plan.max_length) == (3, 5)
    flag = prof["flag"]
    assert flag.values == {"true": int(frame.flag.sum()), "false": int((~frame.flag).sum())}
    when = prof["when"]
    assert when.type == "timestamp" and when.distinct == pytest.approx(len(frame), rel=0.05)


def test_quantiles_and_histogram(frame: pd.DataFrame) -> None:
    x = _profile(frame)["x"]
    present = frame.x.dropna()
    assert x.quantiles()["p50"] == pytest.approx(present.median(), rel=0.01)
    edges, counts = x.histogram()
    assert edges[0] == present.min() and edges[-1] == present.max()
    assert sum(counts) == len(present)


def test_profile_of_union_equals_merge_of_parts(frame: pd.DataFrame) -> None:
    whole = _profile(frame)
    merged = _profile(frame.iloc[:1234]).merge(_profile(frame.iloc[1234:]))
    for name, col in whole.columns.items():
        other = merged.columns[name]
        for attr in ("count", "missing", "min", "max", "n_finite", "min_length", "max_length"):
            assert getattr(other, attr) == getattr(col, attr), (name, attr)
        assert other.mean == pytest.approx(col.mean, rel=1e-12, abs=1e-12)
        assert other.m2 == pytest.approx(col.m2, rel=1e-9, abs=1e-9)
        assert other.values == col.values
        assert other.quantiles() == col.quantiles()  # the value sketch merges exactly
        assert other.distinct == col.distinct
    again = Profile.from_dict(merged.to_dict())
    assert again.to_dict() == merged.to_dict()


def test_infinities_are_counted_not_averaged() -> None:
    prof = _profile(pd.DataFrame({"v": [1.0, np.inf, -np.inf, 3.0, np.nan]}))
    v = prof["v"]
    assert (v.infinite, v.missing, v.min, v.max, v.mean) == (2, 1, 1.0, 3.0, 2.0)


def test_high_cardinality_strings_fall_back_to_sketch() -> None:
    frame = pd.DataFrame({"id": [f"user-{i}" for i in range(20_000)]})
    col = _profile(frame)["id"]
    assert col.values is None and not col.distinct_exact
    assert col.distinct == pytest.approx(20_000, rel=0.05)


def test_bad_frames_are_refused_with_the_column_named() -> None:
    with pytest.raises(InvalidArgument, match="no rows"):
        to_table(pd.DataFrame({"a": pd.Series([], dtype=float)}))
    with pytest.raises(InvalidArgument, match="'mixed' mixes value types") as err:
        to_table(pd.DataFrame({"mixed": [1, "two", 3.0]}))
    assert err.value.field == "mixed"
    with pytest.raises(InvalidArgument, match="'tags' has unsupported type"):
        to_table(pa.table({"tags": pa.array([[1, 2], [3]])}))
    with pytest.raises(InvalidArgument, match="more than once"):
        to_table(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(InvalidArgument, match="expected a pandas DataFrame"):
        to_table([1, 2, 3])


def test_dates_and_categoricals() -> None:
    frame = pd.DataFrame(
        {
            "day": [dt.date(2024, 1, d) for d in range(1, 11)],
            "tier": pd.Categorical(["a", "b"] * 5),
        }
    )
    prof = _profile(frame)
    assert prof["day"].type == "date" and prof["day"].distinct == 10
    assert prof["tier"].type == "string" and prof["tier"].values == {"a": 5, "b": 5}
    day = prof["day"].to_dict()
    assert (day["min_text"], day["max_text"]) == ("2024-01-01", "2024-01-10")


def test_timestamps_read_as_iso_text(frame: pd.DataFrame) -> None:
    when = _profile(frame)["when"].to_dict()
    assert when["min_text"] == "2024-01-01T00:00:00" and when["unit"] in ("ns", "us")
    assert when["max_text"] == str(frame.when.max().to_datetime64().astype("datetime64[s]"))
