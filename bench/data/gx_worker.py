"""The Great Expectations side of the data benchmark; runs in GX's own venv, never in modelyard's.

    python gx_worker.py DATA.parquet CHECKS.json [RESULT_FORMAT]

Reads the Parquet file into pandas (``pd.read_parquet``, pandas' default dtypes), then builds
an ephemeral data context with a pandas datasource, a dataframe asset, a whole-frame batch and
an expectation suite made from the check spec (see ``checks.py``), validates the batch against
the suite and prints one ``RESULT {json}`` line. ``RESULT_FORMAT`` is GX's result format,
``BOOLEAN_ONLY`` by default: pass/fail only, GX's cheapest, which is all the benchmark asks
(``SUMMARY`` also collects example failing values). Each phase is timed on its own;
``total_s`` is their sum (imports excluded, as on every side).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import checks as spec_mod
import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

# the spec's types as GX's pandas type names; "str" matches pandas 3's default ``str`` dtype
# (and, element by element, ``object`` columns of Python strings under pandas 2)
TYPES = {"float": "float64", "integer": "int64", "string": "str"}


def expectation(c: dict[str, Any]) -> gxe.Expectation:
    kind = c["check"]
    if kind == "row_count":
        return gxe.ExpectTableRowCountToBeBetween(min_value=c["min"], max_value=c["max"])
    col = c["column"]
    if kind == "type":
        return gxe.ExpectColumnValuesToBeOfType(column=col, type_=TYPES[c["type"]])
    if kind == "missing_rate":
        # "at least 1 - max of the values are not null" is "at most max are null"
        return gxe.ExpectColumnValuesToNotBeNull(column=col, mostly=1.0 - c["max"])
    if kind == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(column=col)
    if kind == "between":
        return gxe.ExpectColumnValuesToBeBetween(column=col, min_value=c["min"], max_value=c["max"])
    if kind == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(column=col, value_set=c["values"])
    if kind == "regex":
        return gxe.ExpectColumnValuesToMatchRegex(column=col, regex=c["pattern"])
    if kind == "str_length":
        return gxe.ExpectColumnValueLengthsToBeBetween(
            column=col, min_value=c["min"], max_value=c["max"]
        )
    raise ValueError(f"unknown check {c!r}")


def main() -> None:
    data, spec_path = sys.argv[1], sys.argv[2]
    result_format = sys.argv[3] if len(sys.argv) > 3 else "BOOLEAN_ONLY"
    spec = spec_mod.load(spec_path)

    t0 = time.perf_counter()
    df = pd.read_parquet(data)
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("bench").add_dataframe_asset("table")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    # the whole suite at once: suite.add_expectation() on a suite already in the context
    # re-serialises the suite into the store on every call (~1.7 s for 93 expectations)
    suite = gx.ExpectationSuite(name="checks", expectations=[expectation(c) for c in spec])
    suite = context.suites.add(suite)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    outcome = batch.validate(suite, result_format=result_format)
    validate_s = time.perf_counter() - t0

    failed, errors = [], []
    for r in outcome.results:
        cfg = r.expectation_config
        name = f"{cfg.kwargs.get('column') or 'table'}:{cfg.type}"
        if not r.success:
            failed.append(name)
        info = r.exception_info or {}
        if info.get("raised_exception"):
            errors.append(f"{name}: {info.get('exception_message')}")
    result = {
        "tool": "great_expectations",
        "version": gx.__version__,
        "pandas": pd.__version__,
        "result_format": result_format,
        "rows": len(df),
        "columns": df.shape[1],
        "n_checks": len(outcome.results),
        "load_s": load_s,
        "build_s": build_s,
        "validate_s": validate_s,
        "total_s": load_s + build_s + validate_s,
        "ok": bool(outcome.success),
        "failures": len(failed),
        "failed": sorted(failed),
        "errors": errors,
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
