"""What a caller cannot make a pipelines server do, found by trying it cold: queue runs of
code the operator did not expose, change the schedule or triggers of pipelines the server
holds, forge a cached output, leave a run that blocks its pipeline for ever, or get a server
error from text the database refuses. And what a user gets when a model is a pipeline's
return value, or a pipeline's file fails to import."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sklearn.linear_model import LogisticRegression
from tests.fixtures.logged import sklearn_model
from tests.fixtures.stores import ServerThread

import modelyard as yard
from modelyard.config import Settings
from modelyard.pipelines import PipelinesClient
from modelyard.pipelines.scheduler import PipelineScheduler
from modelyard.platform.backends import resolve
from modelyard.platform.ids import new_run_id, now_ms
from modelyard.server.pipeline_events import event_sources


@yard.step
def double(n: int) -> int:
    return 2 * n


@yard.pipeline(triggers=[yard.on_webhook()], max_active=1)
def exposed(n: int = 1) -> int:
    return double(n).result()


@yard.pipeline
def internal(n: int = 1) -> int:
    return double(n).result()


@pytest.fixture
def server(pg_store_url: str, tmp_path: Path) -> ServerThread:
    settings = replace(
        Settings.from_env(),
        artifacts_uri=(tmp_path / "artifacts").as_uri(),
        pipeline_tick_s=0.2,
    )
    srv = ServerThread(pg_store_url, settings, pipelines=[exposed, internal]).__enter__()
    yield srv
    srv.__exit__()


def test_a_caller_cannot_make_the_server_run_what_it_does_not_expose(server: ServerThread) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        run = {"run_id": new_run_id(), "pipeline": "internal", "params": {"n": 5}}
        for status in ("QUEUED", "CANCELLED", None):
            body = {**run, "status": status} if status else run
            answer = http.post("/api/v1/pipeline-runs", json=body)
            assert answer.status_code == 400 and answer.json()["error"]["field"] == "status"
        held = http.get("/api/v1/pipelines/internal").json()
        for change in (
            {"triggers": [{"kind": "webhook", "target": None}]},
            {"schedule": "* * * * *"},
            {"max_active": 50},
            {"catchup": "all", "schedule": "0 * * * *"},
        ):
            body = {"entrypoint": "os:system", "code_digest": "a" * 64, **change}
            for _ in range(2):
                answer = http.put("/api/v1/pipelines/internal", json=body)
                assert answer.status_code == 409, (change, answer.text)
        assert http.get("/api/v1/pipelines/internal").json() == held
        answer = http.post("/api/v1/pipelines/internal/trigger", json={"params": {"n": 5}})
        assert answer.status_code == 409 and "webhook" in answer.text
        # the same key with other parameters is refused, not answered with the first run
        first = http.post(
            "/api/v1/pipelines/exposed/trigger", json={"params": {"n": 2}, "key": "k"}
        )
        assert first.status_code == 202
        again = http.post(
            "/api/v1/pipelines/exposed/trigger", json={"params": {"n": 2}, "key": "k"}
        )
        assert again.status_code == 200 and again.json()["run_id"] == first.json()["run_id"]
        other = http.post(
            "/api/v1/pipelines/exposed/trigger", json={"params": {"n": 3}, "key": "k"}
        )
        assert other.status_code == 409 and other.json()["error"]["field"] == "key"
    assert PipelinesClient(server.url).get_run(first.json()["run_id"]).result(timeout=30) == 4
    assert PipelinesClient(server.url).runs("internal") == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/pipelines/a%00b", None),
        ("DELETE", "/api/v1/pipelines/a%00b", None),
        ("POST", "/api/v1/pipelines/a%00b/trigger", {}),
        ("GET", "/api/v1/pipeline-runs/a%00b", None),
        ("GET", "/api/v1/pipeline-runs/a%00b/steps", None),
        ("GET", "/api/v1/pipeline-runs?pipeline=a%00b", None),
        ("GET", "/api/v1/pipeline-cache/abc?project=a%00b", None),
        ("DELETE", "/api/v1/pipeline-cache?step=a%00b", None),
        ("GET", "/api/v1/monitors/a%00b", None),
        ("GET", "/api/v1/datasets/a%00b", None),
        (
            "POST",
            "/api/v1/pipeline-runs",
            {"run_id": "f" * 32, "pipeline": "exposed", "status": "RUNNING", "params": {},
             "trigger": "a\u0000b"},
        ),
        (
            "POST",
            "/api/v1/pipeline-runs",
            {"run_id": "f" * 32, "pipeline": "exposed", "status": "RUNNING", "params": {},
             "queued_time": "yesterday"},
        ),
    ],
)  # fmt: skip
def test_text_the_database_refuses_is_a_bad_request_not_a_server_error(
    server: ServerThread, method: str, path: str, body: object
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for _ in range(2):
            answer = http.request(method, path, json=body)
            assert answer.status_code in (400, 404), answer.text
            assert "Traceback" not in answer.text and answer.json()["error"]["message"]


def test_a_forged_or_altered_cached_output_is_never_used(pg_store_url: str, tmp_path: Path) -> None:
    yard.set_tracking_uri(pg_store_url)

    @yard.step(cache=True)
    def price(n: int) -> int:
        return 100 * n

    @yard.pipeline
    def pricing(n: int = 3) -> int:
        return price(n).result()

    first = pricing.run()
    assert first.result() == 300
    client = PipelinesClient()
    entry = client.cache_entry(first.step("price").cache_key or "", first.record.project)
    assert entry is not None
    forged = replace(entry, output=replace(entry.output, doc=666))  # its digest is 300's
    with pytest.raises(yard.errors.InvalidArgument) as refused:
        client.store.cache.put([forged])
    assert refused.value.field == "output.digest"
    # altered in the database behind the store's back: a miss, and the step runs again
    backend = resolve(pg_store_url, Settings.from_env())
    assert backend.db is not None
    import orjson
    import sqlalchemy as sa

    from modelyard.pipelines.tables import pipeline_cache

    with backend.db.write() as conn:
        conn.execute(
            pipeline_cache.update().values(
                output=orjson.dumps({**entry.output.to_dict(), "doc": 666}).decode()
            )
        )
    again = pricing.run()
    assert again.result() == 300 and again.step("price").status == "COMPLETED"
    assert pricing.run().step("price").status == "CACHED"  # the good entry is back
    del sa


def test_a_run_nobody_runs_stops_blocking_its_pipeline(
    pg_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    yard.set_tracking_uri(pg_store_url)
    exposed.save(yard.pipelines.PipelinesClient().services)
    client = PipelinesClient()
    # a record of a run no process runs (a client that died at once, or a forged one)
    ghost = client.store.runs.create(
        yard.pipelines.entities.RunRecord(
            run_id=new_run_id(), pipeline="exposed", project="", status="RUNNING", params={},
            start_time=now_ms() - 120_000,
        )
    )  # fmt: skip
    queued = client.trigger("exposed", {"n": 4})
    settings = Settings.from_env()
    backend = resolve(pg_store_url, settings)
    assert backend.db is not None
    server = PipelineScheduler(
        backend.db, settings, pg_store_url, {"exposed": exposed}, event_sources(backend)
    )
    deadline = time.monotonic() + 30
    while client.get_run(queued.run_id).status != "COMPLETED":
        server.tick()
        assert time.monotonic() < deadline, client.get_run(queued.run_id).status
        time.sleep(0.1)
    record = client.get_run(ghost.run_id).record
    assert record.status == "FAILED" and "never heard from" in (record.error or "")
    # cancel of a run nobody runs ends it at once, twice asked
    other = client.store.runs.create(replace(ghost, run_id=new_run_id()))
    assert client.cancel(other.run_id).status == "CANCELLED"
    with pytest.raises(yard.errors.Conflict):
        client.cancel(other.run_id)


FLOW = """
import time
import modelyard as yard

