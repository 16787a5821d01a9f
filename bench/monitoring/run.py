"""The drift benchmark: modelyard beside Evidently (and the numpy/scipy floor), same data,
same run.

    .venv/bin/python bench/monitoring/run.py [--rows N] [--rounds R] [--markdown]

Reference and current tables of ``--rows`` rows (100,000), 20 numeric and 5 categorical
columns, 5 of them shifted (drift_data.py). Each tool runs in a fresh process per round, tools
interleaved (A B C A B C ...): Evidently's ``DataDriftPreset`` in its own venv (see
bench/data/peers.py), ``yard.monitoring.drift`` and the plain numpy/scipy floor in
modelyard's. Figures are medians over rounds of the drift seconds (reading the Parquet
files into pandas is apart) and of the worker's peak RSS. Every tool must flag exactly the 5
shifted columns. Evidently's HTML is rendered once, outside the timing, for its size.
Results: bench/results/monitoring-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
REPO = BENCH.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "data"))

import drift_data  # noqa: E402
import peers  # noqa: E402
from rich.console import Console  # noqa: E402

import common  # noqa: E402

YARD_PYTHON = REPO / ".venv" / "bin" / "python"
DATA_DIR = Path(os.environ.get("BENCH_MONITORING_DIR", "/tmp/bench-monitoring"))
TIMEOUT = 1800
console = Console(width=None if sys.stdout.isatty() else 150)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument(
        "--scale-rows", type=int, default=10_000_000, help="current rows of the wide run; 0: none"
    )
    parser.add_argument("--scale-reference", type=int, default=1_000_000)
    opts = parser.parse_args()
    evidently = peers.ensure(peers.EVIDENTLY, console.log)
    console.log(f"writing {opts.rows:,}-row tables to {DATA_DIR}")
    ref, cur = drift_data.write(DATA_DIR, opts.rows)
    args = [str(ref), str(cur)]
    workers = {
        "evidently": (evidently, HERE / "evidently_worker.py"),
        "modelyard": (YARD_PYTHON, HERE / "yard_worker.py"),
        "numpy+scipy": (YARD_PYTHON, HERE / "floor_worker.py"),
    }
    runs: dict[str, list[common.Measured]] = {name: [] for name in workers}
    for r in range(opts.rounds):
        for name, (python, script) in workers.items():
            common.wait_machine_idle()
            got = common.measured_worker(python, script, args, cwd=REPO, timeout=TIMEOUT)
            runs[name].append(got)
            console.log(
                f"round {r + 1} {name}: drift {got.result['drift_s']:.2f} s, "
                f"peak {got.peak_mib:.0f} MiB, flagged {got.result['drifted']}"
            )
    html = common.measured_worker(
        evidently, HERE / "evidently_worker.py", [*args, "--html"], cwd=REPO, timeout=TIMEOUT
    )
    truth = sorted(drift_data.SHIFTED)
    summary: dict[str, dict[str, Any]] = {}
    for name, rs in runs.items():
        flagged = rs[-1].result["drifted"]
        summary[name] = {
            "drift_s": statistics.median(x.result["drift_s"] for x in rs),
            "load_s": statistics.median(x.result["load_s"] for x in rs),
            "peak_mib": statistics.median(x.peak_mib for x in rs),
            "flagged": flagged,
            "right": flagged == truth and all(x.result["drifted"] == flagged for x in rs),
            "tests": rs[-1].result.get("tests"),
        }
    summary["evidently"]["html_bytes"] = html.result["html_bytes"]
    summary["evidently"]["version"] = html.result["version"]
    summary["modelyard"]["html_bytes"] = runs["modelyard"][-1].result["html_bytes"]
    ours, theirs = summary["modelyard"], summary["evidently"]
    rows = []
    for name, s in summary.items():
        html_mib = f"{s['html_bytes'] / 2**20:.2f}" if s.get("html_bytes") else ""
        rows.append(
            [
                name,
                f"{s['drift_s']:.2f}",
                f"{s['peak_mib']:,.0f}",
                ", ".join(s["flagged"]),
                "yes" if s["right"] else "NO",
                html_mib,
            ]
        )
    rows.append(["modelyard / Evidently", f"{theirs['drift_s'] / ours['drift_s']:.1f}x faster"])
    rows[-1] += ["", "", "", ""]
    same = ours["flagged"] == theirs["flagged"]
    title = (
        f"Drift, {opts.rows:,} + {opts.rows:,} rows x 25 columns, median of {opts.rounds} rounds; "
        f"same columns flagged: {'yes' if same else 'NO'}"
    )
    columns = ("tool", "drift s", "peak MiB", "flagged", "the 5 shifted", "HTML MiB")
    common.report(console, title, columns, rows, opts.markdown)
    scale = _scale(opts) if opts.scale_rows else None
    saved = common.save_results(
        "monitoring",
        {
            "rows": opts.rows,
            "rounds": opts.rounds,
            "summary": summary,
            "table": rows,
            "scale": scale,
        },
    )
    console.log(f"saved {saved}")


def _scale(opts: argparse.Namespace) -> dict[str, Any]:
    """modelyard alone: a 100-column current file of ``--scale-rows`` rows against a
    reference file of ``--scale-reference`` rows, both read in parts."""
    console.log(f"writing the {opts.scale_rows:,}-row, 100-column current file (once)")
    ref = drift_data.write_wide(DATA_DIR, opts.scale_reference, current=False)
    cur = drift_data.write_wide(DATA_DIR, opts.scale_rows, current=True)
    common.wait_machine_idle()
    got = common.measured_worker(
        YARD_PYTHON, HERE / "yard_scale_worker.py", [str(ref), str(cur)], cwd=REPO, timeout=TIMEOUT
    )
    found = got.result
    right = found["drifted"] == sorted(drift_data.WIDE_SHIFTED)
    rows = [
        [
            f"{found['reference_rows']:,} reference, {found['current_rows']:,} current",
            str(found["columns"]),
            f"{found['drift_s']:.1f}",
            f"{got.peak_mib:,.0f}",
            f"{len(found['drifted'])} ({'the 20 shifted' if right else 'NOT the 20 shifted'})",
            f"{found['html_bytes'] / 2**20:.2f}",
        ]
    ]
    columns = ("rows", "columns", "drift s", "peak MiB", "flagged", "HTML MiB")
    common.report(console, "modelyard alone, current read in parts", columns, rows, opts.markdown)
    return {**found, "peak_mib": got.peak_mib, "right": right}


if __name__ == "__main__":
    main()
