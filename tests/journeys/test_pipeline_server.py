"""A team runs its pipelines on ``modelyard server --pipelines flow.py`` over PostgreSQL:
a webhook call and a new dataset version start runs there, a run's concurrency limit holds,
and a server killed in the middle of a step is replaced by another that fails the lost run
and resumes it, reusing the step that had completed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from tests.e2e.test_cli import cli
from tests.fixtures.stores import free_port

import modelyard as yard
from modelyard.pipelines import PipelinesClient

FLOW = """
import time
from pathlib import Path

import pandas as pd
import modelyard as yard

HERE = Path(__file__).parent


@yard.step
def prepare(n: int) -> pd.DataFrame:
    done = HERE / f"prepared-{n}"
    done.write_text(str(int(done.read_text()) + 1 if done.exists() else 1))
    return pd.DataFrame({"x": [float(i) for i in range(n)], "city": ["Oslo", "Lima"] * (n // 2)})


@yard.step
def wait_for_flag(frame: pd.DataFrame, flag: str) -> float:
    (HERE / f"started-{flag}").touch()
    while not (HERE / flag).exists():
        time.sleep(0.05)
    return float(frame["x"].sum())


@yard.pipeline(triggers=[yard.on_webhook()], max_active=1)
def nightly(n: int = 10, flag: str = "go") -> float:
    return wait_for_flag(prepare(n), flag)


@yard.step
def rows(version: int) -> int:
    return len(yard.data.get("churn", version).to_pandas())


@yard.pipeline(triggers=[yard.on_dataset("churn")])
def on_data() -> int:
    return rows(yard.data.versions("churn")[0].version).result()
"""


class Server:
    def __init__(self, store: str, project: Path, artifacts: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
        env.update(
            MODELYARD_PIPELINE_TICK_SECONDS="0.2",
            MODELYARD_PIPELINE_HEARTBEAT_SECONDS="0.5",
            MODELYARD_PIPELINE_STALE_SECONDS="3",
            MODELYARD_SPOOL_DIR=str(project / f"spool-{self.port}"),
        )
        self.log = project / f"server-{self.port}.log"
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "modelyard", "server", "--store", store,
                "--artifacts", str(artifacts), "--port", str(self.port),
                "--pipelines", "flow.py",
            ],
            cwd=project, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start: {self.log.read_text()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


@pytest.fixture
def servers(pg_store_url: str, tmp_path: Path) -> Iterator[Callable[[], Server]]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "flow.py").write_text(FLOW)
    started: list[Server] = []

    def start() -> Server:
        started.append(Server(pg_store_url, project, tmp_path / "artifacts"))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _until(what: Callable[[], bool], seconds: float = 30, why: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not what():
        assert time.monotonic() < deadline, f"timed out waiting: {why}"
        time.sleep(0.1)


def test_runs_start_on_the_server_and_resume_when_it_dies(
    servers: Callable[[], Server], tmp_path: Path
) -> None:
    project = tmp_path / "project"
    first = servers()
    yard.set_tracking_uri(first.url)
    client = PipelinesClient(first.url)
    assert sorted(p.name for p in client.list_pipelines()) == ["nightly", "on_data"]

    # a webhook call, made twice with one key: one run; another call queues behind it
    # (max_active=1)
    run = client.trigger("nightly", {"n": 6, "flag": "go"}, key="build-42")
    assert client.trigger("nightly", {"n": 6, "flag": "go"}, key="build-42").run_id == run.run_id
    behind = client.trigger("nightly", {"flag": "later"})
    _until(lambda: (project / "started-go").exists(), why="the first run's second step")
    time.sleep(1.0)  # several ticks: the second run must still wait
    assert client.get_run(behind.run_id).status == "QUEUED"
    assert client.get_run(run.run_id).status == "RUNNING"

    # the server dies in the middle of the step; another takes over
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    second = servers()
    yard.set_tracking_uri(second.url)
    client = PipelinesClient(second.url)
    _until(lambda: client.get_run(run.run_id).status == "FAILED", why="the lost run failed")
    lost = client.get_run(run.run_id).record
    assert "stopped" in (lost.error or "") and "resumed as run" in (lost.error or "")
    resumed = next(r for r in client.runs("nightly") if r.retry_of == run.run_id)
    (project / "go").touch()
    assert client.get_run(resumed.run_id).result(timeout=30) == 15.0
    steps = {s.key: s.status for s in client.steps(resumed.run_id)}
    assert steps == {"prepare": "CACHED", "wait_for_flag": "COMPLETED"}
    assert (project / "prepared-6").read_text() == "1"  # prepare(6) ran once in all
    # the run queued behind runs next, with its own parameters and the defaults
    (project / "later").touch()
    assert client.get_run(behind.run_id).result(timeout=30) == 45.0

    # a new dataset version starts on_data on the server; the same version, no second run
    yard.data.log_dataset(pd.DataFrame({"x": [1.0, None, 3.0]}), "churn")
    _until(lambda: len(client.runs("on_data")) == 1, why="the dataset trigger")
    triggered = client.runs("on_data")[0]
    assert client.get_run(triggered.run_id).result(timeout=30) == 3
    assert triggered.trigger == "dataset churn version 1"

    said = cli("pipelines", "runs", "nightly", "-t", second.url, cwd=project)
    assert said.returncode == 0, said.stderr
    assert said.stdout.count("COMPLETED") == 2 and "FAILED" in said.stdout
    assert "Traceback" not in second.log.read_text()


def test_webhook_calls_that_cannot_run_are_refused(
    servers: Callable[[], Server], tmp_path: Path
) -> None:
    server = servers()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        cases = [
            ("nightly", {"params": {"unknown": 1}}, 400, "params"),
            ("nightly", {"params": []}, 400, "params"),
            ("nightly", {"key": ""}, 400, "key"),
            ("nightly", {"key": "k" * 129}, 400, "key"),
            ("nightly", {"extra": 1}, 400, "extra"),
            ("on_data", {}, 409, "pipeline"),  # no webhook trigger
            ("nowhere", {}, 404, "pipeline"),
        ]
        for name, body, status, field in cases:
            for _ in range(2):
                answer = http.post(f"/api/v1/pipelines/{name}/trigger", json=body)
                assert answer.status_code == status, (name, body, answer.text)
                assert answer.json()["error"]["field"] == field, answer.text
        said = cli("pipelines", "trigger", "on_data", "-t", server.url, cwd=tmp_path / "project")
        assert said.returncode != 0 and "webhook" in said.stderr and "Traceback" not in said.stderr
        assert PipelinesClient(server.url).runs() == []  # nothing was queued
