"""modelyard's side of the data benchmark: validate, profile, or both, on one Parquet file.

    .venv/bin/python bench/data/yard_worker.py DATA.parquet CHECKS.json validate|profile|both

The Parquet file is read in place (streamed in record batches), never loaded whole. Prints one
``RESULT {json}`` line; imports are not timed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import checks as spec_mod  # noqa: E402

from modelyard.data.expectations import Expectations  # noqa: E402
from modelyard.data.fluent import profile  # noqa: E402
from modelyard.data.validation import validate  # noqa: E402

RULES = {
    "row_count": lambda c: {"rule": "row_count", "min": c["min"], "max": c["max"]},
    "type": lambda c: {"rule": "type", "column": c["column"], "type": c["type"]},
    "missing_rate": lambda c: {"rule": "max_missing_rate", "column": c["column"], "max": c["max"]},
    "not_null": lambda c: {"rule": "not_null", "column": c["column"]},
    "between": lambda c: {"rule": "range", "column": c["column"], "min": c["min"], "max": c["max"]},
    "in_set": lambda c: {"rule": "allowed_values", "column": c["column"], "values": c["values"]},
    "regex": lambda c: {"rule": "regex", "column": c["column"], "pattern": c["pattern"]},
    "str_length": lambda c: {
        "rule": "string_length",
        "column": c["column"],
        "min": c["min"],
        "max": c["max"],
    },
}


def suite_from(spec: list[dict[str, Any]]) -> Expectations:
    return Expectations.from_dict({"expectations": [RULES[c["check"]](c) for c in spec]})


def main() -> None:
    data, spec_path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    suite = suite_from(spec_mod.load(spec_path))
    result: dict[str, Any] = {"tool": "modelyard", "mode": mode, "n_checks": len(suite)}
    t0 = time.perf_counter()
    prof = None
    if mode in ("profile", "both"):
        prof = profile(data)
        result["profile_s"] = time.perf_counter() - t0
        result["rows"] = prof.num_rows
        result["columns"] = len(prof.columns)
    if mode in ("validate", "both"):
        t1 = time.perf_counter()
        report = validate(data, suite, profile=prof)
        result["validate_s"] = time.perf_counter() - t1
        result["ok"] = report.ok
        result["failures"] = len(report.failures)
        result["failed"] = [f.label for f in report.failures]
        result["rows"] = report.num_rows
    result["load_s"] = 0.0
    result["total_s"] = time.perf_counter() - t0
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
