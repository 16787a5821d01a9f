"""Evidently's side of the drift benchmark; runs in Evidently's own venv (see
bench/data/peers.py).

    python evidently_worker.py REFERENCE.parquet CURRENT.parquet [--html]

``DataDriftPreset()`` with its defaults (its automatic test choice, thresholds and drift
share), columns declared numerical (floats) and categorical (text) in a ``DataDefinition``,
``include_tests=True`` so that each column's verdict (a FAIL of its drift test) can be read.
``drift_s`` is the data definition plus ``Report.run``; ``--html`` renders the report to a
string outside the timing and reports its size. Prints one ``RESULT {json}`` line.
"""

from __future__ import annotations

import json
import re
import sys
import time

import evidently
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

METHOD = re.compile(r"method is (.+?)\. The drift threshold is ([\d.eE+-]+)\.")


def main() -> None:
    html = "--html" in sys.argv
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    t0 = time.perf_counter()
    ref, cur = pd.read_parquet(paths[0]), pd.read_parquet(paths[1])
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    numerical = [c for c in ref.columns if ref[c].dtype.kind == "f"]
    categorical = [c for c in ref.columns if c not in numerical]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()], include_tests=True).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    drift_s = time.perf_counter() - t0

    columns, dataset = {}, {}
    for result in snapshot.metric_results.values():
        params = result.metric_value_location.metric.params
        kind = str(params.get("type", ""))
        if kind.endswith("ValueDrift"):
            test = result.tests[0] if result.tests else None
            found = METHOD.search(test.description) if test else None
            columns[params["column"]] = {
                "score": float(result.value),
                "drifted": bool(test and test.status.value == "FAIL"),
                "method": found.group(1) if found else None,
            }
        elif kind.endswith("DriftedColumnsCount"):
            dataset = {"count": result.count.value, "share": result.share.value}
    html_bytes = None
    if html:
        html_bytes = len(snapshot.get_html_str(as_iframe=False).encode())
    result = {
        "tool": "evidently",
        "version": evidently.__version__,
        "load_s": load_s,
        "drift_s": drift_s,
        "total_s": load_s + drift_s,
        "html_bytes": html_bytes,
        "drifted": sorted(c for c, r in columns.items() if r["drifted"]),
        "tests": {c: r["method"] for c, r in columns.items()},
        "dataset": dataset,
        "columns_seen": len(columns),
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
