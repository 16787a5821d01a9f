"""yard.monitoring.drift: shifted columns are found, equal ones are not (beyond the documented
false-positive rate), and bad input gets a clear message or a documented result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from modelyard.errors import InvalidArgument
from modelyard.monitoring.shift.compute import drift


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    tilted = [0.4, 0.3, 0.2, 0.1] if shift else [0.25] * 4
    return pd.DataFrame(
        {
            "income": rng.normal(50 + 10 * shift, 10, n),
            "age": rng.integers(18, 80, n),
            "score": rng.random(n),
            "plan": rng.choice(["a", "b", "c", "d"], n, p=tilted),
            "churned": rng.random(n) < (0.3 if shift else 0.1),
            "region": rng.choice(["n", "s", "e", "w"], n),
        }
    )


@pytest.mark.parametrize("n", [500, 50_000])  # p-value tests, then distances
def test_shifted_columns_are_found_and_the_others_are_not(n: int) -> None:
    rng = np.random.default_rng(7)
    report = drift(_frame(rng, n), _frame(rng, n, shift=1.0))
    assert set(report.drifted_columns) == {"income", "plan", "churned"}
    assert report.share_drifted == pytest.approx(3 / 6)
    assert report.drifted  # 0.5 of the columns: at the default drift_share
    chosen = {c.name: c.test for c in report.columns}
    if n == 500:
        assert chosen == {
            "income": "ks",
            "age": "ks",
            "score": "ks",
            "plan": "chisquare",
            "churned": "z",
            "region": "chisquare",
        }
    else:
        assert chosen["income"] == "wasserstein" and chosen["plan"] == "jensenshannon"
    income = report["income"]
    assert income.kind == "numeric" and income.reference_rows == n and income.score is not None
    assert income.drifted and income.threshold == (0.05 if n == 500 else 0.1)


@pytest.mark.parametrize(
    ("test", "kind"), [("ks", "numeric"), ("chisquare", "categorical"), ("z", "categorical")]
)
def test_same_distribution_flags_drift_at_about_the_false_positive_rate(
    test: str, kind: str
) -> None:
    """A p-value test at threshold 0.05 flags 5% of same-distribution samples: over 600 pairs
    the share stays within 0.02-0.085 (about four binomial standard deviations)."""
    rng = np.random.default_rng(11)
    flagged = 0
    trials = 600
    for _ in range(trials):
        if kind == "numeric":
            ref, cur = rng.normal(size=300), rng.normal(size=300)
        else:
            k = 4 if test == "chisquare" else 2
            ref, cur = rng.integers(0, k, 300).astype(str), rng.integers(0, k, 300).astype(str)
        report = drift(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), tests=test)
        flagged += report["x"].drifted
    assert 0.02 <= flagged / trials <= 0.085


def test_distances_flag_nothing_for_large_same_distribution_samples() -> None:
    rng = np.random.default_rng(5)
    for _ in range(5):
        report = drift(_frame(rng, 20_000), _frame(rng, 20_000))
        assert report.drifted_columns == [] and report.share_drifted == 0.0
        assert not report.drifted


def test_tests_and_thresholds_are_chosen_per_column() -> None:
    rng = np.random.default_rng(3)
    ref, cur = _frame(rng, 2_000), _frame(rng, 2_000, shift=1.0)
    report = drift(
        ref,
        cur,
        tests={"income": "psi", "plan": "total_variation", "score": "anderson"},
        thresholds={"income": 100.0},
        categorical=["age"],
        drift_share=0.2,
    )
    assert report["income"].test == "psi" and not report["income"].drifted  # threshold 100
    assert report["plan"].test == "total_variation" and report["plan"].drifted
    assert report["age"].kind == "categorical" and report["age"].test == "jensenshannon"
    assert report["score"].test == "anderson" and report["score"].p_value is not None
    assert report.drifted and report.drift_share == 0.2
    every = drift(ref, cur, tests="psi", columns=["income", "score"])
    assert [c.test for c in every.columns] == ["psi", "psi"]


def test_schema_drift_type_changes_missing_values_and_constants() -> None:
    ref = pd.DataFrame(
        {
            "kept": [1.0, 2.0, 3.0] * 100,
            "gone": range(300),
            "zip": [2139, 2140, 2141] * 100,
            "empty": [np.nan] * 300,
            "emptied": [1.5, 2.5, 3.5] * 100,
            "constant": [7.0] * 300,
            "label": ["a"] * 300,
        }
    )
    cur = ref.drop(columns=["gone"]).assign(
        zip=["02139", "02140", "02141"] * 100,
        emptied=[np.nan] * 300,
        new=1,
    )
    report = drift(ref, cur)
    assert report.only_in_reference == ["gone"] and report.only_in_current == ["new"]
    assert report["zip"].drifted and report["zip"].test is None
    assert "type changed: numeric in the reference, categorical now" in report["zip"].message
    assert report["empty"].test is None and not report["empty"].drifted
    assert report["empty"].message == "no values in either table"
    assert report["emptied"].drifted and report["emptied"].current_missing == 1.0
    assert report["emptied"].message == "no values in the current data"
    for name in ("constant", "label", "kept"):  # the same constant (or values) on both sides
        assert not report[name].drifted and report[name].score is not None
    # nothing in the report is NaN presented as a number, and it is plain JSON
    text = orjson.dumps(report.to_dict()).decode()
    assert "NaN" not in text and orjson.loads(text)["drifted_columns"] == report.drifted_columns
    # gone (missing now) counts as a drifted column; new ones are only listed
    assert report.share_drifted == pytest.approx(3 / 7)  # of 6 compared + 1 gone


def test_a_constant_reference_against_a_moved_constant_is_drift() -> None:
    ref, cur = pd.DataFrame({"x": [1.0] * 5_000}), pd.DataFrame({"x": [2.0] * 5_000})
    assert drift(ref, cur)["x"].drifted
    small = drift(ref.head(50), cur.head(50))["x"]
    assert small.test == "z" and small.drifted


def test_bad_input_names_the_field() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]})
    cases = [
        (lambda: drift(frame, frame.head(0)), "current", "no rows"),
        (lambda: drift([1, 2], frame), "reference", "pandas DataFrame or a pyarrow Table"),
        (lambda: drift(frame, frame, tests={"x": "magic"}), "tests.x", "unknown drift test"),
        (lambda: drift(frame, frame, tests={"c": "ks"}), "tests.c", "needs a numeric column"),
        (lambda: drift(frame, frame, thresholds={"nope": 1}), "thresholds", "not compared"),
        (lambda: drift(frame, frame, columns=["x", "y"]), "columns", "not in both"),
        (lambda: drift(frame, frame, drift_share=2), "drift_share", "between 0 and 1"),
    ]
    for call, field, words in cases:
        with pytest.raises(InvalidArgument, match=words) as err:
            call()
        assert err.value.field == field


def test_a_pyarrow_table_is_accepted_and_infinities_count_as_missing() -> None:
    import pyarrow as pa

    ref = pa.table({"x": [1.0, 2.0, float("inf"), 4.0] * 50})
    report = drift(ref, ref)
    assert report["x"].reference_missing == pytest.approx(0.25) and not report["x"].drifted


def test_the_html_report_summarises_100_columns_in_well_under_a_mebibyte(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n = 20_000
    ref = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(90)})
    for i in range(10):
        ref[f"c{i}"] = rng.choice([f"v{j}" for j in range(50)], n)
    ref["<script>alert(1)</script>"] = rng.normal(size=n)
    cur = ref.copy()
    cur["x0"] = cur["x0"] + 2
    report = drift(ref, cur)
    path = tmp_path / "drift.html"
    page = report.to_html(path, title="nightly")
    assert path.read_text() == page
    assert len(page.encode()) < 1024 * 1024
    assert page.count("<svg") == len(report.columns) == 101
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "(other)" in page  # 50 categories: the 10 most frequent and the rest
    first_row = page.index("<tr><td>")
    assert page.index(">x0<", first_row) < page.index(">x1<", first_row)  # drifted first
    x0 = report["x0"].chart
    assert x0 is not None and len(x0["edges"]) == 21
    assert sum(x0["reference"]) == pytest.approx(1.0) and sum(x0["current"]) == pytest.approx(1.0)


def test_a_moved_share_of_missing_values_is_reported_apart() -> None:
    rng = np.random.default_rng(9)
    n = 5_000
    income = rng.normal(50, 10, n)
    ref = pd.DataFrame({"income": income, "age": rng.normal(40, 5, n)})
    cur = ref.copy()
    cur.loc[: n // 5, "income"] = np.nan  # a fifth goes missing; the rest is the same
    cur.loc[:10, "age"] = np.nan  # a handful: noise
    report = drift(ref, cur)
    assert report.missing_drifted_columns == ["income"]
    assert report["income"].missing_drifted and not report["age"].missing_drifted
    assert report.to_dict()["columns"][0]["missing_drifted"] is True
    assert "Missing values moved in: income" in report.to_html()


SCALES = [(1.0, 0.0), (1e-3, 0.0), (1e-6, 0.0), (1e-9, 0.0), (1e-9, 1.0), (1e-6, 1e3)]


@pytest.mark.parametrize(("std", "offset"), SCALES)
def test_the_normed_wasserstein_score_is_the_same_in_any_unit(
    std: float, offset: float, tmp_path: Path
) -> None:
    """A 3-sigma shift is drift however small the column's unit (it scored 3e-6 at std 1e-9
    when the spread was floored at 0.001), in memory and from a file; same-distribution
    samples are flagged at the rate they are at std 1 (measured: 0 to 0.3% of 300 pairs of
    2,000 rows at each scale here, as at std 1)."""
    rng = np.random.default_rng(21)
    z_ref, z_cur = rng.normal(size=2_000), rng.normal(size=2_000)
    ref = pd.DataFrame({"x": offset + std * z_ref})
    unit = drift(pd.DataFrame({"x": z_ref}), pd.DataFrame({"x": z_cur + 3}))["x"]
    moved = pd.DataFrame({"x": offset + std * (z_cur + 3)})
    path = tmp_path / "moved.parquet"
    moved.to_parquet(path)
    for current in (moved, path):
        found = drift(ref, current)["x"]
        assert found.test == "wasserstein" and found.drifted
        assert found.score == pytest.approx(unit.score, rel=0.03)
    flagged = 0
    for _ in range(60):
        same = drift(ref, pd.DataFrame({"x": offset + std * rng.normal(size=2_000)}))["x"]
        flagged += same.drifted
    assert flagged <= 2  # at most 3%; at std 1 these pairs flag 0-0.3%


def test_an_all_zero_reference_against_moved_values_is_drift_of_infinite_score() -> None:
    zeros = pd.DataFrame({"x": np.zeros(2_000)})
    moved = drift(zeros, pd.DataFrame({"x": np.linspace(0, 1e-12, 2_000)}), tests="wasserstein")
    assert moved["x"].drifted and moved["x"].score == np.inf
    assert moved.to_dict()["columns"][0]["score"] == "inf"
    same = drift(zeros, zeros, tests="wasserstein")["x"]
    assert not same.drifted and same.score == 0.0


def test_a_profile_never_claims_a_spread_finer_than_its_buckets() -> None:
    """A profile keeps values in buckets 1/128 of the values wide: around 1.0 it cannot see a
    spread of 1e-9, so its score is in units of a bucket, not of the spread (which made the
    same data score 1.8, drifted), while the raw reference sees the 3-sigma shift."""
    from modelyard.data import profile

    rng = np.random.default_rng(8)
    ref = pd.DataFrame({"x": 1.0 + 1e-9 * rng.normal(size=5_000)})
    again = pd.DataFrame({"x": 1.0 + 1e-9 * rng.normal(size=5_000)})
    moved = pd.DataFrame({"x": 1.0 + 1e-9 * (rng.normal(size=5_000) + 3)})
    assert not drift(profile(ref), again)["x"].drifted
    assert drift(ref, moved)["x"].drifted and not drift(ref, again)["x"].drifted
    wide = pd.DataFrame({"x": rng.normal(0, 1, 5_000)})  # buckets far finer than the spread
    assert drift(profile(wide), wide + 3)["x"].score == pytest.approx(3.0, rel=0.05)
