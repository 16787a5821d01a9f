"""The data benchmark: profile and validate a 10M x 30 Parquet file, modelyard beside its peers.

    .venv/bin/python bench/data/run.py [--rows N] [--rounds R] [--quick] [--markdown]

Peers run in their own venvs (created under /tmp when missing, see peers.py): pandera and
Great Expectations validate the same 93 checks, Evidently computes its per-column summary.
modelyard validates (validate), profiles (profile), and does both in one pass (both). Every
worker is a fresh process; rounds interleave the tools (A B A B ...), and each figure is the
median over rounds of wall seconds and the worker's own peak RSS (from wait4). A correctness
pass on a file with 9 planted defects runs first: every validator must find all 9.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
REPO = BENCH.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(BENCH))

import checks as spec_mod  # noqa: E402
import dataset  # noqa: E402
import peers  # noqa: E402
from rich.console import Console  # noqa: E402

import common  # noqa: E402

YARD_PYTHON = REPO / ".venv" / "bin" / "python"
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", "/tmp/bench-data"))
TIMEOUT = 3600
console = Console(width=None if sys.stdout.isatty() else 150)


def run_worker(python: Path, script: Path, args: list[str]) -> common.Measured:
    return common.measured_worker(python, script, args, cwd=REPO, timeout=TIMEOUT)


def _workers(
    pythons: dict[str, Path], data: Path, spec: Path
) -> dict[str, tuple[Path, Path, list[str]]]:
    args = [str(data), str(spec)]
    return {
        "pandera": (pythons["pandera"], HERE / "pandera_worker.py", args),
        "gx": (pythons["gx"], HERE / "gx_worker.py", args),
        "evidently": (pythons["evidently"], HERE / "evidently_worker.py", [*args, "value_stats"]),
        "yard-validate": (YARD_PYTHON, HERE / "yard_worker.py", [*args, "validate"]),
        "yard-profile": (YARD_PYTHON, HERE / "yard_worker.py", [*args, "profile"]),
        "yard-both": (YARD_PYTHON, HERE / "yard_worker.py", [*args, "both"]),
    }


def correctness(pythons: dict[str, Path], spec: Path) -> dict[str, int]:
    """Every validator on the file with planted defects: how many checks each flags."""
    bad = dataset.write_defects(DATA_DIR / "defects-100k.parquet")
    found = {}
    for name in ("pandera", "gx", "yard-validate"):
        python, script, args = _workers(pythons, bad, spec)[name]
        found[name] = int(run_worker(python, script, args).result["failures"])
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1M rows, one round")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--skip", nargs="*", default=[], help="tools to leave out")
    opts = parser.parse_args()
    rows, rounds = (1_000_000, 1) if opts.quick else (opts.rows, opts.rounds)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    data = dataset.write(
        DATA_DIR / f"{rows // 1_000_000}m.parquet"
        if rows >= 1_000_000
        else DATA_DIR / f"{rows}.parquet",
        rows=rows,
    )
    spec = spec_mod.write(DATA_DIR / "checks.json")
    pythons = {name: peers.ensure(peers.PEERS[name]) for name in ("pandera", "gx", "evidently")}
    console.log(f"data {data} ({data.stat().st_size / 2**20:.0f} MiB), {rounds} round(s)")
    found = correctness(pythons, spec)
    console.log(f"planted defects found: {found}")
    workers = {k: v for k, v in _workers(pythons, data, spec).items() if k not in opts.skip}
    runs: dict[str, list[common.Measured]] = {name: [] for name in workers}
    order = ["pandera", "yard-validate", "gx", "yard-profile", "evidently", "yard-both"]
    for r in range(rounds):
        for name in order:
            if name not in workers:
                continue
            common.wait_machine_idle()
            python, script, args = workers[name]
            got = run_worker(python, script, args)
            runs[name].append(got)
            console.log(f"round {r + 1} {name}: {got.seconds:.2f} s, peak {got.peak_mib:.0f} MiB")
    med = {
        name: (statistics.median(x.seconds for x in rs), statistics.median(x.peak_mib for x in rs))
        for name, rs in runs.items()
        if rs
    }
    rows_out = []

    def add(job: str, peer: str, peer_key: list[str], yard_key: str) -> None:
        if not all(k in med for k in [*peer_key, yard_key]):
            return
        ps = sum(med[k][0] for k in peer_key)
        pm = max(med[k][1] for k in peer_key)
        ys, ym = med[yard_key]
        rows_out.append(
            [job, peer, f"{ps:.2f}", f"{pm:,.0f}", f"{ys:.2f}", f"{ym:,.0f}", f"{ps / ys:.1f}x"]
        )

    add("validate 93 checks", "pandera", ["pandera"], "yard-validate")
    add("validate 93 checks", "Great Expectations", ["gx"], "yard-validate")
    add("profile 30 columns", "Evidently ValueStats", ["evidently"], "yard-profile")
    add("profile + validate", "Evidently + pandera", ["evidently", "pandera"], "yard-both")
    columns = (
        "job",
        "peer",
        "peer s",
        "peer peak MiB",
        "modelyard s",
        "modelyard peak MiB",
        "speed-up",
    )
    title = f"Data benchmark, {rows:,} rows x 30 columns (median of {rounds})"
    common.report(console, title, columns, rows_out, opts.markdown)
    common.save_results(
        "data",
        {
            "rows": rows,
            "rounds": rounds,
            "planted_defects_found": found,
            "runs": {k: [x.__dict__ for x in v] for k, v in runs.items()},
            "table": rows_out,
        },
    )


if __name__ == "__main__":
    main()
