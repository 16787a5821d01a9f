"""Datasets as a user keeps them, on every store: realistic dtypes (categoricals, zoned
timestamps, nullable integers, floats with gaps, text) round-trip exactly; logging the same
data again is the same version; a new version diffs against the old; a run that trained on a
version holds it; validation and profiles agree with pandas; every call made twice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modelyard as yard
from modelyard.data import Expectations


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "plan": pd.Categorical(rng.choice(["basic", "pro"], n)),
            "signup": pd.Timestamp("2026-03-29 00:30", tz="Europe/Berlin")  # a DST change
            + pd.to_timedelta(rng.integers(0, 72 * 60, n), unit="min"),
            "visits": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 9, n)), "Int64"),
            "spend": np.where(rng.random(n) < 0.05, np.nan, rng.gamma(2.0, 30.0, n)),
            "city": rng.choice(["Köln", "München", "Zürich", "São Paulo"], n),
            "active": rng.random(n) < 0.7,
        }
    )


def test_versions_round_trips_diffs_and_lineage(tracking_uri: str, tmp_path: Path) -> None:
    yard.set_tracking_uri(tracking_uri)
    first = frame(1000, 1)
    v1 = yard.data.log_dataset(first, name="customers")
    assert yard.data.log_dataset(first.copy(), name="customers").version == v1.version == 1
    for _ in range(2):
        back = yard.data.get("customers", version=1).to_pandas()
        pd.testing.assert_frame_equal(back, first, check_categorical=False)
        assert isinstance(back["plan"].dtype, pd.CategoricalDtype)
        assert str(back["signup"].dt.tz) == "Europe/Berlin"

    profile = yard.data.get("customers").profile
    assert profile.columns["spend"].missing == int(first["spend"].isna().sum())
    assert profile.columns["visits"].missing == int(first["visits"].isna().sum())
    assert profile.columns["spend"].mean == pytest.approx(first["spend"].mean(), rel=1e-9)
    assert profile.columns["city"].values == first["city"].value_counts().to_dict()

    second = pd.concat([first.iloc[100:], frame(50, 2).assign(id=np.arange(5000, 5050))])
    with yard.start_run(run_name="train") as run:
        v2 = yard.data.log_dataset(second, name="customers", context="training")
    assert v2.version == 2
    for _ in range(2):
        d = yard.data.diff("customers", 1, 2)
        assert (d.rows_added, d.rows_removed) == (50, 100)
    for _ in range(2):
        edges = yard.data.lineage(f"run:{run.info.run_id}")
        assert [(e.source.label, e.relation, e.context) for e in edges] == [
            ("customers@2", "input", "training")
        ]
    assert [v.version for v in yard.data.versions("customers")] == [2, 1]

    suite = Expectations.from_profile(v2.profile)
    yard.data.set_expectations("customers", 2, suite)
    for _ in range(2):
        assert yard.data.validate(frame(400, 3), yard.data.get("customers").expectations).ok
    broken = frame(400, 4).assign(spend=lambda f: f.spend.fillna(0) * -1)
    report = yard.data.validate(broken, suite)
    assert not report.ok and {f.column for f in report.failures} == {"spend"}

    path = tmp_path / "customers.parquet"
    first.sample(frac=1.0, random_state=5).to_parquet(path)  # pandas keeps the index too
    from_file = yard.data.log_dataset(path, name="customers-file")
    assert list(from_file.profile.columns) == list(first.columns)
