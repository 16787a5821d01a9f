"""Pipelines on Ray as a user runs them, against a real Ray cluster this module starts (one
head node with 2 CPUs on loopback, for the whole module; it failing to start fails the tests):
chains and fan-outs that really run in parallel, DataFrames and arrays passed between steps
through the artifact store, the cache, failures with their tracebacks, retries, timeouts,
cancel, resources no node has, a worker killed mid-step, and outputs that outlive the
cluster."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import ray
from tests.fixtures.stores import free_port

import modelyard as yard
from modelyard.pipelines import PipelinesClient

ROOT = Path(__file__).resolve().parents[3]
SRC = Path(yard.__file__).resolve().parents[1]  # the code under test, for the workers too
STARTED = "Ray runtime started"


def _ours(temp: Path) -> list[psutil.Process]:
    """This cluster's processes (they name its temp folder) and their children."""
    found: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["cmdline"]):
        if str(temp) in " ".join(proc.info["cmdline"] or []):
            found[proc.pid] = proc
            with_children = proc.children(recursive=True)
            found.update({c.pid: c for c in with_children})
    return list(found.values())


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    temp = Path(tempfile.mkdtemp(prefix="yard-ray-", dir="/tmp"))  # short: socket paths
    port = free_port()
    log_path = temp / "ray-start.log"
    # the workers import modelyard and the steps' module (as pytest named it) by these paths
    paths = [str(SRC), str(ROOT), str(Path(__file__).parent)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    command = [
        str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
        f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
        "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        head = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    deadline = time.monotonic() + 90
    while STARTED not in log_path.read_text(errors="replace"):
        if head.poll() is not None or time.monotonic() > deadline:
            head.kill()
            pytest.fail(f"ray start failed:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    address = f"127.0.0.1:{port}"
    ray.init(address=address, log_to_driver=False)
    try:
        yield address
    finally:
        ray.shutdown()
        cluster = _ours(temp)
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops what it started
        try:
            head.wait(20)
        except subprocess.TimeoutExpired:
            head.kill()
        for proc in cluster:  # and anything of this cluster still there: by pid, only ours
            if proc.is_running():
                proc.kill()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(autouse=True)
def _on_ray(ray_address: str) -> None:
    if not ray.is_initialized():  # a test ended with the cluster left: join it again
        ray.init(address=ray_address, log_to_driver=False)


# --- a chain, a fan-out, values between steps, the cache -----------------------------------
@yard.step(cache=True)
def make_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(n, dtype="float64"), "g": [i % 2 for i in range(n)]})


@yard.step(cache=True)
def column_sums(frame: pd.DataFrame) -> np.ndarray:
    assert isinstance(frame, pd.DataFrame)  # read back from the store with its type
    return frame.groupby("g")["x"].sum().to_numpy()


@yard.step(cache=True)
def summary(sums: np.ndarray, frame: pd.DataFrame) -> dict[str, object]:
    return {"sums": sums.tolist(), "rows": len(frame), "pid": os.getpid()}


@yard.pipeline
def frames(n: int = 10) -> dict[str, object]:
    frame = make_frame(n)
    return summary(column_sums(frame), frame)


def test_a_chain_passes_frames_and_arrays_through_the_store_and_is_cached_twice() -> None:
    run = frames.run(n=10, executor="ray")
    assert run.status == "COMPLETED", run.error
    result = run.result()
    assert result["sums"] == [20.0, 25.0] and result["rows"] == 10
    assert result["pid"] != os.getpid()  # ran on a Ray worker
    assert [s.key for s in run.steps] == ["make_frame", "column_sums", "summary"]
    assert all(s.status == "COMPLETED" and s.output is not None for s in run.steps)
    for _ in range(2):
        again = frames.run(n=10, executor="ray")
        assert again.result() == result
        assert {s.status for s in again.steps} == {"CACHED"}
    stored = PipelinesClient().output(run.run_id, "column_sums")
    assert isinstance(stored, np.ndarray) and stored.tolist() == [20.0, 25.0]


@yard.step
def meet(folder: str, i: int, n: int) -> int:
    """Waits for every branch to have started: fails unless all run at once."""
    (Path(folder) / str(i)).touch()
    deadline = time.monotonic() + 20
    while len(list(Path(folder).iterdir())) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"branch {i} ran alone")
        time.sleep(0.01)
    return os.getpid()


