"""The serving benchmark: one-row requests from wrk against modelyard, MLflow, MLServer and
BentoML serving the same scikit-learn models, in the same run.

    .venv/bin/python bench/serving/run.py [--seconds 15] [--quick] [--markdown] [--only a,b]

Each peer runs in its own pinned venv under /tmp (created when missing; MLflow's is the
models benchmark's). For each model (LogisticRegression, RandomForest 100 trees depth 8, 20
features) and each server: start it on a free loopback port, check one answer, wait until it
is CPU-idle, warm it up for 3 s, then ``wrk -t1 -c1`` and ``wrk -t1 -c32`` for ``--seconds``
each (keep-alive connections, a Lua script for the POST body), stop it. Also the floor: ONNX
Runtime's in-process latency for one row. Needs ``wrk`` (``apt-get install wrk``).

modelyard also serves gRPC (``--grpc-port``) in the same process, and is loaded by
tritonclient over HTTP and over gRPC, the same model, row and concurrencies, interleaved
(``triton_load.py``; ``--no-grpc`` skips it). Results: bench/results/serving-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(HERE))

import workload  # noqa: E402
from rich.console import Console  # noqa: E402

import common  # noqa: E402

YARD_PYTHON = Path(os.environ.get("BENCH_YARD_PYTHON", REPO / ".venv" / "bin" / "python"))
SKLEARN = (("scikit-learn", "1.9.1"), ("numpy", "2.4.6"))
PEERS = {
    "mlflow": (
        Path(os.environ.get("BENCH_MLFLOW_MODELS_VENV", "/tmp/bench-mlflow-models")),
        (
            ("mlflow", "3.17.2"),
            *SKLEARN,
            ("skops", "0.16.0"),
            ("xgboost-cpu", "3.2.0"),
            ("pandas", "3.1.1"),
        ),
    ),
    "mlserver": (
        Path(os.environ.get("BENCH_MLSERVER_VENV", "/tmp/bench-mlserver")),
        (("mlserver", "1.7.1"), ("mlserver-sklearn", "1.7.1"), *SKLEARN),
    ),
    "bentoml": (
        Path(os.environ.get("BENCH_BENTOML_VENV", "/tmp/bench-bentoml")),
        (("bentoml", "1.4.39"), *SKLEARN),
    ),
}
EXTRA_REQS = {"mlserver": ["uvloop<0.22"]}  # MLServer#2286
TOOLS = ("modelyard", "modelyard-nolog", "mlflow", "mlserver", "bentoml")
OURS = ("modelyard", "modelyard-nolog")  # with the prediction log (the default), and without
console = Console(width=None if sys.stdout.isatty() else 150)


@dataclass
class Target:
    tool: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    health: str
    url: str
    body: dict[str, Any]
    grpc_port: int | None = None


def python_of(tool: str) -> Path:
    if tool in OURS:
        return YARD_PYTHON
    venv, pins = PEERS[tool]
    reqs = [f"{d}=={v}" for d, v in pins] + EXTRA_REQS.get(tool, [])
    return common.ensure_pins(venv, pins, reqs, console.log)


def target(tool: str, python: Path, folder: Path, port: int, grpc: bool = False) -> Target:
    row = workload.row()
    cols = [f"f{i}" for i in range(workload.FEATURES)]
    base = f"http://127.0.0.1:{port}"
    env = common.clean_env(venv_bin=python.parent)
    env.update(BENTOML_DO_NOT_TRACK="true")
    oip = {"inputs": [{"name": "input-0", "shape": [1, 20], "datatype": "FP32", "data": [row]}]}
    if tool in OURS:
        grpc_port = common.free_port() if grpc and tool == "modelyard" else None
        argv = [
            str(python),
            "-m",
            "modelyard",
            "serve",
            f"model={folder}",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--watch-seconds",
            "0",
            *(["--no-prediction-log"] if tool == "modelyard-nolog" else []),
            *(["--grpc-port", str(grpc_port)] if grpc_port else []),
        ]
        env["PYTHONPATH"] = str(REPO / "src")
        return Target(
            tool,
            argv,
            env,
            folder.parent,
            f"{base}/v2/health/ready",
            f"{base}/v2/models/model/infer",
            oip,
            grpc_port,
        )
    if tool == "mlflow":
        argv = [
            str(python.parent / "mlflow"),
            "models",
            "serve",
            "-m",
            str(folder),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "--env-manager",
            "local",
        ]
        body = {"dataframe_split": {"columns": cols, "data": [row]}}
        return Target(tool, argv, env, folder.parent, f"{base}/ping", f"{base}/invocations", body)
    if tool == "mlserver":
        env.update(
            MLSERVER_HTTP_PORT=str(port),
            MLSERVER_GRPC_PORT=str(common.free_port()),
            MLSERVER_METRICS_PORT=str(common.free_port()),
            MLSERVER_HOST="127.0.0.1",
        )
        argv = [str(python.parent / "mlserver"), "start", str(folder)]
        body = {"inputs": [dict(oip["inputs"][0], datatype="FP64")]}
        return Target(
            tool,
            argv,
            env,
            folder,
            f"{base}/v2/health/ready",
            f"{base}/v2/models/model/infer",
            body,
        )
    argv = [
        str(python.parent / "bentoml"),
        "serve",
        "service:Model",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
    ]
    return Target(tool, argv, env, folder, f"{base}/readyz", f"{base}/predict", {"input": [row]})


def post(url: str, body: dict[str, Any]) -> tuple[int, str]:
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.read().decode()[:300]


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, body: dict[str, Any], connections: int, seconds: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write('wrk.method = "POST"\n')
        lua.write(f"wrk.body = {json.dumps(json.dumps(body))}\n")
        lua.write('wrk.headers["Content-Type"] = "application/json"\n')
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", lua.name, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    os.unlink(lua.name)

    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * _UNIT[m.group(2)] if m else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0,
    }


def triton_load(protocol: str, address: str, connections: int, seconds: int) -> dict[str, Any]:
    """tritonclient's load over ``protocol`` (http or grpc), in a process of its own."""
    done = subprocess.run(
        [
            str(YARD_PYTHON),
            str(HERE / "triton_load.py"),
            protocol,
            address,
            "model",
            str(connections),
            str(seconds),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 120,
    )
    found: dict[str, Any] = json.loads(done.stdout.split(common.RESULT_PREFIX, 1)[1])
    return found


def served(base: str) -> tuple[int, int]:
    """(requests answered, their nanoseconds in the server) from the statistics extension."""
    with urllib.request.urlopen(f"{base}/v2/models/model/stats", timeout=30) as resp:
        stats = json.load(resp)["model_stats"][0]["inference_stats"]["success"]
    return int(stats["count"]), int(stats["ns"])


def tritonclient_cells(t: Target, pid: int, seconds: int) -> dict[str, dict[str, Any]]:
    """HTTP and gRPC from tritonclient at c=1 and c=32, interleaved (H G H G), each after
    the server is CPU-idle; with the mean time a request spent in the server (admission to
    answer), from the server's own statistics, to tell the server's cost from the client's."""
    base = t.url.split("/v2/", 1)[0]
    addresses = {"http": base.split("//", 1)[1], "grpc": f"127.0.0.1:{t.grpc_port}"}
    cells: dict[str, dict[str, Any]] = {"http": {}, "grpc": {}}
    for connections in (1, 32):
        for protocol in ("http", "grpc"):
            common.wait_idle([pid])
            count, ns = served(base)
            cell = triton_load(protocol, addresses[protocol], connections, seconds)
            count_after, ns_after = served(base)
            cell["server_ms"] = (ns_after - ns) / max(count_after - count, 1) / 1e6
            cells[protocol][f"c{connections}"] = cell
            console.log(
                f"  tritonclient {protocol} c={connections}: {cell['rps']:.0f} req/s "
                f"p50 {cell['p50_ms']:.2f} ms p99 {cell['p99_ms']:.2f} ms, "
                f"{cell['server_ms']:.3f} ms in the server, errors {cell['errors']}"
            )
    return cells


def onnx_floor(folder: Path) -> float:
    """In-process ONNX Runtime latency for one row (median of 2,000 calls), in ms."""
    code = (
        "import time, statistics, numpy as np, onnxruntime as ort, sys\n"
        f"s = ort.InferenceSession('{folder}/model.onnx', providers=['CPUExecutionProvider'])\n"
        f"x = np.array([{workload.row()}], dtype=np.float32)\n"
        "name = s.get_inputs()[0].name; out = s.get_outputs()[0].name\n"
        "for _ in range(200): s.run([out], {name: x})\n"
        "t = []\n"
        "for _ in range(2000):\n"
        "    t0 = time.perf_counter(); s.run([out], {name: x})\n"
        "    t.append(time.perf_counter() - t0)\n"
        "print(statistics.median(t) * 1e3)\n"
    )
    done = subprocess.run(
        [str(YARD_PYTHON), "-c", code], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def _tritonclient_rows(label: str, result: dict[str, Any]) -> list[list[str]]:
    """modelyard loaded by tritonclient over HTTP and gRPC, and gRPC's throughput over
    HTTP's at each concurrency."""
    cells = result.get("tritonclient") or {}
    if not cells:
        return []
    rows = []
    for protocol, name in (("http", "HTTP (binary)"), ("grpc", "gRPC")):
        one, many = cells[protocol]["c1"], cells[protocol]["c32"]
        rows.append(
            [
                label,
                f"modelyard, tritonclient {name}",
                f"{one['rps']:,.0f}",
                f"{one['p50_ms']:.2f}",
                f"{many['rps']:,.0f}",
                f"{many['p50_ms']:.1f}",
                f"{many['p99_ms']:.1f}",
            ]
        )
    ratio = [cells["grpc"][c]["rps"] / cells["http"][c]["rps"] for c in ("c1", "c32")]
    rows.append(
        [label, "gRPC / HTTP (tritonclient)", f"{ratio[0]:.2f}x", "", f"{ratio[1]:.2f}x", "", ""]
    )
    for protocol, name in (("http", "HTTP"), ("grpc", "gRPC")):
        inside = [cells[protocol][c]["server_ms"] for c in ("c1", "c32")]
        rows.append(
            [
                label,
                f"  {name}: mean ms in the server",
                "",
                f"{inside[0]:.3f}",
                "",
                f"{inside[1]:.2f}",
                "",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 s per measurement")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--only", default=",".join(TOOLS))
    parser.add_argument("--no-grpc", action="store_true", help="skip the tritonclient cells")
    opts = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    seconds = 5 if opts.quick else opts.seconds
    tools = [t for t in TOOLS if t in opts.only.split(",")]
    pythons = {t: python_of(t) for t in tools}
    results: dict[str, dict[str, Any]] = {}
    floors: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-serving-") as tmp:
        for kind in ("lr", "rf"):
            for tool in tools:
                folder = Path(tmp) / f"{tool}-{kind}"
                subprocess.run(
                    [
                        str(pythons[tool]),
                        str(HERE / "prepare.py"),
                        "modelyard" if tool in OURS else tool,
                        kind,
                        str(folder),
                    ],
                    env={**common.clean_env(), "PYTHONPATH": str(REPO / "src")},
                    check=True,
                    capture_output=True,
                )
                if tool == "modelyard":
                    floors[kind] = onnx_floor(folder)
                t = target(tool, pythons[tool], folder, common.free_port(), not opts.no_grpc)
                server = common.Server(
                    tool, t.argv, t.env, t.cwd, t.health, Path(tmp) / f"{tool}-{kind}.log"
                )
                server.start(timeout=240)
                try:
                    status, answer = post(t.url, t.body)
                    if status != 200:
                        raise common.BenchError(f"{tool} answered {status}: {answer}")
                    wrk(t.url, t.body, 8, 3)  # warm-up
                    common.wait_idle([server.pid])
                    one = wrk(t.url, t.body, 1, seconds)
                    common.wait_idle([server.pid])
                    many = wrk(t.url, t.body, 32, seconds)
                    cells = tritonclient_cells(t, server.pid, seconds) if t.grpc_port else {}
                finally:
                    server.stop()
                results[f"{kind}/{tool}"] = {
                    "c1": one,
                    "c32": many,
                    "answer": answer,
                    "ready_s": server.ready_s,
                    "tritonclient": cells,
                }
                console.log(
                    f"{kind} {tool}: c1 {one['rps']:.0f} req/s p50 {one['p50_ms']:.2f} ms; "
                    f"c32 {many['rps']:.0f} req/s p50 {many['p50_ms']:.1f} ms "
                    f"p99 {many['p99_ms']:.1f} ms; "
                    f"errors {many['non_2xx'] + many['socket_errors']:.0f}"
                )
    rows = []
    for kind, label in (("lr", "LogisticRegression"), ("rf", "RandomForest")):
        for tool in tools:
            r = results[f"{kind}/{tool}"]
            rows.append(
                [
                    label,
                    tool,
                    f"{r['c1']['rps']:,.0f}",
                    f"{r['c1']['p50_ms']:.2f}",
                    f"{r['c32']['rps']:,.0f}",
                    f"{r['c32']['p50_ms']:.1f}",
                    f"{r['c32']['p99_ms']:.1f}",
                ]
            )
        rows += _tritonclient_rows(label, results.get(f"{kind}/modelyard", {}))
        peers = [results[f"{kind}/{t}"]["c32"]["rps"] for t in tools if t not in OURS]
        if peers and "modelyard" in tools:
            best = max(peers)
            ours = results[f"{kind}/modelyard"]["c32"]["rps"]
            rows.append(
                [label, "modelyard / best peer (c=32)", "", "", f"{ours / best:.1f}x", "", ""]
            )
        if kind in floors:
            rows.append(
                [label, "floor: ONNX Runtime in-process", "", f"{floors[kind]:.3f}", "", "", ""]
            )
    columns = (
        "model",
        "server",
        "c=1 req/s",
        "c=1 p50 ms",
        "c=32 req/s",
        "c=32 p50 ms",
        "c=32 p99 ms",
    )
    title = f"Serving one-row requests, wrk {seconds} s per cell"
    common.report(console, title, columns, rows, opts.markdown)
    common.save_results(
        "serving",
        {
            "seconds": seconds,
            "results": results,
            "floors_ms": floors,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
