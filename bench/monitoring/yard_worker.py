"""modelyard's side of the drift benchmark: ``yard.monitoring.drift`` with its automatic
choice (the same rules as Evidently's preset), then the HTML report.

    python yard_worker.py REFERENCE.parquet CURRENT.parquet

Times reading both files into pandas (``load_s``) apart from the drift itself
(``drift_s``); ``total_s`` is both. Prints one ``RESULT {json}`` line.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import modelyard as yard


def main() -> None:
    t0 = time.perf_counter()
    ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = yard.monitoring.drift(ref, cur)
    drift_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "drift.html"
        report.to_html(path)
        html_bytes = path.stat().st_size
    html_s = time.perf_counter() - t0
    result = {
        "tool": "modelyard",
        "load_s": load_s,
        "drift_s": drift_s,
        "total_s": load_s + drift_s,
        "html_s": html_s,
        "html_bytes": html_bytes,
        "drifted": sorted(report.drifted_columns),
        "tests": {c.name: c.test for c in report.columns},
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