@yard.pipeline
def fan_out(folder: str) -> list[int]:
    return [meet(folder, i, 2) for i in range(2)]


def test_parallel_branches_run_at_once_on_the_clusters_two_cpus(tmp_path: Path) -> None:
    for attempt in range(2):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        run = fan_out.run(folder=str(folder), executor="ray", cache=False)
        assert run.status == "COMPLETED", run.error
        assert len(set(run.result())) == 2  # two workers


# --- failures ---------------------------------------------------------------------------
@yard.step
def fails(x: int) -> int:
    raise ValueError(f"bad input {x}")


@yard.step
def after(x: int) -> int:
    return x + 1


@yard.pipeline
def branches() -> tuple[int, int]:
    return after(fails(1)), after(2)


def test_a_step_that_raises_keeps_its_traceback_and_skips_what_depends_on_it() -> None:
    for _ in range(2):
        run = branches.run(executor="ray")
        assert run.status == "FAILED"
        by_key = {s.key: s for s in run.steps}
        assert "ValueError: bad input 1" in (by_key["fails"].error or "")
        assert 'raise ValueError(f"bad input {x}")' in (by_key["fails"].error or "")
        assert by_key["after"].status == "SKIPPED"
        assert by_key["after-2"].status == "COMPLETED"
        with pytest.raises(yard.pipelines.PipelineFailed, match="bad input 1"):
            run.result()


def _counter(path: Path) -> int:
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n


@yard.step(retries=2, retry_delay=0.05)
def flaky(path: str) -> str:
    n = _counter(Path(path))
    print(f"attempt {n}")
    if n < 3:
        raise ConnectionError("the source is away")
    return "ok"


@yard.pipeline
def with_retries(path: str) -> str:
    return flaky(path)


def test_retries_run_a_failed_step_again_with_its_logs(tmp_path: Path) -> None:
    run = with_retries.run(path=str(tmp_path / "n"), executor="ray", cache=False)
    assert run.result() == "ok"
    record = run.step("flaky")
    assert record.attempts == 3
    assert "attempt 1" in record.logs and "attempt 3" in record.logs
    assert record.logs.count("ConnectionError: the source is away") == 2


@yard.step(timeout=1)
def sleeps(path: str) -> str:
    Path(path).write_text(str(os.getpid()))
    time.sleep(60)
    return "late"


@yard.pipeline
def too_slow(path: str) -> str:
    return sleeps(path)


def test_a_step_past_its_timeout_fails_and_its_worker_is_stopped(tmp_path: Path) -> None:
    started = time.monotonic()
    run = too_slow.run(path=str(tmp_path / "pid"), executor="ray", cache=False)
    assert run.status == "FAILED"
    assert "timed out after 1 s" in (run.steps[0].error or "")
    assert time.monotonic() - started < 15
    _gone(int((tmp_path / "pid").read_text()))


def _gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"worker {pid} still runs"
        time.sleep(0.1)


@yard.pipeline
def long_one(path: str) -> int:
    return after(sleeps.with_options(timeout=None)(path))


def _wait_for(path: Path) -> int:
    deadline = time.monotonic() + 30
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    return int(path.read_text())


def test_cancel_stops_the_running_task_and_what_was_to_follow(tmp_path: Path) -> None:
    run = long_one.run(path=str(tmp_path / "pid"), executor="ray", cache=False, wait=False)
    pid = _wait_for(tmp_path / "pid")
    started = time.monotonic()
    run.cancel()
    run.wait(30)
    assert run.status == "CANCELLED"
    assert time.monotonic() - started < 15
    assert {s.key: s.status for s in run.steps}.get("after") in (None, "CANCELLED", "SKIPPED")
    _gone(pid)


