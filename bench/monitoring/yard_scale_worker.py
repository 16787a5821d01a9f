"""modelyard alone at scale: ``yard.monitoring.drift("reference.parquet", "current.parquet")``:
the reference read a column group at a time and kept as bins, the current file read in
parts, so neither is ever whole in memory.

    python yard_scale_worker.py REFERENCE.parquet CURRENT.parquet

``total_s`` is the whole drift, both files read by it. Prints one ``RESULT {json}`` line;
the runner takes the peak RSS from wait4.
"""

from __future__ import annotations

import json
import sys
import time

import pyarrow.parquet as pq

import modelyard as yard


def main() -> None:
    t0 = time.perf_counter()
    report = yard.monitoring.drift(sys.argv[1], sys.argv[2])
    drift_s = time.perf_counter() - t0
    meta = pq.ParquetFile(sys.argv[2]).metadata
    result = {
        "tool": "modelyard",
        "reference_rows": report.reference_rows,
        "current_rows": meta.num_rows,
        "columns": meta.num_columns,
        "drift_s": drift_s,
        "total_s": drift_s,
        "drifted": sorted(report.drifted_columns),
        "html_bytes": len(report.to_html().encode()),
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
