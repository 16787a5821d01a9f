"""The pandera side of the data benchmark; runs in pandera's own venv, never in modelyard's.

    python pandera_worker.py DATA.parquet CHECKS.json

Reads the Parquet file into pandas (``pd.read_parquet``, pyarrow engine, pandas' default
dtypes), builds a ``DataFrameSchema`` from the check spec (see ``checks.py``) with pandera's
built-in checks, validates with ``lazy=True`` and prints one ``RESULT {json}`` line. Each phase
is timed on its own; ``total_s`` is their sum (imports excluded, as on every side).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checks as spec_mod
import pandas as pd
import pandera
import pandera.pandas as pa
from pandera.errors import SchemaErrors

# the spec's types as pandera dtypes: float64, int64, and pandera's string type, which accepts
# pandas 3's default ``str`` dtype (and ``object`` strings under pandas 2)
DTYPES: dict[str, Any] = {"float": "float64", "integer": "int64", "string": str}


def _missing_rate(limit: float) -> pa.Check:
    # pandera has no built-in missing-rate check; ignore_na=False so that the nulls reach it
    return pa.Check(lambda s: bool(s.isna().mean() <= limit), ignore_na=False, name="missing_rate")


def _row_count(low: int, high: int) -> pa.Check:
    # a dataframe-level check: pandera has no built-in row-count check either
    return pa.Check(lambda df: low <= len(df) <= high, name="row_count")


def build_schema(spec: list[dict[str, Any]]) -> pa.DataFrameSchema:
    types = spec_mod.columns(spec)
    col_checks: dict[str, list[pa.Check]] = {name: [] for name in types}
    nullable = dict.fromkeys(types, True)
    frame_checks: list[pa.Check] = []
    for c in spec:
        kind = c["check"]
        if kind == "row_count":
            frame_checks.append(_row_count(c["min"], c["max"]))
        elif kind == "type":
            continue
        elif kind == "not_null":
            nullable[c["column"]] = False
        elif kind == "missing_rate":
            col_checks[c["column"]].append(_missing_rate(c["max"]))
        elif kind == "between":
            col_checks[c["column"]].append(pa.Check.in_range(c["min"], c["max"]))
        elif kind == "in_set":
            col_checks[c["column"]].append(pa.Check.isin(c["values"]))
        elif kind == "regex":
            col_checks[c["column"]].append(pa.Check.str_matches(c["pattern"]))
        elif kind == "str_length":
            col_checks[c["column"]].append(pa.Check.str_length(c["min"], c["max"]))
        else:
            raise ValueError(f"unknown check {c!r}")
    columns = {
        name: pa.Column(DTYPES[t], checks=col_checks[name], nullable=nullable[name])
        for name, t in types.items()
    }
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, coerce=False)


def main() -> None:
    data, spec_path = sys.argv[1], sys.argv[2]
    spec = spec_mod.load(spec_path)

    t0 = time.perf_counter()
    df = pd.read_parquet(data)
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    schema = build_schema(spec)
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    failed: list[str] = []
    cases = 0
    try:
        schema.validate(df, lazy=True)
    except SchemaErrors as exc:
        fc = exc.failure_cases
        cases = len(fc)
        pairs = fc[["column", "check"]].astype(str).drop_duplicates()
        # one entry per failed check, by pandera's check name without its arguments
        failed = sorted({f"{col}:{chk.split('(')[0]}" for col, chk in pairs.itertuples(False)})
    validate_s = time.perf_counter() - t0

    n_checks = len(spec)
    result = {
        "tool": "pandera",
        "version": pandera.__version__,
        "pandas": pd.__version__,
        "rows": len(df),
        "columns": df.shape[1],
        "n_checks": n_checks,
        "load_s": load_s,
        "build_s": build_s,
        "validate_s": validate_s,
        "total_s": load_s + build_s + validate_s,
        "ok": not failed,
        "failures": len(failed),
        "failed": failed,
        "failure_cases": cases,
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
