"""Faults a user meets: concurrent writers, a server that dies, a server that is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from tests.fixtures.logged import log_source
from tests.fixtures.stores import free_port

from modelyard import Client
from modelyard.errors import Unavailable

pytestmark = pytest.mark.slow


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env["MODELYARD_SPOOL_DIR"] = str(tmp_path / "spool")
    env.update(extra)
    return env


class ServerProcess:
    """``modelyard server`` as a separate process, restartable on the same port."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[str] = []  # the stderr of each process stopped

    def start(self) -> ServerProcess:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modelyard",
                "server",
                "--store",
                f"sqlite:///{self.tmp_path}/server.db",
                "--artifacts",
                (self.tmp_path / "server-artifacts").as_uri(),
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=_env(self.tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode() if self.proc.stderr else "")
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            if self.proc.stderr is not None:
                self.logs.append(self.proc.stderr.read().decode())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path).start()
    yield srv
    srv.kill()


WRITER = textwrap.dedent("""
    import sys
    from modelyard import Client
    uri, run_id, worker = sys.argv[1], sys.argv[2], int(sys.argv[3])
    c = Client(uri)
    for step in range(5000):
        c.log_metric(run_id, f"w{worker}", float(step), step=step)
        if step % 500 == 0:
            c.flush()
    c.close()
""")


