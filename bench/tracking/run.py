"""The tracking benchmark: modelyard side by side with MLflow, in the same run.

    .venv/bin/python bench/tracking/run.py [--quick] [--markdown] [--keep]

MLflow runs in its own venv (created at /tmp/bench-mlflow when missing, or $BENCH_MLFLOW_VENV);
each workload runs as a worker subprocess per side, MLflow first then modelyard, in rounds
(A B A B). Embedded stores first (fresh SQLite files), then through the servers, which this
script starts on free loopback ports with fresh stores and stops at the end. Results go to
bench/results/tracking-<timestamp>.json; see bench/README.md for what each workload does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(HERE))

import workload as wl  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

import common  # noqa: E402

MLFLOW_VERSION = "3.17.2"
MLFLOW_VENV = Path(os.environ.get("BENCH_MLFLOW_VENV", "/tmp/bench-mlflow"))
YARD_PYTHON = REPO / ".venv" / "bin" / "python"
WORKER_TIMEOUT = 1800.0
BUSY_PERCENT = 25.0  # machine-wide CPU use above which a worker waits (up to BUSY_WAIT_S)
BUSY_WAIT_S = 15
MODES = ("embedded", "server")

# a wide table even when the output is a file or a pipe
console = Console(width=None if sys.stdout.isatty() else 150)


def log(msg: str) -> None:
    console.log(msg)


# --- one measurement -------------------------------------------------------------------------
@dataclass
class Record:
    side: str  # "mlflow" | "modelyard"
    workload: str
    mode: str  # "embedded" | "server" | "server4"
    round: int
    spec: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    machine_cpu_before: float
    wall_s: float


class Bench:
    def __init__(self, sizes: wl.Sizes, base: Path, mlflow_python: Path) -> None:
        self.sizes = sizes
        self.base = base
        self.mlflow_python = mlflow_python
        self.yard_source = common.snapshot_modelyard(base / "modelyard-src")
        self.yard_env = {"PYTHONPATH": self.yard_source["path"]}
        self.records: list[Record] = []
        self.servers: dict[str, dict[str, float]] = {}
        self.idle_pids: list[int] = []
        self.mlflow_d_experiment: str | None = None
        self.small_dir = base / "inputs" / "small"
        self.large_file = base / "inputs" / "large.bin"

    # inputs -----------------------------------------------------------------------------------
    def make_inputs(self) -> None:
        self.small_dir.mkdir(parents=True)
        for i in range(self.sizes.c_small_files):
            (self.small_dir / f"small-{i:03d}.bin").write_bytes(
                os.urandom(self.sizes.c_small_bytes)
            )
        with open(self.large_file, "wb") as fh:
            left = self.sizes.c_large_bytes
            while left:
                n = min(left, 8 << 20)
                fh.write(os.urandom(n))
                left -= n

    # running a worker ------------------------------------------------------------------------
    def run(self, side: str, mode: str, rnd: int, spec: dict[str, Any], cwd: Path) -> Record:
        cwd.mkdir(parents=True, exist_ok=True)
        if self.idle_pids:
            common.wait_idle(self.idle_pids, timeout=30)
        busy = common.machine_busy()
        waited = 0
        while busy > BUSY_PERCENT and waited < BUSY_WAIT_S:  # someone else is using the CPUs
            waited += 1
            busy = common.machine_busy(1.0)
        if side == "mlflow":
            python, script = self.mlflow_python, HERE / "mlflow_worker.py"
            env = common.clean_env(venv_bin=self.mlflow_python.parent)
        else:
            python, script = YARD_PYTHON, HERE / "yard_worker.py"
            env = common.clean_env({**self.yard_env, "MODELYARD_SPOOL_DIR": str(cwd / "spool")})
        t0 = time.monotonic()
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            result = common.run_worker(
                python, script, spec, env=env, cwd=cwd, timeout=WORKER_TIMEOUT
            )
        except common.BenchError as exc:
            error = str(exc)
        if result is not None and side == "modelyard":
            module = str(result.get("module", ""))
            if not module.startswith(self.yard_source["path"]):
                result, error = None, f"imported modelyard from {module}, not from the snapshot"
        rec = Record(
            side, spec["workload"], mode, rnd, spec, result, error, busy, time.monotonic() - t0
        )
        self.records.append(rec)
        status = "[red]FAILED[/red]" if error else summary(rec)
        log(f"{mode:8} ({spec['workload']}) round {rnd} {side:9} {status} (cpu {busy:.0f}% before)")
        if error:
            console.print(error, markup=False, highlight=False)
        return rec

    # specs ------------------------------------------------------------------------------------
    def spec_a(self, uri: str, limit: int | None) -> dict[str, Any]:
        s = self.sizes
        return {
            "workload": "a",
            "uri": uri,
            "n_metrics": s.a_metrics,
            "n_steps": s.a_steps,
            "limit": limit,
        }

    def spec_b(self, uri: str, batch: int) -> dict[str, Any]:
        s = self.sizes
        return {
            "workload": "b",
            "uri": uri,
            "n_metrics": s.a_metrics,
            "n_steps": s.a_steps,
            "batch": batch,
        }

    def spec_c(self, uri: str, artifact_location: str | None) -> dict[str, Any]:
        return {
            "workload": "c",
            "uri": uri,
            "small_dir": str(self.small_dir),
            "large_file": str(self.large_file),
            "artifact_location": artifact_location,
        }

    def spec_d(
        self,
        uri: str,
        n_create: int,
        search_experiment: str | None = None,
        fill_db: Path | None = None,
        artifact_location: str | None = None,
    ) -> dict[str, Any]:
        s = self.sizes
        return {
            "workload": "d",
            "uri": uri,
            "n_runs": s.d_runs,
            "n_create": n_create,
            "search_experiment": search_experiment,
            "fill_db": None if fill_db is None else str(fill_db),
            "artifact_location": artifact_location,
            "search_repeats": s.d_search_repeats,
            "fetch_repeats": s.d_fetch_repeats,
        }

    # phases -----------------------------------------------------------------------------------
    def embedded(self) -> Path | None:
        """All workloads on fresh SQLite files; returns MLflow's 10,000-run store (for the
        server phase) when it was built."""
        s = self.sizes
        root = self.base / "embedded"
        for name in ("a", "b", "c"):
            for rnd in range(1, s.rounds + 1):
                m_dir, y_dir = root / f"mlflow-{name}-{rnd}", root / f"yard-{name}-{rnd}"
                m_uri, y_uri = f"sqlite:///{m_dir}/mlflow.db", f"sqlite:///{y_dir}/yard.db"
                if name == "a":
                    m_spec = self.spec_a(m_uri, s.a_mlflow_points_embedded)
                    y_spec = self.spec_a(y_uri, None)
                elif name == "b":
                    m_spec, y_spec = (
                        self.spec_b(m_uri, s.b_mlflow_batch),
                        self.spec_b(y_uri, s.b_yard_batch),
                    )
                else:
                    m_spec = self.spec_c(m_uri, (m_dir / "artifacts").as_uri())
                    y_spec = self.spec_c(y_uri, None)
                self.run("mlflow", "embedded", rnd, m_spec, m_dir)
                self.run("modelyard", "embedded", rnd, y_spec, y_dir)
                shutil.rmtree(m_dir, ignore_errors=True)
                shutil.rmtree(y_dir, ignore_errors=True)
        m_dir, y_dir = root / "mlflow-d", root / "yard-d"
        m_uri, y_uri = f"sqlite:///{m_dir}/mlflow.db", f"sqlite:///{y_dir}/yard.db"
        m_spec = self.spec_d(
            m_uri,
            s.d_mlflow_embedded_timed_runs,
            fill_db=m_dir / "mlflow.db",
            artifact_location=(m_dir / "artifacts").as_uri(),
        )
        m_rec = self.run("mlflow", "embedded", 1, m_spec, m_dir)
        self.run("modelyard", "embedded", 1, self.spec_d(y_uri, s.d_runs), y_dir)
        shutil.rmtree(y_dir, ignore_errors=True)
        if m_rec.result is None:
            return None
        self.mlflow_d_experiment = str(m_rec.result["search_experiment_name"])
        return m_dir / "mlflow.db"

    def mlflow_server(self, name: str, db: Path, workers: int | None) -> common.Server:
        port = common.free_port()
        d = db.parent
        argv = [
            str(self.mlflow_python.parent / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{db}",
            "--artifacts-destination",
            (d / "mlartifacts").as_uri(),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        if workers is not None:
            argv += ["--workers", str(workers)]
        return common.Server(
            name,
            argv,
            common.clean_env(venv_bin=self.mlflow_python.parent),
            d,
            f"http://127.0.0.1:{port}/health",
            d / "server.log",
        )

    def yard_server(self, d: Path) -> common.Server:
        port = common.free_port()
        d.mkdir(parents=True, exist_ok=True)
        argv = [
            str(YARD_PYTHON.parent / "modelyard"),
            "server",
            "--store",
            f"sqlite:///{d}/yard.db",
            "--artifacts",
            (d / "artifacts").as_uri(),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        return common.Server(
            "modelyard server",
            argv,
            common.clean_env(self.yard_env),
            d,
            f"http://127.0.0.1:{port}/health",
            d / "server.log",
        )

    def start(self, server: common.Server) -> str:
        log(f"starting {server.name} ...")
        server.start()
        self.servers[server.name] = {"ready_s": server.ready_s, "idle_after_s": server.idle_s}
        log(f"{server.name} ready after {server.ready_s:.1f} s, idle {server.idle_s:.1f} s later")
        return server.health_url.rsplit("/", 1)[0]

    def through_servers(self, mlflow_store: Path | None) -> None:
        s = self.sizes
        root = self.base / "server"
        m_db = root / "mlflow" / "mlflow.db"
        m_db.parent.mkdir(parents=True)
        if mlflow_store is not None:
            shutil.copy2(mlflow_store, m_db)  # the 10,000-run store built in the embedded phase
        m_srv = self.mlflow_server("mlflow server (1 worker)", m_db, 1)
        y_srv = self.yard_server(root / "yard")
        try:
            m_url, y_url = self.start(m_srv), self.start(y_srv)
            self.idle_pids = [m_srv.pid, y_srv.pid]
            for name in ("a", "b", "c"):
                for rnd in range(1, s.rounds + 1):
                    if name == "a":
                        m_spec = self.spec_a(m_url, s.a_mlflow_points_server)
                        y_spec = self.spec_a(y_url, None)
                    elif name == "b":
                        m_spec = self.spec_b(m_url, s.b_mlflow_batch)
                        y_spec = self.spec_b(y_url, s.b_yard_batch)
                    else:
                        m_spec, y_spec = self.spec_c(m_url, None), self.spec_c(y_url, None)
                    self.run("mlflow", "server", rnd, m_spec, root / "work")
                    self.run("modelyard", "server", rnd, y_spec, root / "work")
            if mlflow_store is not None:
                m_spec = self.spec_d(m_url, s.d_mlflow_server_timed_runs, self.mlflow_d_experiment)
                self.run("mlflow", "server", 1, m_spec, root / "work")
            else:
                log("[red]MLflow's 10,000-run store is missing: MLflow (d) via its server skipped")
            self.run("modelyard", "server", 1, self.spec_d(y_url, s.d_runs), root / "work")
        finally:
            self.idle_pids = []
            m_srv.stop()
            y_srv.stop()
        if s.mlflow_four_workers:
            self.four_workers()

    def four_workers(self) -> None:
        """MLflow's default server (4 uvicorn workers), for (a) and (b) only."""
        s = self.sizes
        d = self.base / "server4"
        d.mkdir(parents=True)
        srv = self.mlflow_server("mlflow server (default, 4 workers)", d / "mlflow.db", None)
        try:
            url = self.start(srv)
            self.idle_pids = [srv.pid]
            self.run(
                "mlflow", "server4", 1, self.spec_a(url, s.a_mlflow_points_server4), d / "work"
            )
            self.run("mlflow", "server4", 1, self.spec_b(url, s.b_mlflow_batch), d / "work")
        finally:
            self.idle_pids = []
            srv.stop()


