"""The pipelines benchmark: modelyard pipelines side by side with Prefect 3.9.1, in the same run.

    .venv/bin/python bench/pipelines/run.py [--rounds R] [--quick] [--only abcde] [--ray]
                                            [--markdown] [--keep]

Prefect runs in its own venv (created at /tmp/bench-venvs/prefect when missing, or
$BENCH_PREFECT_VENV), with the same pandas, numpy and pyarrow as modelyard's. Every case runs
as one fresh worker subprocess per side, on a fresh store (modelyard: an embedded folder store,
tracking on; Prefect: a fresh PREFECT_HOME and its temporary server), sides interleaved and
their order swapped each round (A B, B A, ...). Each figure is the median over rounds; each
ratio the median of the per-round ratios. Results go to bench/results/pipelines-<time>.json;
bench/README.md says what each case does.

``--ray`` also runs modelyard's (a)-(c) with ``executor="ray"`` when
``modelyard.pipelines.executors.ray`` and Ray are there, and says why not otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(HERE))

import workload as wl  # noqa: E402
from rich.console import Console  # noqa: E402

import common  # noqa: E402

PREFECT_VERSION = "3.9.1"
PREFECT_VENV = Path(os.environ.get("BENCH_PREFECT_VENV", "/tmp/bench-venvs/prefect"))
# both sides run the same data libraries, or (e) measures versions
SHARED_PINS = (("pandas", "3.1.1"), ("numpy", "2.4.6"), ("pyarrow", "26.0.1"))
PREFECT_PINS = (("prefect", PREFECT_VERSION), *SHARED_PINS)
_DEFAULT_YARD = REPO / ".venv" / "bin" / "python"
YARD_PYTHON = Path(
    os.environ.get("BENCH_YARD_PYTHON", _DEFAULT_YARD if _DEFAULT_YARD.exists() else sys.executable)
)
WORKER_TIMEOUT = 900.0
BUSY_WAIT_S = 15.0  # wait up to this long for the machine to be idle before each worker

console = Console(width=None if sys.stdout.isatty() else 160)


def log(msg: str) -> None:
    console.log(msg)


# --- the sides -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Side:
    key: str  # "modelyard", "modelyard-ray", "prefect", "prefect-persist"
    tool: str  # "modelyard" | "prefect"
    executor: str = "local"
    variant: str = ""


YARD = Side("modelyard", "modelyard")
YARD_RAY = Side("modelyard-ray", "modelyard", executor="ray")
PREFECT = Side("prefect", "prefect")
PREFECT_PERSIST = Side("prefect-persist", "prefect", variant="persist")


@dataclass
class Record:
    side: str
    case: str
    round: int
    order: int  # the worker's position in its round and case
    result: dict[str, Any] | None
    error: str | None
    process_wall_s: float  # Popen to exit, as this script saw it
    # ru_maxrss from wait4: the largest of the worker and the children it reaped (Prefect's
    # server); the worker's own figure is result["peak_mib"], the server's result["helpers_..."]
    tree_peak_mib: float
    machine_cpu_before: float
    store: str = ""  # "fresh" | "existing", for (d)
    extra: dict[str, Any] = field(default_factory=dict)


def run_worker(
    python: Path, script: Path, spec: dict[str, Any], env: dict[str, str], cwd: Path
) -> tuple[dict[str, Any] | None, str | None, float, float]:
    """``python script SPEC_JSON`` in its own session, output to files (Prefect logs a line
    per task; a pipe could fill); its RESULT, error, wall seconds and peak RSS (MiB)."""
    import json

    out_path, err_path = cwd / f"{script.stem}.out", cwd / f"{script.stem}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [str(python), str(script), json.dumps(spec)],
            stdout=out,
            stderr=err,
            env=env,
            cwd=cwd,
            start_new_session=True,  # its servers stop with it, on a timeout too
        )

        def kill() -> None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(WORKER_TIMEOUT, kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    with contextlib.suppress(ProcessLookupError):  # anything it left behind
        os.killpg(proc.pid, signal.SIGKILL)
    peak = usage.ru_maxrss / 1024
    text = out_path.read_text(errors="replace")
    for line in reversed(text.splitlines()):
        if line.startswith(common.RESULT_PREFIX):
            return json.loads(line[len(common.RESULT_PREFIX) :]), None, wall, peak
    tail = (err_path.read_text(errors="replace") or text)[-3000:]
    return None, f"{script.name} {spec['case']} exited {proc.returncode}:\n{tail}", wall, peak


class Bench:
    def __init__(self, sizes: wl.Sizes, base: Path, prefect_python: Path, keep: bool) -> None:
        self.sizes = sizes
        self.base = base
        self.prefect_python = prefect_python
        self.keep = keep
        self.yard_source = common.snapshot_modelyard(base / "modelyard-src")
        self.records: list[Record] = []

    def env_for(self, side: Side, home: Path) -> dict[str, str]:
        env = {k: v for k, v in common.clean_env().items() if not k.startswith("PREFECT_")}
        if side.tool == "prefect":
            env["PATH"] = f"{self.prefect_python.parent}{os.pathsep}{env.get('PATH', '')}"
            env.update(
                PREFECT_HOME=str(home / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false"
            )
        else:
            env.update(
                PYTHONPATH=self.yard_source["path"],
                MODELYARD_TRACKING_URI=str(home / "store"),
                MODELYARD_CACHE_DIR=str(home / "cache"),
                MODELYARD_SPOOL_DIR=str(home / "spool"),
                MODELYARD_CONFIG_DIR=str(home / "config"),
            )
        return env

    def one(self, side: Side, case: str, rnd: int, order: int, home: Path, store: str) -> Record:
        home.mkdir(parents=True, exist_ok=True)
        common.wait_machine_idle(BUSY_WAIT_S)
        busy = common.machine_busy()
        spec = {
            "case": case,
            "home": str(home / ("store" if side.tool == "modelyard" else "prefect-home")),
            "executor": side.executor,
            "variant": side.variant,
            **wl.sizes_dict(self.sizes),
        }
        if side.tool == "prefect":
            python, script = self.prefect_python, HERE / "prefect_worker.py"
        else:
            python, script = YARD_PYTHON, HERE / "yard_worker.py"
        result, error, wall, peak = run_worker(python, script, spec, self.env_for(side, home), home)
        if result is not None and side.tool == "modelyard":
            module = str(result.get("module", ""))
            if not module.startswith(self.yard_source["path"]):
                result, error = None, f"imported modelyard from {module}, not from the snapshot"
        rec = Record(side.key, case, rnd, order, result, error, wall, peak, busy, store)
        self.records.append(rec)
        where = f" ({store} store)" if store else ""
        if error:
            log(f"({case}) round {rnd} {side.key}{where} [red]FAILED[/red] (cpu {busy:.0f}%)")
            console.print(error, markup=False, highlight=False)
        else:
            log(f"({case}) round {rnd} {side.key}{where}: {summary(rec)} (cpu {busy:.0f}% before)")
        return rec

    def case(self, case: str, rnd: int, sides: list[Side]) -> None:
        ordered = sides if rnd % 2 else list(reversed(sides))
        for i, side in enumerate(ordered):
            home = self.base / f"{case}-{rnd}-{side.key}"
            if case == "d":  # a fresh store, then the same store again from a new process
                self.one(side, case, rnd, i, home, "fresh")
                self.one(side, case, rnd, i, home, "existing")
            else:
                self.one(side, case, rnd, i, home, "")
            if not self.keep:
                shutil.rmtree(home, ignore_errors=True)


def summary(rec: Record) -> str:
    r = rec.result or {}
    if rec.case == "d":
        return (
            f"process {rec.process_wall_s:.2f} s, import {r['import_s']:.2f} s, first run "
            f"{r['first_run_s']:.2f} s, peak {r['peak_mib']:.0f} MiB"
        )
    return (
        f"{r['wall_s']:.3f} s, {per_step_ms(r):.2f} ms/step, peak {r['peak_mib']:.0f} MiB, "
        f"idle wait {r['idle_wait_s']:.1f} s"
    )


def per_step_ms(r: dict[str, Any]) -> float:
    """Wall time per step minus the step's body alone (timed as a plain call)."""
    return (float(r["wall_s"]) / int(r["steps"]) - float(r["body_s"])) * 1e3


