"""A release as an MLOps engineer runs it, through public names only, every call twice: two
classifiers (a categorical input, float labels with gaps, zoned timestamps) are registered,
tagged and looked at from the command line, a deployment puts the new one on a sticky 10 %
canary with a shadow, ``modelyard serve`` follows it in a real process, the alias is moved
under busy clients (no request fails, the new version takes over) and moved back, and the
prediction log comes back with its late labels through the monitoring SDK."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder
from tests.e2e.test_cli import cli
from tests.fixtures.stores import free_port
from tests.journeys.test_model_lifecycle import twice

import modelyard as yard

FEATURES = ["tenure", "charges", "plan"]
BERLIN = "Europe/Berlin"
Answer = tuple[int, str, str, list[Any]]  # status, x-modelyard-version, request id, predictions


def customers(n: int, seed: int) -> pd.DataFrame:
    """Customers with a categorical plan and a float churn label that is still unknown (NaN)
    for about one in six."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    charges = rng.normal(70, 20, n).round(2)
    plan = pd.Categorical(rng.choice(["basic", "pro", "team"], n, p=[0.5, 0.3, 0.2]))
    churned = (((charges > 80) & (tenure < 24)) | ((plan == "basic") & (tenure < 6))).astype(float)
    churned[rng.random(n) < 0.15] = np.nan
    return pd.DataFrame({"tenure": tenure, "charges": charges, "plan": plan, "churned": churned})


def classifier(final: Any) -> Pipeline:
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["plan"]), remainder="passthrough"
    )
    return make_pipeline(encode, final)


def shell(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``modelyard ARGS`` in a shell where the user exported MODELYARD_TRACKING_URI."""
    return cli(*args, cwd=cwd, env={"MODELYARD_TRACKING_URI": os.environ["MODELYARD_TRACKING_URI"]})


def run_twice(*args: str, cwd: Path) -> str:
    """A command run twice, as a user who is not sure it took; both answers must agree."""
    outs = []
    for _ in range(2):
        done = shell(*args, cwd=cwd)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr, args
        outs.append(done.stdout)
    assert outs[0] == outs[1], args
    return outs[1]


class Server:
    """``modelyard serve`` in its own process, as a user starts it in a terminal."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / "serve.log"
        cmd = [sys.executable, "-m", "modelyard", "serve", *args, "--port", str(self.port)]
        with self.log.open("wb") as sink:
            self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/v2/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)

    def stop(self) -> str:
        """SIGTERM: the server answers what it took, ships its prediction log and exits (by
        the signal, as uvicorn does once it has shut down cleanly)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        text = self.log.read_text()
        assert code in (0, -signal.SIGTERM), text
        return text


def infer_body(row: Any, request_id: str) -> dict[str, Any]:
    """One customer as Open Inference Protocol tensors: the plan travels as text (BYTES)."""
    return {
        "id": request_id,
        "inputs": [
            {"name": "tenure", "datatype": "INT64", "shape": [1], "data": [int(row.tenure)]},
            {"name": "charges", "datatype": "FP64", "shape": [1], "data": [float(row.charges)]},
            {"name": "plan", "datatype": "BYTES", "shape": [1], "data": [str(row.plan)]},
        ],
    }


def records_body(rows: pd.DataFrame) -> dict[str, Any]:
    """Rows as MLflow's ``dataframe_records`` (the categorical goes as its text)."""
    return {"dataframe_records": rows[FEATURES].astype({"plan": str}).to_dict(orient="records")}


