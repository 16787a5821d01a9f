"""Checking data against an expectation suite: exact answers, most of them without a scan.

One streaming pass profiles the columns the suite names; every rule the profile settles
exactly (missing counts, min/max against a range, value counts of low-cardinality columns,
string lengths, row count) is decided from it. What remains (and every failing rule, for its
offending rows) is one DuckDB aggregate over the data, read in place from Parquet. DuckDB runs
with file access locked to the data file, so a custom SQL predicate cannot reach anything else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from modelyard.data.duck import DataSql, literal, quote
from modelyard.data.expectations import ROW_RULES, Expectation, Expectations
from modelyard.data.frames import tabular_source
from modelyard.data.profiling import ColumnProfile, Profile, profile_batches
from modelyard.data.rule_result import RuleResult
from modelyard.data.types import logical_type
from modelyard.data.validation_html import validation_html
from modelyard.errors import InvalidArgument

SAMPLE_ROWS = 5


@dataclass
class ValidationReport:
    results: list[RuleResult]
    num_rows: int
    columns: list[str]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "num_rows": self.num_rows,
            "rules": len(self.results),
            "failed": len(self.failures),
            "results": [r.to_dict() for r in self.results],
        }

    def to_html(self, title: str = "Validation report") -> str:
        return validation_html(self.results, self.num_rows, self.columns, title)

    def __repr__(self) -> str:
        failed = len(self.failures)
        return f"ValidationReport(ok={self.ok}, rules={len(self.results)}, failed={failed})"


# --- the source ---------------------------------------------------------------------------
# --- rules --------------------------------------------------------------------------------
def _missing_predicate(col: str, kind: str) -> str:
    q = quote(col)
    return f"({q} IS NULL OR isnan({q}))" if kind == "float" else f"{q} IS NULL"


def _present(col: str, kind: str) -> str:
    q = quote(col)
    return f"({q} IS NOT NULL AND NOT isnan({q}))" if kind == "float" else f"{q} IS NOT NULL"


def _violation(e: Expectation, kind: str) -> str:
    """SQL true for the rows that break a row-level rule (missing values never do)."""
    p = e.params
    if e.rule == "sql":
        return f"NOT coalesce(({p['predicate']}), false)"
    assert e.column is not None
    q = quote(e.column)
    present = _present(e.column, kind)
    if e.rule == "range":
        return f"{present} AND {_outside(q, p)}"
    if e.rule == "allowed_values":
        values = ", ".join(literal(v) for v in p["values"])
        cast = f"CAST({q} AS VARCHAR)" if kind == "string" else q
        return f"{present} AND {cast} NOT IN ({values})"
    if e.rule == "regex":
        return f"{present} AND NOT regexp_matches(CAST({q} AS VARCHAR), {literal(p['pattern'])})"
    if e.rule == "string_length":
        return f"{present} AND {_outside(f'length(CAST({q} AS VARCHAR))', p)}"
    raise AssertionError(e.rule)


def _outside(value: str, p: dict[str, Any]) -> str:
    """SQL true when ``value`` is below ``p['min']`` or above ``p['max']`` (either optional)."""
    checks = []
    if p.get("min") is not None:
        checks.append(f"{value} < {literal(p['min'])}")
    if p.get("max") is not None:
        checks.append(f"{value} > {literal(p['max'])}")
    return f"({' OR '.join(checks)})"


def _from_profile(e: Expectation, col: ColumnProfile) -> int | None:
    """Failing rows, when the profile settles them exactly; None when a scan must."""
    p = e.params
    if e.rule == "range":
        lo, hi = p.get("min"), p.get("max")
        if col.type not in ("integer", "float"):
            return None
        if col.min is None:
            return col.infinite if col.infinite == 0 else None
        inside = (lo is None or col.min >= lo) and (hi is None or col.max <= hi)
        if inside and col.infinite == 0:
            return 0
        return None
    if e.rule == "string_length":
        if col.min_length is None:
            return 0 if col.type == "string" else None
        lo, hi = p.get("min"), p.get("max")
        if (lo is None or col.min_length >= lo) and (hi is None or col.max_length <= hi):
            return 0
        if col.values is not None:
            return sum(
                n
                for v, n in col.values.items()
                if (lo is not None and len(v) < lo) or (hi is not None and len(v) > hi)
            )
        return None
    if e.rule == "regex" and col.values is not None and col.type == "string":
        return _regex_failures(col.values, str(p["pattern"]))
    if e.rule == "allowed_values" and col.values is not None:
        if col.type == "string":
            allowed = {str(v) for v in p["values"]}
        elif col.type == "boolean":
            allowed = {str(v).lower() for v in p["values"]}
        elif col.type == "integer":
            allowed = {str(int(v)) for v in p["values"] if _is_int(v)}
        else:
            allowed = {repr(float(v)) for v in p["values"] if isinstance(v, int | float)}
        return sum(n for v, n in col.values.items() if v not in allowed)
    return None


def _regex_failures(values: dict[str, int], pattern: str) -> int:
    """Rows failing a regex, from the exact value counts: one match per distinct value, with
    RE2 (Arrow's engine, the one DuckDB's full scan uses too)."""
    import pyarrow.compute as pc

    try:
        matched = pc.match_substring_regex(pa.array(list(values), type=pa.string()), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidArgument(f"cannot evaluate regex {pattern!r}: {exc}", field="pattern") from exc
    return sum(n for n, ok in zip(values.values(), matched.to_pylist(), strict=True) if not ok)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _result(e: Expectation, ok: bool, observed: Any, expected: Any, **kw: Any) -> RuleResult:
    return RuleResult(e.rule, e.column, e.label, ok, observed, expected, **kw)


def _expected(e: Expectation) -> Any:
    p = {k: v for k, v in e.params.items() if k != "name"}
    return p or True


def validate(
    data: Any,
    suite: Expectations,
    *,
    sample_size: int = SAMPLE_ROWS,
    profile: Profile | None = None,
) -> ValidationReport:
    """Check ``data`` (DataFrame, Arrow table, Parquet/CSV path) against ``suite``."""
    if not isinstance(suite, Expectations):
        raise InvalidArgument("suite must be an Expectations object", field="suite")
    source = tabular_source(data)
    kinds = {f.name: logical_type(f.type, f.name) for f in source.schema}
    zoned = {f.name for f in source.schema if kinds[f.name] == "timestamp" and _has_zone(f.type)}
    needed = sorted({e.column for e in suite.rules if e.column is not None and e.column in kinds})
    if profile is None or any(c not in profile.columns for c in needed):
        sub = pa.schema([source.schema.field(c) for c in needed])
        batches = source.batches(columns=needed)
        profile = profile_batches(sub, batches, lean=True) if needed else None
    results: list[RuleResult | None] = []
    pending: list[tuple[int, Expectation, str]] = []  # (slot, rule, violation predicate)
    for e in suite.rules:
        results.append(_decide(e, kinds, zoned, profile, source.num_rows, pending, len(results)))
    duck = DataSql(source) if pending or any(r is not None and not r.ok for r in results) else None
    try:
        if duck is not None:
            _run_scans(duck, suite, results, pending, kinds, profile, source.num_rows)
            _add_samples(duck, suite, results, kinds, sample_size)
    finally:
        if duck is not None:
            duck.close()
    final = [r for r in results if r is not None]
    return ValidationReport(final, source.num_rows, list(kinds))


def _has_zone(kind: pa.DataType) -> bool:
    return (kind.value_type if pa.types.is_dictionary(kind) else kind).tz is not None


def _decide(
    e: Expectation,
    kinds: dict[str, str],
    zoned: set[str],
    profile: Profile | None,
    num_rows: int,
    pending: list[tuple[int, Expectation, str]],
    slot: int,
) -> RuleResult | None:
    p = e.params
    if e.rule == "row_count":
        lo, hi = p.get("min"), p.get("max")
        ok = (lo is None or num_rows >= lo) and (hi is None or num_rows <= hi)
        return _result(e, ok, num_rows, _expected(e), checked=num_rows)
    if e.rule == "sql":
        pending.append((slot, e, _violation(e, "")))
        return None
    assert e.column is not None
    if e.rule == "column_absent":
        present = e.column in kinds
        return _result(e, not present, "present" if present else "absent", "absent")
    if e.column not in kinds:
        return _result(
            e, False, "missing column", _expected(e), message=f"column {e.column!r} is missing"
        )
    kind = kinds[e.column]
    if e.rule == "column_present":
        return _result(e, True, "present", "present")
    if e.rule == "type" and "zoned" in p and kind == p["type"]:  # a lost (or new) time zone
        has = e.column in zoned
        words = {True: "timestamp with a time zone", False: "timestamp without a time zone"}
        return _result(e, has == p["zoned"], words[has], words[bool(p["zoned"])])
    if e.rule == "type":
        return _result(e, kind == p["type"], kind, p["type"])
    assert profile is not None
    col = profile.columns[e.column]
    if e.rule in ("not_null", "max_missing_rate"):
        limit = 0.0 if e.rule == "not_null" else float(p["max"])
        ok = col.missing_rate <= limit
        observed = col.missing if e.rule == "not_null" else round(col.missing_rate, 6)
        return _result(e, ok, observed, _expected(e), failing=col.missing, checked=col.count)
    if e.rule == "unique":
        if col.values is not None:
            dupes = sum(n - 1 for n in col.values.values() if n > 1)
            return _result(
                e, dupes == 0, f"{dupes} duplicate values", True, failing=dupes, checked=col.present
            )
        pending.append((slot, e, ""))
        return None
    wrong = _wrong_type(e, kind)
    if wrong:
        return _result(e, False, f"a {kind} column", _expected(e), message=wrong)
    if e.rule in ROW_RULES:
        failing = _from_profile(e, col)
        if failing is not None:
            return _row_result(e, failing, col.present)
        pending.append((slot, e, _violation(e, kind)))
        return None
    raise AssertionError(e.rule)


def _wrong_type(e: Expectation, kind: str) -> str:
    """Why a rule cannot apply to a column of this type ('' when it can)."""
    if e.rule == "range" and kind not in ("integer", "float"):
        return f"range needs a numeric column; {e.column!r} is {kind}"
    if e.rule in ("string_length", "regex") and kind != "string":
        return f"{e.rule} needs a string column; {e.column!r} is {kind}"
    return ""


def _row_result(e: Expectation, failing: int, checked: int) -> RuleResult:
    allowed = math.floor((1.0 - e.mostly) * checked + 1e-9)
    share = 1.0 - failing / checked if checked else 1.0
    return _result(
        e,
        failing <= allowed,
        f"{failing} of {checked} rows fail",
        _expected(e),
        failing=failing,
        checked=checked,
        message="" if failing <= allowed else f"{share:.4%} of rows pass, need {e.mostly:.4%}",
    )


def _run_scans(
    duck: DataSql,
    suite: Expectations,
    results: list[RuleResult | None],
    pending: list[tuple[int, Expectation, str]],
    kinds: dict[str, str],
    profile: Profile | None,
    num_rows: int,
) -> None:
    scans = [(slot, e, pred) for slot, e, pred in pending if e.rule not in ("unique", "sql")]
    counts = duck.counts([pred for _, _, pred in scans])
    for slot, e, pred in pending:
        if e.rule == "sql":
            duck.check_predicate(str(e.params["predicate"]))
            scans.append((slot, e, pred))
            counts.append(duck.count(pred))
    for (slot, e, _), failing in zip(scans, counts, strict=True):
        checked = num_rows if e.column is None else profile.columns[e.column].present  # type: ignore[union-attr]
        results[slot] = _row_result(e, failing, checked)
    for slot, e, _ in pending:
        if e.rule != "unique":
            continue
        assert e.column is not None
        q = quote(e.column)
        present = _present(e.column, kinds[e.column])
        distinct = int(duck.scalar(f"SELECT count(DISTINCT {q}) FROM data WHERE {present}"))
        checked = profile.columns[e.column].present  # type: ignore[union-attr]
        dupes = checked - distinct
        results[slot] = _result(
            e, dupes == 0, f"{dupes} duplicate values", True, failing=dupes, checked=checked
        )


def _add_samples(
    duck: DataSql,
    suite: Expectations,
    results: list[RuleResult | None],
    kinds: dict[str, str],
    sample_size: int,
) -> None:
    if sample_size <= 0:
        return
    for e, r in zip(suite.rules, results, strict=True):
        if r is None or r.ok or r.failing == 0:
            continue
        if e.column is not None and e.column not in kinds:
            continue
        if e.rule in ("not_null", "max_missing_rate"):
            assert e.column is not None
            predicate = _missing_predicate(e.column, kinds[e.column])
        elif e.rule == "unique":
            assert e.column is not None
            q = quote(e.column)
            predicate = f"{q} IN (SELECT {q} FROM data GROUP BY {q} HAVING count(*) > 1)"
        elif e.rule in ROW_RULES:
            predicate = _violation(e, kinds.get(e.column or "", ""))
        else:
            continue
        r.sample = duck.sample(predicate, sample_size)
