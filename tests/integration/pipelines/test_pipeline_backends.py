"""The same pipeline journeys on every store: SQLite, PostgreSQL and a live server (the SDK
then records runs, steps and cache entries over HTTP, and outputs go in the server's blob
store)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import modelyard as yard
from modelyard.pipelines import PipelinesClient


class _Counts(dict[str, int]):
    pass


COUNTS = _Counts()


@yard.step(cache=True)
def make(n: int) -> pd.DataFrame:
    COUNTS["make"] = COUNTS.get("make", 0) + 1
    return pd.DataFrame({"x": [float(i) for i in range(n)], "city": ["Oslo", "Lima"] * (n // 2)})


@yard.step
def mean(frame: pd.DataFrame) -> float:
    return float(frame["x"].mean())


@yard.step
def gate(value: float, flag: str) -> float:
    if not Path(flag).exists():
        raise RuntimeError("no flag yet")
    return value


@yard.pipeline
def stats(n: int, flag: str) -> float:
    return gate(mean(make(n)), flag)


def test_run_cache_fail_and_retry_on_every_store(tracking_uri: str, tmp_path: Path) -> None:
    yard.set_tracking_uri(tracking_uri)
    COUNTS.clear()
    flag = tmp_path / "flag"
    failed = stats.run(n=10, flag=str(flag))
    assert failed.status == "FAILED"
    assert [s.status for s in failed.steps] == ["COMPLETED", "COMPLETED", "FAILED"]
    flag.touch()
    retried = stats.retry(failed.run_id)
    assert retried.result() == 4.5
    assert [s.status for s in retried.steps] == ["CACHED", "CACHED", "COMPLETED"]
    again = stats.run(n=10, flag=str(flag))
    assert again.result() == 4.5
    assert again.step("make").status == "CACHED" and COUNTS["make"] == 1

    client = PipelinesClient()
    runs = client.runs("stats")
    assert [r.status for r in runs] == ["COMPLETED", "COMPLETED", "FAILED"]
    assert runs[1].retry_of == failed.run_id
    frame = client.output(again.run_id, "make")
    assert list(frame["city"][:2]) == ["Oslo", "Lima"]
    assert [p.name for p in client.list_pipelines()] == ["stats"]
    assert "no flag yet" in client.logs(failed.run_id, "gate")["gate"]
    # lineage through the steps' runs
    edges = yard.data.lineage(f"run:{again.step('make').tracked_run_id}", depth=2)
    assert any(e.target.id == again.step("mean").tracked_run_id for e in edges)
    assert client.clear_cache(step="make") >= 1