# --- resources ----------------------------------------------------------------------------
@yard.step
def modest() -> int:
    return 1


@yard.pipeline
def asks(resources: dict[str, float]) -> int:
    return modest.with_options(resources=resources)()


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"cpus": 64}, "asks for 64 cpus; the largest node of the Ray cluster has 2"),
        ({"gpus": 1}, "asks for 1 gpus; the largest node of the Ray cluster has 0"),
        ({"memory": 2**60}, "bytes of memory; the largest node of the Ray cluster has"),
    ],
)
def test_a_step_asking_more_than_any_node_has_is_refused_not_left_pending(
    resources: dict[str, float], message: str
) -> None:
    started = time.monotonic()
    run = asks.run(resources=resources, executor="ray")
    assert run.status == "FAILED"
    assert message in (run.error or "")
    assert time.monotonic() - started < 10


def test_resources_are_what_the_task_gets() -> None:
    run = asks.run(resources={"cpus": 2, "memory": 2**20}, executor="ray", cache=False)
    assert run.result() == 1


# --- a worker lost mid-step ---------------------------------------------------------------
@yard.step(retries=1, retry_delay=0.05)
def fragile(path: str) -> int:
    marker = Path(path)
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(60)  # killed here
    return os.getpid()


@yard.pipeline
def survives(path: str) -> int:
    return fragile(path)


def test_a_worker_killed_mid_step_fails_the_attempt_and_the_retry_runs_it(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "pid"
    run = survives.run(path=str(marker), executor="ray", cache=False, wait=False)
    killed = _wait_for(marker)
    os.kill(killed, signal.SIGKILL)
    assert run.result(60) != killed
    record = run.step("fragile")
    assert record.attempts == 2
    assert "the Ray worker running step fragile was lost before it returned" in record.logs


# --- outputs outlive the cluster -----------------------------------------------------------
@yard.step(cache=True)
def expensive(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": range(n)})


@yard.step
def last(frame: pd.DataFrame, path: str) -> int:
    if not Path(path).exists():
        raise RuntimeError("not yet")
    return int(frame["x"].sum())


@yard.pipeline
def two_parts(path: str) -> int:
    return last(expensive(5), path)


def test_outputs_stay_loadable_after_the_cluster_is_gone_and_a_local_retry_reuses_them(
    tmp_path: Path,
) -> None:
    flag = tmp_path / "ready"
    run = two_parts.run(path=str(flag), executor="ray")
    assert run.status == "FAILED"
    ray.shutdown()
    frame = PipelinesClient().output(run.run_id, "expensive")
    assert frame["x"].tolist() == [0, 1, 2, 3, 4]
    flag.touch()
    retried = two_parts.retry(run.run_id, executor="local")
    assert retried.result() == 10
    assert retried.step("expensive").status == "CACHED"
    assert retried.step("expensive").cached_from == run.run_id


# --- a model output -----------------------------------------------------------------------
@yard.step
def fit(n: int) -> object:
    from sklearn.linear_model import LinearRegression

    x = np.arange(n, dtype="float64").reshape(-1, 1)
    return LinearRegression().fit(x, 2 * x[:, 0] + 1)


@yard.step
def predict(model: object, x: float) -> float:
    return float(model.predict(pd.DataFrame({"0": [x]}).to_numpy())[0])  # type: ignore[attr-defined]


@yard.pipeline
def trains(n: int = 8) -> float:
    return predict(fit(n), 10.0)


def test_a_model_a_worker_returns_is_logged_to_the_steps_run_and_read_back_by_the_next() -> None:
    run = trains.run(executor="ray", cache=False)
    assert run.result() == pytest.approx(21.0)
    assert run.step("fit").output is not None
    assert "$model" in str(run.step("fit").output.doc)
