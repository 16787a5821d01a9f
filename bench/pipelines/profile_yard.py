"""Where modelyard's pipeline overhead goes: cProfile over every thread of case (a) or (c).

    PYTHONPATH=src .venv/bin/python bench/pipelines/profile_yard.py [--case a|c] [--runs 10]
                                                                     [--top 30] [--out FILE]

A pipeline run spreads over threads (the body's, the step pool's, the tracking writer's), and
cProfile sees only the thread that enables it, so each thread started here gets its own
profiler (``Thread.run`` is wrapped before modelyard loads); their statistics are merged at the
end. One untimed warm-up run first (the store, the experiment, lazy imports), then ``--runs``
profiled runs on a fresh embedded store, tracking on. Times are wall-clock per thread: a
thread waiting on a lock shows the wait in ``wait``/``acquire``, so read ``tottime`` of the
others for where the CPU goes, and ``ncalls`` against the step count for per-step costs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

_profilers: list[cProfile.Profile] = []
_run = threading.Thread.run


def _profiled_run(self: threading.Thread) -> None:
    prof = cProfile.Profile()
    _profilers.append(prof)
    prof.enable()
    try:
        _run(self)
    finally:
        prof.disable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=("a", "c"), default="a")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", help="also write the merged statistics here (pstats format)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="modelyard-profile-pipelines-"))
    os.environ.update(
        MODELYARD_TRACKING_URI=str(home / "store"),
        MODELYARD_CACHE_DIR=str(home / "cache"),
        MODELYARD_SPOOL_DIR=str(home / "spool"),
        MODELYARD_CONFIG_DIR=str(home / "config"),
    )
    threading.Thread.run = _profiled_run  # type: ignore[method-assign]

    import modelyard as yard
    from modelyard.platform.backends import forget

    @yard.step(cache=args.case == "c")
    def inc(x: int) -> int:
        return x + 1

    @yard.pipeline
    def chain(n: int) -> Any:
        x: Any = 0
        for _ in range(n):
            x = inc(x)
        return x

    chain.run(n=args.steps)  # warm-up; for (c) it fills the cache
    for prof in list(_profilers):  # forget the warm-up in the threads that live on
        prof.clear()
    main_prof = cProfile.Profile()
    walls = []
    main_prof.enable()
    for _ in range(args.runs):
        t0 = time.perf_counter()
        run = chain.run(n=args.steps)
        walls.append(time.perf_counter() - t0)
        want = "CACHED" if args.case == "c" else "COMPLETED"
        if {s.status for s in run.steps} != {want} or run.result() != args.steps:
            raise SystemExit(f"unexpected run: {run.status} {[s.status for s in run.steps]}")
    main_prof.disable()
    forget()  # closes the stores: the tracking writer's thread ends, its profiler stops
    time.sleep(0.2)
    stats = pstats.Stats(main_prof)
    for prof in _profilers:
        try:
            stats.add(prof)
        except TypeError:  # a profiler with nothing recorded
            continue
    alive = sum(1 for t in threading.enumerate() if t is not threading.main_thread())
    steps = args.runs * args.steps
    walls.sort()
    print(
        f"case ({args.case}): {args.runs} runs of {args.steps} steps under the profiler; "
        f"median run {walls[len(walls) // 2] * 1e3:.1f} ms "
        f"({walls[len(walls) // 2] / args.steps * 1e3:.2f} ms a step, profiler included); "
        f"{len(_profilers)} threads profiled, {alive} still alive at the end"
    )
    for key in ("tottime", "cumulative"):
        buf = io.StringIO()
        stats.stream = buf  # type: ignore[attr-defined]
        stats.sort_stats(key).print_stats(args.top)
        print(f"\n=== by {key} (ncalls / {steps} = calls per step) ===")
        print(buf.getvalue())
    if args.out:
        stats.dump_stats(args.out)
        print(f"statistics written to {args.out}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
