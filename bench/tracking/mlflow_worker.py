"""The MLflow side of the tracking benchmark; runs in MLflow's own venv, never in modelyard's.

``python mlflow_worker.py SPEC_JSON`` runs one workload against ``spec["uri"]`` (a
``sqlite:///`` URI or an ``http://`` MLflow server) and prints one ``RESULT {json}`` line.
MLflow's client calls are synchronous: when a call returns, the data is stored.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload as wl

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag


def _checked_rate(
    client: MlflowClient, run_id: str, spec: dict[str, Any], n_points: int, seconds: float
) -> dict[str, Any]:
    """After a timed logging workload (untimed): every point stored, the run ended."""
    stored = len(client.get_metric_history(run_id, "m0"))
    want = wl.expected_history(spec["n_metrics"], n_points)
    if stored != want:
        raise RuntimeError(f"m0 history has {stored} points, expected {want}")
    client.set_terminated(run_id)
    return {"points": n_points, "seconds": seconds, "rate": n_points / seconds}


def _experiment(client: MlflowClient, spec: dict[str, Any], name: str) -> str:
    location = spec.get("artifact_location")
    return client.create_experiment(f"{name}-{time.time_ns()}", artifact_location=location)


def per_call(client: MlflowClient, spec: dict[str, Any]) -> dict[str, Any]:
    """(a) one run, log_metric per point; timed on the first ``limit`` points."""
    exp = _experiment(client, spec, "a")
    run_id = client.create_run(exp).info.run_id
    pts = wl.points(spec["n_metrics"], spec["n_steps"], spec["limit"])
    t0 = time.perf_counter()
    for key, value, step in pts:
        client.log_metric(run_id, key, value, step=step)
    seconds = time.perf_counter() - t0
    return _checked_rate(client, run_id, spec, len(pts), seconds)


def batched(client: MlflowClient, spec: dict[str, Any]) -> dict[str, Any]:
    """(b) the same points through log_batch, ``batch`` metrics per call."""
    exp = _experiment(client, spec, "b")
    run_id = client.create_run(exp).info.run_id
    pts = wl.points(spec["n_metrics"], spec["n_steps"], spec.get("limit"))
    size = spec["batch"]
    t0 = time.perf_counter()
    for i in range(0, len(pts), size):
        ts = wl.now_ms()
        metrics = [Metric(k, v, ts, s) for k, v, s in pts[i : i + size]]
        client.log_batch(run_id, metrics=metrics)
    seconds = time.perf_counter() - t0
    return _checked_rate(client, run_id, spec, len(pts), seconds)


def artifacts(client: MlflowClient, spec: dict[str, Any]) -> dict[str, Any]:
    """(c) many small files, then one large file, each through log_artifact."""
    exp = _experiment(client, spec, "c")
    run_id = client.create_run(exp).info.run_id
    small = sorted(Path(spec["small_dir"]).iterdir())
    large = Path(spec["large_file"])
    t0 = time.perf_counter()
    for path in small:
        client.log_artifact(run_id, str(path), "small")
    small_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    client.log_artifact(run_id, str(large))
    large_s = time.perf_counter() - t0
    listed = client.list_artifacts(run_id, "small")
    if len(listed) != len(small):
        raise RuntimeError(f"{len(listed)} small artifacts stored, expected {len(small)}")
    big = [f for f in client.list_artifacts(run_id) if f.path == large.name]
    if not big or big[0].file_size != large.stat().st_size:
        raise RuntimeError("the large artifact is missing or has the wrong size")
    client.set_terminated(run_id)
    return {"small_files": len(small), "small_seconds": small_s, "large_seconds": large_s}


def create_runs(
    client: MlflowClient, exp: str, payloads: list[wl.RunPayload], checkpoint: int
) -> dict[str, Any]:
    """create_run + log_batch + set_terminated per run; the rate after ``checkpoint`` runs too."""
    t0 = time.perf_counter()
    at_checkpoint = None
    for i, p in enumerate(payloads):
        run_id = client.create_run(exp).info.run_id
        ts = wl.now_ms()
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, ts, 0) for k, v in p.metrics.items()],
            params=[Param(k, v) for k, v in p.params.items()],
            tags=[RunTag(k, v) for k, v in p.tags.items()],
        )
        client.set_terminated(run_id)
        if i + 1 == checkpoint:
            at_checkpoint = time.perf_counter() - t0
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {
        "runs": len(payloads),
        "seconds": seconds,
        "rate": len(payloads) / seconds,
    }
    if at_checkpoint is not None:
        out["first_runs"] = checkpoint
        out["first_rate"] = checkpoint / at_checkpoint
    return out


def _rows(
    con: sqlite3.Connection, table: str, run_id: str
) -> tuple[list[str], list[dict[str, Any]]]:
    cur = con.execute(f"SELECT * FROM {table} WHERE run_uuid = ?", (run_id,))
    cols = [d[0] for d in cur.description]
    return cols, [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def fill_runs_sql(db: Path, template_id: str, payloads: list[wl.RunPayload]) -> float:
    """Add runs to MLflow's SQLite store with plain SQL, each a clone of the rows MLflow wrote
    for the run ``template_id`` (same columns, system tags and layout) carrying its own
    payload. Only to build the 10,000-run store quickly; never timed as run creation."""
    t0 = time.perf_counter()
    con = sqlite3.connect(db)
    run_cols, (run_row,) = _rows(con, "runs", template_id)
    tag_cols, tag_rows = _rows(con, "tags", template_id)
    out: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {
        "runs": (run_cols, []),
        "tags": (tag_cols, []),
    }
    by_key = {}
    for table in ("params", "metrics", "latest_metrics"):
        cols, rows = _rows(con, table, template_id)
        by_key[table] = {r["key"]: r for r in rows}
        out[table] = (cols, [])
    start = int(run_row["start_time"])
    for i, p in enumerate(payloads, 1):
        run_id = uuid.uuid4().hex
        name = f"filled-run-{i}"
        row = dict(run_row, run_uuid=run_id, name=name, start_time=start + i, end_time=start + i)
        row["artifact_uri"] = str(run_row["artifact_uri"]).replace(template_id, run_id)
        out["runs"][1].append(tuple(row[c] for c in run_cols))
        for t in tag_rows:
            value = name if t["key"] == "mlflow.runName" else p.tags.get(t["key"], t["value"])
            new = dict(t, run_uuid=run_id, value=value)
            out["tags"][1].append(tuple(new[c] for c in tag_cols))
        for table, values in (
            ("params", p.params),
            ("metrics", p.metrics),
            ("latest_metrics", p.metrics),
        ):
            cols = out[table][0]
            for k, v in values.items():
                new = dict(by_key[table][k], run_uuid=run_id, value=v)
                out[table][1].append(tuple(new[c] for c in cols))
    with con:
        for table, (cols, rows) in out.items():
            marks = ", ".join("?" for _ in cols)
            con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)
    con.close()
    return time.perf_counter() - t0


def runs_and_search(client: MlflowClient, spec: dict[str, Any]) -> dict[str, Any]:
    """(d) create runs, then the filtered top-100 search and the fetch of every run.

    ``n_create`` runs are created through the API (timed); with ``fill_db`` the rest of the
    ``n_runs`` payloads are then added in SQL (untimed). With ``search_experiment`` set, the
    runs are created in a new experiment and the searches go to that existing experiment
    (the 10,000-run store copied from the embedded phase)."""
    n_create = spec["n_create"]
    all_payloads = wl.run_payloads(spec["n_runs"])
    payloads = all_payloads[:n_create]
    search_name = spec.get("search_experiment")
    exp = _experiment(client, spec, "d-create" if search_name else "d")
    created = create_runs(client, exp, payloads, min(1000, n_create))
    if spec.get("fill_db") and n_create < len(all_payloads):
        template = client.search_runs([exp], max_results=1)[0].info.run_id
        created["filled_in_sql"] = len(all_payloads) - n_create
        created["fill_seconds"] = fill_runs_sql(
            Path(spec["fill_db"]), template, all_payloads[n_create:]
        )
    if search_name:
        found = client.get_experiment_by_name(search_name)
        if found is None:
            raise RuntimeError(f"experiment {search_name!r} is not in the store")
        search_exp = found.experiment_id
    else:
        search_exp = exp
    out: dict[str, Any] = {
        "create": created,
        "search_experiment_name": client.get_experiment(search_exp).name,
    }
    search_ms = []
    top: list[Any] = []
    for _ in range(spec["search_repeats"]):
        t0 = time.perf_counter()
        top = list(
            client.search_runs(
                [search_exp],
                wl.SEARCH_FILTER,
                max_results=wl.SEARCH_MAX,
                order_by=wl.SEARCH_ORDER,
            )
        )
        search_ms.append((time.perf_counter() - t0) * 1000)
    out["search_ms"] = search_ms
    out["search_p50_ms"] = wl.median(search_ms)
    out["search_hits"] = len(top)
    out["search_digest"] = wl.digest([r.data.metrics["m1"] for r in top])
    mlflow.set_tracking_uri(spec["uri"])
    import pandas  # noqa: F401  (imported before the timing on both sides)

    fetch_s = []
    rows = 0
    for _ in range(spec["fetch_repeats"]):
        t0 = time.perf_counter()
        frame = mlflow.search_runs(experiment_ids=[search_exp], max_results=100_000)
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
    client = MlflowClient(tracking_uri=spec["uri"])
    result = WORKLOADS[spec["workload"]](client, spec)
    result["version"] = mlflow.__version__
    wl.emit(result)


if __name__ == "__main__":
    main()
