"""The same data gives the same drift verdict by every path: frames in memory, a Parquet file
read in parts (with a frame or a file as the reference), frames read back from those files,
CSV files (read whole), and a data profile as the reference (with the current data in memory
or in a file).

Every path decides a column's kind and test in one place (``shift.plan``); they differ only
in how the statistic's inputs are gathered: exact values, or bins (see the tolerances below).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import modelyard as yard
from modelyard.monitoring.shift import summaries
from modelyard.monitoring.shift.compute import drift
from modelyard.monitoring.shift.findings import ColumnDrift

Make = Callable[[np.random.Generator, int, bool], tuple[Any, Any]]
STAMP = pd.Timestamp("2024-03-01", tz="Europe/Paris")


def _floats_nan(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    def one(shift: float) -> Any:
        x = rng.normal(shift, 1.0, n)
        x[rng.random(n) < 0.1] = np.nan
        return x

    return one(0.0), one(0.5 if shifted else 0.0)


def _ints(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    return rng.integers(0, 100, n), rng.integers(20 if shifted else 0, 120 if shifted else 100, n)


def _ints_missing(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    def one(lo: int) -> Any:
        values = pd.array(rng.integers(lo, lo + 100, n), dtype="Int64")
        values[rng.random(n) < 0.1] = pd.NA
        return values

    return one(0), one(20 if shifted else 0)


def _int_codes(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    # 5 reference values: categories; the drifted current has more values than the
    # reference (28 of them: more than a numeric summary counts one by one)
    ref = rng.integers(1, 6, n)
    return ref, rng.integers(1, 29, n) if shifted else rng.integers(1, 6, n)


def _category(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    tilted = [0.4, 0.3, 0.2, 0.1] if shifted else None
    return (
        pd.Categorical(rng.choice(list("abcd"), n)),
        pd.Categorical(rng.choice(list("abcd"), n, p=tilted)),
    )


def _category_numbers(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    # pandas categories of 40 numbers: judged as the numbers Parquet stores (and a profile
    # records), not as categories
    return (
        pd.Categorical(rng.integers(0, 40, n)),
        pd.Categorical(rng.integers(8 if shifted else 0, 48 if shifted else 40, n)),
    )


def _category_codes(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    # pandas categories of 4 numbers: integer codes, so categories by every path
    tilted = [0.4, 0.3, 0.2, 0.1] if shifted else None
    return pd.Categorical(rng.choice(4, n)), pd.Categorical(rng.choice(4, n, p=tilted))


def _dates(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    # datetime.date objects (how pandas reads a Parquet date column back): times, not text
    def one(days: int) -> Any:
        start = STAMP.date()
        return np.array([start + pd.Timedelta(days=int(d)) for d in rng.integers(0, 30, n) + days])

    return one(0), one(60 if shifted else 0)


def _strings(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    def one(p: list[float]) -> Any:
        values = rng.choice(["red", "green", "blue"], n, p=p).astype(object)
        values[rng.random(n) < 0.05] = None
        return values

    return one([0.5, 0.3, 0.2]), one([0.2, 0.3, 0.5] if shifted else [0.5, 0.3, 0.2])


def _bools(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    return rng.random(n) < 0.3, rng.random(n) < (0.5 if shifted else 0.3)


def _stamps(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    def one(days: int) -> Any:
        return STAMP + pd.to_timedelta(rng.integers(0, 86_400 * 30, n) + days * 86_400, "s")

    return one(0), one(60 if shifted else 0)


def _type_changed(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    codes = rng.integers(0, 50, n)
    return codes, np.array([f"{c:05d}" for c in codes], dtype=object)


def _forced(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    ages = np.arange(18, 81)
    tilted = np.linspace(1, 8, len(ages)) if shifted else np.ones(len(ages))
    return rng.choice(ages, n), rng.choice(ages, n, p=tilted / tilted.sum())


def _all_missing(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    return np.array([None] * n, dtype=object), np.array([None] * n, dtype=object)


def _all_nan(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    # drifted: the current data lost every value
    return (rng.normal(size=n) if shifted else np.full(n, np.nan)), np.full(n, np.nan)


def _constant(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    return np.full(n, 7.0), np.full(n, 8.0 if shifted else 7.0)


def _constant_text(rng: np.random.Generator, n: int, shifted: bool) -> tuple[Any, Any]:
    return np.array(["a"] * n, dtype=object), np.array(["b" if shifted else "a"] * n, dtype=object)


@dataclass(frozen=True)
class Variant:
    make: Make
    kind: str  # the kind every path reports
    options: dict[str, Any] = field(default_factory=dict)
    csv: bool = True  # whether a CSV file keeps the column's type
    cases: tuple[bool, ...] = (False, True)  # not shifted, shifted
    tested: bool = True  # whether the column gets a test (else a message says why)


VARIANTS = {
    "floats with NaN": Variant(_floats_nan, "numeric"),
    "integers": Variant(_ints, "numeric"),
    "integers with NA": Variant(_ints_missing, "numeric"),
    "integer codes": Variant(_int_codes, "categorical"),
    "pandas category": Variant(_category, "categorical"),
    "pandas category of numbers": Variant(_category_numbers, "numeric"),
    "pandas category of codes": Variant(_category_codes, "categorical"),
    "dates as objects": Variant(_dates, "time", csv=False, tested=False),  # CSV: text
    "forced dates": Variant(_dates, "time", {"categorical": ["x"]}, csv=False, tested=False),
    "strings with None": Variant(_strings, "categorical", csv=False),  # CSV: None is ""
    "booleans": Variant(_bools, "categorical"),
    "timestamps with a zone": Variant(_stamps, "time", tested=False),
    "forced timestamps": Variant(_stamps, "time", {"categorical": ["x"]}, tested=False),
    "type changed": Variant(_type_changed, "numeric", csv=False, cases=(True,), tested=False),
    "forced categorical": Variant(_forced, "categorical", {"categorical": ["x"]}),
    "all missing": Variant(_all_missing, "categorical", cases=(False,), tested=False),
    "all NaN": Variant(_all_nan, "numeric", csv=False, tested=False),
    "constant": Variant(_constant, "numeric"),
    "constant text": Variant(_constant_text, "categorical"),
}


def _by_every_path(
    ref: pd.DataFrame, cur: pd.DataFrame, tmp: Path, csv: bool, **options: Any
) -> dict[str, ColumnDrift]:
    ref_file, cur_file = tmp / "ref.parquet", tmp / "cur.parquet"
    ref.to_parquet(ref_file, index=False, row_group_size=max(1, len(ref) // 3))
    cur.to_parquet(cur_file, index=False, row_group_size=max(1, len(cur) // 3))
    profile = yard.data.profile(ref)
    found = {
        "frames": drift(ref, cur, **options),
        "file in parts": drift(ref, cur_file, **options),
        "both files in parts": drift(ref_file, cur_file, **options),
        "profile, frame": drift(profile, cur, **options),
        "profile, file in parts": drift(profile, cur_file, **options),
        "frames read back": drift(pd.read_parquet(ref_file), pd.read_parquet(cur_file), **options),
    }
    if csv:
        ref.to_csv(tmp / "ref.csv", index=False)
        cur.to_csv(tmp / "cur.csv", index=False)
        found["csv"] = yard.monitoring.drift(tmp / "ref.csv", tmp / "cur.csv", **options)
    return {path: report["x"] for path, report in found.items()}


def _close(path: str, a: ColumnDrift, b: ColumnDrift, n: int) -> None:
    """``b``'s statistic against the in-memory one, ``a``. Counts (categories, and numbers
    with at most 20 distinct values on both sides) are kept exactly on every path. A file's
    numbers become 2,048 bins of equal reference share, within which values are taken as
    spread evenly: KS's D is then off by at most about two bins' share (and 1/n for the
    step of the exact CDF); the Wasserstein area by about a bin's share of the spread,
    well within 2%. A profile's numbers come from its sketch, buckets 1/128 of a value wide:
    a D off by up to 0.02 and an area within 5% (the bounds test_drift_streamed.py holds the
    profile to)."""
    assert a.statistic is not None and b.statistic is not None
    exact = a.kind == "categorical" or a.test in ("chisquare", "z")
    profile = path.startswith("profile")
    if exact or path == "csv":
        assert b.statistic == pytest.approx(a.statistic, rel=1e-9, abs=1e-12)
    elif a.test == "ks":
        assert abs(b.statistic - a.statistic) <= (
            0.02 if profile else 2 / summaries.FINE_BINS + 1 / n
        )
    elif a.test == "wasserstein":
        rel, tol = (0.05, 0.005) if profile else (0.02, 0.002)
        assert b.statistic == pytest.approx(a.statistic, rel=rel, abs=tol)
    else:
        assert b.statistic == pytest.approx(a.statistic, rel=0.05, abs=0.01)


@pytest.mark.parametrize("n", [600, 3_000])  # p-value tests, then distances
@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_path_gives_the_same_verdict(name: str, n: int, tmp_path: Path) -> None:
    variant = VARIANTS[name]
    for shifted in variant.cases:
        rng = np.random.default_rng(5)
        ref, cur = variant.make(rng, n, shifted)
        found = _by_every_path(
            pd.DataFrame({"x": ref}),
            pd.DataFrame({"x": cur}),
            tmp_path,
            variant.csv,
            **variant.options,
        )
        a = found["frames"]
        assert a.kind == variant.kind, (name, a)
        assert (a.test is not None) == variant.tested, (name, a)
        expected = shifted if variant.tested or name in ("type changed", "all NaN") else False
        assert a.drifted == expected, (name, shifted, a)
        for path, b in found.items():
            what = (name, shifted, path)
            assert (b.kind, b.test, b.drifted, b.message) == (
                a.kind,
                a.test,
                a.drifted,
                a.message,
            ), what
            assert (b.reference_rows, b.current_rows) == (a.reference_rows, a.current_rows), what
            assert b.reference_missing == pytest.approx(a.reference_missing), what
            assert b.current_missing == pytest.approx(a.current_missing), what
            assert b.threshold == a.threshold, what
            if a.test is not None:
                _close(path, a, b, n)