# --- the table -------------------------------------------------------------------------------
def values(recs: list[Record], side: str, case: str, get: Any, store: str = "") -> dict[int, float]:
    """One figure per round for a side and case."""
    out = {}
    for r in recs:
        if r.side == side and r.case == case and r.store == store and r.result is not None:
            out[r.round] = float(get(r))
    return out


def med(by_round: dict[int, float]) -> float | None:
    return statistics.median(by_round.values()) if by_round else None


def ratio(peer: dict[int, float], yard: dict[int, float]) -> float | None:
    """The median over rounds of peer / modelyard (how many times modelyard is faster)."""
    both = [peer[k] / yard[k] for k in peer.keys() & yard.keys() if yard[k] > 0]
    return statistics.median(both) if both else None


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "s":
        return f"{v:,.3f} s" if v < 10 else f"{v:,.1f} s"
    if unit == "ms":
        return f"{v:,.2f} ms" if v < 100 else f"{v:,.0f} ms"
    if unit == "MiB":
        return f"{v:,.0f} MiB"
    return f"{v:,.1f} {unit}"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "-"
    return f"{r:,.2f}x" if r < 10 else f"{r:,.1f}x"


def rows(recs: list[Record], sizes: wl.Sizes, yard_side: str = "modelyard") -> list[list[str]]:
    out: list[list[str]] = []
    y, p = yard_side, "prefect"
    wall = lambda r: r.result["wall_s"]  # noqa: E731
    step = lambda r: per_step_ms(r.result)  # noqa: E731
    peak = lambda r: r.result["peak_mib"]  # noqa: E731
    server = lambda r: r.result["helpers_peak_mib"]  # noqa: E731
    suffix = "" if y == "modelyard" else f" [{y}]"
    labels = {
        "a": f"(a) {sizes.chain_steps} sequential no-op steps",
        "b": f"(b) one step mapped over {sizes.map_inputs:,} inputs",
        "c": f"(c) rerun of (a), {sizes.chain_steps} cache hits",
        "e": f"(e) {sizes.frame_steps} steps passing a {sizes.frame_mb} MB DataFrame",
    }
    targets = {"a": "< 1 ms per step (~50x)", "b": "< 1 ms per step (~7x)",
               "c": "< 1 ms per hit"}  # fmt: skip
    for case in ("a", "b", "c", "e"):
        yw, pw = values(recs, y, case, wall), values(recs, p, case, wall)
        if not yw:
            continue
        ys, ps = values(recs, y, case, step), values(recs, p, case, step)
        label = labels[case] + suffix
        r_wall = ratio(pw, yw)
        if case in targets:
            met = "met" if (med(ys) or 1e9) < 1.0 else "**NOT met**"
            target = targets[case]
        else:
            met = "met" if (r_wall or 0) >= 1 else "**NOT met**"
            target = "no slower than Prefect"
        out.append([label, "wall time", fmt(med(yw), "s"), fmt(med(pw), "s"), fmt_ratio(r_wall),
                    "", ""])  # fmt: skip
        out.append([label, "per-step overhead", fmt(med(ys), "ms"), fmt(med(ps), "ms"),
                    fmt_ratio(ratio(ps, ys)), target, met])  # fmt: skip
        ym, pm = values(recs, y, case, peak), values(recs, p, case, peak)
        ph = values(recs, p, case, server)
        out.append([label, "peak RSS (Prefect: + its server)", fmt(med(ym), "MiB"),
                    f"{fmt(med(pm), 'MiB')} + {fmt(med(ph), 'MiB')}", "", "", ""])  # fmt: skip
        if case == "e":
            pp = values(recs, "prefect-persist", case, wall)
            pps = values(recs, "prefect-persist", case, step)
            if pp:
                out.append([label, "wall time, Prefect persist_result=True", fmt(med(yw), "s"),
                            fmt(med(pp), "s"), fmt_ratio(ratio(pp, yw)), "", ""])  # fmt: skip
                out.append([label, "per-step overhead, Prefect persist_result=True",
                            fmt(med(ys), "ms"), fmt(med(pps), "ms"), fmt_ratio(ratio(pps, ys)),
                            "", ""])  # fmt: skip
            stored = values(recs, y, case, lambda r: r.result["stored_bytes"] / 2**20)
            pst = values(recs, "prefect-persist", case, lambda r: r.result["stored_bytes"] / 2**20)
            pds = values(recs, p, case, lambda r: r.result["stored_bytes"] / 2**20)
            out.append([label, "MiB stored (Prefect: default / persist_result=True)",
                        fmt(med(stored), "MiB"), f"{fmt(med(pds), 'MiB')} / {fmt(med(pst), 'MiB')}",
                        "", "", ""])  # fmt: skip
        if y != "modelyard":  # the Ray executor against the local one
            yl = values(recs, "modelyard", case, step)
            both = f"{fmt(med(ys), 'ms')} / {fmt(med(yl), 'ms')}"
            out.append([label, "per-step overhead: Ray / local executor", both, "", "", "", ""])
    if y != "modelyard":
        return out
    label = "(d) first pipeline in a fresh process"
    for store in ("fresh", "existing"):
        proc = lambda r: r.process_wall_s  # noqa: E731
        yp, pp = values(recs, y, "d", proc, store), values(recs, p, "d", proc, store)
        if not yp:
            continue
        met = "met" if (med(yp) or 1e9) < 1.0 else "**NOT met**"
        out.append([label, f"process wall time, {store} store", fmt(med(yp), "s"),
                    fmt(med(pp), "s"), fmt_ratio(ratio(pp, yp)), "< 1 s", met])  # fmt: skip
        for name, key in (("import (and define steps)", "import_s"), ("first run", "first_run_s")):
            get = lambda r, key=key: r.result[key]  # noqa: E731
            yv, pv = values(recs, y, "d", get, store), values(recs, p, "d", get, store)
            out.append([label, f"{name}, {store} store", fmt(med(yv), "s"), fmt(med(pv), "s"),
                        fmt_ratio(ratio(pv, yv)), "", ""])  # fmt: skip
        outside = lambda r: r.process_wall_s - r.result["in_process_s"]  # noqa: E731
        yo, po = values(recs, y, "d", outside, store), values(recs, p, "d", outside, store)
        out.append([label, f"interpreter start and exit, {store} store", fmt(med(yo), "s"),
                    fmt(med(po), "s"), "", "", ""])  # fmt: skip
        ym, pm = values(recs, y, "d", peak, store), values(recs, p, "d", peak, store)
        helper = values(recs, p, "d", server, store)
        out.append([label, f"peak RSS, {store} store (Prefect: + its server)", fmt(med(ym), "MiB"),
                    f"{fmt(med(pm), 'MiB')} + {fmt(med(helper), 'MiB')}", "", "", ""])  # fmt: skip
    return out


