"""The modelyard side of the tracking benchmark; runs in modelyard's venv.

``python yard_worker.py SPEC_JSON`` runs one workload against ``spec["uri"]`` (a
``sqlite:///`` URI or an ``http://`` modelyard server) and prints one ``RESULT {json}`` line.
modelyard's logging calls return at once and a background writer ships batches, so every
timing here ends with ``client.flush()``, the point where the data is stored.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload as wl

import modelyard as yard
from modelyard import Client, Metric


def _experiment(client: Client, name: str) -> str:
    return client.create_experiment(f"{name}-{time.time_ns()}")


def _check_delivered(client: Client) -> None:
    if client.spooled_batches:
        raise RuntimeError(f"{client.spooled_batches} batches went to the spool, not the store")


def _new_run(client: Client, exp: str) -> str:
    run_id = client.create_run(exp).info.run_id
    client.flush()  # the run row is written before the timer starts
    return str(run_id)


def _checked_rate(
    client: Client, run_id: str, spec: dict[str, Any], n_points: int, seconds: float
) -> dict[str, Any]:
    """After a timed logging workload (untimed): every point stored, the run ended."""
    _check_delivered(client)
    stored = len(client.get_metric_history(run_id, "m0"))
    want = wl.expected_history(spec["n_metrics"], n_points)
    if stored != want:
        raise RuntimeError(f"m0 history has {stored} points, expected {want}")
    client.set_terminated(run_id)
    client.flush()
    return {"points": n_points, "seconds": seconds, "rate": n_points / seconds}


def per_call(client: Client, spec: dict[str, Any]) -> dict[str, Any]:
    """(a) one run, log_metric per point, then flush (inside the timing)."""
    run_id = _new_run(client, _experiment(client, "a"))
    pts = wl.points(spec["n_metrics"], spec["n_steps"], spec.get("limit"))
    t0 = time.perf_counter()
    for key, value, step in pts:
        client.log_metric(run_id, key, value, step=step)
    client.flush()
    seconds = time.perf_counter() - t0
    return _checked_rate(client, run_id, spec, len(pts), seconds)


def batched(client: Client, spec: dict[str, Any]) -> dict[str, Any]:
    """(b) the same points through log_batch, ``batch`` metrics per call, then flush."""
    run_id = _new_run(client, _experiment(client, "b"))
    pts = wl.points(spec["n_metrics"], spec["n_steps"], spec.get("limit"))
    size = spec["batch"]
    t0 = time.perf_counter()
    for i in range(0, len(pts), size):
        ts = wl.now_ms()
        client.log_batch(run_id, metrics=[Metric(k, v, ts, s) for k, v, s in pts[i : i + size]])
    client.flush()
    seconds = time.perf_counter() - t0
    return _checked_rate(client, run_id, spec, len(pts), seconds)


def artifacts(client: Client, spec: dict[str, Any]) -> dict[str, Any]:
    """(c) many small files, then one large file, each through log_artifact (synchronous)."""
    run_id = _new_run(client, _experiment(client, "c"))
    small = sorted(Path(spec["small_dir"]).iterdir())
    large = Path(spec["large_file"])
    t0 = time.perf_counter()
    for path in small:
        client.log_artifact(run_id, path, "small")
    small_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    client.log_artifact(run_id, large)
    large_s = time.perf_counter() - t0
    listed = client.list_artifacts(run_id, "small")
    if len(listed) != len(small):
        raise RuntimeError(f"{len(listed)} small artifacts stored, expected {len(small)}")
    if client.artifact_info(run_id, large.name).size != large.stat().st_size:
        raise RuntimeError("the large artifact has the wrong size")
    client.set_terminated(run_id)
    client.flush()
    return {"small_files": len(small), "small_seconds": small_s, "large_seconds": large_s}


def create_runs(client: Client, exp: str, payloads: list[wl.RunPayload]) -> dict[str, Any]:
    """create_run + log_batch + set_terminated per run, then flush (inside the timing)."""
    t0 = time.perf_counter()
    for p in payloads:
        run_id = client.create_run(exp).info.run_id
        ts = wl.now_ms()
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, ts, 0) for k, v in p.metrics.items()],
            params=p.params,
            tags=p.tags,
        )
        client.set_terminated(run_id)
    client.flush()
    seconds = time.perf_counter() - t0
    _check_delivered(client)
    return {"runs": len(payloads), "seconds": seconds, "rate": len(payloads) / seconds}


def runs_and_search(client: Client, spec: dict[str, Any]) -> dict[str, Any]:
    """(d) create the runs, then the filtered top-100 search and the fetch of every run."""
    payloads = wl.run_payloads(spec["n_runs"])[: spec["n_create"]]
    exp = _experiment(client, "d")
    out: dict[str, Any] = {"create": create_runs(client, exp, payloads)}
    search_ms = []
    top: list[yard.Run] = []
    for _ in range(spec["search_repeats"]):
        t0 = time.perf_counter()
        top = client.search_runs(
            [exp], wl.SEARCH_FILTER, max_results=wl.SEARCH_MAX, order_by=wl.SEARCH_ORDER
        ).runs
        search_ms.append((time.perf_counter() - t0) * 1000)
    out["search_ms"] = search_ms
    out["search_p50_ms"] = wl.median(search_ms)
    out["search_hits"] = len(top)
    out["search_digest"] = wl.digest([r.data.metrics["m1"] for r in top])
    yard.set_tracking_uri(spec["uri"])
    import pandas  # noqa: F401  (imported before the timing on both sides)

    fetch_s = []
    rows = 0
    for _ in range(spec["fetch_repeats"]):
        t0 = time.perf_counter()
        frame = yard.search_runs(experiment_ids=[exp], max_results=100_000)
        fetch_s.append(time.perf_counter() - t0)
        rows = len(frame)
    out["fetch_seconds"] = fetch_s
    out["fetch_median_s"] = wl.median(fetch_s)
    out["fetch_rows"] = rows
    if rows != spec["n_runs"]:
        raise RuntimeError(f"fetched {rows} runs, expected {spec['n_runs']}")
    return out


WORKLOADS = {"a": per_call, "b": batched, "c": artifacts, "d": runs_and_search}


def main() -> None:
    spec = wl.load_spec(sys.argv)
    with Client(spec["uri"]) as client:
        result = WORKLOADS[spec["workload"]](client, spec)
    result["version"] = yard.__version__
    result["module"] = yard.__file__
    wl.emit(result)


if __name__ == "__main__":
    main()
