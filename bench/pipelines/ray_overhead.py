"""What the Ray executor adds per step over the local executor, on this machine: a chain of
no-op steps (each waits for the one before: latency) and a map of no-op calls (all at once:
throughput). Both executors run the same pipelines on the same kind of fresh embedded store,
caching off; the Ray side runs on a local Ray started here with 2 CPUs (stopped at the end).
A first, unmeasured round warms both up (Ray's workers import modelyard and open the store).

    .venv/bin/python bench/pipelines/ray_overhead.py [--chain 20] [--map 1000] [--rounds 3]

Prints the best and median wall time of each, and the overhead per step:
(Ray - local) / steps.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import modelyard as yard


@yard.step
def noop(x: int) -> int:
    return x


@yard.pipeline
def chain(n: int = 20) -> int:
    value = noop(0)
    for _ in range(n - 1):
        value = noop(value)
    return value  # type: ignore[no-any-return]


@yard.pipeline
def fan(n: int = 1000) -> int:
    return len(noop.map(range(n)))


def _timed(pipeline: yard.pipelines.Pipeline, n: int, executor: str) -> float:
    started = time.perf_counter()
    run = pipeline.run(n=n, executor=executor, cache=False)
    took = time.perf_counter() - started
    if run.status != "COMPLETED":
        raise SystemExit(f"{pipeline.name} on {executor} failed: {run.error}")
    return took


def _measure(pipeline: yard.pipelines.Pipeline, n: int, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"local": [], "ray": []}
    for executor in times:
        _timed(pipeline, n, executor)  # warm-up
    for _ in range(rounds):
        for executor in times:  # interleaved: local, ray, local, ray, ...
            times[executor].append(_timed(pipeline, n, executor))
    return times


def _report(what: str, n: int, times: dict[str, list[float]]) -> None:
    local, on_ray = times["local"], times["ray"]
    print(f"{what} ({n} steps)")
    for name, values in times.items():
        print(
            f"  {name:5s} best {min(values):7.3f} s   median {statistics.median(values):7.3f} s"
            f"   per step {1000 * statistics.median(values) / n:7.2f} ms"
        )
    extra = (statistics.median(on_ray) - statistics.median(local)) / n
    ratio = statistics.median(on_ray) / statistics.median(local)
    print(f"  Ray adds {1000 * extra:.2f} ms per step (median), {ratio:.2f}x the local run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", type=int, default=20)
    parser.add_argument("--map", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="modelyard-bench-ray-"))
    os.environ["MODELYARD_TRACKING_URI"] = str(folder / "store")
    os.environ["MODELYARD_CACHE_DIR"] = str(folder / "cache")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        _report("chain of no-op steps", args.chain, _measure(chain, args.chain, args.rounds))
        _report("map of no-op calls", args.map, _measure(fan, args.map, args.rounds))
        print(f"(ray {ray.__version__}, {os.cpu_count()} cores, store {folder})")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