def test_eight_processes_logging_into_one_sqlite_store(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/shared.db"
    with Client(uri) as client:
        rid = client.create_run("0").info.run_id
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, uri, rid, str(i)],
            env=_env(tmp_path),
            stderr=subprocess.PIPE,
        )
        for i in range(8)
    ]
    errors = [p.communicate(timeout=240)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    assert not any("locked" in e for e in errors)
    with Client(uri) as client:
        for i in range(8):
            history = client.get_metric_history(rid, f"w{i}")
            assert [m.step for m in history] == list(range(5000))


def test_server_killed_and_restarted_while_a_client_logs(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the window must outlast a server restart on a loaded machine (a fresh clone compiles
    # every module on its first start); the spool tests below use a short one
    monkeypatch.setenv("MODELYARD_HTTP_RETRY_SECONDS", "60")
    client = Client(server.url)
    rid = client.create_run("0").info.run_id
    for step in range(3000):
        client.log_metric(rid, "m", float(step), step=step)
        if step == 1000:
            client.flush()
            server.kill()
        if step == 2000:
            server.start()  # back within the writer's retry window
    client.flush()
    assert [m.step for m in client.get_metric_history(rid, "m")] == list(range(3000))
    assert client.spooled_batches == 0
    client.close()


def test_unreachable_server_spools_and_sync_delivers(server: ServerProcess, tmp_path: Path) -> None:
    client = Client(server.url)
    rid = client.create_run("0").info.run_id
    client.log_param(rid, "lr", "0.1")
    client.flush()
    server.kill()
    for step in range(500):
        client.log_metric(rid, "late", float(step), step=step)
    client.set_terminated(rid)
    client.flush()  # the retry window passes; the batch goes to the spool, not lost
    assert client.spooled_batches >= 1
    assert list((tmp_path / "spool").rglob("*.json"))
    client.close()
    server.start()
    out = subprocess.run(
        [sys.executable, "-m", "modelyard", "sync"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "delivered" in out.stdout
    with Client(server.url) as fresh:
        run = fresh.get_run(rid)
        assert run.info.status == "FINISHED"
        assert len(fresh.get_metric_history(rid, "late")) == 500
    assert not list((tmp_path / "spool").rglob("*.json"))


def test_a_durable_flush_insists_on_the_store(
    server: ServerProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``flush()`` returns once data is spooled; ``flush(durable=True)`` raises, naming the
    spool, until the store has everything, then returns."""
    client = Client(server.url)
    rid = client.create_run("0").info.run_id
    client.flush(durable=True)
    server.kill()
    for step in range(200):
        client.log_metric(rid, "loss", float(step), step=step)
    client.flush()  # spooled: this much is promised
    assert client.spooled_batches >= 1
    for _ in range(2):
        with pytest.raises(Unavailable) as caught:
            client.flush(durable=True)
        assert str(tmp_path / "spool") in caught.value.message
        assert "not in the store" in caught.value.message
    server.start()
    for _ in range(2):
        client.flush(durable=True)  # the spool is delivered now
    assert client.spooled_batches == 0
    assert [m.step for m in client.get_metric_history(rid, "loss")] == list(range(200))
    assert not list((tmp_path / "spool").rglob("*.json"))
    client.close()


OFFLINE = textwrap.dedent("""
    import sys
    import modelyard as yard
    yard.set_tracking_uri(sys.argv[1])
    yard.set_experiment(sys.argv[2])  # seen by an earlier process: known on this machine
    with yard.start_run(run_name="offline-" + sys.argv[2]) as run:
        yard.log_param("lr", 0.1)
        for step in range(50):
            yard.log_metric("loss", 1.0 / (step + 1), step=step)
    print(run.info.run_id)
""")


def test_a_run_starts_and_ends_while_the_server_is_away(
    server: ServerProcess, tmp_path: Path
) -> None:
    """Runs made with the server down (in this process, and in a new one) are spooled with
    their data and delivered, in order, by the next process or ``modelyard sync``."""
    import modelyard as yard

    yard.set_tracking_uri(server.url)
    known = yard.set_experiment("churn")  # seen while the server is up
    server.kill()
    made = []
    for _ in range(2):
        yard.set_experiment("churn")  # offline: as this machine last saw it
        with yard.start_run() as run:
            yard.log_params({"depth": 3})
            yard.log_metric("auc", 0.9)
        assert run.info.experiment_id == known.experiment_id
        assert run.info.artifact_uri.endswith(run.info.run_id + "/artifacts")
        made.append(run.info.run_id)
        yard.set_experiment(experiment_id="0")
        with yard.start_run() as default_run:  # the default experiment: always there
            yard.log_metric("auc", 0.8)
        made.append(default_run.info.run_id)
    with pytest.raises(Unavailable) as caught:
        yard.set_experiment("never-seen")
    assert caught.value.field == "experiment_name" and "never seen" in caught.value.message
    yard.flush()  # spooled: the process may end
    out = subprocess.run(
        [sys.executable, "-c", OFFLINE, server.url, "churn"],
        env=_env(
            tmp_path,
            MODELYARD_HTTP_RETRY_SECONDS="1",
            MODELYARD_CACHE_DIR=str(tmp_path / "cache"),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    made.append(out.stdout.strip().splitlines()[-1])
    assert "unreachable" in out.stderr and out.stderr.count("\n") < 10  # a line, no traceback
    server.start()
    yard.flush(durable=True)  # this process's spool
    sync = subprocess.run(
        [sys.executable, "-m", "modelyard", "sync"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sync.returncode == 0, sync.stderr
    with Client(server.url) as fresh:
        for rid in made:
            run = fresh.get_run(rid)
            assert run.info.status == "FINISHED", rid
        runs = [fresh.get_run(rid) for rid in made]
        assert [r.info.experiment_id for r in runs] == [known.experiment_id, "0"] * 2 + [
            known.experiment_id
        ]
        assert runs[0].data.params == {"depth": "3"} and runs[0].data.metrics == {"auc": 0.9}
        history = fresh.get_metric_history(made[-1], "loss")
        assert [m.step for m in history] == list(range(50))
        assert runs[0].info.artifact_uri.endswith(made[0] + "/artifacts")
    assert not list((tmp_path / "spool").rglob("*.json"))


def test_a_spool_in_a_temporary_folder_is_named_as_such(tmp_path: Path) -> None:
    from modelyard.tracking.spool import Spool

    assert Spool(Path("/tmp/x"), "u").temporary
    assert Spool(Path("/dev/shm/x"), "u").temporary
    assert not Spool(tmp_path.home() / ".cache" / "modelyard" / "spool", "u").temporary


def test_process_exits_promptly_when_the_server_is_gone(
    server: ServerProcess, tmp_path: Path
) -> None:
    script = textwrap.dedent(f"""
        import modelyard as yard
        yard.set_tracking_uri("{server.url}")
        run = yard.start_run()
        print(run.run_id, flush=True)
        import sys; sys.stdin.readline()   # the test kills the server here
        for i in range(1000):
            yard.log_metric("m", i, step=i)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        env=_env(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    rid = proc.stdout.readline().strip()
    time.sleep(0.5)
    server.kill()
    started = time.monotonic()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    proc.wait(timeout=30)
    assert time.monotonic() - started < 4
    assert list((tmp_path / "spool").rglob("*.json"))  # nothing dropped: it is spooled
    server.start()
    subprocess.run(
        [sys.executable, "-m", "modelyard", "sync"],
        env=_env(tmp_path),
        check=True,
        timeout=60,
        capture_output=True,
    )
    with Client(server.url) as c:
        assert len(c.get_metric_history(rid, "m")) == 1000
        assert c.get_run(rid).info.status == "FINISHED"  # ended by the exit hook


def test_one_gib_artifact_streams_with_bounded_memory(
    server: ServerProcess, tmp_path: Path
) -> None:
    assert server.proc is not None
    with Client(server.url) as client:
        rid = client.create_run("0").info.run_id
        client.flush()
    server_proc = psutil.Process(server.proc.pid)
    before = server_proc.memory_info().rss
    peak = before
    done = threading.Event()

    def sample() -> None:  # the peak during the transfer, not what is left afterwards
        nonlocal peak
        while not done.is_set():
            peak = max(peak, server_proc.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    chunk = b"\x5a" * (1 << 20)
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            resp = http.put(
                f"/api/v1/runs/{rid}/artifacts",
                params={"path": "big.bin"},
                content=(chunk for _ in range(1024)),
                headers={"Content-Type": "application/octet-stream"},
            )
            assert resp.status_code == 201, resp.text
            assert resp.json()["size"] == 1 << 30
            total = 0
            with http.stream(
                "GET", f"/api/v1/runs/{rid}/artifacts/content", params={"path": "big.bin"}
            ) as down:
                for part in down.iter_bytes():
                    total += len(part)
    finally:
        done.set()
        sampler.join(2)
    assert total == 1 << 30
    assert peak - before < 150 * 1024 * 1024, peak - before


def test_serve_says_a_store_outage_once_and_its_end_once(
    server: ServerProcess, tmp_path: Path
) -> None:
    """``modelyard serve`` following a deployment of an alias on a server that is killed
    and started again: it keeps answering; its log says the outage in one WARNING naming the
    store and the error, and its end in one INFO, with no line per poll, no traceback and
    no line per HTTP request (issue 14: 43 tracebacks for a short outage)."""
    with Client(server.url) as c:
        c.create_registered_model("churn")
        source, _ = log_source(c)
        c.create_model_version("churn", source)
        c.create_model_version("churn", source)
        c.set_alias("churn", "champion", 1)
        c.create_deployment("churn-api", {"models:/churn@champion": 1})
    port = free_port()
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as err:
        serve = subprocess.Popen(
            [
                *(sys.executable, "-m", "modelyard", "serve", "--deployment", "churn-api"),
                *("-t", server.url, "--watch-seconds", "0.1", "--port", str(port)),
            ],
            env=_env(tmp_path, MODELYARD_CACHE_DIR=str(tmp_path / "cache")),
            stderr=err,
        )
    url = f"http://127.0.0.1:{port}"
    body = {"inputs": [{"name": n, "shape": [1], "datatype": "FP64", "data": [0.5]} for n in "ab"]}

    def wait_for(text: str) -> None:
        deadline = time.monotonic() + 60
        while text not in log_file.read_text():
            assert serve.poll() is None, log_file.read_text()
            assert time.monotonic() < deadline, f"{text!r} not in\n{log_file.read_text()}"
            time.sleep(0.1)

    try:
        wait_for("Uvicorn running on")
        with httpx.Client(base_url=url, timeout=10) as http:
            infer = "/v2/models/churn-api/infer"
            assert http.post(infer, json=body).status_code == 200
            server.kill()
            wait_for("is unreachable")
            for _ in range(20):  # two seconds of polls against a store that is away
                assert http.post(infer, json=body).status_code == 200
                time.sleep(0.1)
            server.start()
            wait_for("answers again")
            with Client(server.url) as c:
                c.set_alias("churn", "champion", 2)  # followed again after the outage
            wait_for("now serving version 2")
            assert http.post(infer, json=body).json()["model_version"] == "2"
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=60)
    text = log_file.read_text()
    store = f"the store {server.url}"
    said = [line for line in text.splitlines() if "WARNING" in line or "ERROR" in line]
    assert len(said) == 1, text
    assert f"{store} is unreachable: cannot reach the modelyard server at {server.url}" in said[0]
    assert text.count(f"{store} answers again (unreachable for ") == 1, text
    assert "Traceback" not in text and "HTTP Request" not in text, text
    server.kill()
    assert server.logs and not any("Traceback" in log for log in server.logs), server.logs


def test_a_client_reads_its_own_spooled_writes_once_the_server_is_back(
    server: ServerProcess,
) -> None:
    """Issue 14 review: a run created while the server was being killed went to the spool,
    and after the restart ``get_run`` said ``NotFound``: nothing delivered the spool until
    a new batch came. Reads deliver this client's spooled writes first."""
    c = Client(server.url)
    rid = c.create_run("0").info.run_id
    c.log_param(rid, "lr", "0.1")
    c.log_metric(rid, "loss", 0.5, step=3)
    server.kill()
    with pytest.raises(Unavailable) as caught:
        c.get_run(rid)  # the batch is spooled; the read cannot be answered
    assert "spool" in caught.value.message
    assert c.spooled_batches >= 1
    server.start()
    for _ in range(3):  # every call made twice (or more): the first one is not special
        run = c.get_run(rid)
        assert run.data.params == {"lr": "0.1"} and run.data.metrics == {"loss": 0.5}
        assert [m.step for m in c.get_metric_history(rid, "loss")] == [3]
        assert [r.info.run_id for r in c.search_runs("0").runs] == [rid]
    assert c.spooled_batches == 0
    c.close()


EARLIER_PROCESS = textwrap.dedent("""
    import sys
    import modelyard as yard
    yard.set_tracking_uri(sys.argv[1])   # the server is down: all of it is spooled
    with yard.start_run() as run:        # in the default experiment
        yard.log_param("depth", 3)
        for step in range(300):
            yard.log_metric("loss", 1.0 / (step + 1), step=step)
        yard.set_tag("phase", "first")
        yard.flush()
        yard.set_tag("phase", "last")    # a later batch changes it again: order matters
    print(run.info.run_id)
""")

NEXT_PROCESS = textwrap.dedent("""
    import sys
    from modelyard import Client
    c = Client(sys.argv[1])   # logs nothing: its writer delivers what the spool holds
    print("ready", flush=True)
    sys.stdin.readline()
    c.close()
""")


def test_the_next_process_delivers_what_an_earlier_one_spooled(
    server: ServerProcess, tmp_path: Path
) -> None:
    """Runs spooled by a process that ended are delivered by the next process that opens a
    client of the same server, in the background and in order, without ``modelyard sync``."""
    server.kill()
    first = subprocess.run(
        [sys.executable, "-c", EARLIER_PROCESS, server.url],
        env=_env(tmp_path, MODELYARD_HTTP_RETRY_SECONDS="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    rid = first.stdout.strip().splitlines()[-1]
    assert len(list((tmp_path / "spool").rglob("*.json"))) >= 2
    server.start()
    proc = subprocess.Popen(
        [sys.executable, "-c", NEXT_PROCESS, server.url],
        env=_env(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().strip() == "ready"
    found: dict[str, object] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # read by plain HTTP: nothing of ours delivers here
        got = httpx.get(f"{server.url}/api/v1/runs/{rid}", timeout=5)
        if got.status_code == 200 and got.json()["info"]["status"] == "FINISHED":
            found = got.json()
            break
        time.sleep(0.2)
    proc.stdin.write("done\n")
    proc.stdin.flush()
    assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
    assert found, "the next process did not deliver the spool"
    assert not list((tmp_path / "spool").rglob("*.json"))
    with Client(server.url) as fresh:
        stored = fresh.get_run(rid)
        assert stored.data.params == {"depth": "3"}
        assert stored.data.tags["phase"] == "last"
        assert [m.step for m in fresh.get_metric_history(rid, "loss")] == list(range(300))


def test_processes_starting_together_deliver_a_spool_once_and_in_order(
    server: ServerProcess, tmp_path: Path
) -> None:
    """Three processes start at once on a spool of many batches that change one tag in
    turn: one at a time delivers (the folder's lock), so the tag ends at its last value."""
    from modelyard.tracking.ops import CreateRun, LogBatch, UpdateRun
    from modelyard.tracking.spool import Spool

    spool = Spool(tmp_path / "spool", server.url)
    rid = "c" * 32
    spool.write([CreateRun(rid, "0", "many", "someone", 1)])
    for i in range(60):
        spool.write([LogBatch(rid, tags={"step": str(i)})])
    spool.write([UpdateRun(rid, "FINISHED", 2)])
    script = (
        "import sys; from modelyard import Client; c = Client(sys.argv[1]); "
        "c.flush(durable=True); c.close()"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, server.url],
            env=_env(tmp_path),
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 3, errors
    assert spool.files() == []
    with Client(server.url) as fresh:
        run = fresh.get_run(rid)
        assert run.info.status == "FINISHED" and run.data.tags["step"] == "59"


def test_an_offline_run_reports_the_artifact_uri_the_server_gives_it(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/tracking.md: a run started offline in an experiment this machine has seen
    reports the artifact URI the server stores for it; only where the machine never saw the
    experiment (the default one, on a fresh machine) is it empty until the server is back."""
    seen = Client(server.url)
    assert seen.get_experiment("0").artifact_location  # seen while the server is up
    monkeypatch.setenv("MODELYARD_CACHE_DIR", str(tmp_path / "fresh-machine"))
    fresh = Client(server.url)
    server.kill()
    offline = seen.create_run("0").info
    never_seen = fresh.create_run("0").info
    assert offline.artifact_uri.endswith(f"/0/{offline.run_id}/artifacts")
    assert never_seen.artifact_uri == ""
    server.start()
    assert seen.get_run(offline.run_id).info.artifact_uri == offline.artifact_uri
    stored = fresh.get_run(never_seen.run_id).info.artifact_uri
    assert stored.endswith(f"/0/{never_seen.run_id}/artifacts")
    seen.close()
    fresh.close()
