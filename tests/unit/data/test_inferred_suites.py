"""An inferred suite passes fresh data from the same source and fails on defects.

The false-alarm rate of every inferred rule is measured on fresh samples of the distribution
the suite was inferred from (batches as large as the reference and a tenth of it), printed,
and bounded; each defect a person would name is caught on a batch otherwise clean.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from modelyard.data.expectations import Expectations
from modelyard.data.profiling import profile_batches
from modelyard.data.validation import validate

_ZIPF = 1 / np.arange(1, 31) ** 1.1
_ZIPF /= _ZIPF.sum()


def source(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """One batch of a source with the columns real tables have."""
    start = pd.Timestamp("2026-11-01", tz="Europe/Berlin")
    return pd.DataFrame(
        {
            "normal": rng.normal(50, 10, n),
            "amount": rng.lognormal(3, 1, n),  # skewed, never negative
            "wait": rng.exponential(2, n),
            "share": rng.uniform(0, 1, n),
            "count": rng.poisson(3, n),
            "heavy": rng.standard_t(3, n),
            "bimodal": np.where(rng.random(n) < 0.5, rng.normal(-5, 1, n), rng.normal(5, 1, n)),
            "age": rng.integers(18, 90, n),
            "gappy": np.where(rng.random(n) < 0.05, np.nan, rng.normal(0, 1, n)),
            "label": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 2, n)), "Int64"),
            "flag": rng.random(n) < 0.3,
            "zipf": rng.choice([f"c{i}" for i in range(30)], n, p=_ZIPF),
            "color": pd.Categorical(rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])),
            "name": ["x" * int(k) for k in rng.integers(3, 15, n)],
            "id": [f"{i:08d}" for i in rng.permutation(10**6)[:n]],
            "row": np.arange(n) + int(rng.integers(0, 10**6)),
            "seen": start + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s"),
        }
    )


def infer(frame: pd.DataFrame) -> Expectations:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return Expectations.from_profile(profile_batches(table.schema, table.to_batches()))


@pytest.mark.slow
def test_fresh_samples_of_the_same_source_pass() -> None:
    rng = np.random.default_rng(20261203)
    rates: dict[tuple[int, int], Counter[str]] = {}
    trials = 0
    for n in (200, 2000):
        for m in (n, max(50, n // 10)):
            failed: Counter[str] = Counter()
            for _ in range(4):
                suite = infer(source(n, rng))
                for _ in range(25):
                    report = validate(source(m, rng), suite)
                    failed.update({f.label for f in report.failures})
            rates[(n, m)] = failed
            trials = 100
    print("\nfalse alarms per rule (share of 100 fresh batches):")
    for (n, m), failed in rates.items():
        shown = {k: v / trials for k, v in failed.most_common()}
        print(f"  reference {n} rows, batch {m} rows: {shown or 'none'}")
    for (n, m), failed in rates.items():
        for label, count in failed.items():
            assert count / trials <= 0.05, (n, m, label, count)
    overall = sum((f for f in rates.values()), Counter())
    for label, count in overall.items():
        assert count / (trials * len(rates)) <= 0.03, (label, count)


def _negative_amount(f: pd.DataFrame) -> None:
    f.loc[7, "amount"] = -12.5


def _share_above_one(f: pd.DataFrame) -> None:
    f.loc[3, "share"] = 1.2


def _new_colour(f: pd.DataFrame) -> None:
    f["color"] = f["color"].cat.add_categories(["purple"])
    f.loc[11, "color"] = "purple"


def _missing_where_none_was(f: pd.DataFrame) -> None:
    f.loc[5, "normal"] = np.nan


def _unit_change(f: pd.DataFrame) -> None:
    rows = f.index[: len(f) // 20]
    f.loc[rows, "amount"] = f.loc[rows, "amount"] * 1000


def _wrong_type(f: pd.DataFrame) -> None:
    f["age"] = f["age"].astype(str)


def _duplicate_id(f: pd.DataFrame) -> None:
    f.loc[9, "id"] = f.loc[8, "id"]


def _empty_name(f: pd.DataFrame) -> None:
    f.loc[4, "name"] = ""


def _many_missing(f: pd.DataFrame) -> None:
    f.loc[f.index[: len(f) // 3], "gappy"] = np.nan


def _column_gone(f: pd.DataFrame) -> None:
    del f["wait"]


def _new_zipf_value_at_volume(f: pd.DataFrame) -> None:
    f.loc[f.index[: len(f) // 10], "zipf"] = "unheard-of"


def _negative_count(f: pd.DataFrame) -> None:
    f.loc[2, "count"] = -1


DEFECTS: list[tuple[Callable[[pd.DataFrame], None], str]] = [
    (_negative_amount, "range(amount)"),
    (_share_above_one, "range(share)"),
    (_new_colour, "allowed_values(color)"),
    (_missing_where_none_was, "not_null(normal)"),
    (_unit_change, "range(amount)"),
    (_wrong_type, "type(age)"),
    (_duplicate_id, "unique(id)"),
    (_empty_name, "string_length(name)"),
    (_many_missing, "max_missing_rate(gappy)"),
    (_column_gone, "column_present(wait)"),
    (_new_zipf_value_at_volume, "allowed_values(zipf)"),
    (_negative_count, "range(count)"),
]


@pytest.mark.parametrize(("defect", "rule"), DEFECTS, ids=[d.__name__ for d, _ in DEFECTS])
def test_a_defect_is_caught(defect: Callable[[pd.DataFrame], None], rule: str) -> None:
    rng = np.random.default_rng(7)
    suite = infer(source(800, rng))  # values counted exactly: unique(id) is inferred
    clean = source(500, rng)
    assert validate(clean, suite).ok, validate(clean, suite).failures
    broken = clean.copy()
    defect(broken)
    failed = {f"{f.rule}({f.column})" for f in validate(broken, suite).failures}
    assert rule in failed, failed