HEADERS = ["case", "measure", "modelyard", f"Prefect {PREFECT_VERSION}", "ratio", "target",
           "result"]  # fmt: skip


def ray_ready() -> str | None:
    """None when modelyard's Ray executor and Ray are there; else why not."""
    found = subprocess.run(
        [str(YARD_PYTHON), "-c",
         "import importlib.util as u, sys\n"
         "sys.exit(0 if u.find_spec('modelyard.pipelines.executors.ray') else 3)\n"],
        env={**common.clean_env(), "PYTHONPATH": str(REPO / "src")},
        capture_output=True, check=False,
    )  # fmt: skip
    if found.returncode == 3:
        return (
            "modelyard.pipelines.executors.ray is absent from this checkout (the Ray executor "
            "has not landed): --ray skipped"
        )
    if found.returncode != 0:
        return f"could not look for the Ray executor: {found.stderr.decode()[-500:]}"
    ray = subprocess.run([str(YARD_PYTHON), "-c", "import ray"], env=common.clean_env(),
                         capture_output=True, check=False)  # fmt: skip
    if ray.returncode != 0:
        return f"Ray is not installed in {YARD_PYTHON}: --ray skipped"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; quick 1)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one round")
    parser.add_argument("--only", default="abcde", help="the cases to run, e.g. 'ac'")
    parser.add_argument("--ray", action="store_true", help="(a)-(c) on the Ray executor too")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    args = parser.parse_args()
    sizes = wl.QUICK if args.quick else wl.FULL
    if args.rounds:
        sizes = wl.Sizes(**{**wl.sizes_dict(sizes), "rounds": args.rounds})
    cases = [c for c in "abcde" if c in args.only]
    requirements = [f"{d}=={v}" for d, v in PREFECT_PINS]
    prefect_python = common.ensure_pins(PREFECT_VENV, PREFECT_PINS, requirements, log)
    if not common.pins_installed(YARD_PYTHON, SHARED_PINS):
        raise common.BenchError(
            f"modelyard's venv ({YARD_PYTHON}) must hold {SHARED_PINS}, as Prefect's does"
        )
    ray_sides: list[Side] = []
    ray_note = None
    if args.ray:
        ray_note = ray_ready()
        if ray_note:
            console.print(f"[yellow]{ray_note}[/yellow]")
        else:
            ray_sides = [YARD_RAY]
    base = Path(tempfile.mkdtemp(prefix="modelyard-bench-pipelines-"))
    started = dt.datetime.now(dt.timezone.utc)
    load_before = os.getloadavg()
    t0 = time.monotonic()
    bench = Bench(sizes, base, prefect_python, args.keep)
    log(
        f"{'quick' if args.quick else 'full'} run, {sizes.rounds} round(s), cases "
        f"{''.join(cases)}; stores under {base}; load average {load_before[0]:.2f}, "
        f"{load_before[1]:.2f}, {load_before[2]:.2f}"
    )
    log(f"modelyard source snapshot {bench.yard_source['sha256']}")
    try:
        for rnd in range(1, sizes.rounds + 1):
            for case in cases:
                sides = [PREFECT, YARD]
                if case == "e":
                    sides = [PREFECT, YARD, PREFECT_PERSIST]
                if case in "abc":
                    sides += ray_sides
                bench.case(case, rnd, sides)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    load_after = os.getloadavg()
    table = rows(bench.records, sizes)
    if ray_sides:
        table += rows(bench.records, sizes, "modelyard-ray")
    title = (
        f"Pipelines: modelyard vs Prefect {PREFECT_VERSION} (median of {sizes.rounds} "
        "round(s); ratio = Prefect / modelyard, above 1 means modelyard is faster)"
    )
    common.report(console, title, HEADERS, table, args.markdown)
    notes = [
        f"load average before {load_before[0]:.2f} / {load_before[1]:.2f} / "
        f"{load_before[2]:.2f}, after {load_after[0]:.2f} / {load_after[1]:.2f} / "
        f"{load_after[2]:.2f} (1 / 5 / 15 min) on {os.cpu_count()} cores",
    ]
    if ray_note:
        notes.append(ray_note)
    for n in notes:
        console.print(f"  {n}", highlight=False)
    doc = {
        "benchmark": "pipelines",
        "quick": args.quick,
        "started_utc": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 1),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "sizes": wl.sizes_dict(sizes),
        "pins": dict(PREFECT_PINS),
        "modelyard_source": bench.yard_source,
        "notes": notes,
        "table": table,
        "records": [r.__dict__ for r in bench.records],
    }
    path = common.save_results("pipelines", doc)
    log(f"results written to {path.relative_to(REPO)} ({doc['duration_s']:.0f} s in all)")
    return 1 if any(r.error for r in bench.records) else 0


if __name__ == "__main__":
    sys.exit(main())
