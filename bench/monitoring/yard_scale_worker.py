"""modelyard alone at scale: ``yard.monitoring.drift(reference_frame, "current.parquet")``,
the current file read in parts (bounded memory).

    python yard_scale_worker.py REFERENCE.parquet CURRENT.parquet

``total_s`` is reading the reference into pandas plus the drift (which reads the current
file itself). Prints one ``RESULT {json}`` line; the runner takes the peak RSS from wait4.
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd
import pyarrow.parquet as pq

import modelyard as yard


def main() -> None:
    t0 = time.perf_counter()
    ref = pd.read_parquet(sys.argv[1])
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = yard.monitoring.drift(ref, sys.argv[2])
    drift_s = time.perf_counter() - t0
    meta = pq.ParquetFile(sys.argv[2]).metadata
    result = {
        "tool": "modelyard",
        "reference_rows": len(ref),
        "current_rows": meta.num_rows,
        "columns": meta.num_columns,
        "load_s": load_s,
        "drift_s": drift_s,
        "total_s": load_s + drift_s,
        "drifted": sorted(report.drifted_columns),
        "html_bytes": len(report.to_html().encode()),
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