def summary(rec: Record) -> str:
    r = rec.result or {}
    if rec.workload in ("a", "b"):
        return f"{r['rate']:,.0f} points/s ({r['points']:,} points in {r['seconds']:.2f} s)"
    if rec.workload == "c":
        return f"small {r['small_seconds']:.3f} s, large {r['large_seconds']:.3f} s"
    c = r["create"]
    return (
        f"{c['rate']:,.0f} runs/s ({c['runs']:,} runs), search p50 {r['search_p50_ms']:.1f} ms, "
        f"fetch {r['fetch_median_s']:.2f} s"
    )


# --- the table -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Metric:
    key: str
    workload: str
    label: str
    unit: str
    get: Callable[[dict[str, Any]], float]
    higher_is_better: bool
    target_kind: str  # "ratio": speed-up >= value; "max": modelyard figure < value
    target: float


def metrics_for(s: wl.Sizes) -> list[Metric]:
    pts = s.a_metrics * s.a_steps
    kib = s.c_small_bytes // 1024
    mib = s.c_large_bytes // (1024 * 1024)
    return [
        Metric("a", "a", f"(a) log_metric per point, {pts:,} points", "points/s",
               lambda r: r["rate"], True, "ratio", 100),
        Metric("b", "b", f"(b) batched logging, {pts:,} points", "points/s",
               lambda r: r["rate"], True, "ratio", 10),
        Metric("c_small", "c", f"(c) {s.c_small_files} x {kib} KiB artifacts", "s",
               lambda r: r["small_seconds"], False, "ratio", 1),
        Metric("c_large", "c", f"(c) one {mib} MiB artifact", "s",
               lambda r: r["large_seconds"], False, "ratio", 1),
        Metric("d_create", "d", "(d) create runs (10 params, 10 metrics, 5 tags)", "runs/s",
               lambda r: r["create"]["rate"], True, "ratio", 10),
        Metric("d_search", "d", f"(d) filtered top-100 search of {s.d_runs:,} runs, p50", "ms",
               lambda r: r["search_p50_ms"], False, "max", 50),
        Metric("d_fetch", "d", f"(d) all {s.d_runs:,} runs into a DataFrame", "s",
               lambda r: r["fetch_median_s"], False, "max", 1.0),
    ]  # fmt: skip


