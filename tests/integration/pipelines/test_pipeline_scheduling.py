"""Schedules and triggers fire exactly once when several servers share one database, with
the catch-up rules after an outage, on SQLite and PostgreSQL. The clock is the one thing
mocked (a server's ticks over hours of schedule run in a second)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from tests.fixtures.logged import log_source

import modelyard as yard
from modelyard.config import Settings
from modelyard.monitoring.monitors.alerting import AlertState
from modelyard.pipelines import PipelinesClient
from modelyard.pipelines.decorators import Pipeline
from modelyard.pipelines.entities import RunRecord
from modelyard.pipelines.scheduler import PipelineScheduler
from modelyard.pipelines.services import Services
from modelyard.platform.backends import resolve
from modelyard.platform.ids import now_ms
from modelyard.server.pipeline_events import event_sources

HOUR = 3_600_000
MINUTE = 60_000


@pytest.fixture(params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("MODELYARD_ARTIFACTS_URI", (tmp_path / "artifacts").as_uri())
    uri = (
        f"sqlite:///{tmp_path}/yard.db"
        if request.param == "sqlite"
        else str(request.getfixturevalue("pg_store_url"))
    )
    yard.set_tracking_uri(uri)
    yield uri


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def _server(
    uri: str, clock: Callable[[], int], code: tuple[Pipeline, ...] = ()
) -> PipelineScheduler:
    settings = Settings.from_env()
    backend = resolve(uri, settings)
    assert backend.db is not None
    code_map = {p.name: p for p in code}
    return PipelineScheduler(
        backend.db, settings, uri, code_map, event_sources(backend), clock=clock
    )


def _save(pipeline: Pipeline) -> int:
    """Record the pipeline as a server holding its code does; its first fire time."""
    info = pipeline.save(Services())
    assert info.next_fire is not None or not info.schedule
    return info.next_fire or 0


def _runs(name: str) -> list[RunRecord]:
    return sorted(PipelinesClient().runs(name, limit=1000), key=lambda r: r.queued_time)


@yard.step
def noop() -> int:
    return 1


def test_two_servers_fire_each_time_once_in_its_time_zone(store: str) -> None:
    @yard.pipeline(schedule="*/5 * * * *", timezone="Europe/Berlin", catchup="all")
    def every_five() -> int:
        return noop().result()

    first = _save(every_five)
    clock = Clock(first)
    servers = [_server(store, clock), _server(store, clock)]
    barrier = threading.Barrier(2)
    fired = [0, 0]

    def tick(i: int) -> None:
        for minute in range(61):
            barrier.wait()
            if i == 0:
                clock.ms = first + minute * MINUTE
            barrier.wait()
            fired[i] += servers[i].firing.schedules()

    threads = [threading.Thread(target=tick, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    runs = _runs("every_five")
    assert len(runs) == 13 == sum(fired)  # 0, 5, ... 60 minutes: each once
    assert [r.queued_time for r in runs] == [first + 5 * MINUTE * i for i in range(13)]
    assert all(r.status == "QUEUED" for r in runs)  # neither server holds its code
    assert all("+01:00" in r.trigger or "+02:00" in r.trigger for r in runs)
    # a tick with nothing due fires nothing, twice
    assert servers[0].firing.schedules() == 0 and servers[1].firing.schedules() == 0


@pytest.mark.parametrize(
    ("catchup", "expected"),
    [("skip", 0), ("latest", 1), ("all", 5)],
)
def test_a_server_back_after_an_outage_catches_up_by_its_policy(
    store: str, catchup: str, expected: int
) -> None:
    @yard.pipeline(name=f"hourly_{catchup}", schedule="0 * * * *", catchup=catchup)
    def hourly() -> int:
        return noop().result()

    first = _save(hourly)
    before = _server(store, Clock(first))
    assert before.firing.schedules() == 1  # on time: every policy runs it
    # the server is down from here for 5 h 30 min: 5 fire times pass
    after = _server(store, Clock(first + 5 * HOUR + 30 * MINUTE))
    assert after.firing.schedules() == expected
    assert after.firing.schedules() == 0  # the same tick again: nothing more
    runs = _runs(hourly.name)
    assert len(runs) == 1 + expected
    if expected:
        assert runs[-1].queued_time == first + 5 * HOUR  # the latest missed time
    info = PipelinesClient().get_pipeline(hourly.name)
    assert info.next_fire == first + 6 * HOUR


def test_triggers_fire_once_per_event_from_every_domain(store: str) -> None:
    yard.data.log_dataset(pd.DataFrame({"x": [1.0, None]}), "churn")  # before: no run

    @yard.pipeline(
        triggers=[
            yard.on_dataset("churn"),
            yard.on_model("churn-model"),
            yard.on_model("churn-model", event="alias_moved", alias="champion"),
            yard.on_alert("churn-drift"),
        ]
    )
    def retrain() -> int:
        return noop().result()

    _save(retrain)
    servers = [_server(store, Clock(0)), _server(store, Clock(0))]
    assert servers[0].firing.triggers() == 0  # nothing new (the dataset is older)

    yard.data.log_dataset(pd.DataFrame({"x": [2.0, 3.5]}), "churn")
    client = yard.Client()
    client.create_registered_model("churn-model")
    source, run_id = log_source(client)
    version = client.create_model_version("churn-model", source, run_id=run_id).version
    client.set_alias("churn-model", "champion", version)
    monitoring = yard.monitoring.MonitoringClient()
    now = now_ms()
    monitoring.store.put_alerts(
        [AlertState("churn-drift:psi", "churn-drift", "psi", "warning", "open", now, now, now,
                    1, "drifted")]
    )  # fmt: skip

    made = [0, 0]

    def tick(i: int) -> None:
        made[i] += servers[i].firing.triggers()

    threads = [threading.Thread(target=tick, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    runs = _runs("retrain")
    assert sum(made) == 4 == len(runs), [r.trigger for r in runs]
    triggers = sorted(r.trigger for r in runs)
    assert triggers == sorted(
        [
            "dataset churn version 2",
            f"model churn-model version {version} created",
            f"model churn-model alias champion moved to version {version}",
            "alert churn-drift:psi (warning) opened",
        ]
    )
    assert servers[0].firing.triggers() == 0 and servers[1].firing.triggers() == 0
    yard.data.log_dataset(pd.DataFrame({"x": [4.0]}), "churn")
    assert servers[1].firing.triggers() == 1


RUNNING_NOW: list[int] = []
PEAK: list[int] = []
LOCK = threading.Lock()


@yard.step
def busy(i: int) -> int:
    with LOCK:
        RUNNING_NOW.append(i)
        PEAK.append(len(RUNNING_NOW))
    time.sleep(0.3)
    with LOCK:
        RUNNING_NOW.remove(i)
    return i


@yard.pipeline(triggers=[yard.on_webhook()], max_active=2)
def limited(i: int = 0) -> int:
    return busy(i).result()


def test_two_servers_claim_each_queued_run_once_within_max_active(store: str) -> None:
    PEAK.clear()
    _save(limited)
    client = PipelinesClient()
    queued = [client.trigger("limited", {"i": i}).run_id for i in range(6)]
    assert (
        client.trigger("limited", {"i": 9}, key="k").run_id
        == client.trigger("limited", {"i": 9}, key="k").run_id
    )  # the same key twice: one run
    queued.append(client.runs("limited", status="QUEUED")[0].run_id)
    servers = [_server(store, now_ms, (limited,)), _server(store, now_ms, (limited,))]
    stop = threading.Event()

    def work(i: int) -> None:
        while not stop.is_set():
            servers[i].tick()
            time.sleep(0.05)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    try:
        results = sorted(client.get_run(r).result(timeout=60) for r in set(queued))
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert results == [0, 1, 2, 3, 4, 5, 9]
    assert max(PEAK) == 2 and len(PEAK) == 7  # two at once at most; each run's step once
    owners = {client.get_run(r).record.trigger for r in queued}
    assert all(t.startswith("webhook called by") for t in owners)


def test_a_run_whose_worker_went_silent_is_failed_and_resumed_once(store: str) -> None:
    _save(limited)
    client = PipelinesClient()
    lost = client.trigger("limited", {"i": 3})
    start = now_ms()
    gone = _server(store, Clock(start))
    claimed = gone.queue.claim_next("worker:gone:1", ["limited"], start)
    assert claimed is not None and claimed.run_id == lost.run_id
    later = Clock(start + 61_000)  # past the 60 s a silent run is given
    servers = [_server(store, later), _server(store, later)]
    failed = [0, 0]
    barrier = threading.Barrier(2)

    def recover(i: int) -> None:
        barrier.wait()
        failed[i] = servers[i].worker.recover()

    threads = [threading.Thread(target=recover, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(failed) == [0, 1]
    record = client.get_run(lost.run_id).record
    assert record.status == "FAILED" and "worker:gone:1 stopped" in (record.error or "")
    resumed = [r for r in client.runs("limited") if r.retry_of == lost.run_id]
    assert len(resumed) == 1 and resumed[0].status == "QUEUED"
    assert resumed[0].queued_time == record.queued_time  # its place in the queue
    assert servers[0].worker.recover() == 0  # nothing more to do, twice
    assert servers[1].worker.recover() == 0
