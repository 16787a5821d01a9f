"""A model in production watched by a monitor, through public names only, every call made
twice: a reference dataset (a pandas-written Parquet file after ``sample()``, a categorical,
zoned timestamps, float labels with gaps), a registered classifier served with its
probabilities logged, labels arriving late for some rows, a monitor of drift, accuracy and
ROC AUC that alerts a real webhook receiver on loopback. Fresh data raises nothing; shifted
data with a broken model raises each expected alert once; healthy data resolves them. Run
history and alerts are read back from Python and from ``modelyard monitors`` / ``alerts``,
and every figure is recomputed here with scikit-learn and scipy on the same rows."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from tests.fixtures.journey import run_twice, twice
from tests.fixtures.serving import Running
from tests.fixtures.stores import free_port

import modelyard as yard
from modelyard.serving.app import ServingApp
from modelyard.serving.config import ModelSource, ServeConfig

SECRET = "hook-secret"
WINDOW_S = 5  # the monitor's window: each phase of traffic falls in one
FEATURES = ["tenure", "charges", "plan"]
PLANS = ["basic", "pro", "team"]


def customers(n: int, seed: int, *, shifted: bool = False) -> pd.DataFrame:
    """Customers with a churn label; ``shifted``: dearer, on other plans, and churning for
    other reasons than the model learnt (so its predictions degrade)."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    charges = rng.normal(110 if shifted else 70, 15, n).round(2)
    plan = rng.choice(PLANS, n, p=[0.2, 0.3, 0.5] if shifted else [0.5, 0.3, 0.2])
    centre = 110 if shifted else 70
    logit = (
        0.12 * (charges - centre)
        - 0.08 * (tenure - 36)
        + np.select([plan == "basic", plan == "pro"], [1.0, 0.0], -1.0)
    )
    if shifted:
        logit = -logit  # the old signal now points the other way
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    signup = pd.Timestamp("2026-03-01", tz="Europe/Berlin") + pd.to_timedelta(
        rng.integers(0, 90 * 24, n), unit="h"
    )
    return pd.DataFrame(
        {
            "tenure": tenure,
            "charges": charges,
            "plan": pd.Categorical(plan, categories=PLANS),
            "signup": signup,
            "churned": churned,
        }
    )


def utc(ms: int) -> str:
    """Epoch milliseconds as the command line prints them."""
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M:%S UTC")


def table_rows(printed: str) -> list[list[str]]:
    """The rows of a table the command line printed, as their cells' text."""
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in printed.splitlines()
        if line.startswith("│")
    ]