class Clients:
    """A few callers of ``/invocations``, each sending three customers at a time, one request
    after another, until stopped; every answer is kept."""

    def __init__(self, url: str, live: pd.DataFrame, tag: str, n: int = 3) -> None:
        self.stopped = threading.Event()
        self.answers: list[list[Answer]] = [[] for _ in range(n)]
        self.threads = [
            threading.Thread(target=self._send, args=(url, live, f"{tag}{k}", self.answers[k]))
            for k in range(n)
        ]
        for thread in self.threads:
            thread.start()

    def _send(self, url: str, live: pd.DataFrame, prefix: str, kept: list[Answer]) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            i = 0
            while not self.stopped.is_set():
                request_id = f"{prefix}-{i}"
                got = http.post(
                    "/invocations?model=churn-api",
                    json=records_body(live.iloc[3 * i % 300 :][:3]),
                    headers={"x-request-id": request_id},
                )
                answer = got.json().get("predictions", []) if got.status_code == 200 else []
                version = got.headers.get("x-modelyard-version", "")
                kept.append((got.status_code, version, request_id, answer))
                i += 1
                time.sleep(0.02)

    def finish(self, new: str) -> list[list[Answer]]:
        """Stop once each caller's last three answers came from ``new``."""
        deadline = time.monotonic() + 60
        while not all([a[1] for a in answers[-3:]] == [new] * 3 for answers in list(self.answers)):
            assert time.monotonic() < deadline, f"not every caller reached version {new}"
            time.sleep(0.05)
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=30)
        return self.answers


def answering(url: str, live: pd.DataFrame) -> set[str]:
    """The versions that answer five fresh requests."""
    with httpx.Client(base_url=url, timeout=30) as http:
        seen = set()
        for i in range(5):
            got = http.post("/invocations?model=churn-api", json=records_body(live[i : i + 1]))
            assert got.status_code == 200, got.text
            seen.add(got.headers["x-modelyard-version"])
    return seen


def wait_for_version(url: str, live: pd.DataFrame, version: str) -> None:
    deadline = time.monotonic() + 60
    while answering(url, live) != {version}:
        assert time.monotonic() < deadline, f"version {version} did not take over"
        time.sleep(0.1)


def shadow_counts(url: str) -> dict[str, float]:
    """``modelyard_shadow_predictions_total`` of the endpoint by outcome, as a scrape shows."""
    found: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith('modelyard_shadow_predictions_total{endpoint="churn-api"'):
            assert 'version="3"' in line, line
            outcome = line.split('outcome="')[1].split('"')[0]
            found[outcome] = found.get(outcome, 0.0) + float(line.split()[-1])
    return found


def check_takeover(callers: list[list[Answer]], old: str, new: str, want: Any) -> None:
    """Every request answered, each caller moved from ``old`` to ``new`` once and for good,
    and every answer is the answering version's own prediction."""
    for answers in callers:
        assert answers and {status for status, *_ in answers} == {200}, answers
        seen = [version for _, version, _, _ in answers]
        assert set(seen) <= {old, new} and seen[-1] == new, seen
        assert seen == sorted(seen, key=lambda v: v == new), seen  # never back to the old one
        for _, version, request_id, predicted in answers:
            i = int(request_id.rsplit("-", 1)[1])
            assert predicted == want[version][3 * i % 300 :][:3], (version, request_id)


