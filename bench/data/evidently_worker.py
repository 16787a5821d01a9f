"""The Evidently side of the data benchmark (profiling); runs in Evidently's own venv.

    python evidently_worker.py DATA.parquet CHECKS.json [value_stats|preset] [--html]

Reads the Parquet file into pandas (``pd.read_parquet``, pandas' default dtypes), wraps it in an
Evidently ``Dataset`` whose data definition declares the spec's float and integer columns
numerical and its string columns categorical (see ``checks.py``), then profiles every column:

- ``value_stats`` (default): a ``Report`` of one ``ValueStats`` per column, Evidently 0.7's
  column summary: row count, missing count and share; for numerical columns min, max, mean,
  std and the 0.25/0.5/0.75 quantiles; for categorical columns the count of every value.
- ``preset``: ``DataSummaryPreset``, the same per-column ``ValueStats`` plus ``DatasetStats``
  (duplicated rows and columns, constant and empty columns, ...), for reference.

``profile_s`` is the data definition plus ``Report.run``; Evidently builds each metric's
widgets inside ``run``, so they are part of it. No HTML is rendered unless ``--html`` is given;
its time is then reported as ``html_s``, outside ``total_s``. Prints one ``RESULT {json}`` line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checks as spec_mod
import evidently
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataSummaryPreset, ValueStats

MODES = ("value_stats", "preset")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    html = "--html" in sys.argv[1:]
    data, spec_path = args[0], args[1]
    mode = args[2] if len(args) > 2 else "value_stats"
    if mode not in MODES:
        raise SystemExit(f"mode must be one of {MODES}, not {mode!r}")
    types = spec_mod.columns(spec_mod.load(spec_path))
    numerical = [c for c, t in types.items() if t in ("float", "integer")]
    categorical = [c for c, t in types.items() if t == "string"]

    t0 = time.perf_counter()
    df = pd.read_parquet(data)
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    dataset = Dataset.from_pandas(df, data_definition=definition)
    if mode == "value_stats":
        report = Report([ValueStats(column=c) for c in types])
    else:
        report = Report([DataSummaryPreset()])
    snapshot = report.run(dataset, None)
    profile_s = time.perf_counter() - t0

    html_s: float | None = None
    html_bytes: int | None = None
    if html:
        t0 = time.perf_counter()
        html_bytes = len(snapshot.get_html_str(as_iframe=False).encode())
        html_s = time.perf_counter() - t0

    # outside the timing: every column was profiled, and no metric test failed
    metrics = snapshot.dict()["metrics"]
    profiled = {m["config"].get("column") for m in metrics} & set(types)
    missing = sorted(set(types) - profiled)
    failed_tests = [t for t in snapshot.tests_results if t.status.value in ("FAIL", "ERROR")]
    result: dict[str, Any] = {
        "tool": "evidently",
        "version": evidently.__version__,
        "pandas": pd.__version__,
        "mode": mode,
        "rows": len(df),
        "columns": df.shape[1],
        "n_metrics": len(metrics),
        "columns_profiled": len(profiled),
        "load_s": load_s,
        "profile_s": profile_s,
        "total_s": load_s + profile_s,
        "html_s": html_s,
        "html_bytes": html_bytes,
        "ok": not missing and not failed_tests,
        "failures": len(missing) + len(failed_tests),
        "not_profiled": missing,
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
