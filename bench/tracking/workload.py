"""What the tracking benchmark does, shared by both workers (standard library only).

Both workers import this file by path, so MLflow and modelyard log exactly the same keys,
values, steps, params and tags, in the same order, and a search over the 10,000-run store
must return the same top 100 on both sides (checked through ``digest``).
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

SEARCH_FILTER = "metrics.m0 > 0.5 and params.p1 = 'v1'"
SEARCH_ORDER = ["metrics.m1 DESC"]
SEARCH_MAX = 100
RESULT_PREFIX = "RESULT "


@dataclass(frozen=True)
class Sizes:
    """Workload sizes; ``FULL`` is the issue's benchmark, ``QUICK`` a smoke run."""

    a_metrics: int  # (a)/(b): metric keys per step
    a_steps: int  # (a)/(b): steps per key
    a_mlflow_points_embedded: int  # MLflow per-call logging is timed on this many points
    a_mlflow_points_server: int
    a_mlflow_points_server4: int  # ... and through the default 4-worker MLflow server
    b_mlflow_batch: int  # MLflow's log_batch limit is 1,000 metrics
    b_yard_batch: int
    c_small_files: int
    c_small_bytes: int
    c_large_bytes: int
    d_runs: int  # runs in the searched store
    d_mlflow_embedded_timed_runs: int  # MLflow creates these with its API (timed), the rest in SQL
    d_mlflow_server_timed_runs: int  # MLflow run creation through its server, timed subset
    d_search_repeats: int
    d_fetch_repeats: int
    rounds: int  # A B A B rounds for (a), (b), (c)
    mlflow_four_workers: bool


FULL = Sizes(
    a_metrics=50,
    a_steps=1000,
    a_mlflow_points_embedded=3000,
    a_mlflow_points_server=2000,
    a_mlflow_points_server4=300,
    b_mlflow_batch=1000,
    b_yard_batch=10_000,
    c_small_files=100,
    c_small_bytes=1024,
    c_large_bytes=100 * 1024 * 1024,
    d_runs=10_000,
    d_mlflow_embedded_timed_runs=2000,
    d_mlflow_server_timed_runs=1000,
    d_search_repeats=20,
    d_fetch_repeats=3,
    rounds=2,
    mlflow_four_workers=True,
)

QUICK = Sizes(
    a_metrics=50,
    a_steps=100,
    a_mlflow_points_embedded=300,
    a_mlflow_points_server=200,
    a_mlflow_points_server4=50,
    b_mlflow_batch=1000,
    b_yard_batch=10_000,
    c_small_files=20,
    c_small_bytes=1024,
    c_large_bytes=5 * 1024 * 1024,
    d_runs=500,
    d_mlflow_embedded_timed_runs=200,
    d_mlflow_server_timed_runs=100,
    d_search_repeats=5,
    d_fetch_repeats=1,
    rounds=1,
    mlflow_four_workers=False,
)


def sizes_dict(sizes: Sizes) -> dict[str, Any]:
    return asdict(sizes)


# --- data ------------------------------------------------------------------------------------
def metric_keys(n: int) -> list[str]:
    return [f"m{k}" for k in range(n)]


def step_values(n_steps: int) -> list[float]:
    """One value per step (a slowly decaying loss); the same on both sides."""
    return [1.0 / (1.0 + 0.01 * s) for s in range(n_steps)]


def points(n_metrics: int, n_steps: int, limit: int | None = None) -> list[tuple[str, float, int]]:
    """(key, value, step) in the order a training loop logs them: step-major."""
    keys = metric_keys(n_metrics)
    values = step_values(n_steps)
    out = [(keys[k], values[s] + k * 1e-3, s) for s in range(n_steps) for k in range(n_metrics)]
    return out if limit is None else out[:limit]


def expected_history(n_metrics: int, n_points: int) -> int:
    """How many points of key ``m0`` the first ``n_points`` step-major points hold."""
    return (n_points + n_metrics - 1) // n_metrics


@dataclass(frozen=True)
class RunPayload:
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]


def run_payloads(n_runs: int, seed: int = 20261122) -> list[RunPayload]:
    """10 params, 10 metrics and 5 tags per run; ~5% of runs match ``SEARCH_FILTER``."""
    rng = random.Random(seed)
    out = []
    for _ in range(n_runs):
        params = {f"p{j}": f"v{rng.randrange(10)}" for j in range(10)}
        metrics = {f"m{j}": rng.random() for j in range(10)}
        tags = {f"t{j}": f"tag{rng.randrange(100)}" for j in range(5)}
        out.append(RunPayload(params, metrics, tags))
    return out


def digest(values: Sequence[float]) -> str:
    """A short fingerprint of a search result, to check both sides found the same runs."""
    text = ",".join(f"{v:.12g}" for v in values)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- timing and output --------------------------------------------------------------------
def now_ms() -> int:
    return int(time.time() * 1000)


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    if n == 0:
        raise ValueError("median of nothing")
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def emit(result: dict[str, Any]) -> None:
    """The worker's answer: one line on stdout, which run.py looks for."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def load_spec(argv: Sequence[str]) -> dict[str, Any]:
    if len(argv) != 2:
        raise SystemExit(f"usage: {argv[0]} SPEC_JSON")
    spec: dict[str, Any] = json.loads(argv[1])
    return spec
