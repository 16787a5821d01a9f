"""The prediction log, end to end: predictions from real clients logged, shipped to the store
as Parquet (embedded and through a server), joined to labels sent later; a server killed
with SIGKILL loses nothing it answered; a full disk warns and never fails a prediction."""

from __future__ import annotations

import errno
import gc
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from tests.fixtures.serving import Running, oip_row
from tests.fixtures.stores import ServerThread, free_port
from tests.fixtures.tmpfs import tmpfs

import modelyard as yard
from modelyard.config import Settings
from modelyard.serving.app import ServingApp
from modelyard.serving.config import ModelSource, ServeConfig
from modelyard.serving.predlog.ship_process import ShippingProcess
from modelyard.serving.predlog.shipping import Shipper, read_segment
from modelyard.serving.predlog.writer import SUFFIX, PredictionLog

METRIC_SHIPPED = "modelyard_prediction_log_shipped_rows_total"


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, 200),
            "income": rng.normal(50, 10, 200),
            "score": rng.random(200),
            "tenure": rng.normal(size=200),
        }
    )


def _register(uri: str, frame: pd.DataFrame) -> RandomForestClassifier:
    yard.set_tracking_uri(uri)
    model = RandomForestClassifier(n_estimators=10, random_state=0)
    model.fit(frame, (frame.score > 0.5).astype(int))
    with yard.start_run():
        yard.models.log_model(
            model, "model", input_example=frame.head(20), registered_model_name="churn"
        )
    yard.Client().set_alias("churn", "champion", 1)
    return model


def _quick_log(uri: str, tmp_path: Path) -> ServeConfig:
    """Serve churn@champion with a log that rolls and ships every 0.2 s."""
    return ServeConfig(
        [ModelSource("models:/churn@champion")],
        tracking_uri=uri,
        prediction_log=str(tmp_path / "log"),
        log_roll_s=0.2,
        ship_s=0.2,
    )


