"""Stored monitors, their runs and alerts on every backend (SQLite, PostgreSQL, a server);
the scheduler's claim is exactly once however many schedulers share one database."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import orjson
import pytest

import modelyard as yard
from modelyard.errors import InvalidArgument, NotFound
from modelyard.monitoring.client import MonitoringClient
from modelyard.monitoring.scheduler import MonitorScheduler
from modelyard.platform.ids import now_ms
from modelyard.serving.predlog.shipping import Shipper
from modelyard.serving.predlog.writer import SUFFIX

HOUR = 3_600_000
START = 1_767_225_600_000


def _monitor(name: str = "auc", lt: float = 0.9) -> yard.monitoring.Monitor:
    return yard.monitoring.Monitor(
        name=name,
        model="churn",
        window="1h",
        checks=[yard.monitoring.PerformanceCheck("auc", lt=lt, min_labeled=10)],
        alerts=[yard.monitoring.Log()],
    )


def _ship_hour(folder: Path, uri: str, hour: int, start: int = START) -> None:
    """An hour of probability predictions whose labels make the AUC about 0.5."""
    rng = np.random.default_rng(hour)
    lines, labels = [], {}
    for i in range(100):
        rid = f"h{hour}-{i}"
        record = {"k": "p", "id": rid, "t": start + hour * HOUR + i * 1000, "e": "api"}
        record |= {"m": "churn", "v": "1", "ms": 0.2, "s": False, "in": {"x": [float(i)]}}
        record |= {"out": [float(rng.random())]}
        lines.append(orjson.dumps(record) + b"\n")
        labels[rid] = int(rng.random() < 0.5)
    folder.mkdir(exist_ok=True)
    (folder / f"h{hour}{SUFFIX}").write_bytes(b"".join(lines))
    assert Shipper(folder, uri).ship_all() == 1
    MonitoringClient(uri).log_labels(labels)


def test_monitors_runs_and_alerts_on_every_backend(tracking_uri: str, tmp_path: Path) -> None:
    client = MonitoringClient(tracking_uri)
    saved = client.save_monitor(_monitor(), every="30min")
    assert (saved.name, saved.revision, saved.every_ms, saved.enabled) == (
        "auc",
        1,
        1_800_000,
        True,
    )
    again = client.save_monitor(_monitor(lt=0.8), enabled=False)
    assert again.revision == 2 and not again.enabled and again.every_ms == HOUR
    assert again.monitor.checks[0].lt == 0.8  # the spec round-trips through the store
    assert [m.name for m in client.monitors()] == ["auc"]
    with pytest.raises(NotFound):
        client.get_monitor("nope")
    with pytest.raises(InvalidArgument) as err:
        client.store.save_monitor({"name": "bad", "model": "m", "checks": []}, HOUR, True)
    assert err.value.field == "checks"

    # the claim: from the value read to the next time, once
    due = client.get_monitor("auc").next_run
    client.save_monitor(_monitor())  # enabled again; due now
    due = client.get_monitor("auc").next_run
    assert client.store.claim_monitor("auc", due, due + HOUR)
    assert not client.store.claim_monitor("auc", due, due + HOUR)  # someone else's now

    _ship_hour(tmp_path / "log", tracking_uri, 0)
    first = client.run_monitor("auc", now=START + HOUR)  # by name: the stored spec
    assert first.status == "breached" and [n.event for n in first.notices] == ["fired"]
    second = client.run_monitor("auc", now=START + HOUR + 1000)  # de-duplicated by the store
    assert second.status == "breached" and second.notices == []
    runs = client.monitor_runs("auc")
    assert [r["window_end"] for r in runs] == [START + HOUR + 1000, START + HOUR]
    assert runs[0]["results"][0]["outcome"] == "breached"
    (alert,) = client.alerts(status="open")
    assert alert.fingerprint == "auc:performance.auc" and alert.count == 2
    acked = client.ack_alert(alert.fingerprint)
    assert acked.status == "acked" and acked.acked_by
    assert client.alerts(status="open") == [] and len(client.alerts(monitor="auc")) == 1
    with pytest.raises(NotFound):
        client.ack_alert("auc:nothing")
    with pytest.raises(InvalidArgument) as err:
        client.alerts(status="lost")
    assert err.value.field == "status"
    client.delete_monitor("auc")
    assert client.monitors() == [] and len(client.monitor_runs("auc")) == 2  # history stays
    off = yard.monitoring.Monitor(
        name="off", model="churn", enabled=False, checks=[_monitor().checks[0]]
    )
    assert not client.save_monitor(off).enabled  # the spec's own enabled counts


def test_saving_the_same_monitor_again_changes_nothing(tracking_uri: str) -> None:
    """Saving a monitor as it is stored (a deploy applying its YAML again, a cell run twice)
    is no new revision and keeps its schedule; a change is a new revision, due at once."""
    client = MonitoringClient(tracking_uri)
    first = client.save_monitor(_monitor(), every="30min")
    assert client.store.claim_monitor("auc", first.next_run, first.next_run + HOUR)
    claimed = client.get_monitor("auc")
    assert client.save_monitor(_monitor(), every="30min") == claimed
    changed = client.save_monitor(_monitor(lt=0.8), every="30min")
    assert changed.revision == 2 and changed.next_run < claimed.next_run
    assert client.save_monitor(_monitor(lt=0.8), every="1h").revision == 3
    assert client.save_monitor(_monitor(lt=0.8), every="1h", enabled=False).revision == 4


def test_a_monitor_read_back_and_saved_keeps_its_webhook_secret(tracking_uri: str) -> None:
    """A server shows a webhook secret as a placeholder; saving that spec again (a monitor
    read, edited elsewhere, saved) keeps the stored secret instead of storing the
    placeholder, and changes nothing when nothing else changed."""
    client = MonitoringClient(tracking_uri)
    hooked = _monitor().to_dict()
    hooked["alerts"] = [{"type": "webhook", "url": "https://hooks.example/x", "secret": "k3y"}]
    first = client.save_monitor(yard.monitoring.Monitor.from_dict(hooked), every="30min")
    for _ in range(2):
        read = client.get_monitor("auc").monitor
        again = client.save_monitor(read, every="30min")
        assert again.revision == first.revision  # the secret kept: the spec is unchanged
    edited = read.to_dict() | {"window": "2h"}
    changed = client.save_monitor(yard.monitoring.Monitor.from_dict(edited), every="30min")
    assert changed.revision == first.revision + 1
    back = client.get_monitor("auc").monitor.to_dict()
    back["window"] = "1h"
    assert client.save_monitor(yard.monitoring.Monitor.from_dict(back), every="30min").revision == (
        first.revision + 2
    )
    placeholder = hooked | {"name": "fresh"}
    placeholder["alerts"] = [{**hooked["alerts"][0], "secret": "********"}]
    for _ in range(2):
        with pytest.raises(InvalidArgument, match="placeholder") as refused:
            client.save_monitor(yard.monitoring.Monitor.from_dict(placeholder), every="30min")
        assert refused.value.field == "alerts[0].secret"
    with pytest.raises(NotFound):
        client.get_monitor("fresh")


def test_a_performance_check_with_a_delay_scores_an_older_window(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    _ship_hour(tmp_path / "log", uri, 0)
    client = MonitoringClient(uri)
    late = yard.monitoring.PerformanceCheck("auc", lt=0.9, min_labeled=10, delay="1h")
    monitor = yard.monitoring.Monitor(name="late", model="churn", checks=[late])
    run = client.run_monitor(monitor, now=START + 2 * HOUR)  # hour 1 is empty; hour 0 is not
    (result,) = run.results
    assert result.outcome == "breached" and result.details["window_end"] == START + HOUR
    plain = yard.monitoring.Monitor(name="plain", model="churn", checks=[_monitor().checks[0]])
    assert client.run_monitor(plain, now=START + 2 * HOUR).results[0].outcome == "skipped"


def test_schedulers_sharing_a_database_run_each_due_monitor_once(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    _ship_hour(tmp_path / "log", uri, 0)
    client = MonitoringClient(uri)
    for name in ("a", "b", "c"):
        client.save_monitor(_monitor(name), every="1h")
    now = [now_ms() + 1000]  # just after the monitors were saved (due at once)
    schedulers = [
        MonitorScheduler(MonitoringClient(uri), tick_s=3600, clock=lambda: now[0]) for _ in range(4)
    ]
    for round_ in range(3):  # three due times: each monitor runs once per due time
        go = threading.Barrier(len(schedulers))

        def tick(s: MonitorScheduler, go: threading.Barrier = go) -> None:
            go.wait()
            s.tick()

        threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(s.runs for s in schedulers) == 3 * (round_ + 1)
        now[0] += HOUR  # the next due time
    for name in ("a", "b", "c"):
        assert len(client.monitor_runs(name)) == 3


def test_a_monitor_that_cannot_run_is_kept_as_an_error_run(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    _ship_hour(tmp_path / "log", uri, 0, start=now_ms() - HOUR // 2)  # within the last hour
    client = MonitoringClient(uri)
    broken = yard.monitoring.Monitor(
        name="drifty",
        model="churn",
        reference="dataset:gone@1",
        checks=[yard.monitoring.DriftCheck()],
    )
    client.save_monitor(broken)
    client.save_monitor(_monitor("fine"))
    at = now_ms() + 1000
    scheduler = MonitorScheduler(MonitoringClient(uri), clock=lambda: at)
    assert scheduler.tick() == 2
    (error,) = client.monitor_runs("drifty")
    assert error["status"] == "error" and "gone" in error["error"]
    assert client.monitor_runs("fine")[0]["status"] == "breached"  # the others still run
    assert scheduler.tick() == 0  # not due again before an hour has passed


def test_two_server_processes_on_one_database_run_a_monitor_once_per_due_time(
    tmp_path: Path,
) -> None:
    import os
    import subprocess
    import sys
    import time

    import httpx
    from tests.fixtures.stores import free_port

    uri = f"sqlite:///{tmp_path}/yard.db"
    client = MonitoringClient(uri)
    client.save_monitor(_monitor("often"), every="1s")  # tiny, so the test is short
    env = {**os.environ, "MODELYARD_MONITOR_TICK_SECONDS": "0.1"}
    procs, ports = [], []
    for _ in range(2):
        port = free_port()
        cmd = [sys.executable, "-m", "modelyard", "server", "--store", uri, "--port", str(port)]
        cmd += ["--artifacts", (tmp_path / "artifacts").as_uri(), "--log-level", "warning"]
        procs.append(subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL))
        ports.append(port)
    try:
        for port in ports:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "a server did not start"
                time.sleep(0.1)
        started = time.monotonic()
        time.sleep(4)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    elapsed = time.monotonic() - started
    ends = sorted(r["window_end"] for r in client.monitor_runs("often", limit=1000))
    assert 2 <= len(ends) <= elapsed + 8  # about one a second (from startup on), never two
    gaps = [b - a for a, b in itertools.pairwise(ends)]
    assert min(gaps) >= 900, gaps  # each due time was claimed by one server only


def test_monitors_over_http_need_the_deployer_role_and_keep_secrets_and_paths_out(
    server_factory: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx
    from tests.fixtures.http import error_of

    monkeypatch.setenv("MODELYARD_ROLES", "deployer=ops")
    srv = server_factory()  # type: ignore[operator]
    ops, eve = {"x-modelyard-user": "ops"}, {"x-modelyard-user": "eve"}
    spec = _monitor().to_dict()
    spec["alerts"] = [{"type": "webhook", "url": "https://hooks.example/x", "secret": "k3y"}]
    body = {"spec": spec, "every_ms": HOUR}
    with httpx.Client(base_url=srv.url) as http:
        refused = http.put("/api/v1/monitors/auc", json=body, headers=eve)
        assert refused.status_code == 403 and "deployer" in error_of(refused)["message"]
        saved = http.put("/api/v1/monitors/auc", json=body, headers=ops)
        assert saved.status_code == 200, saved.text
        shown = http.get("/api/v1/monitors/auc").json()
        assert shown["spec"]["alerts"][0]["secret"] == "********"  # written, never read back
        assert "k3y" not in http.get("/api/v1/monitors").text
        for path, payload in (
            ("/api/v1/monitors/auc/claim", {"due": 1, "next_run": 2}),
            ("/api/v1/monitors/auc/runs", {"monitor": "auc", "window_start": 1,
                                           "window_end": 2, "status": "passed"}),
        ):  # fmt: skip
            assert http.post(path, json=payload, headers=eve).status_code == 403
        as_json = {**eve, "content-type": "application/json"}  # writes are JSON (guards.py)
        assert http.delete("/api/v1/monitors/auc", headers=as_json).status_code == 403
        # a reference on the server's disk, or the server's SMTP aimed elsewhere: refused
        local = {**spec, "reference": "/etc/passwd", "checks": [{"type": "drift"}]}
        bad = http.put("/api/v1/monitors/auc", json={**body, "spec": local}, headers=ops)
        assert bad.status_code == 400 and error_of(bad)["field"] == "reference"
        mail = {**spec, "alerts": [{"type": "email", "to": "a@b.c", "host": "10.0.0.5"}]}
        bad = http.put("/api/v1/monitors/auc", json={**body, "spec": mail}, headers=ops)
        assert bad.status_code == 400 and error_of(bad)["field"] == "alerts"
        # malformed bodies: 400 naming the field, and nothing stored that breaks a listing
        alert = {"fingerprint": "auc:x", "monitor": "auc", "check": "x", "severity": "warning",
                 "status": "open", "first_seen": "abc", "last_seen": 1, "last_notified": 1,
                 "count": 1, "message": "m"}  # fmt: skip
        bad = http.put("/api/v1/alerts", json={"alerts": [alert]}, headers=ops)
        assert bad.status_code == 400 and error_of(bad)["field"] == "first_seen"
        assert http.get("/api/v1/alerts").status_code == 200
        run = {"monitor": "auc", "window_start": 1, "window_end": 2, "status": "passed",
               "rows": "abc"}  # fmt: skip
        bad = http.post("/api/v1/monitors/auc/runs", json=run, headers=ops)
        assert bad.status_code == 400 and error_of(bad)["field"] == "rows"
        worse = {**spec, "checks": [{"type": "performance", "metric": "auc", "lt": "x"}]}
        bad = http.put("/api/v1/monitors/auc", json={**body, "spec": worse}, headers=ops)
        assert bad.status_code == 400 and error_of(bad)["field"] == "lt"
        long = {**spec, "cooldown": "99999999999w"}
        bad = http.put("/api/v1/monitors/auc", json={**body, "spec": long}, headers=ops)
        assert bad.status_code == 400 and error_of(bad)["field"] == "window"
        assert "Traceback" not in bad.text


def test_an_acknowledgement_made_during_a_run_is_kept(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    _ship_hour(tmp_path / "log", uri, 0)
    client = MonitoringClient(uri)
    monitor = _monitor()
    first = client.run_monitor(monitor, now=START + HOUR)
    (alert,) = client.alerts()
    stale = {alert.fingerprint: alert}  # what a run read before the user acknowledged
    client.ack_alert(alert.fingerprint)
    from modelyard.monitoring.monitors.notify import notify

    notify(monitor, first, stale, START + HOUR + 10 * HOUR)  # the slow run decides...
    client.store.put_alerts(list(stale.values()))  # ...and writes back its view
    (after,) = client.alerts()
    assert after.status == "acked" and after.acked_by  # never back to open