def _values(recs: list[Record], side: str, workload: str, mode: str) -> dict[int, dict[str, Any]]:
    return {
        r.round: r.result
        for r in recs
        if r.side == side and r.workload == workload and r.mode == mode and r.result is not None
    }


def build_rows(recs: list[Record], sizes: wl.Sizes) -> list[dict[str, Any]]:
    rows = []
    for m in metrics_for(sizes):
        for mode in (*MODES, "server4"):
            mlf = _values(recs, "mlflow", m.workload, mode)
            yard = _values(recs, "modelyard", m.workload, "server" if mode == "server4" else mode)
            if mode == "server4" and not mlf:
                continue
            m_vals = {k: m.get(v) for k, v in mlf.items()}
            y_vals = {k: m.get(v) for k, v in yard.items()}
            ratios = []
            for rnd in sorted(m_vals):
                y = (
                    y_vals.get(rnd)
                    if mode != "server4"
                    else wl.median(list(y_vals.values()))
                    if y_vals
                    else None
                )
                if y is None or y == 0 or m_vals[rnd] == 0:
                    continue
                ratios.append(y / m_vals[rnd] if m.higher_is_better else m_vals[rnd] / y)
            m_med = wl.median(list(m_vals.values())) if m_vals else None
            y_med = wl.median(list(y_vals.values())) if y_vals else None
            ratio = wl.median(ratios) if ratios else None
            if m.target_kind == "ratio":
                met = None if ratio is None else ratio >= m.target
                target = f">= {m.target:g}x"
            else:
                met = None if y_med is None else y_med < m.target
                target = f"< {m.target:g} {m.unit}"
            rows.append(
                {
                    "key": m.key,
                    "label": m.label,
                    "mode": mode,
                    "unit": m.unit,
                    "mlflow": m_med,
                    "modelyard": y_med,
                    "mlflow_rounds": m_vals,
                    "modelyard_rounds": y_vals,
                    "speedup": ratio,
                    "speedup_rounds": ratios,
                    "target": target,
                    "met": met,
                }
            )
    return rows


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit in ("points/s", "runs/s"):
        return f"{v:,.0f} {unit}"
    if unit == "ms":
        return f"{v:,.1f} ms"
    return f"{v:,.3f} s" if v < 10 else f"{v:,.1f} s"


