"""Monitors end to end: predictions shipped from a server's log and late labels, a reference
dataset in the store, drift and performance checks over a window, alerts told to a real
webhook receiver (HMAC-signed) and a real SMTP server (aiosmtpd) on loopback, de-duplicated
within the cooldown, repeated after it, resolved when the window is healthy again."""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from tests.fixtures.stores import free_port

import modelyard as yard
from modelyard.errors import InvalidArgument
from modelyard.outbound.signing import sign as signature
from modelyard.serving.predlog.shipping import Shipper
from modelyard.serving.predlog.writer import SUFFIX

HOUR = 3_600_000
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SECRET = "s3cret"


class Hooks:
    """A webhook receiver: keeps each body with whether its signature checked out."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[tuple[dict[str, Any], bool]] = []
        self.status = status
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers.get("X-Modelyard-Timestamp", "")
                sent = self.headers.get("X-Modelyard-Signature", "")
                good = hmac.compare_digest(sent, signature(SECRET, stamp, body))
                hooks.received.append((json.loads(body), good))
                self.send_response(hooks.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def _ship(folder: Path, uri: str, hour: int, shift: float, n: int = 300) -> dict[str, int]:
    """An hour of predictions (a probability and two inputs); returns the truth by id."""
    rng = np.random.default_rng(hour)
    income = rng.normal(50 + 15 * shift, 10, n)
    plan = rng.choice(["a", "b", "c"], n)
    score = rng.random(n)
    truth = (rng.random(n) < (score if not shift else 1 - score)).astype(int)  # worse if shifted
    lines = []
    ids = {}
    for i in range(n):
        request_id = f"h{hour}-{i}"
        record = {"k": "p", "id": request_id, "t": START + hour * HOUR + i * 1000, "e": "churn-api"}
        record |= {"m": "churn", "v": "3", "ms": 0.3, "s": False}
        inputs = {"income": [float(income[i])], "plan": [str(plan[i])]}
        record |= {"in": inputs, "out": [float(score[i])]}
        lines.append(orjson.dumps(record) + b"\n")
        ids[request_id] = int(truth[i])
    folder.mkdir(exist_ok=True)
    (folder / f"h{hour}{SUFFIX}").write_bytes(b"".join(lines))
    assert Shipper(folder, uri).ship_all() == 1
    return ids


def test_checks_alerts_dedup_cooldown_and_resolution(
    tmp_path: Path, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        {"income": rng.normal(50, 10, 2000), "plan": rng.choice(list("abc"), 2000)}
    )
    yard.data.log_dataset(train, "churn-train")
    truth = _ship(tmp_path / "log", uri, hour=0, shift=0.0)  # a healthy hour
    truth |= _ship(tmp_path / "log", uri, hour=1, shift=1.0)  # income moved, model wrong
    truth |= _ship(tmp_path / "log", uri, hour=3, shift=0.0)  # healthy again
    yard.monitoring.log_labels(truth)

    hooks = Hooks()
    monitor = yard.monitoring.Monitor(
        name="churn-health",
        endpoint="churn-api",
        reference="dataset:churn-train@1",
        window="1h",
        cooldown="2h",
        checks=[
            yard.monitoring.DriftCheck(share_drifted_gt=0.3),
            yard.monitoring.PerformanceCheck("auc", lt=0.7, min_labeled=50),
        ],
        alerts=[
            yard.monitoring.Webhook(hooks.url, secret=SECRET),
            yard.monitoring.Email("oncall@example.com", host="127.0.0.1", port=port),
        ],
    )
    healthy = monitor.run(now=START + HOUR)
    assert healthy.status == "passed" and healthy.rows == 300 and not healthy.notices
    drift, auc = healthy.results
    assert drift.outcome == "passed" and auc.outcome == "passed" and auc.value > 0.7

    bad = monitor.run(now=START + 2 * HOUR)
    assert bad.status == "breached"
    assert [n.event for n in bad.notices] == ["fired", "fired"] and not bad.notices[0].errors
    assert "income" in bad.results[0].details["drifted_columns"]
    assert bad.results[1].value < 0.7
    assert len(hooks.received) == 2 and all(good for _, good in hooks.received)
    body = hooks.received[0][0]
    assert body["text"].startswith("[ALERT] warning: monitor churn-health, check drift")
    assert body["fingerprint"] == "churn-health:drift" and body["event"] == "fired"
    assert len(box.messages) == 2 and box.messages[0].rcpt_tos == ["oncall@example.com"]

    again = monitor.run(now=START + 2 * HOUR + 60_000)  # the same breach within the cooldown
    assert again.status == "breached" and again.notices == []
    assert len(hooks.received) == 2

    empty = monitor.run(now=START + 3 * HOUR)  # hour 2 logged nothing: skipped, no change
    assert empty.status == "skipped" and empty.notices == []
    assert empty.results[0].message == "no predictions in the window"

    later = monitor.run(now=START + 2 * HOUR + 2 * HOUR)  # hour 3: healthy, so resolved
    assert [n.event for n in later.notices] == ["resolved", "resolved"]
    assert hooks.received[-1][0]["text"].startswith("[RESOLVED]")
    assert orjson.loads(orjson.dumps(later.to_dict()))["status"] == "passed"


def test_a_failing_channel_does_not_stop_the_others(
    tmp_path: Path, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    yard.monitoring.log_labels(_ship(tmp_path / "log", uri, hour=0, shift=1.0))
    broken = Hooks(status=500)
    monitor = yard.monitoring.Monitor(
        name="auc-only",
        model="churn",
        version=3,
        checks=[yard.monitoring.PerformanceCheck("auc", lt=0.9, severity="critical")],
        alerts=[
            yard.monitoring.Webhook(broken.url),
            yard.monitoring.Email(["a@example.com", "b@example.com"], host="127.0.0.1", port=port),
        ],
    )
    run = monitor.run(now=START + HOUR)
    (notice,) = run.notices
    assert notice.event == "fired" and len(notice.errors) == 1 and "500" in notice.errors[0]
    assert len(box.messages) == 1 and box.messages[0].rcpt_tos == ["a@example.com", "b@example.com"]


def test_monitor_specs_round_trip_through_yaml_and_bad_ones_name_the_field(tmp_path: Path) -> None:
    import yaml

    monitor = yard.monitoring.Monitor(
        name="m",
        endpoint="api",
        reference="dataset:train@2",
        checks=[
            yard.monitoring.DriftCheck(share_drifted_gt=0.2, columns=["income"]),
            yard.monitoring.PerformanceCheck("f1", lt=0.8),
        ],
        alerts=[
            yard.monitoring.Webhook("https://hooks.example/x", secret="k"),
            yard.monitoring.Log(),
        ],
    )
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(monitor.to_dict()))
    assert yard.monitoring.Monitor.from_yaml(path) == monitor
    check = yard.monitoring.PerformanceCheck("f1", lt=0.8)
    by_deployment = yard.monitoring.Monitor(name="d", deployment="churn-api", checks=[check])
    assert by_deployment.endpoint == "churn-api"  # a deployment's endpoint has its name
    assert yard.monitoring.Monitor.from_dict(by_deployment.to_dict()) == by_deployment
    cases = [
        (lambda: yard.monitoring.Monitor(name="", endpoint="a", checks=[]), "name"),
        (lambda: yard.monitoring.Monitor(name="m", checks=[]), "endpoint"),
        (lambda: yard.monitoring.Monitor(name="m", endpoint="a", checks=[]), "checks"),
        (
            lambda: yard.monitoring.Monitor(
                name="m", endpoint="a", checks=[yard.monitoring.DriftCheck()]
            ),
            "reference",
        ),
        (lambda: yard.monitoring.PerformanceCheck("auc"), "lt"),
        (lambda: yard.monitoring.DriftCheck(share_drifted_gt=1.5), "share_drifted_gt"),
        (lambda: yard.monitoring.Webhook("ftp://x"), "url"),
        (
            lambda: yard.monitoring.Monitor(
                name="m",
                endpoint="a",
                deployment="b",
                checks=[yard.monitoring.PerformanceCheck("f1", lt=1)],
            ),
            "deployment",
        ),
        (
            lambda: yard.monitoring.Monitor(
                name="m", endpoint="a", window="soon", checks=[yard.monitoring.DriftCheck()]
            ),
            "window",
        ),
        (
            lambda: yard.monitoring.Monitor.from_dict(
                {"name": "m", "endpoint": "a", "checks": [{"type": "magic"}]}
            ),
            "checks",
        ),
        (
            lambda: yard.monitoring.Monitor.from_dict({"name": "m", "endpoint": "a", "colour": 1}),
            "monitor",
        ),
    ]
    for make, field in cases:
        with pytest.raises(InvalidArgument) as err:
            make()
        assert err.value.field == field, (field, err.value)


def _nightly(tmp_path: Path, channel: dict[str, Any]) -> tuple[str, Path]:
    """A store with an hour of bad predictions and labels, and a YAML monitor of their AUC
    that tells ``channel``."""
    import yaml

    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    yard.monitoring.log_labels(_ship(tmp_path / "log", uri, hour=0, shift=1.0))
    spec = {
        "name": "nightly",
        "model": "churn",
        "window": "1h",
        "checks": [{"type": "performance", "metric": "auc", "lt": 0.9}],
        "alerts": [channel],
    }
    path = tmp_path / "nightly.yaml"
    path.write_text(yaml.safe_dump(spec))
    return uri, path


def test_monitors_run_from_yaml_on_the_command_line(
    tmp_path: Path, smtp: tuple[Mailbox, int]
) -> None:
    from tests.e2e.test_cli import cli

    box, port = smtp
    mail = {"type": "email", "to": "oncall@example.com", "host": "127.0.0.1", "port": port}
    uri, path = _nightly(tmp_path, mail)
    now = str(START + HOUR)
    r = cli("monitors", "run", str(path), "--now", now, "-t", uri, "--fail-on-breach", cwd=tmp_path)
    assert r.returncode == 1, r.stderr  # breached: a CI gate
    assert (
        "monitor nightly: breached" in r.stdout
        and "alert nightly:performance.auc: fired" in r.stdout
    )
    assert len(box.messages) == 1
    r = cli("monitors", "run", str(path), "--now", now, "-t", uri, "--json", cwd=tmp_path)
    assert json.loads(r.stdout)["results"][0]["outcome"] == "breached"
    path.write_text("checks: [oops")
    r = cli("monitors", "run", str(path), "-t", uri, cwd=tmp_path)
    assert r.returncode != 0 and "cannot read" in r.stderr and "Traceback" not in r.stderr


def test_stored_monitors_and_alerts_on_the_command_line(tmp_path: Path) -> None:
    from tests.e2e.test_cli import cli

    uri, path = _nightly(tmp_path, {"type": "log"})
    store = ["-t", uri]
    r = cli("monitors", "save", str(path), "--every", "15min", *store, cwd=tmp_path)
    assert r.returncode == 0 and "monitor nightly revision 1, every 900 s" in r.stdout, r.stderr
    r = cli("monitors", "list", *store, cwd=tmp_path)
    assert "nightly" in r.stdout and "performance.auc" in r.stdout and "900" in r.stdout
    now = str(START + HOUR)
    r = cli("monitors", "run", "nightly", "--now", now, *store, cwd=tmp_path)  # by name
    assert r.returncode == 0 and "alert nightly:performance.auc: fired" in r.stdout
    r = cli("monitors", "run", "nightly", "--now", now, *store, cwd=tmp_path)
    assert "fired" not in r.stdout  # the store remembers the open alert
    r = cli("monitors", "history", "nightly", "--json", *store, cwd=tmp_path)
    assert [x["status"] for x in json.loads(r.stdout)] == ["breached", "breached"]
    chart = tmp_path / "history.html"
    r = cli("monitors", "history", "nightly", "--html", str(chart), *store, cwd=tmp_path)
    text = chart.read_text()
    assert r.returncode == 0 and "<polyline" in text and "threshold 0.9" in text
    assert text.count("stroke='#c62828'/>") == 2  # both runs breached: circled
    r = cli("alerts", "list", "--status", "open", "--json", *store, cwd=tmp_path)
    (alert,) = json.loads(r.stdout)
    assert alert["fingerprint"] == "nightly:performance.auc" and alert["count"] == 2
    r = cli("alerts", "ack", alert["fingerprint"], *store, cwd=tmp_path)
    assert r.returncode == 0 and "acknowledged" in r.stdout
    r = cli("alerts", "ack", "nightly:nothing", *store, cwd=tmp_path)
    assert r.returncode != 0 and "no alert" in r.stderr and "Traceback" not in r.stderr
    r = cli("monitors", "delete", "nightly", *store, cwd=tmp_path)
    assert r.returncode == 0
    r = cli("monitors", "run", "nightly", *store, cwd=tmp_path)
    assert r.returncode != 0 and "no monitor 'nightly'" in r.stderr