def _wait(check: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.mark.parametrize("store", ["sqlite", "server"])
def test_predictions_are_logged_shipped_and_joined_to_late_labels(
    store: str, tmp_path: Path, server_factory: Callable[..., object]
) -> None:
    frame = _frame()
    uri = f"sqlite:///{tmp_path}/yard.db"
    if store == "server":
        uri = server_factory().url  # type: ignore[attr-defined]
    model = _register(uri, frame)
    config = _quick_log(uri, tmp_path)
    running = Running(ServingApp(config))
    try:
        with httpx.Client(base_url=running.url) as http:
            for i in range(20):
                got = http.post("/v2/models/churn/infer", json=oip_row(frame, i, f"r{i}"))
                assert got.status_code == 200 and got.json()["id"] == f"r{i}"
            rows = frame.iloc[20:23]
            got = http.post(
                "/invocations",
                json={"dataframe_split": rows.to_dict(orient="split")},
                headers={"x-request-id": "batch-1"},
            )
            assert got.status_code == 200
            labels = [{"request_id": f"r{i}", "label": int(i % 2)} for i in range(10)]
            labels += [{"request_id": "batch-1", "row": r, "label": 1} for r in range(3)]
            got = http.post("/v2/feedback", json={"labels": labels})
            assert got.json() == {"accepted": 13}
            again = http.post("/v2/feedback", json={"request_id": "r0", "label": 1})
            assert again.status_code == 200  # a second label for r0 replaces the first
            bad = http.post("/v2/feedback", json={"labels": [{"request_id": "r1"}]})
            assert bad.status_code == 400 and "labels[0].label" in bad.json()["error"]
            bad = http.post("/v2/feedback", json={"request_id": "r1", "label": [1, 2]})
            assert bad.status_code == 400 and "number, text" in bad.json()["error"]

        def shipped() -> bool:
            found = yard.monitoring.predictions("churn")
            return len(found) == 23 and found["label"].notna().sum() == 13

        _wait(shipped, "the predictions and labels did not reach the store")
        found = yard.monitoring.predictions("churn").sort_values(["request_id", "row"])
        ours = found[found.request_id.str.startswith("r")].copy()
        ours["n"] = ours.request_id.str[1:].astype(int)
        ours = ours.sort_values("n")
        sent = frame.iloc[:20]
        np.testing.assert_allclose(ours["income"], sent["income"], rtol=1e-6)
        assert ours["age"].tolist() == sent["age"].tolist()
        assert ours["prediction"].tolist() == model.predict(sent).tolist()
        assert set(found["version"]) == {"1"} and set(found["endpoint"]) == {"churn"}
        assert (found["latency_ms"] > 0).all() and not found["shadow"].any()
        assert ours.set_index("n").loc[0, "label"] == 1  # replaced
        assert ours.set_index("n").loc[3, "label"] == 1 and pd.isna(
            ours.set_index("n").loc[15, "label"]
        )
        batch = found[found.request_id == "batch-1"]
        assert batch["row"].tolist() == [0, 1, 2] and batch["label"].tolist() == [1, 1, 1]
        assert yard.monitoring.log_labels({"r15": 0, "unknown-id": 1}) == 2
        older = [{"request_id": "r15", "label": 1, "time": 1}]  # shipped late, known earlier
        assert yard.monitoring.log_labels(older) == 0  # the newer label stays: none recorded
        later = yard.monitoring.predictions("churn", version=1)
        assert later.set_index("request_id").loc["r15", "label"] == 0
        assert "unknown-id" not in set(later["request_id"])  # kept, joined to nothing
        assert yard.monitoring.predictions("churn", since=int(time.time() * 1000) + 60_000).empty
        assert list(os.listdir(tmp_path / "log")) == []  # every segment shipped and deleted
        if store == "server":  # the catalog lists only files that are stored
            meta = {"model": "churn", "endpoint": "churn", "size": 1, "rows": 1}
            meta |= {"first_time": 1, "last_time": 1, "version": "1"}
            files = f"{uri}/api/v1/predictions/files"
            gone = httpx.post(files, json={**meta, "sha256": "ab" * 32})
            assert gone.status_code == 404 and "upload the file first" in gone.text
            bad = httpx.post(files, json={**meta, "sha256": 7})
            assert bad.status_code == 400 and bad.json()["error"]["field"] == "sha256"
    finally:
        running.stop()


def test_a_killed_server_loses_nothing_it_answered(tmp_path: Path) -> None:
    frame = _frame()
    uri = f"sqlite:///{tmp_path}/yard.db"
    _register(uri, frame)
    folder = tmp_path / "log"
    port = free_port()
    cmd = [sys.executable, "-m", "modelyard", "serve", "models:/churn@champion", "-t", uri]
    cmd += ["--port", str(port), "--prediction-log", str(folder), "--log-fsync-ms", "50"]
    proc = subprocess.Popen(cmd, env={**os.environ}, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert proc.poll() is None, "the server exited"
            try:
                return httpx.get(f"{url}/v2/health/ready").status_code == 200
            except httpx.TransportError:
                return False

        _wait(ready, "the server did not start", 60)
        with httpx.Client(base_url=url) as http:
            for i in range(100):
                body = oip_row(frame, i, f"k{i}")
                assert http.post("/v2/models/churn/infer", json=body).status_code == 200
        time.sleep(0.2)  # more than the fsync window
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()

    # the killed server's shipping process sees its stdin close and ships what was left
    # (the segment's lock died with the server); a next start would ship it too
    def shipped() -> bool:
        Shipper(folder, uri).ship_all()  # as the next start does; harmless beside the child
        found = yard.monitoring.predictions("churn")
        return sorted(found["request_id"]) == sorted(f"k{i}" for i in range(100))

    _wait(shipped, "not every answered request reached the store")
    assert not list(folder.glob(f"*{SUFFIX}"))


def test_a_full_disk_warns_and_never_fails_predictions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _frame()
    root = tmp_path / "model"
    model = RandomForestClassifier(n_estimators=5, random_state=0)
    model.fit(frame, (frame.score > 0.5).astype(int))
    yard.models.save_model(model, root, input_example=frame.head(5))
    real = PredictionLog._append

    def full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    for required in (False, True):
        config = ServeConfig(
            [ModelSource(str(root), "churn")],
            prediction_log=str(tmp_path / f"log-{required}"),
            log_required=required,
            tracking_uri=f"sqlite:///{tmp_path}/yard.db",
        )
        running = Running(ServingApp(config))
        try:
            with httpx.Client(base_url=running.url) as http:
                monkeypatch.setattr(PredictionLog, "_append", staticmethod(full))
                first = http.post("/v2/models/churn/infer", json=oip_row(frame, 0, "a"))
                assert first.status_code == 200  # the record is dropped later, off the path

                def warned() -> bool:
                    ready = http.get("/v2/health/ready").json()
                    return any("No space left" in w for w in ready.get("warnings", []))

                _wait(warned, "the full disk was not reported")
                # a required log takes the server out of the load balancer meanwhile
                ready = http.get("/v2/health/ready").status_code
                assert ready == (503 if required else 200)
                after = http.post("/v2/models/churn/infer", json=oip_row(frame, 1, "b"))
                if required:
                    assert after.status_code == 503 and "log_required" in after.json()["error"]
                else:
                    assert after.status_code == 200
                label = http.post("/v2/feedback", json={"request_id": "a", "label": 1})
                assert label.status_code == 503 and "again later" in label.json()["error"]
                text = http.get("/metrics").text
                assert "modelyard_prediction_log_dropped_total" in text
                monkeypatch.setattr(PredictionLog, "_append", staticmethod(real))
                if not required:
                    http.post("/v2/models/churn/infer", json=oip_row(frame, 2, "c"))
                # writing works again (a required log finds out by itself): the warning goes
                _wait(lambda: not warned(), "the warning stayed")
                assert http.get("/v2/health/ready").status_code == 200
                again = http.post("/v2/models/churn/infer", json=oip_row(frame, 3, "d"))
                assert again.status_code == 200
        finally:
            monkeypatch.setattr(PredictionLog, "_append", staticmethod(real))
            running.stop()


def test_a_torn_last_line_is_dropped_and_names_never_clash(tmp_path: Path) -> None:
    from modelyard.serving.predlog.shipping import to_table

    good = b'{"k":"p","id":"a","t":1,"e":"e","m":"m","v":"1","ms":1.0,"s":false,'
    good += b'"in":{"prediction":[5],"x":[1.5]},"out":[0]}\n'
    path = tmp_path / "seg.log"
    path.write_bytes(good + b'{"k":"l","t":2,"labels":[{"request_id":"a","label":1}]}\n{"k":"p"')
    predictions, labels = read_segment(path)
    assert len(predictions) == 1 and labels == [{"request_id": "a", "label": 1, "time": 2}]
    table = to_table(predictions)
    assert {"input.prediction", "prediction", "x"} <= set(table.column_names)
    assert table.column("input.prediction").to_pylist() == [5]


def test_a_segment_ships_in_chunks_and_kinds_that_change_between_chunks_become_text(
    tmp_path: Path,
) -> None:
    """Shipping reads a segment CHUNK records at a time; a column that is a number in one
    chunk and text in a later one is text in the file, and one that appears late is null
    before it."""
    from modelyard.monitoring.client import MonitoringClient
    from modelyard.serving.predlog.shipping import CHUNK

    def record(i: int, zip_code: object, extra: dict[str, object]) -> bytes:
        inputs = {"zip": [zip_code], "x": [float(i)], **extra}
        line = {"k": "p", "id": f"r{i}", "t": 1_700_000_000_000 + i, "e": "api", "m": "churn"}
        line |= {"v": "1", "ms": 0.5, "s": False, "in": inputs, "out": [i % 2]}
        return orjson.dumps(line) + b"\n"

    lines = [record(i, 2139, {}) for i in range(CHUNK)]
    lines.append(record(CHUNK, "02139", {"late": [7]}))
    folder = tmp_path / "log"
    folder.mkdir()
    (folder / f"seg{SUFFIX}").write_bytes(b"".join(lines))
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    assert Shipper(folder, uri).ship_all() == 1
    assert not list(folder.glob(f"*{SUFFIX}"))
    frame = MonitoringClient(uri).predictions("churn", labels=False)
    assert len(frame) == CHUNK + 1
    assert frame["zip"].iloc[0] == "2139" and frame["zip"].iloc[-1] == "02139"
    assert frame["late"].isna().sum() == CHUNK and frame["late"].iloc[-1] == 7
    assert frame["x"].tolist() == [float(i) for i in range(CHUNK + 1)]
    (listed,) = MonitoringClient(uri).prediction_files("churn")
    assert (listed.first_time, listed.last_time) == (1_700_000_000_000, 1_700_000_000_000 + CHUNK)


def test_shipping_runs_in_its_own_process_which_is_restarted_if_it_dies(tmp_path: Path) -> None:
    frame = _frame()
    uri = f"sqlite:///{tmp_path}/yard.db"
    _register(uri, frame)
    config = _quick_log(uri, tmp_path)
    app = ServingApp(config)
    running = Running(app)
    assert app.shipper is not None
    try:
        with httpx.Client(base_url=running.url) as http:

            def shipped_rows() -> float:
                text = http.get("/metrics").text
                line = next(x for x in text.splitlines() if x.startswith(METRIC_SHIPPED))
                return float(line.split()[-1])

            before = shipped_rows()  # the counter is the test process's, shared by tests
            for i in range(5):
                assert (
                    http.post("/v2/models/churn/infer", json=oip_row(frame, i)).status_code == 200
                )
            _wait(
                lambda: shipped_rows() == before + 5,
                "the server's metrics did not count the shipped rows",
            )
            first = app.shipper.pid
            assert first is not None and first != os.getpid()
            os.kill(first, signal.SIGKILL)
            _wait(lambda: "shipping process ended" in str(app.warnings()), "no warning")
            assert http.get("/v2/health/ready").status_code == 200  # predictions go on
            for i in range(5, 8):
                assert (
                    http.post("/v2/models/churn/infer", json=oip_row(frame, i)).status_code == 200
                )
            _wait(lambda: len(yard.monitoring.predictions("churn")) == 8, "not shipped after")
            assert app.shipper.pid not in (None, first)
            _wait(lambda: not app.warnings(), "the warning stayed after the restart")
    finally:
        running.stop()
    assert app.shipper.pid is None  # it ended with the server


def test_the_shipping_process_leaves_no_pipe_open(tmp_path: Path) -> None:
    """Once the shipping process has ended, the pipe it reported on is closed: nothing is
    left for the garbage collector to find (a ResourceWarning at exit)."""
    (tmp_path / "log").mkdir()
    held = [ShippingProcess(tmp_path / "log", f"sqlite:///{tmp_path}/yard.db", interval_s=0.1)]
    held[0].start()
    _wait(lambda: held[0].pid is not None, "the shipping process did not start")
    held[0].stop()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        held.clear()  # the last reference: what it still holds open is found now
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []


def test_a_store_away_while_shipping_is_said_once_and_its_return_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Segments wait while the server is not there (nothing listens on its port yet); the
    log says so once, not at each round, and once when they ship."""
    folder = tmp_path / "log"
    folder.mkdir()
    line = {"k": "p", "id": "r1", "t": 1_700_000_000_000, "e": "api", "m": "churn", "v": "1"}
    line |= {"ms": 0.5, "s": False, "in": {"x": [1.5]}, "out": [1]}
    (folder / f"seg{SUFFIX}").write_bytes(orjson.dumps(line) + b"\n")
    settings = replace(Settings.from_env(), artifacts_uri=(tmp_path / "arts").as_uri())
    server = ServerThread(f"sqlite:///{tmp_path}/server.db", settings)  # not started yet
    shipper = Shipper(folder, server.url)
    caplog.set_level(logging.INFO, logger="modelyard")
    for _ in range(5):
        assert shipper.ship_all() == 0 and shipper.backlog == 1
    assert shipper.error is not None and "cannot reach the modelyard server" in shipper.error
    with server:
        assert shipper.ship_all() == 1 and shipper.error is None
        assert shipper.ship_all() == 0  # nothing left: nothing to say
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("modelyard")]
    store = f"prediction log: the store {server.url}"
    assert [level for level, _ in said] == ["WARNING", "INFO"], said
    assert said[0][1].startswith(f"{store} is unreachable: cannot reach the modelyard server")
    assert said[0][1].endswith("; segments wait on disk until it answers")
    assert said[1][1].startswith(f"{store} answers again (unreachable for ")
    assert not any(r.exc_info for r in caplog.records)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A read-only tmpfs, as a container's root filesystem is (tests.fixtures.tmpfs)."""
    with tmpfs(tmp_path / "ro", "ro,size=1m") as folder:
        yield folder


@pytest.mark.parametrize("required", [False, True])
def test_an_unwritable_log_folder_is_a_warning_not_an_outage(
    required: bool, read_only: Path, tmp_path: Path
) -> None:
    """`modelyard serve` with HOME and the working folder read-only (a container's root, with
    no volume for the log): the default log folder cannot be made. One WARNING naming the
    folder and the cause, no traceback; the server answers (or, with --log-required, is not
    ready and refuses predictions with 503)."""
    frame = _frame()
    root = tmp_path / "model"
    model = RandomForestClassifier(n_estimators=5, random_state=0)
    model.fit(frame, (frame.score > 0.5).astype(int))
    yard.models.save_model(model, root, input_example=frame.head(5))
    port = free_port()
    cmd = [sys.executable, "-m", "modelyard", "serve", f"churn={root}", "--port", str(port)]
    cmd += ["--watch-seconds", "0", *(["--log-required"] if required else [])]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env |= {"HOME": str(read_only), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        cmd, env=env, cwd=read_only, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def started() -> bool:
            assert proc.poll() is None, "the server exited"
            try:
                return httpx.get(f"{url}/v2/health/live").status_code == 200
            except httpx.TransportError:
                return False

        _wait(started, "the server did not start", 60)
        with httpx.Client(base_url=url) as http:
            ready = http.get("/v2/health/ready")
            assert ready.status_code == (503 if required else 200)
            (warning,) = ready.json()["warnings"]
            assert str(read_only) in warning and "Read-only file system" in warning
            body = {"dataframe_records": frame.head(2).to_dict(orient="records")}
            got = http.post("/invocations", json=body)
            if required:
                assert got.status_code == 503 and "log_required" in got.json()["error"]
            else:
                assert got.json() == {"predictions": model.predict(frame.head(2)).tolist()}
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    lines = [line for line in err.splitlines() if "prediction log" in line]
    assert len(lines) == 1, err  # one line for the event, not one per record or retry
    assert "WARNING" in lines[0] and str(read_only) in lines[0], lines
    assert "Read-only file system" in lines[0]
    assert "Traceback" not in err, err
    assert proc.returncode in (0, -signal.SIGTERM)  # uvicorn ends as the signal asked


@pytest.mark.parametrize("store", ["sqlite", "server"])
def test_ids_an_older_server_logged_that_no_label_can_name_never_break_a_read(
    store: str, tmp_path: Path, server_factory: Callable[..., object]
) -> None:
    """Servers refuse request ids that are not 1 to 128 printable ASCII characters; older ones
    logged them as sent. Reading such a log must still work, for the whole model: those rows
    are read like any other and simply never have a label."""
    from modelyard.monitoring.client import MonitoringClient

    odd = ["x" * 200, "x" * 100_000, "ünï", "café", "a\tb"]
    good = [f"g{i}" for i in range(4)]
    lines = []
    for i, rid in enumerate(good + odd):
        line = {"k": "p", "id": rid, "t": 1_700_000_000_000 + i, "e": "churn", "m": "churn"}
        line |= {"v": "1", "ms": 0.5, "s": False, "in": {"x": [float(i)]}, "out": [i % 2]}
        lines.append(orjson.dumps(line) + b"\n")
    folder = tmp_path / "log"
    folder.mkdir()
    (folder / f"seg{SUFFIX}").write_bytes(b"".join(lines))
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    if store == "server":
        uri = server_factory(store_uri=uri).url  # type: ignore[attr-defined]
    assert Shipper(folder, uri).ship_all() == 1
    client = MonitoringClient(uri)
    client.log_labels({rid: i % 2 for i, rid in enumerate(good)})
    for _ in range(2):
        found = client.predictions("churn")
        assert sorted(found["request_id"]) == sorted(good + odd)
        labelled = found.set_index("request_id")["label"]
        assert [labelled[r] for r in good] == [0, 1, 0, 1]
        assert labelled[odd].isna().all()
        report = client.performance("churn")
        assert report.overall["labeled"] == 4 and report.overall["accuracy"] == 1.0


def test_an_in_process_server_ships_to_the_store_set_tracking_uri_chose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ServeConfig(tracking_uri=None)`` in a process that chose its store with
    ``set_tracking_uri``: the prediction log reaches that store, not the embedded default the
    shipping process (another process) would find on its own."""
    monkeypatch.delenv("MODELYARD_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)  # where the embedded default would be made
    frame = _frame()
    uri = f"sqlite:///{tmp_path}/chosen.db"
    _register(uri, frame)  # set_tracking_uri(uri)
    config = replace(_quick_log(uri, tmp_path), tracking_uri=None)
    running = Running(ServingApp(config))
    try:
        with httpx.Client(base_url=running.url) as http:
            got = http.post("/v2/models/churn/infer", json=oip_row(frame, 0, "chosen-1"))
            assert got.status_code == 200
            assert http.post("/v2/feedback", json={"request_id": "chosen-1", "label": 1}).is_success

        def shipped() -> bool:
            found = yard.monitoring.predictions("churn")
            return found["request_id"].tolist() == ["chosen-1"] and found["label"].tolist() == [1]

        _wait(shipped, "the prediction did not reach the store set_tracking_uri chose")
    finally:
        running.stop()
    assert not (tmp_path / "modelyard-data").exists()
