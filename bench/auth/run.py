"""What authentication costs: the same tracking ingest through `modelyard server` with and
without --auth, and the same inference load on `modelyard serve` with and without --auth,
interleaved (off, on, off, on) in one run. Not part of CI.

    .venv/bin/python bench/auth/run.py            # about 6 minutes on 2 cores
    .venv/bin/python bench/auth/run.py --quick    # smaller, for a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE.parent / "serving"))

from bench.common import Server, free_port, save_results, wait_idle, wait_machine_idle  # noqa: E402
from workload import FEATURES, row, train  # noqa: E402

PY = sys.executable
CLI = [PY, "-m", "modelyard"]
PASSWORD = "bench-password-1234"  # a throwaway store's admin


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env.update(MODELYARD_CONFIG_DIR=str(tmp / "config"), HOME=str(tmp), **extra)
    return env


def _platform(tmp: Path, name: str, auth: bool) -> tuple[Server, str, str | None]:
    """A `modelyard server` on a fresh SQLite store; with auth, its admin's API token."""
    store = f"sqlite:///{tmp}/{name}.db"
    token = None
    env = _env(tmp)
    if auth:
        subprocess.run(
            [*CLI, "users", "create", "admin", "--role", "admin", "--password-stdin", "-t", store],
            input=PASSWORD + "\n", text=True, env=env, check=True, capture_output=True,
        )  # fmt: skip
    port = free_port()
    argv = [*CLI, "server", "--store", store, "--artifacts", str(tmp / f"{name}-a"), "--port"]
    argv += [str(port), *(["--auth"] if auth else [])]
    srv = Server(name, argv, env, tmp, f"http://127.0.0.1:{port}/health", tmp / f"{name}.log")
    srv.start()
    url = f"http://127.0.0.1:{port}"
    if auth:
        got = httpx.post(
            f"{url}/api/v1/auth/login",
            json={"name": "admin", "password": PASSWORD, "issue_token": True},
        )
        token = got.json()["token"]
    return srv, url, token


INGEST = r"""
import json, sys, time
import modelyard as yard
from modelyard import Metric
url, runs, points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = yard.Client(url)
eid = c.create_experiment(f"bench-{time.time_ns()}")
t0 = time.perf_counter()
for r in range(runs):  # many small requests: the per-request cost of auth shows here
    run = c.create_run(eid)
    c.log_param(run.info.run_id, "lr", "0.1")
    c.log_metric(run.info.run_id, "loss", 0.5)
    c.set_terminated(run.info.run_id)
    c.flush()
small = time.perf_counter() - t0
run = c.create_run(eid).info.run_id
c.flush()
t0 = time.perf_counter()
for start in range(0, points, 1000):  # big batches: auth is paid once per batch
    c.log_batch(run, metrics=[Metric("m", float(i), i, i) for i in range(start, start + 1000)])
c.flush()
big = time.perf_counter() - t0
c.close()
print("RESULT " + json.dumps({"small_runs_per_s": runs / small, "points_per_s": points / big}))
"""


def _ingest(url: str, token: str | None, tmp: Path, runs: int, points: int) -> dict[str, float]:
    env = _env(tmp, **({"MODELYARD_TOKEN": token} if token else {}))
    out = subprocess.run(
        [PY, "-c", INGEST, url, str(runs), str(points)],
        env=env, capture_output=True, text=True, check=True, timeout=900,
    ).stdout  # fmt: skip
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[7:]))