@yard.step
def slow() -> int:
    print("started", flush=True)
    time.sleep(60)
    return 1

@yard.pipeline
def longp():
    return slow()
"""


def test_ctrl_c_ends_a_run_at_once_even_with_a_step_on_a_thread(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    uri = f"sqlite:///{tmp_path}/yard.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelyard", "pipelines", "run", "flow.py:longp", "-t", uri],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if "started" in line:
            break
    began = time.monotonic()
    proc.send_signal(2)
    proc.wait(20)
    assert time.monotonic() - began < 10 and proc.returncode != 0
    runs = PipelinesClient(uri).runs("longp")
    assert [r.status for r in runs] == ["CANCELLED"]


def test_a_model_in_the_return_value_is_stored_and_loads(tmp_path: Path) -> None:
    yard.set_tracking_uri(f"sqlite:///{tmp_path}/yard.db")

    @yard.step(cache=True)
    def fit(c: float) -> yard.Model:
        model, x = sklearn_model()
        return LogisticRegression(C=c).fit(x, model.predict(x))

    @yard.pipeline
    def train(c: float = 1.0) -> dict[str, object]:
        model = fit(c)
        bare = LogisticRegression().fit(*_xy())
        return {"model": model, "bare": bare, "c": c}

    for _ in range(2):  # the second from the cache
        run = train.run()
        assert run.status == "COMPLETED", run.record.error
        stored = PipelinesClient().get_run(run.run_id).result()
        _, x = sklearn_model()
        assert list(stored["model"].predict(x)) == list(run.result()["model"].predict(x))
        assert stored["c"] == 1.0 and hasattr(stored["bare"], "predict")


def _xy() -> tuple[object, object]:
    model, x = sklearn_model()
    return x, model.predict(x)


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("broken.py:p", "importing broken.py failed: TypeError"),
        ("../../../etc/passwd:p", "neither a .py file nor a module name"),
        ("badcron.py:p", "schedule"),
    ],
)
def test_a_pipeline_file_that_fails_to_import_is_one_line(
    tmp_path: Path, target: str, said: str
) -> None:
    (tmp_path / "broken.py").write_text(
        "import modelyard as yard\n\n@yard.pipeline(scheduel='@daily')\ndef p():\n    pass\n"
    )
    (tmp_path / "badcron.py").write_text(
        "import modelyard as yard\n\n@yard.pipeline(schedule='61 * * * *')\ndef p():\n    pass\n"
    )
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "modelyard", "pipelines", "run", target,
             "-t", f"sqlite:///{tmp_path}/yard.db"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode != 0
        assert said in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) <= 2, done.stderr
