"""A Parquet file written by pandas keeps the frame's index as columns its metadata names
(``__index_level_0__`` after ``sample()`` or a filter, the name of a ``set_index`` column, one
per level of a MultiIndex). They are the index, not data: every reader (drift, datasets and
their profiles and schemas, validation, labels) sees the columns pandas' own
``read_parquet`` gives, whatever the index was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import modelyard as yard
from modelyard.data.expectations import Expectations


def _base(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "amount": rng.lognormal(3, 1, n),
            "plan": pd.Categorical(rng.choice(["basic", "pro"], n)),
            "when": pd.Timestamp("2026-11-01", tz="America/New_York")
            + pd.to_timedelta(np.arange(n), unit="min"),
            "label": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 2, n).astype(float)),
        }
    )


INDEXES: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "sampled": lambda f: f.sample(frac=0.8, random_state=1),
    "filtered": lambda f: f[f["amount"] > 5],
    "default-range": lambda f: f,
    "named-index": lambda f: f.set_index("request_id", drop=False).rename_axis("rid"),
    "multi-index": lambda f: (
        f.assign(k=np.arange(len(f)) % 3)
        .set_index(["k", "plan"], drop=False)
        .rename_axis(["k_level", "plan_level"])
    ),
    "datetime-index": lambda f: f.set_index(pd.DatetimeIndex(f["when"]).rename("at")),
    "string-index": lambda f: f.set_index(pd.Index([f"i{i}" for i in range(len(f))])),
}


@pytest.fixture(params=sorted(INDEXES))
def written(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, list[str]]:
    frame = INDEXES[request.param](_base())
    path = tmp_path / f"{request.param}.parquet"
    frame.to_parquet(path)
    expected = list(pd.read_parquet(path).columns)  # what pandas calls the data
    assert not any(c.startswith("__index_level") for c in expected)
    return path, expected


def test_drift_reads_only_the_data(written: tuple[Path, list[str]], tmp_path: Path) -> None:
    path, expected = written
    other = tmp_path / "other.parquet"
    _base(seed=1).sample(frac=0.5, random_state=2).to_parquet(other)
    shared = [c for c in expected if c in _base().columns]
    for reference, current in ((path, other), (other, path), (pd.read_parquet(path), other)):
        for _ in range(2):
            report = yard.monitoring.drift(reference, current)
            names = {c.name for c in report.columns}
            assert not any(n.startswith("__index_level") for n in names), names
            assert set(shared) <= names | {"request_id"}, names
    table = pq.read_table(path)  # an Arrow table read by the user keeps the index columns
    report = yard.monitoring.drift(table, other)
    assert not any(c.name.startswith("__index_level") for c in report.columns)


def test_datasets_profiles_schemas_and_validation_read_only_the_data(
    written: tuple[Path, list[str]], tracking_uri: str
) -> None:
    path, expected = written
    yard.set_tracking_uri(tracking_uri)
    for _ in range(2):
        ds = yard.data.log_dataset(path, name="customers")
        assert list(ds.profile.columns) == expected
        assert [c.name for c in ds.schema.columns] == expected
        assert list(yard.data.profile(str(path)).columns) == expected
        suite = Expectations.from_profile(ds.profile)
        report = yard.data.validate(path, suite)
        assert report.ok, report.failures
        assert report.columns == expected
        assert list(ds.to_pandas().columns) == expected
        got = yard.data.get("customers")
        assert got.to_arrow().column_names == expected  # pandas' index is not a column here
        pd.testing.assert_frame_equal(got.to_pandas(), pd.read_parquet(path))  # index kept
    for _ in range(2):
        arrow = yard.data.log_dataset(pq.read_table(path), name="customers-arrow")
        assert list(arrow.profile.columns) == expected


def test_labels_from_a_pandas_parquet_file(tracking_uri: str, tmp_path: Path) -> None:
    labels = pd.DataFrame({"request_id": [f"r{i}" for i in range(50)], "label": 1.0})
    path = tmp_path / "labels.parquet"
    labels.sample(frac=1.0, random_state=3).to_parquet(path)  # shuffled: an index is written
    assert "__index_level_0__" in pq.read_schema(path).names
    client = yard.monitoring.MonitoringClient(tracking_uri)
    for _ in range(2):
        assert client.log_labels(path) == 50
    found = client.get_labels([f"r{i}" for i in range(50)])
    assert len(found) == 50 and {lab.label for lab in found} == {1.0}
