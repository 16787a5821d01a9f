"""Prefect's side of the pipelines benchmark: ``python prefect_worker.py SPEC_JSON``, in
Prefect's own venv.

Prefect's local default: no ``PREFECT_API_URL``, so the first flow of the process starts a
temporary server (SQLite under ``PREFECT_HOME``, a fresh folder) in a subprocess; the default
task runner (a thread pool); default result persistence (off, except for tasks with a cache
policy, which persist to ``PREFECT_HOME/storage``). Before the timed flow: a flow run of the
same flow with one task (or, for (c), the full run that fills the cache), then a wait until
this process and its server are CPU-idle (the server falls behind after a large map). Case
(d) times the import and the first 1-task flow of a fresh process instead. Prints
``RESULT {json}``.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload as wl  # noqa: E402

SPEC = json.loads(sys.argv[1])
T_IMPORT = time.perf_counter()

import prefect  # noqa: E402
from prefect import flow, task  # noqa: E402
from prefect.cache_policies import INPUTS, TASK_SOURCE  # noqa: E402

SOURCE = wl.frame(int(SPEC["frame_mb"])) if SPEC["case"] == "e" else None


@task
def inc(x: int) -> int:
    return x + 1


@task(cache_policy=INPUTS + TASK_SOURCE)
def inc_cached(x: int) -> int:
    return x + 1


@task
def derive(df: Any) -> Any:
    return df + 1.0


@task(persist_result=True)
def derive_persisted(df: Any) -> Any:
    return df + 1.0


@flow
def chain(n: int) -> int:
    x = 0
    for _ in range(n):
        x = inc(x)
    return x


@flow
def chain_cached(n: int) -> tuple[int, int]:
    """(the value, how many task runs were cache hits)"""
    x, hits = 0, 0
    for _ in range(n):
        state = inc_cached(x, return_state=True)
        hits += state.name == "Cached"
        x = state.result()
    return x, hits


@flow
def fan(n: int) -> list[int]:
    return list(inc.map(range(n)).result())


@flow
def frames(n: int, persist: bool) -> float:
    step = derive_persisted if persist else derive
    df = SOURCE
    for _ in range(n):
        df = step(df)
    return float(df.iloc[0, 0])


T_DEFINED = time.perf_counter()


def timed(fn: Any, **params: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn(**params)
    return time.perf_counter() - t0, value


def main() -> None:
    case = SPEC["case"]
    home = Path(os.environ["PREFECT_HOME"])
    out: dict[str, Any] = {
        "tool": "prefect",
        "version": prefect.__version__,
        "case": case,
        "variant": SPEC.get("variant", ""),
        "import_s": T_DEFINED - T_IMPORT,
    }
    if case == "d":
        seconds, value = timed(chain, n=1)
        if value != 1:
            raise SystemExit(f"(d): the result is {value!r}")
        out.update(first_run_s=seconds, steps=1, in_process_s=time.perf_counter() - T_START)
        out.update(peak_mib=wl.peak_rss_mib(), helpers_peak_mib=wl.helpers_peak_mib())
        wl.emit(out)
        return
    n = {"a": SPEC["chain_steps"], "b": SPEC["map_inputs"], "c": SPEC["chain_steps"],
         "e": SPEC["frame_steps"]}[case]  # fmt: skip
    persist = SPEC.get("variant") == "persist"
    if case == "a":
        fn, params, expect = chain, {}, n
    elif case == "b":
        fn, params, expect = fan, {}, list(range(1, n + 1))
    elif case == "c":
        fn, params, expect = chain_cached, {}, (n, n)
    else:
        fn, params = frames, {"persist": persist}
        expect = float(SOURCE.iloc[0, 0]) + n  # type: ignore[union-attr]
    warm_s, _ = timed(fn, n=n if case == "c" else 1, **params)  # (c): fills the cache
    idle_s = wl.wait_idle()
    seconds, got = timed(fn, n=n, **params)
    if got != expect and not (case == "e" and abs(got - expect) < 1e-6):
        raise SystemExit(f"({case}): the flow returned {got!r}, not {expect!r}")
    if case == "e":
        body = wl.time_body(wl.derive, SOURCE, int(SPEC["body_repeats"]) // 10)
    else:
        body = wl.time_body(wl.noop, 0, int(SPEC["body_repeats"]))
    out.update(
        steps=n,
        wall_s=seconds,
        body_s=body,
        warmup_s=warm_s,
        idle_wait_s=idle_s,
        stored_bytes=wl.tree_bytes(home / "storage"),
        peak_mib=wl.peak_rss_mib(),
        helpers_peak_mib=wl.helpers_peak_mib(),
    )
    wl.emit(out)


if __name__ == "__main__":
    main()