def _wrk(url: str, token: str | None, connections: int, seconds: int) -> dict[str, float]:
    body = {"inputs": [{"name": "x", "shape": [1, FEATURES], "datatype": "FP64",
                        "data": row()}]}  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write('wrk.method = "POST"\n')
        lua.write(f"wrk.body = {json.dumps(json.dumps(body))}\n")
        lua.write('wrk.headers["Content-Type"] = "application/json"\n')
        if token:
            lua.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", lua.name, url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    os.unlink(lua.name)
    import re

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        raise SystemExit(f"{bad.group(1)} failed requests at {url}:\n{out}")
    return {"rps": float(rps.group(1)) if rps else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    runs, points, seconds = (40, 20_000, 3) if args.quick else (200, 200_000, args.seconds)
    tmp = Path(tempfile.mkdtemp(prefix="modelyard-bench-auth-"))
    results: dict[str, Any] = {"tracking": {"off": [], "on": []}, "serving": {}}
    off, off_url, _ = _platform(tmp, "off", auth=False)
    on, on_url, token = _platform(tmp, "on", auth=True)
    try:
        for _ in range(2):
            for side, url, tok, srv in (("off", off_url, None, off), ("on", on_url, token, on)):
                wait_idle([srv.pid])
                wait_machine_idle()
                results["tracking"][side].append(_ingest(url, tok, tmp, runs, points))
        # serving: a model registered on the auth platform (the token's endpoint)
        import modelyard as yard

        folder = tmp / "model"
        x = train("lr")
        import numpy as np

        yard.models.save_model(x, folder, input_example=np.asarray([row()]), onnx=True)
        hdr = {"Authorization": f"Bearer {token}"}
        httpx.post(f"{on_url}/api/v1/registry/models", json={"name": "model"}, headers=hdr)
        serving_token = httpx.post(
            f"{on_url}/api/v1/auth/serving-tokens",
            json={"endpoint": "model", "ttl": "1h"},
            headers=hdr,
        ).json()["token"]
        serves = {}
        for side in ("off", "on"):
            port = free_port()
            argv = [*CLI, "serve", f"{folder}", "--port", str(port), "--no-prediction-log"]
            if side == "on":
                argv += ["--auth", "--auth-issuer", on_url]
            ready = f"http://127.0.0.1:{port}/v2/health/ready"
            srv = Server(f"serve-{side}", argv, _env(tmp), tmp, ready, tmp / f"serve-{side}.log")
            srv.start()
            serves[side] = (srv, f"http://127.0.0.1:{port}/v2/models/model/infer")
        # "header": the server without --auth, sent the same Authorization header, so the
        # cost of carrying a token (bytes to send and parse) shows apart from checking it
        cells = (
            ("off", "off", None),
            ("header", "off", serving_token),
            ("on", "on", serving_token),
        )
        for c in (1, 32):
            results["serving"][f"c={c}"] = {"off": [], "header": [], "on": []}
            for _ in range(2):
                for label, side, sent in cells:
                    srv, url = serves[side]
                    _wrk(url, sent, c, 2)  # warm-up
                    wait_idle([srv.pid])
                    wait_machine_idle()
                    results["serving"][f"c={c}"][label].append(_wrk(url, sent, c, seconds))
        for srv, _ in serves.values():
            srv.stop()
    finally:
        off.stop()
        on.stop()
    rows = []

    def best(cells: list[dict[str, float]], key: str) -> float:
        return max(c[key] for c in cells)

    for key, label in (("small_runs_per_s", "tracking: small runs/s"),
                       ("points_per_s", "tracking: metric points/s")):  # fmt: skip
        a, b = (best(results["tracking"][s], key) for s in ("off", "on"))
        rows.append((label, a, b))
    for c in ("c=1", "c=32"):
        a, h, b = (best(results["serving"][c][s], "rps") for s in ("off", "header", "on"))
        rows.append((f"serving {c}: requests/s", a, b))
        rows.append((f"serving {c}: requests/s, the token's header sent to both", h, b))
    print("| workload | auth off | auth on | cost |")
    print("|---|---|---|---|")
    for label, a, b in rows:
        print(f"| {label} | {a:,.0f} | {b:,.0f} | {100 * (1 - b / a):+.1f}% |")
    results["rows"] = rows
    results["when"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(save_results("auth", results))


if __name__ == "__main__":
    main()
