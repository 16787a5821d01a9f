"""Validation: every rule type, exact counts, offending rows, and a locked-down SQL engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from modelyard.data.expectations import Expectations
from modelyard.data.frames import to_table
from modelyard.data.profiling import profile_batches
from modelyard.data.validation import validate
from modelyard.errors import InvalidArgument


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6, 7, 8],
            "age": [25, 31, 47, -3, 52, 130, 40, 33],
            "plan": ["basic", "pro", "pro", "gold", "basic", None, "pro", "basic"],
            "email": ["a@x.io", "b@x.io", "bad", "c@x.io", "d@x.io", "e@x.io", "f@x.io", "g@x"],
            "score": [0.1, 0.5, np.nan, 0.7, 0.2, 0.9, np.nan, 0.3],
        }
    )


def _suite(*rules: dict) -> Expectations:
    return Expectations.from_dict({"expectations": list(rules)})


def _one(frame: pd.DataFrame, rule: dict):  # type: ignore[no-untyped-def]
    report = validate(frame, _suite(rule))
    assert len(report.results) == 1
    return report.results[0]


def test_range_counts_and_shows_the_offending_rows(frame: pd.DataFrame) -> None:
    r = _one(frame, {"rule": "range", "column": "age", "min": 0, "max": 120})
    assert not r.ok and r.failing == 2 and r.checked == 8
    assert [row["row"] for row in r.sample] == [3, 5]
    assert [row["age"] for row in r.sample] == [-3, 130]
    assert _one(frame, {"rule": "range", "column": "age", "min": -10, "max": 200}).ok


def test_mostly_tolerates_a_share_of_failures(frame: pd.DataFrame) -> None:
    assert _one(frame, {"rule": "range", "column": "age", "min": 0, "max": 120, "mostly": 0.75}).ok
    assert not _one(
        frame, {"rule": "range", "column": "age", "min": 0, "max": 120, "mostly": 0.8}
    ).ok


def test_missing_values(frame: pd.DataFrame) -> None:
    r = _one(frame, {"rule": "not_null", "column": "score"})
    assert not r.ok and r.failing == 2 and [row["row"] for row in r.sample] == [2, 6]
    assert _one(frame, {"rule": "max_missing_rate", "column": "score", "max": 0.25}).ok
    assert not _one(frame, {"rule": "max_missing_rate", "column": "score", "max": 0.2}).ok
    assert _one(frame, {"rule": "not_null", "column": "id"}).ok


def test_allowed_values_regex_length_and_unique(frame: pd.DataFrame) -> None:
    r = _one(frame, {"rule": "allowed_values", "column": "plan", "values": ["basic", "pro"]})
    assert not r.ok and r.failing == 1 and r.sample[0]["plan"] == "gold"  # None is not checked
    r = _one(frame, {"rule": "regex", "column": "email", "pattern": r"^[^@]+@[^@]+\.[a-z]+$"})
    assert not r.ok and r.failing == 2 and {s["email"] for s in r.sample} == {"bad", "g@x"}
    r = _one(frame, {"rule": "string_length", "column": "email", "min": 4})
    assert not r.ok and r.failing == 2
    assert _one(frame, {"rule": "unique", "column": "id"}).ok
    r = _one(frame, {"rule": "unique", "column": "plan"})
    assert not r.ok and r.failing == 4  # basic x3 and pro x3 -> 4 extra rows


def test_unique_on_high_cardinality_numbers_scans() -> None:
    values = np.arange(5_000, dtype=np.int64)
    values[4_999] = 7
    r = _one(pd.DataFrame({"k": values}), {"rule": "unique", "column": "k"})
    assert not r.ok and r.failing == 1 and sorted(s["row"] for s in r.sample) == [7, 4999]


def test_schema_rules(frame: pd.DataFrame) -> None:
    report = validate(
        frame,
        _suite(
            {"rule": "column_present", "column": "nope"},
            {"rule": "column_absent", "column": "ssn"},
            {"rule": "column_absent", "column": "email"},
            {"rule": "type", "column": "age", "type": "integer"},
            {"rule": "type", "column": "age", "type": "float"},
            {"rule": "range", "column": "nope", "min": 1},
            {"rule": "row_count", "min": 1, "max": 5},
        ),
    )
    assert [r.ok for r in report.results] == [False, True, False, True, False, False, False]
    assert report.results[5].message == "column 'nope' is missing"
    assert not report.ok and len(report.failures) == 5


def test_sql_predicate_and_its_sandbox(frame: pd.DataFrame, tmp_path: Path) -> None:
    r = _one(frame, {"rule": "sql", "predicate": "plan <> 'pro' OR age >= 35", "name": "pros"})
    assert not r.ok and r.failing == 1 and r.label == "sql(pros)" and r.sample[0]["row"] == 1
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    escape = {"rule": "sql", "predicate": f"(SELECT count(*) FROM read_csv('{secret}')) > 0"}
    with pytest.raises(InvalidArgument, match="cannot evaluate a rule"):
        validate(frame, _suite(escape))
    with pytest.raises(InvalidArgument, match="no ';'"):
        _suite({"rule": "sql", "predicate": "1=1; DROP TABLE data"})


def test_parquet_file_is_read_in_place_with_row_numbers(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(to_table(frame), path)
    r = validate(path, _suite({"rule": "range", "column": "age", "min": 0, "max": 120})).results[0]
    assert r.failing == 2 and [s["row"] for s in r.sample] == [3, 5]
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    assert validate(csv, _suite({"rule": "not_null", "column": "id"})).ok


def test_suite_from_profile_passes_its_own_data_and_round_trips(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    table = to_table(frame)
    suite = Expectations.from_profile(profile_batches(table.schema, table.to_batches()))
    assert validate(frame, suite).ok
    path = suite.save(tmp_path / "suite.yaml")
    again = Expectations.load(path)
    assert again.to_dict() == suite.to_dict()
    shifted = frame.assign(age=frame.age + 500)
    failed = validate(shifted, again).failures
    assert "range(age, mostly 0.98)" in [f.label for f in failed]
    assert {(f.rule, f.column) for f in failed} == {("range", "age")}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"rule": "ranged", "column": "a"}, "unknown rule 'ranged'"),
        ({"rule": "range", "min": 1}, "needs a column"),
        ({"rule": "range", "column": "a"}, "needs min or max"),
        ({"rule": "range", "column": "a", "min": 5, "max": 1}, "min 5.0 is above max 1.0"),
        ({"rule": "range", "column": "a", "min": "x"}, "min must be a number"),
        ({"rule": "regex", "column": "a", "pattern": "("}, "not a valid regular expression"),
        ({"rule": "not_null", "column": "a", "mostly": 0.5}, "does not take mostly"),
        ({"rule": "type", "column": "a", "type": "int"}, "type must be one of"),
        ({"rule": "range", "column": "a", "min": 0, "mostly": 2}, r"mostly must be in \[0, 1\]"),
        ({"rule": "allowed_values", "column": "a", "values": []}, "non-empty list"),
    ],
)
def test_bad_rules_name_the_field(rule: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as err:
        _suite(rule)
    assert err.value.field is not None and err.value.field.startswith("expectations[0]")


def test_bad_suite_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="not valid YAML"):
        Expectations.from_yaml("expectations: [unclosed")
    with pytest.raises(InvalidArgument, match="'expectations' list"):
        Expectations.from_yaml("rules: []")
    with pytest.raises(InvalidArgument, match="no suite file"):
        Expectations.load(tmp_path / "missing.yaml")


def test_html_report_escapes_data(frame: pd.DataFrame) -> None:
    evil = frame.assign(plan=["<script>alert(1)</script>", *list(frame.plan[1:])])
    report = validate(evil, _suite({"rule": "allowed_values", "column": "plan", "values": ["pro"]}))
    page = report.to_html()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "FAILED" in page and report.to_dict()["failed"] == 1


def test_sql_predicate_must_be_one_expression(frame: pd.DataFrame) -> None:
    sneaky = "age > 1), false)), count(*) FILTER (WHERE coalesce((true"
    with pytest.raises(InvalidArgument, match="not one SQL expression"):
        validate(frame, _suite({"rule": "sql", "predicate": sneaky}))
    other_table = "age > 0) FROM data, data AS d2 WHERE (true"
    with pytest.raises(InvalidArgument, match="not one SQL expression"):
        validate(frame, _suite({"rule": "sql", "predicate": other_table}))


def test_rules_on_columns_of_the_wrong_type_fail_clearly(frame: pd.DataFrame) -> None:
    report = validate(
        frame,
        _suite(
            {"rule": "range", "column": "plan", "min": 0},
            {"rule": "string_length", "column": "age", "max": 3},
        ),
    )
    assert [r.ok for r in report.results] == [False, False]
    assert report.results[0].message == "range needs a numeric column; 'plan' is string"


def test_dictionary_encoded_and_unusual_numeric_columns() -> None:
    frame = pd.DataFrame(
        {
            "cat": pd.Categorical([1.5, 2.5, None, 2.5]),
            "u": np.array([1, 2, 3, 2**63 + 5], dtype=np.uint64),
            "h": np.array([0.5, 1.5, 2.5, 3.5], dtype=np.float16),
        }
    )
    report = validate(
        frame,
        _suite(
            {"rule": "not_null", "column": "cat"},
            {"rule": "range", "column": "cat", "min": 0, "max": 2},
            {"rule": "range", "column": "u", "min": 0},
            {"rule": "range", "column": "h", "max": 3},
        ),
    )
    assert [(r.ok, r.failing) for r in report.results] == [
        (False, 1),
        (False, 2),
        (True, 0),
        (False, 1),
    ]


def test_columns_named_like_the_row_number(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(to_table(pd.DataFrame({"file_row_number": [5, 6], "v": [1, -1]})), path)
    r = validate(path, _suite({"rule": "range", "column": "v", "min": 0})).results[0]
    assert r.failing == 1 and r.sample[0]["file_row_number"] == 6
    frame = pd.DataFrame({"__row__": [9, 9, 9], "v": [1, -1, 1]})
    r = validate(frame, _suite({"rule": "range", "column": "v", "min": 0})).results[0]
    assert r.sample[0]["row"] == 1 and r.sample[0]["__row__"] == 9


def test_inferred_suite_passes_data_with_infinities() -> None:
    frame = pd.DataFrame({"x": [1.0, np.nan, np.inf, 3.0], "code": [0, 10**9, 0, 10**9]})
    table = to_table(frame)
    profile = profile_batches(table.schema, table.to_batches())
    assert profile["code"].values == {"0": 2, "1000000000": 2}  # sparse codes kept exactly
    assert validate(frame, Expectations.from_profile(profile)).ok


def test_suite_values_that_are_not_rules(frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidArgument, match="unknown rule"):
        Expectations.from_yaml("expectations: [{rule: [1], column: a}]")
    with pytest.raises(InvalidArgument, match="min must be a number"):
        Expectations.from_yaml("expectations: [{rule: range, column: a, min: " + "9" * 400 + "}]")


def test_a_runaway_predicate_is_stopped(
    frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_VALIDATION_TIMEOUT", "0.5")
    forever = "(SELECT count(*) FROM range(1000000000000)) > 0"
    with pytest.raises(InvalidArgument, match="ran longer than 0 s and was stopped"):
        validate(frame, _suite({"rule": "sql", "predicate": forever}))