@pytest.mark.slow
def test_a_canary_a_shadow_a_hot_swap_and_a_rollback(tmp_path: Path, monkeypatch: Any) -> None:
    store = f"sqlite:///{tmp_path}/yard.db"
    monkeypatch.setenv("MODELYARD_TRACKING_URI", store)  # what the shell and the server see
    yard.set_tracking_uri(store)

    history = customers(1500, 1)
    known = history.dropna(subset=["churned"])
    assert len(known) < len(history)  # labels still missing, as in a real extract
    v1 = classifier(LogisticRegression(max_iter=1000)).fit(known[FEATURES], known.churned)
    v2 = classifier(RandomForestClassifier(n_estimators=40, random_state=0))
    v2.fit(known[FEATURES], known.churned)
    for name, model in (("churn-v1", v1), ("churn-v2", v2)):
        yard.models.save_model(model, tmp_path / name, input_example=known[FEATURES].head(10))
        with pytest.raises(yard.InvalidArgument, match="exists and is not empty"):  # run again
            yard.models.save_model(model, tmp_path / name, input_example=known[FEATURES].head(10))

    # registered from the shell; a registration retried is a new version of the same files
    first = shell("models", "register", "churn", "churn-v1", cwd=tmp_path)
    assert (first.returncode, first.stdout) == (0, "registered models:/churn/1\n"), first.stderr
    for want in ("registered models:/churn/2\n", "registered models:/churn/3\n"):
        again = shell("models", "register", "churn", "churn-v2", cwd=tmp_path)
        assert (again.returncode, again.stdout) == (0, want), again.stderr
    client = yard.Client()
    found = twice(client.search_model_versions, "name = 'churn'")
    digests = {v.version: v.model_digest for v in found}
    assert digests[2] == digests[3] != digests[1]
    twice(client.set_alias, "churn", "champion", 1)
    twice(client.set_alias, "churn", "challenger", 2)

    # the challenger on a sticky 10 % canary, and a copy of it shadowing every request
    made = client.create_deployment(
        "churn-api",
        {"models:/churn@champion": 90, "models:/churn@challenger": 10},
        shadows=["models:/churn/3"],
        sticky_header="x-user-id",
        description="v2 on a canary",
    )
    assert made.revision == 1
    with pytest.raises(yard.AlreadyExists, match="deployment 'churn-api' already exists"):
        client.create_deployment("churn-api", {"models:/churn@champion": 100})  # run again
    assert twice(client.get_deployment, "churn-api").to_dict() == made.to_dict()

    server = Server(
        ["--deployment", "churn-api", "--watch-seconds", "0.2", "--log-level", "warning"], tmp_path
    )
    try:
        # while it loads, the registry from the shell
        tagged = run_twice("models", "tag", "churn", "team=growth", "--version", "2", cwd=tmp_path)
        assert tagged == "tagged churn version 2: team=growth\n"
        shown = run_twice("models", "show", "churn", cwd=tmp_path)
        table = [[cell.strip() for cell in r.split("│")[1:-1]] for r in shown.splitlines()]
        rows = {r[1]: r for r in table if len(r) == 6 and r[1].isdigit()}
        assert {v: rows[v][2] for v in rows} == {"1": "champion", "2": "challenger", "3": ""}
        assert {r[3] for r in rows.values()} == {"sklearn"} and "UTC" in shown
        listed = run_twice("models", "list", cwd=tmp_path)
        line = [[c.strip() for c in r.split("│")[1:-1]] for r in listed.splitlines()]
        assert [r[:3] for r in line if r and r[0] == "churn"] == [
            ["churn", "3", "challenger->2, champion->1"]
        ], listed
        server.wait_ready()

        live = customers(300, 2)
        live["request_id"] = [f"r{i}" for i in range(len(live))]
        want = {"1": v1.predict(live[FEATURES]).tolist(), "2": v2.predict(live[FEATURES]).tolist()}
        started = pd.Timestamp.now(tz=BERLIN)

        # 60 users, each asking twice: one user, one version
        on: dict[str, list[str]] = {"1": [], "2": []}
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for i, row in enumerate(live[:60].itertuples()):
                got = twice(
                    http.post,
                    "/v2/models/churn-api/infer",
                    json=infer_body(row, row.request_id),
                    headers={"x-user-id": f"user-{i}"},
                )
                assert got.status_code == 200, got.text
                answer = got.json()
                version = answer["model_version"]
                assert got.headers["x-modelyard-version"] == version
                assert answer["id"] == row.request_id
                assert answer["outputs"][0]["data"] == [want[version][i]], answer
                on[version].append(row.request_id)
            assert 1 <= len(on["2"]) <= 15, on  # about one user in ten
            # the labels known by now come back from the application, as floats
            labels = [
                {"request_id": r.request_id, "label": r.churned}
                for r in live[:30].itertuples()
                if not np.isnan(r.churned)
            ]
            for _ in range(2):
                sent = http.post("/v2/feedback", json={"labels": labels})
                assert sent.json() == {"accepted": len(labels)}, sent.text
        deadline = time.monotonic() + 10  # the shadow runs after the answer went out
        while sum((shadowed := shadow_counts(server.url)).values()) < 120:
            assert time.monotonic() < deadline, shadowed
            time.sleep(0.1)
        assert sum(shadowed.values()) == 120 and "failed" not in shadowed, shadowed

        # the canary looked good: all traffic to the champion alias, no shadow
        for _ in range(2):
            now = client.update_deployment(
                "churn-api", routes={"models:/churn@champion": 100}, shadows=[]
            )
            assert (now.revision, now.shadows) == (2, [])
        wait_for_version(server.url, live, "1")

        # promotion from the shell while three clients send: the champion alias moves to 2
        swapped_at = pd.Timestamp.now(tz=BERLIN)
        busy = Clients(server.url, live, "swap")
        moved = run_twice("models", "alias", "churn", "champion", "2", cwd=tmp_path)
        assert moved == "churn@champion -> version 2\n"
        wait_for_version(server.url, live, "2")
        promoted = busy.finish("2")

        # rollback: the alias moves back, and the clients never notice
        busy = Clients(server.url, live, "back")
        twice(client.set_alias, "churn", "champion", 1)
        wait_for_version(server.url, live, "1")
        rolled = busy.finish("1")
    finally:
        said = server.stop()
    assert "Traceback" not in said and not re.search(r"\w*Warning:", said), said
    check_takeover(promoted, "1", "2", want)
    check_takeover(rolled, "2", "1", want)

    # the prediction log, shipped as the server stopped, with the labels that came back
    logged = twice(yard.monitoring.predictions, "churn", since=started)
    canary = logged[logged.request_id.isin(live.request_id[:60])]
    assert len(canary) == 120 and set(canary.endpoint) == {"churn-api"}  # each asked twice
    assert not canary.shadow.any()
    assert set(canary[canary.version.astype(str) == "2"].request_id) == set(on["2"])
    by_id = live.set_index("request_id")
    assert (canary.plan.to_numpy() == by_id.loc[canary.request_id, "plan"].astype(str)).all()
    labelled = canary[canary.label.notna()]
    assert set(labelled.request_id) == {lb["request_id"] for lb in labels}

    # the rest of the truth comes from the warehouse: zoned times, and gaps still unknown
    late = pd.DataFrame(
        {
            "request_id": live.request_id[30:60],
            "label": live.churned[30:60],
            "time": pd.Timestamp.now(tz=BERLIN).floor("min"),
        }
    )
    assert late.label.isna().any()
    told = late.dropna(subset=["label"])  # a row with no label yet is left out, not refused
    assert twice(yard.monitoring.log_labels, late) == len(told)
    canary = twice(yard.monitoring.predictions, "churn", since=started)
    canary = canary[canary.request_id.isin(live.request_id[:60])]
    truth = by_id.loc[canary.request_id, "churned"].to_numpy()
    assert canary.label.isna().to_numpy().tolist() == np.isnan(truth).tolist()
    assert (canary.label.dropna().to_numpy() == truth[~np.isnan(truth)]).all()
    shadows = twice(yard.monitoring.predictions, "churn", since=started, shadows=True)
    mirrored = shadows[shadows.shadow & shadows.request_id.isin(live.request_id[:60])]
    assert len(mirrored) == 120 and set(mirrored.version.astype(str)) == {"3"}
    since_swap = twice(yard.monitoring.predictions, "churn", since=swapped_at)
    sent = {request_id for c in promoted + rolled for _, _, request_id, _ in c}
    assert sent <= set(since_swap.request_id)
    assert not since_swap.request_id.isin(live.request_id[:60]).any()