MODE_NAMES = {
    "embedded": "embedded (SQLite)",
    "server": "server (1 worker)",
    "server4": "MLflow default server (4 workers)*",
}


def table_cells(row: dict[str, Any]) -> list[str]:
    met = {True: "met", False: "NOT met", None: "-"}[row["met"]]
    r = row["speedup"]
    ratio = "-" if r is None else f"{r:,.2f}x" if r < 10 else f"{r:,.1f}x"
    return [
        row["label"],
        MODE_NAMES[row["mode"]],
        fmt(row["mlflow"], row["unit"]),
        fmt(row["modelyard"], row["unit"]),
        ratio,
        row["target"],
        met,
    ]


HEADERS = ["Workload", "Mode", "MLflow", "modelyard", "Speed-up", "Target", "Result"]


def print_table(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Tracking: modelyard vs MLflow (speed-up = how many times faster)")
    for h in HEADERS:
        table.add_column(h, justify="left" if h in ("Workload", "Mode") else "right")
    for row in rows:
        cells = table_cells(row)
        style = {"met": "green", "NOT met": "bold red"}.get(cells[-1], "")
        cells[-1] = f"[{style}]{cells[-1]}[/{style}]" if style else cells[-1]
        table.add_row(*cells)
    console.print(table)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(table_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def shortcuts(s: wl.Sizes) -> list[str]:
    pts = s.a_metrics * s.a_steps
    notes = [
        f"(a) MLflow per-call logging is timed on the first {s.a_mlflow_points_embedded:,} of "
        f"{pts:,} points embedded and {s.a_mlflow_points_server:,} through its server; "
        f"modelyard logs all {pts:,} (flush included).",
        f"(d) MLflow creates the first {s.d_mlflow_embedded_timed_runs:,} runs per call embedded "
        f"(timed: its run-creation figure); the other "
        f"{s.d_runs - s.d_mlflow_embedded_timed_runs:,} runs of its {s.d_runs:,}-run store are "
        "inserted with plain SQL into MLflow's tables, cloned from the rows MLflow wrote for a "
        "run it created (checked: the fetch returns every run and the top-100 search equals "
        "modelyard's). Through its server MLflow creates "
        f"{s.d_mlflow_server_timed_runs:,} runs (timed, in a separate experiment) and searches "
        "and fetches a copy of that embedded store.",
        "(d) run creation is create_run + log_batch(10 metrics, 10 params, 5 tags) + "
        "set_terminated per run on both sides.",
    ]
    if s.mlflow_four_workers:
        notes.append(
            f"* MLflow's default 4-worker server: (a) timed on {s.a_mlflow_points_server4:,} "
            "points; compared with modelyard's 1-worker server figures from the same run."
        )
    return notes


def versions(recs: list[Record]) -> dict[str, str]:
    out = {}
    for r in recs:
        if r.result is not None:
            out[r.side] = str(r.result.get("version"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    args = parser.parse_args()
    if not YARD_PYTHON.exists():
        raise SystemExit(f"modelyard's venv is missing: {YARD_PYTHON}")
    sizes = wl.QUICK if args.quick else wl.FULL
    mlflow_python = common.ensure_venv(
        MLFLOW_VENV, f"mlflow=={MLFLOW_VERSION}", "mlflow", MLFLOW_VERSION, log
    )
    base = Path(tempfile.mkdtemp(prefix="modelyard-bench-tracking-"))
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.monotonic()
    bench = Bench(sizes, base, mlflow_python)
    log(f"{'quick' if args.quick else 'full'} run; stores under {base}")
    log(
        f"modelyard source snapshot {bench.yard_source['sha256']} "
        f"(newest file {bench.yard_source['newest_file_utc']})"
    )
    try:
        bench.make_inputs()
        store = bench.embedded()
        bench.through_servers(store)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    rows = build_rows(bench.records, sizes)
    print_table(rows)
    notes = shortcuts(sizes)
    for n in notes:
        console.print(f"  {n}", highlight=False)
    same = {}
    for mode in MODES:
        digests = {r.side: r.result["search_digest"] for r in bench.records
                   if r.workload == "d" and r.mode == mode and r.result is not None}  # fmt: skip
        if len(digests) == 2:
            same[mode] = digests["mlflow"] == digests["modelyard"]
            if not same[mode]:
                console.print(f"[bold red]{mode}: the two sides' top-100 search results differ")
    if args.markdown:
        print(markdown(rows), flush=True)
    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"tracking-{started.strftime('%Y%m%d-%H%M%S')}.json"
    doc = {
        "benchmark": "tracking",
        "quick": args.quick,
        "started_utc": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": versions(bench.records),
        "modelyard_source": bench.yard_source,
        "sizes": wl.sizes_dict(sizes),
        "servers": bench.servers,
        "same_top100": same,
        "notes": notes,
        "rows": rows,
        "markdown": markdown(rows),
        "records": [r.__dict__ for r in bench.records],
    }
    out.write_text(json.dumps(doc, indent=2, default=str))
    log(f"results written to {out.relative_to(REPO)} ({doc['duration_s']:.0f} s in all)")
    failed = [r for r in bench.records if r.error]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
