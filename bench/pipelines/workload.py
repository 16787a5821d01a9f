"""What both sides of the pipelines benchmark share: the sizes, the cases, the DataFrame of case
(e), and the helpers a worker needs (its process tree's CPU use from /proc, the wait until that
tree is idle, peak memory, the bytes a store holds, the ``RESULT`` line).

Standard library only at import (pandas and numpy load in ``frame``): each worker imports it,
in modelyard's venv or in Prefect's.
"""

from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CASES = {
    "a": "20 sequential no-op steps",
    "b": "one step mapped over 1,000 inputs",
    "c": "rerun of (a), every step a cache hit",
    "d": "first pipeline in a fresh process",
    "e": "100 steps passing a 10 MB DataFrame",
}
IDLE_CPU = 0.05  # CPU-seconds per second under which a worker's process tree counts as idle
IDLE_WINDOW_S = 0.5
IDLE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Sizes:
    rounds: int
    chain_steps: int  # (a) and (c)
    map_inputs: int  # (b)
    frame_steps: int  # (e)
    frame_mb: int  # (e)
    body_repeats: int  # calls of the plain function, to time the step's body alone


FULL = Sizes(rounds=3, chain_steps=20, map_inputs=1000, frame_steps=100, frame_mb=10,
             body_repeats=200)  # fmt: skip
QUICK = Sizes(rounds=1, chain_steps=20, map_inputs=200, frame_steps=20, frame_mb=10,
              body_repeats=50)  # fmt: skip


def sizes_dict(s: Sizes) -> dict[str, int]:
    return asdict(s)


# --- the step bodies, the same on both sides ----------------------------------------------
def noop(x: int) -> int:
    """The no-op body of (a)-(d): the step's whole work is to pass its input on, plus one."""
    return x + 1


def frame(megabytes: int) -> Any:
    """A float64 DataFrame of ``megabytes`` MiB: 16 columns, seeded."""
    import numpy as np
    import pandas as pd

    columns = 16
    rows = megabytes * (1 << 20) // (8 * columns)
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.random((rows, columns)), columns=[f"c{i}" for i in range(columns)])


def derive(df: Any) -> Any:
    """The body of (e): a new frame from the input one (every value plus one)."""
    return df + 1.0


def time_body(fn: Any, arg: Any, repeats: int) -> float:
    """Seconds one call of the plain function takes (median of ``repeats``), each call fed the
    previous one's output as a chain of steps would be."""
    times = []
    value = arg
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn(value)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


# --- the worker's process tree, from /proc ------------------------------------------------
def _children(pid: int) -> list[int]:
    out: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        tids = os.listdir(task_dir)
    except OSError:
        return out
    for tid in tids:
        try:
            text = (task_dir / tid / "children").read_text()
        except OSError:
            continue
        out += [int(c) for c in text.split()]
    return out


def descendants(pid: int | None = None) -> list[int]:
    """This process's descendants (Prefect's temporary server and its workers, ...)."""
    todo, seen = _children(pid or os.getpid()), []
    while todo:
        child = todo.pop()
        seen.append(child)
        todo += _children(child)
    return seen


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def tree_cpu_seconds() -> float:
    me = os.getpid()
    return sum(_cpu_seconds(p) for p in (me, *descendants(me)))


def wait_idle(timeout: float = IDLE_TIMEOUT_S) -> float:
    """Sleep until this process and its descendants use under ``IDLE_CPU`` CPU-seconds per
    second for two consecutive windows (Prefect's temporary server works off its backlog of
    events and logs after a flow; modelyard's writer flushes); the seconds waited."""
    start = time.monotonic()
    quiet = 0
    while time.monotonic() - start < timeout and quiet < 2:
        before = tree_cpu_seconds()
        time.sleep(IDLE_WINDOW_S)
        used = tree_cpu_seconds() - before
        quiet = quiet + 1 if used < IDLE_CPU * IDLE_WINDOW_S else 0
    return time.monotonic() - start


def peak_rss_mib() -> float:
    """This process's peak RSS so far (ru_maxrss, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def helpers_peak_mib() -> float:
    """The summed peak RSS (VmHWM) of this process's live descendants: Prefect's temporary
    server, which ru_maxrss of the worker does not count."""
    total = 0
    for pid in descendants():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def tree_bytes(root: Path) -> int:
    """Bytes in the files under ``root`` (what a store holds after a case)."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += (Path(dirpath) / name).stat().st_size
            except OSError:
                continue
    return total


def emit(result: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(result), flush=True)
