"""modelyard's side of the pipelines benchmark: ``python yard_worker.py SPEC_JSON``.

Runs one case on the embedded store that ``MODELYARD_TRACKING_URI`` names (a fresh folder),
tracking on (the default: the pipeline run is a tracked run, each step a nested one). Before
the timed run: a run of the same pipeline with one step (or, for (c), the full run that fills
the cache), then a wait until this process is CPU-idle. Case (d) times the import and the
first 1-step run of a fresh process instead. Prints ``RESULT {json}``.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload as wl  # noqa: E402

SPEC = json.loads(sys.argv[1])
T_IMPORT = time.perf_counter()

import modelyard as yard  # noqa: E402

# the frame of (e), made before any timing; the pipeline's body reads it
SOURCE = wl.frame(int(SPEC["frame_mb"])) if SPEC["case"] == "e" else None


@yard.step
def inc(x: int) -> int:
    return x + 1


@yard.step(cache=True)
def inc_cached(x: int) -> int:
    return x + 1


@yard.step
def derive(df: Any) -> Any:
    return df + 1.0


@yard.pipeline
def chain(n: int) -> object:
    x: Any = 0
    for _ in range(n):
        x = inc(x)
    return x


@yard.pipeline
def chain_cached(n: int) -> object:
    x: Any = 0
    for _ in range(n):
        x = inc_cached(x)
    return x


@yard.pipeline
def fan(n: int) -> object:
    return inc.map(range(n))


@yard.pipeline
def frames(n: int) -> float:
    df: Any = SOURCE
    for _ in range(n):
        df = derive(df)
    return float(df.result().iloc[0, 0])


T_DEFINED = time.perf_counter()


def check(run: Any, steps: int) -> dict[str, object]:
    """The run's outcome, counted after the timing: every step COMPLETED or CACHED, each with
    its tracked run (tracking on)."""
    records = run.steps
    statuses: dict[str, int] = {}
    for r in records:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    if run.status != "COMPLETED" or len(records) != steps:
        raise SystemExit(f"run {run.status} with {len(records)} of {steps} steps: {statuses}")
    tracked = sum(1 for r in records if r.tracked_run_id)
    return {"statuses": statuses, "tracked_steps": tracked}


def timed(pipeline: Any, executor: str, **params: object) -> tuple[float, Any]:
    t0 = time.perf_counter()
    run = pipeline.run(executor=executor, **params)
    return time.perf_counter() - t0, run


def main() -> None:
    case, executor = SPEC["case"], SPEC.get("executor", "local")
    store = Path(SPEC["home"])
    out: dict[str, object] = {
        "tool": "modelyard",
        "version": yard.__version__,
        "module": str(Path(yard.__file__).resolve().parent),
        "case": case,
        "executor": executor,
        "import_s": T_DEFINED - T_IMPORT,
    }
    if case == "d":
        seconds, run = timed(chain, executor, n=1)
        out.update(first_run_s=seconds, steps=1, in_process_s=time.perf_counter() - T_START)
        out.update(check(run, 1))
        out.update(peak_mib=wl.peak_rss_mib(), helpers_peak_mib=wl.helpers_peak_mib())
        wl.emit(out)
        return
    n = {"a": SPEC["chain_steps"], "b": SPEC["map_inputs"], "c": SPEC["chain_steps"],
         "e": SPEC["frame_steps"]}[case]  # fmt: skip
    pipeline = {"a": chain, "b": fan, "c": chain_cached, "e": frames}[case]
    warm_s, _ = timed(pipeline, executor, n=n if case == "c" else 1)  # (c): fills the cache
    idle_s = wl.wait_idle()
    seconds, run = timed(pipeline, executor, n=n)
    out.update(check(run, n))
    if case == "c" and out["statuses"] != {"CACHED": n}:
        raise SystemExit(f"(c): not every step was a cache hit: {out['statuses']}")
    if case == "e":
        body = wl.time_body(wl.derive, SOURCE, int(SPEC["body_repeats"]) // 10)
        expect = float(SOURCE.iloc[0, 0]) + n
        got = run.result()
    else:
        body = wl.time_body(wl.noop, 0, int(SPEC["body_repeats"]))
        expect = list(range(1, n + 1)) if case == "b" else n
        got = run.result()
    if got != expect and not (case == "e" and abs(got - expect) < 1e-6):
        raise SystemExit(f"({case}): the result is {got!r}, not {expect!r}")
    out.update(
        steps=n,
        wall_s=seconds,
        body_s=body,
        warmup_s=warm_s,
        idle_wait_s=idle_s,
        stored_bytes=wl.tree_bytes(store),
        peak_mib=wl.peak_rss_mib(),
        helpers_peak_mib=wl.helpers_peak_mib(),
    )
    wl.emit(out)


if __name__ == "__main__":
    main()