class Receiver:
    """A webhook receiver on loopback (real HTTP): keeps each body whose signature checks
    out as docs/monitoring.md describes it, and refuses the others."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers.get("X-Modelyard-Timestamp", "")
                signed = self.headers.get("X-Modelyard-Signature", "")
                fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 300
                mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
                if fresh and hmac.compare_digest(signed, f"sha256={mac.hexdigest()}"):
                    receiver.bodies.append(json.loads(body))
                    self.send_response(204)
                else:
                    receiver.refused += 1
                    self.send_response(401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[tuple[str, str]]:
        return [(b["event"], b["fingerprint"]) for b in self.bodies]


def traffic(url: str, frame: pd.DataFrame, tag: str) -> int:
    """Send ``frame`` to the server, 200 rows a request, and wait until it is shipped to the
    store; returns the end of the window that holds this traffic (epoch ms)."""
    start = int(time.time() * 1000)
    with httpx.Client(base_url=url) as http:
        for first in range(0, len(frame), 200):
            body = {"dataframe_split": frame[FEATURES].iloc[first : first + 200].to_dict("split")}
            got = http.post("/invocations", json=body, headers={"x-request-id": f"{tag}-{first}"})
            assert got.status_code == 200, got.text
    took = int(time.time() * 1000) - start
    assert took < WINDOW_S * 800, f"the traffic took {took} ms; the window is {WINDOW_S} s"
    for _ in range(300):
        if len(yard.monitoring.predictions("churn", since=start)) == len(frame):
            return start + WINDOW_S * 1000
        time.sleep(0.1)  # the server ships its log every 0.2 s here
    raise AssertionError(f"{tag}: the predictions were not shipped")


def label_table(frame: pd.DataFrame, tag: str, arrived: np.ndarray) -> pd.DataFrame:
    """The truth as a CRM exports it: one row per prediction, the label a float that is
    missing where it is not known yet, and when it became known (a zoned time)."""
    index = np.arange(len(frame))
    return pd.DataFrame(
        {
            "request_id": [f"{tag}-{i - i % 200}" for i in index],
            "row": index % 200,
            "label": frame["churned"].where(arrived).to_numpy(),
            "time": pd.Timestamp.now(tz="America/Sao_Paulo").floor("s"),
        }
    )


def expected(
    reference: pd.DataFrame, frame: pd.DataFrame, model: Any, arrived: np.ndarray
) -> dict[str, Any]:
    """What the monitor should report for ``frame``, from scipy and scikit-learn: the
    columns whose drift score is at or above 0.1 (more than 1,000 reference rows: the
    Wasserstein distance over the reference's std for numbers with over 5 values, the
    Jensen-Shannon distance for the rest), accuracy and ROC AUC over the labelled rows
    (``arrived``)."""
    current = frame.assign(prediction=model.predict(frame[FEATURES]))
    scores = {}
    for column in ["tenure", "charges", "plan", "prediction"]:
        ref, cur = reference[column], current[column]
        if column in ("tenure", "charges"):
            spread = max(float(np.std(ref.to_numpy(np.float64))), 0.001)
            score = wasserstein_distance(ref, cur) / spread
        else:
            values = sorted(set(ref.astype(str)) | set(cur.astype(str)))
            shares = [
                side.astype(str).value_counts(normalize=True).reindex(values, fill_value=0)
                for side in (ref, cur)
            ]
            score = float(jensenshannon(shares[0], shares[1]))
        assert abs(score - 0.1) > 0.02, (column, score)  # the data leaves no doubt either way
        scores[column] = score
    truth = frame["churned"][arrived]
    probability = model.predict_proba(frame[FEATURES])[:, 1][arrived]
    return {
        "scores": scores,
        "drifted": sorted(c for c, score in scores.items() if score >= 0.1),
        "accuracy": accuracy_score(truth, current["prediction"][arrived]),
        "auc": roc_auc_score(truth, probability),
        "labelled": int(arrived.sum()),
    }


@pytest.mark.slow
def test_monitor_drift_and_performance_alerts(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)

    # the reference: last quarter's customers, a third of them not yet labelled
    history = customers(3000, 1)
    history.loc[np.random.default_rng(2).random(3000) < 0.3, "churned"] = np.nan
    known = history[history["churned"].notna()]
    model = make_pipeline(
        ColumnTransformer([("plan", OneHotEncoder(), ["plan"])], remainder="passthrough"),
        LogisticRegression(max_iter=1000),
    ).fit(known[FEATURES], known["churned"])  # classes 0.0 and 1.0
    reference = history.assign(prediction=model.predict(history[FEATURES]))  # drifts too
    reference.sample(frac=1.0, random_state=0).to_parquet("reference.parquet")
    ds = twice(yard.data.log_dataset, "reference.parquet", name="churn-reference")
    assert ds.version == 1 and "__index_level_0__" not in ds.profile.columns

    # registered, given an alias, and served with its probabilities logged
    yard.set_experiment("churn")
    with yard.start_run(run_name="logistic"):
        yard.models.log_model(
            model, "model", input_example=known[FEATURES].head(20), registered_model_name="churn"
        )
    client = yard.Client()
    version = twice(client.get_registered_model, "churn").latest_version
    twice(client.set_alias, "churn", "champion", version)
    config = ServeConfig(
        [ModelSource("models:/churn@champion")],
        tracking_uri=uri,
        prediction_log=str(tmp_path / "prediction-log"),
        log_roll_s=0.2,
        ship_s=0.2,
        log_probabilities=True,
    )

    # the monitor: drift against the reference, accuracy and ROC AUC, alerts to a webhook
    receiver = Receiver()
    monitor = yard.monitoring.Monitor(
        name="churn-health",
        model="churn",
        version=version,
        reference="dataset:churn-reference@1",
        window=f"{WINDOW_S}s",
        cooldown="1h",
        checks=[
            yard.monitoring.DriftCheck(share_drifted_gt=0.3),
            yard.monitoring.PerformanceCheck("accuracy", lt=0.7, min_labeled=100),
            yard.monitoring.PerformanceCheck("auc", lt=0.75, min_labeled=100),
        ],
        alerts=[yard.monitoring.Webhook(receiver.url, secret=SECRET)],
    )
    Path("churn-health.yaml").write_text(yaml.safe_dump(monitor.to_dict()))
    assert twice(yard.monitoring.Monitor.from_yaml, "churn-health.yaml") == monitor
    stored = twice(monitor.save, every="1h")  # `modelyard server` would run it hourly
    assert (stored.monitor, stored.every_ms, stored.revision) == (monitor, 3_600_000, 1)

    def berlin(ms: int) -> pd.Timestamp:  # the on-call engineer's clock
        return pd.Timestamp(ms, unit="ms", tz="UTC").tz_convert("Europe/Berlin")

    def values(run: Any) -> dict[str, Any]:
        return {r.check: (r.outcome, r.value) for r in run.results}

    fingerprints = [f"churn-health:{c.name}" for c in monitor.checks]
    alerts = yard.monitoring.MonitoringClient()
    rng = np.random.default_rng(7)
    ends = {}
    running = Running(ServingApp(config))
    try:
        # (a) a window of fresh customers from the same distribution: all passes, no alert
        fresh = customers(1000, 3)
        arrived = rng.random(len(fresh)) < 0.6  # the other labels are not known yet
        ends["fresh"] = end = traffic(running.url, fresh, "fresh")
        labels = label_table(fresh, "fresh", arrived)
        assert twice(yard.monitoring.log_labels, labels) == arrived.sum()
        want = expected(reference, fresh, model, arrived)
        assert want["drifted"] == []
        run = twice(monitor.run, now=berlin(end))
        assert run.status == "passed" and run.notices == [], run.to_dict()
        assert (run.window_start, run.window_end) == (end - WINDOW_S * 1000, end)
        assert (run.rows, run.labeled) == (1000, want["labelled"])
        assert values(run) == {
            "drift": ("passed", 0.0),
            "performance.accuracy": ("passed", pytest.approx(want["accuracy"], abs=1e-12)),
            "performance.auc": ("passed", pytest.approx(want["auc"], abs=1e-12)),
        }
        assert receiver.bodies == [] and receiver.refused == 0
        while time.time() * 1000 < end:  # the next traffic falls in the next window
            time.sleep(0.05)

        # (b) dearer customers on other plans, and the model now wrong: each alert once
        shifted = customers(1000, 4, shifted=True)
        arrived = rng.random(len(shifted)) < 0.6
        ends["shifted"] = end = traffic(running.url, shifted, "shifted")
        labels = label_table(shifted, "shifted", arrived)
        assert twice(yard.monitoring.log_labels, labels) == arrived.sum()
        want = expected(reference, shifted, model, arrived)
        assert sorted(want["drifted"]) == ["charges", "plan", "prediction"]
        assert want["accuracy"] < 0.7 and want["auc"] < 0.75
        first = monitor.run(now=berlin(end))
        assert first.status == "breached"
        assert values(first) == {
            "drift": ("breached", 0.75),
            "performance.accuracy": ("breached", pytest.approx(want["accuracy"], abs=1e-12)),
            "performance.auc": ("breached", pytest.approx(want["auc"], abs=1e-12)),
        }
        drifted = first.results[0].details["drifted_columns"]
        assert sorted(drifted) == want["drifted"]
        assert [(n.event, n.alert.fingerprint, n.errors) for n in first.notices] == [
            ("fired", fingerprint, []) for fingerprint in fingerprints
        ]
        assert receiver.events() == [("fired", fingerprint) for fingerprint in fingerprints]
        drift, accuracy, auc = receiver.bodies
        assert drift["text"] == (
            "[ALERT] warning: monitor churn-health, check drift: "
            f"3 of 4 columns drifted (75%): {', '.join(drifted)}"
        )
        assert accuracy["text"] == (
            "[ALERT] critical: monitor churn-health, check performance.accuracy: accuracy "
            f"{want['accuracy']:.4g} over {want['labelled']} labelled rows (alert when < 0.7)"
        )
        assert auc["value"] == pytest.approx(want["auc"], abs=1e-12) and auc["count"] == 1
        assert auc["threshold"] == "< 0.75" and auc["window_end"] == end

        again = monitor.run(now=berlin(end))  # the same breach: counted, not told again
        assert again.status == "breached" and values(again) == values(first)
        assert again.notices == [] and len(receiver.bodies) == 3

        # the stored monitor, run by hand from a shell as a CI gate: breached, and quiet
        shown = run_twice(
            "monitors", "run", "churn-health", "--now", berlin(end).isoformat(),
            "--fail-on-breach", "-t", uri, cwd=tmp_path, code=1,
        )  # fmt: skip
        assert (
            f"monitor churn-health: breached (1,000 predictions, {want['labelled']} labelled)"
            in shown
        ), shown
        assert [row[:4] for row in table_rows(shown)] == [
            ["drift", "breached", "0.75", "> 0.3"],
            ["performance.accuracy", "breached", f"{want['accuracy']:.4g}", "< 0.7"],
            ["performance.auc", "breached", f"{want['auc']:.4g}", "< 0.75"],
        ], shown
        assert "alert churn-health" not in shown and len(receiver.bodies) == 3
        # the window exported for a closer look, compared from the shell (read in parts)
        window = twice(
            yard.monitoring.predictions, "churn", version=version,
            since=berlin(end - WINDOW_S * 1000), until=berlin(end),
        )  # fmt: skip
        inputs = window[["tenure", "charges", "plan", "prediction"]]
        inputs.sample(frac=1.0, random_state=1).to_parquet("last-window.parquet")
        shown = run_twice(
            "monitor", "drift", "dataset:churn-reference@1", "last-window.parquet", "-t", uri,
            cwd=tmp_path,
        )  # fmt: skip
        compared = {row[0]: row for row in table_rows(shown)}
        assert sorted(compared) == sorted(want["scores"]), shown
        for column, score in want["scores"].items():  # binned numbers: within 2% (docs)
            _, kind, test, printed, threshold, flag = compared[column]
            numbers = column in ("tenure", "charges")  # over 5 values: Wasserstein
            assert kind == ("categorical" if column == "plan" else "numeric"), shown
            assert test == ("wasserstein" if numbers else "jensenshannon"), shown
            close = 0.02 if numbers else 5e-4
            assert float(printed) == pytest.approx(score, rel=close), (column, shown)
            assert threshold == "0.1" and flag == ("DRIFT" if column in drifted else ""), shown
        assert "schema: missing now ['signup', 'churned'], new []" in shown, shown

        opened = twice(alerts.alerts, status="open")
        assert sorted((a.fingerprint, a.count) for a in opened) == [(f, 4) for f in fingerprints]
        while time.time() * 1000 < end:
            time.sleep(0.05)

        # (c) the customers are back to normal: each alert resolves, once
        healthy = customers(1000, 5)
        arrived = rng.random(len(healthy)) < 0.6
        ends["healthy"] = end = traffic(running.url, healthy, "healthy")
        labels = label_table(healthy, "healthy", arrived)
        assert twice(yard.monitoring.log_labels, labels) == arrived.sum()
        want = expected(reference, healthy, model, arrived)
        assert want["drifted"] == []
        resolved = monitor.run(now=berlin(end))
        assert resolved.status == "passed"
        assert values(resolved) == {
            "drift": ("passed", 0.0),
            "performance.accuracy": ("passed", pytest.approx(want["accuracy"], abs=1e-12)),
            "performance.auc": ("passed", pytest.approx(want["auc"], abs=1e-12)),
        }
        assert [(n.event, n.alert.fingerprint) for n in resolved.notices] == [
            ("resolved", fingerprint) for fingerprint in fingerprints
        ]
        assert monitor.run(now=berlin(end)).notices == []
        assert receiver.events() == [("fired", f) for f in fingerprints] + [
            ("resolved", f) for f in fingerprints
        ]
        assert receiver.bodies[-1]["text"] == (
            "[RESOLVED] critical: monitor churn-health, check performance.auc: auc "
            f"{want['auc']:.4g} over {want['labelled']} labelled rows (alert when < 0.75)"
        )
        assert twice(alerts.alerts, status="open") == [] and receiver.refused == 0
    finally:
        running.stop()
        receiver.close()

    # the rest of the healthy window's labels arrive: its report fills in (backfill)
    labels = label_table(healthy, "healthy", ~arrived)
    assert twice(yard.monitoring.log_labels, labels) == (~arrived).sum()
    report = twice(
        yard.monitoring.performance, "churn", version=version, since=end - WINDOW_S * 1000
    )
    everyone = expected(reference, healthy, model, np.ones(len(healthy), dtype=bool))
    assert report.overall["predictions"] == 1000 and report.overall["label_coverage"] == 1.0
    assert report.overall["accuracy"] == pytest.approx(everyone["accuracy"], abs=1e-12)
    assert report.overall["roc_auc"] == pytest.approx(everyone["auc"], abs=1e-12)

    # the monitor's history and its alerts, from Python and from the shell
    runs = twice(alerts.monitor_runs, "churn-health")
    newest_first = [("healthy", "passed")] * 2 + [("shifted", "breached")] * 4
    newest_first += [("fresh", "passed")] * 2
    assert [(r["window_end"], r["status"]) for r in runs] == [
        (ends[phase], status) for phase, status in newest_first
    ]
    shown = run_twice("monitors", "history", "churn-health", "-t", uri, cwd=tmp_path)
    assert [row[:4] for row in table_rows(shown)] == [
        [utc(r["window_end"]), r["status"], str(r["rows"]), str(r["labeled"])] for r in runs
    ], shown
    shown = run_twice("alerts", "list", "-t", uri, cwd=tmp_path)
    severities = ["warning", "critical", "critical"]
    assert sorted(row[:4] + row[5:] for row in table_rows(shown)) == [
        [fingerprint, severity, "resolved", "4", result.message]
        for fingerprint, severity, result in zip(
            fingerprints, severities, resolved.results, strict=True
        )
    ], shown
