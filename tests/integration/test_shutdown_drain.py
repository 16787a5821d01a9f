"""SIGTERM under load: every request a server reads gets an answer.

Sixteen clients keep sending on keep-alive connections while the server is told to stop. A
request may be refused before it is sent (the listener is closed: ``ConnectError``), or
answered; a request that was sent and then met a reset or a closed connection was read and
dropped, which is the failure counted here. Both servers, and ``modelyard serve`` with one
worker and with several.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from tests.fixtures.stores import free_port

import modelyard as yard

CLIENTS = 16


def _start(cmd: list[str], ready: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "modelyard", *cmd], env={**os.environ, **env})
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(ready, timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise AssertionError(f"modelyard {cmd[0]} did not become ready")
        time.sleep(0.2)


def _hammer(base: str, path: str, body: object, proc: subprocess.Popen[bytes]) -> Counter[str]:
    """Outcomes of every request the clients sent, by kind, across a SIGTERM."""
    outcomes: Counter[str] = Counter()
    answered = [0] * CLIENTS
    lock = threading.Lock()
    stop = threading.Event()
    signalled = 0.0

    def client(i: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            while not stop.is_set():
                try:
                    if body is not None:
                        status = http.post(path, json=body).status_code
                    else:
                        status = http.get(path).status_code
                    kind = str(status)
                    answered[i] += 1
                except httpx.ConnectError:
                    kind = "refused"  # before anything was sent: the client can go elsewhere
                    time.sleep(0.01)
                except httpx.TransportError as e:
                    kind = f"dropped: {type(e).__name__} {e} {time.monotonic() - signalled:.2f} s"
                with lock:
                    outcomes[kind] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while min(answered) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)  # until every client's connection has answered and is kept alive
    assert min(answered) >= 5, f"the load did not get going: {answered}"
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    return outcomes


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    model = LogisticRegression().fit(x, (x.a > 0).astype(int))
    root = tmp_path_factory.mktemp("drain") / "model"
    yard.models.save_model(model, root, input_example=x.head(5))
    return root


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_every_request_it_reads(model_dir: Path, workers: int) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(
        ["serve", str(model_dir), "--port", str(port), "--workers", str(workers)],
        f"{base}/v2/health/ready",
        {"MODELYARD_LOG_LEVEL": "warning"},
    )
    body = {"dataframe_records": [{"a": 0.5, "b": -1.0}]}
    outcomes = _hammer(base, "/invocations", body, proc)
    print(f"serve --workers {workers}: {dict(outcomes)}")
    assert set(outcomes) <= {"200", "refused"}, outcomes


@pytest.mark.slow
def test_tracking_server_answers_every_request_it_reads(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(
        ["server", "--store", f"sqlite:///{tmp_path}/yard.db", "--port", str(port)],
        f"{base}/health",
        {"MODELYARD_ARTIFACTS_URI": str(tmp_path / "artifacts")},
    )
    outcomes = _hammer(base, "/health", None, proc)
    print(f"server: {dict(outcomes)}")
    assert set(outcomes) <= {"200", "refused"}, outcomes
