"""The inference server, driven by real clients: tritonclient.http (JSON and binary tensors),
plain HTTP with MLflow's payloads, and bad requests of every kind."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from tests.fixtures.logged import register_broken
from tests.fixtures.serving import Running, oip_row, send_until
from tests.fixtures.stores import free_port

import modelyard as yard
from modelyard.serving.app import ServingApp
from modelyard.serving.config import ModelSource, ServeConfig

COLUMNS = ["age", "income", "score", "tenure"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, 400),
            "income": rng.normal(50, 10, 400),
            "score": rng.random(400),
            "tenure": rng.normal(size=400),
        }
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, frame: pd.DataFrame) -> dict[str, object]:
    root = tmp_path_factory.mktemp("served")
    y = ((frame.score > 0.5) ^ (frame.tenure > 0)).astype(int)
    rf = RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0).fit(frame, y)
    yard.models.save_model(rf, root / "rf", input_example=frame.head(30))
    text = frame.assign(plan=np.where(frame.income > 50, "pro", "basic"))
    encode = make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough")
    pipe = make_pipeline(encode, LogisticRegression(max_iter=500)).fit(text, y)
    yard.models.save_model(pipe, root / "plans", input_example=text.head(5))
    return {"rf": rf, "plans": pipe, "root": root, "text": text}


@pytest.fixture(scope="module")
def server(models: dict[str, object]) -> Iterator[Running]:
    root = models["root"]
    assert isinstance(root, Path)
    config = ServeConfig(
        [ModelSource(str(root / "rf")), ModelSource(str(root / "plans"))],
        max_body_bytes=1 << 20,
    )
    running = Running(ServingApp(config))
    yield running
    running.stop()


def test_health_and_metadata(server: Running) -> None:
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/v2/health/live").json() == {"live": True}
        ready = http.get("/v2/health/ready")
        assert ready.status_code == 200 and ready.json() == {"ready": True}
        assert "binary_tensor_data" in http.get("/v2").json()["extensions"]
        meta = http.get("/v2/models/rf").json()
        assert [i["name"] for i in meta["inputs"]] == COLUMNS
        assert meta["inputs"][0]["datatype"] == "INT64" and meta["platform"].startswith(
            "modelyard-onnx"
        )
        assert http.get("/v2/models/plans").json()["platform"].startswith("modelyard-native")
        assert http.get("/v2/models/rf/ready").json() == {"name": "rf", "ready": True}
        missing = http.get("/v2/models/nope")
        assert missing.status_code == 404 and "'nope' is not served" in missing.json()["error"]
        assert http.get("/v2/models/rf/infer").status_code == 405


def test_tritonclient_binary_and_json(
    server: Running, frame: pd.DataFrame, models: dict[str, object]
) -> None:
    import tritonclient.http as triton

    rf = models["rf"]
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("rf")
    batch = frame.head(50)
    for binary in (True, False):
        inputs = []
        for name in COLUMNS:
            values = batch[name].to_numpy()
            t = triton.InferInput(name, [len(values)], "INT64" if name == "age" else "FP64")
            t.set_data_from_numpy(values, binary_data=binary)
            inputs.append(t)
        outputs = [triton.InferRequestedOutput("predict", binary_data=binary)]
        got = client.infer("rf", inputs, outputs=outputs if not binary else None)
        np.testing.assert_array_equal(got.as_numpy("predict"), rf.predict(batch))  # type: ignore[attr-defined]
    matrix = batch[COLUMNS].to_numpy(dtype=np.float32)  # one [rows, columns] tensor
    t = triton.InferInput("input", list(matrix.shape), "FP32")
    t.set_data_from_numpy(matrix)
    got = client.infer("rf", [t])
    np.testing.assert_array_equal(got.as_numpy("predict"), rf.predict(batch))  # type: ignore[attr-defined]
    text = models["text"]
    assert isinstance(text, pd.DataFrame)
    inputs = []
    for name in [*COLUMNS, "plan"]:
        values = text[name].head(20).to_numpy()
        kind = "BYTES" if name == "plan" else "INT64" if name == "age" else "FP64"
        t = triton.InferInput(name, [20], kind)
        t.set_data_from_numpy(values.astype(object) if kind == "BYTES" else values)
        inputs.append(t)
    got = client.infer("plans", inputs)  # a string column: the native path
    want = models["plans"].predict(text.head(20))  # type: ignore[attr-defined]
    np.testing.assert_array_equal(got.as_numpy("predict"), want)
    client.close()


def test_mlflow_payloads(server: Running, frame: pd.DataFrame, models: dict[str, object]) -> None:
    rf = models["rf"]
    rows = frame.head(5)
    want = rf.predict(rows).tolist()  # type: ignore[attr-defined]
    bodies = [
        {"dataframe_split": rows.to_dict(orient="split")},
        {"dataframe_records": rows.to_dict(orient="records")},
        {"instances": rows.to_dict(orient="records")},
        {"inputs": rows.to_dict(orient="list")},
        {"inputs": rows[COLUMNS].to_numpy().tolist()},
    ]
    with httpx.Client(base_url=server.url) as http:
        for body in bodies:
            got = http.post("/invocations", json=body)
            assert got.status_code == 200, (body, got.text)
            assert got.json() == {"predictions": want}
        csv = http.post(
            "/invocations",
            content=rows.to_csv(index=False),
            headers={"content-type": "text/csv"},
        )
        assert csv.json() == {"predictions": want}
        other = http.post("/invocations?model=plans", json={"dataframe_records": [{"age": 1}]})
        assert other.status_code == 400 and "missing column" in other.json()["error"]


HEADER = "Inference-Header-Content-Length"
SHORT_HEAD = (  # 16 bytes promised, 8 sent
    b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32",'
    b' "parameters": {"binary_data_size": 16}}]}'
)


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b"{not json", {}, 400, "not valid JSON"),
        (b'{"inputs": []}', {}, 400, "inputs must be a non-empty list"),
        (
            b'{"inputs": [{"name": "age", "shape": [2], "datatype": "INT64", "data": [1]}]}',
            {},
            400,
            "holds 1 values; its shape [2] needs 2",
        ),
        (
            b'{"inputs": [{"name": "age", "shape": [1], "datatype": "COMPLEX", "data": [1]}]}',
            {},
            400,
            "datatype must be one of",
        ),
        (
            b'{"inputs": [{"name": "age", "shape": [1], "datatype": "INT64", "data": [1]}]}',
            {},
            400,
            "missing input(s) ['income', 'score', 'tenure']",
        ),
        (
            b'{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1,2,3]}]}',
            {},
            400,
            "takes one input per column",
        ),
        (SHORT_HEAD + b"\x00" * 8, {HEADER: str(len(SHORT_HEAD))}, 400, "runs past the body"),
        (b'{"inputs": [1]}', {HEADER: "999"}, 400, "does not fit"),
        (
            b'{"inputs": [{"name": "x", "shape": [99999999, 99999999], "datatype": "FP32"}]}',
            {},
            400,
            "more than",
        ),
    ],
)
def test_bad_requests_get_a_clear_4xx(
    server: Running, body: bytes, headers: dict[str, str], status: int, message: str
) -> None:
    with httpx.Client(base_url=server.url) as http:
        got = http.post("/v2/models/rf/infer", content=body, headers=headers)
        assert got.status_code == status, got.text
        assert message in got.json()["error"]
        assert got.headers["x-request-id"]
        assert http.get("/v2/health/ready").status_code == 200  # still healthy


def test_missing_values_and_oversized_bodies(server: Running) -> None:
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException

    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    inputs = []
    for name in COLUMNS:
        t = triton.InferInput(name, [2], "FP64")
        t.set_data_from_numpy(np.array([1.0, np.nan if name == "income" else 2.0]))
        inputs.append(t)
    with pytest.raises(InferenceServerException, match="'income' has missing values"):
        client.infer("rf", inputs)  # NaN travels as binary FP64
    client.close()
    with httpx.Client(base_url=server.url) as http:
        big = http.post("/v2/models/rf/infer", content=b"x" * (2 << 20))
        assert big.status_code == 413 and "limit" in big.json()["error"]
        assert http.get("/v2/health/live").status_code == 200


def test_batching_serves_concurrent_clients(
    server: Running, frame: pd.DataFrame, models: dict[str, object]
) -> None:
    import concurrent.futures

    rf = models["rf"]
    want = rf.predict(frame)  # type: ignore[attr-defined]

    def one(i: int) -> bool:
        body = oip_row(frame[COLUMNS], i)
        with httpx.Client(base_url=server.url) as http:
            got = http.post("/v2/models/rf/infer", json=body).json()
        return bool(got["outputs"][0]["data"][0] == want[i])

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        assert all(pool.map(one, range(200)))
    stats = server.app.fleet.models["rf"].batcher.stats  # type: ignore[union-attr]
    assert stats.rows >= 200 and max(stats.sizes) <= 64


def test_modelyard_serve_command_with_workers(tmp_path: Path, models: dict[str, object]) -> None:
    """The CLI end to end: a registered model served by alias in two worker processes."""
    rf = models["rf"]
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    with yard.start_run():
        info = yard.models.log_model(
            rf,
            "model",
            input_example=pd.DataFrame(np.zeros((2, 4)), columns=COLUMNS).astype({"age": "int64"}),
            registered_model_name="churn",
        )
    yard.Client().set_alias("churn", "champion", info.version)  # type: ignore[arg-type]
    port = free_port()
    args = ["models:/churn@champion", "-t", uri, "--workers", "2", "--log-level", "warning"]
    proc = _start_cli(args, port, {"MODELYARD_CACHE_DIR": str(tmp_path / "cache")})
    try:
        meta = httpx.get(f"http://127.0.0.1:{port}/v2/models/churn/versions/1").json()
        assert meta["name"] == "churn" and meta["versions"] == ["1"]
        body = {"dataframe_records": [dict.fromkeys(COLUMNS, 0)]}
        assert httpx.post(f"http://127.0.0.1:{port}/invocations", json=body).status_code == 200
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text  # both workers' loads
        assert 'modelyard_model_loads_total{model="churn",outcome="ok",version="1"} 2.0' in metrics
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_overload_is_refused_quickly_and_slow_calls_time_out(tmp_path: Path) -> None:
    import concurrent.futures

    from tests.fixtures.pymodels import Sleeper

    yard.models.save_model(Sleeper(), tmp_path / "slow", input_example=pd.DataFrame({"x": [0.0]}))
    config = ServeConfig([ModelSource(str(tmp_path / "slow"))], max_inflight=2, timeout_s=1.0)
    running = Running(ServingApp(config))
    try:

        def call(seconds: float) -> tuple[int, float, str | None]:
            t0 = time.monotonic()
            body = {"dataframe_records": [{"x": seconds}]}
            got = httpx.post(f"{running.url}/invocations", json=body, timeout=10)
            return got.status_code, time.monotonic() - t0, got.headers.get("retry-after")

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, [0.5] * 8))
        admitted = [r for r in results if r[0] == 200]
        refused = [r for r in results if r[0] == 503]
        assert admitted and refused and len(admitted) + len(refused) == 8
        assert all(r[2] == "1" for r in refused)  # Retry-After
        assert max(r[1] for r in refused) < min(r[1] for r in admitted)  # refused at once
        status, _, _ = call(3.0)
        assert status == 504  # longer than the 1 s timeout
        assert httpx.get(f"{running.url}/v2/health/ready").status_code == 200
    finally:
        running.stop()


def test_metrics_count_requests_batches_and_loads(server: Running) -> None:
    body = {
        "inputs": [{"name": c, "shape": [1], "datatype": "FP64", "data": [1.0]} for c in COLUMNS]
    }
    with httpx.Client(base_url=server.url) as http:
        assert http.post("/v2/models/rf/infer", json=body).status_code == 200
        assert http.post("/v2/models/rf/infer", json={"inputs": []}).status_code == 400
        text = http.get("/metrics").text
    assert 'modelyard_requests_total{model="rf",status="200",version=""}' in text
    assert 'modelyard_requests_total{model="rf",status="400",version=""}' in text
    assert 'modelyard_model_loads_total{model="rf",outcome="ok",version=""} 1.0' in text
    assert 'modelyard_batch_rows_count{model="rf"}' in text
    assert "modelyard_request_seconds_bucket" in text and "modelyard_queue_depth" in text


def _start_cli(args: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    import os

    cmd = [sys.executable, "-m", "modelyard", "serve", *args, "--port", str(port)]
    proc = subprocess.Popen(cmd, env={**os.environ, **env})
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready").status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise AssertionError("modelyard serve did not become ready")
        time.sleep(0.2)


def test_sigterm_drains_requests_in_flight(tmp_path: Path) -> None:
    import concurrent.futures
    import signal

    from tests.fixtures.pymodels import Sleeper

    yard.models.save_model(Sleeper(), tmp_path / "slow", input_example=pd.DataFrame({"x": [0.0]}))
    port = free_port()
    root = str(Path(__file__).resolve().parents[2])  # so the worker imports tests.fixtures
    proc = _start_cli(
        [str(tmp_path / "slow"), "--import", "tests.fixtures.pymodels", "--log-level", "warning"],
        port,
        {"PYTHONPATH": root},
    )

    def call(_: int) -> int:
        body = {"dataframe_records": [{"x": 1.0}]}
        return httpx.post(f"http://127.0.0.1:{port}/invocations", json=body, timeout=20).status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        pending = [pool.submit(call, i) for i in range(4)]
        time.sleep(0.4)  # all four are in the model now
        proc.send_signal(signal.SIGTERM)
        assert [f.result() for f in pending] == [200] * 4  # every accepted request answered
    # uvicorn re-raises the signal once it has drained, so the exit says "terminated"
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/v2/health/ready")  # not ready: gone


def test_alias_moves_are_swapped_in_under_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frame: pd.DataFrame
) -> None:
    """32 clients keep sending while the alias moves to a new version, then to a broken one:
    no request fails, the new version takes over, the broken one never serves."""
    import concurrent.futures

    monkeypatch.setenv("MODELYARD_CACHE_DIR", str(tmp_path / "cache"))
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    y = (frame.score > 0.5).astype(int)
    for target in (y, 1 - y):  # version 2 answers the opposite of version 1
        model = RandomForestClassifier(n_estimators=10, random_state=0).fit(frame, target)
        with yard.start_run():
            yard.models.log_model(
                model, "model", input_example=frame.head(20), registered_model_name="churn"
            )
    with yard.start_run(), pytest.raises(yard.AlreadyExists, match="already holds a model"):
        yard.models.log_model(model, "model")
        yard.models.log_model(model, "model")  # would overwrite the first
    c = yard.Client()
    c.set_alias("churn", "champion", 1)
    config = ServeConfig([ModelSource("models:/churn@champion")], tracking_uri=uri, watch_s=0.2)
    running = Running(ServingApp(config))
    body = oip_row(frame[COLUMNS])
    stop = threading.Event()

    def client(_: int) -> list[tuple[int, str]]:
        return send_until(running.url, "/v2/models/churn/infer", body, stop)

    try:
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            pending = [pool.submit(client, i) for i in range(32)]
            time.sleep(1.0)
            c.set_alias("churn", "champion", 2)
            deadline = time.monotonic() + 20
            while running.app.fleet.models["churn"].version != "2":
                assert time.monotonic() < deadline, "the new version was not swapped in"
                time.sleep(0.05)
            time.sleep(0.5)
            # a broken version: its registered digest does not match the files
            assert register_broken(c, "churn", 2, tmp_path / "v3") == 3
            c.set_alias("churn", "champion", 3)
            while "churn" not in running.app.fleet.swapper.errors:
                assert time.monotonic() < deadline, "the broken version was not tried"
                time.sleep(0.05)
            time.sleep(0.5)
            stop.set()
            results = [r for f in pending for r in f.result()]
        statuses = {s for s, _ in results}
        versions = [v for _, v in results]
        assert statuses == {200}, statuses  # zero failed requests
        assert {"1", "2"} <= set(versions) and "3" not in versions
        with httpx.Client(base_url=running.url) as http:
            meta = http.get("/v2/models/churn").json()
            assert meta["versions"] == ["2"] and "version 3 failed to load" in meta["swap_error"]
            ready = http.get("/v2/health/ready")
            assert ready.status_code == 200 and "version 3" in ready.json()["warnings"][0]
            assert 'model="churn",outcome="failed",version="3"' in http.get("/metrics").text
    finally:
        stop.set()
        running.stop()


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        ({"name": "age", "shape": [1], "datatype": "INT8", "data": [300]}, "outside"),
        ({"name": "age", "shape": [1], "datatype": "INT64", "data": [30.7]}, "not fractions"),
        ({"name": "age", "shape": [1], "datatype": "BOOL", "data": [0.2]}, "true/false"),
        ({"name": "age", "shape": [1], "datatype": "FP16", "data": [70000]}, "too large"),
        ({"name": "age", "shape": [1], "datatype": "BYTES", "data": [{"a": 1}]}, "strings"),
        ({"name": "age", "shape": [1] * 70, "datatype": "FP32", "data": [1]}, "dimensions"),
        ({"name": "age", "shape": [0, 2**40, 2**40], "datatype": "FP32", "data": []}, "more than"),
        ({"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [30.5, 1, 1, 1]}, "fractions"),
    ],
)
def test_values_that_would_change_are_refused(
    server: Running, tensor: dict[str, object], message: str
) -> None:
    with httpx.Client(base_url=server.url) as http:
        got = http.post("/v2/models/rf/infer", json={"inputs": [tensor]})
    assert got.status_code == 400 and message in got.json()["error"], got.text


def test_protocol_details_clients_rely_on(server: Running, frame: pd.DataFrame) -> None:
    import struct

    import tritonclient.http as triton

    columns = [
        {
            "name": c,
            "shape": [1],
            "datatype": "INT64" if c == "age" else "FP64",
            "data": [frame[c].iloc[0].item()],
        }
        for c in COLUMNS
    ]
    with httpx.Client(base_url=server.url) as http:
        meta = http.get("/v2/models/rf").json()
        assert meta["outputs"][0]["datatype"] == "INT64"  # what predict answers, not FP64
        body = {
            "inputs": columns,
            "outputs": [{"name": "predict"}],
            "parameters": {"binary_data_output": True},
        }
        got = http.post("/v2/models/rf/infer", json=body)  # the request's default applies
        assert got.headers["content-type"] == "application/octet-stream"
        head = int(got.headers["inference-header-content-length"])
        assert got.json is not None and len(got.content) == head + 8
        assert struct.unpack("<q", got.content[head:])[0] in (0, 1)
        assert (
            http.post("/v2/models/rf/infer", json={"inputs": columns, "outputs": 5}).status_code
            == 400
        )
        tiny = (
            b'{"inputs":[{"name":"a","datatype":"BYTES","shape":[268435456],'
            b'"parameters":{"binary_data_size":0}}]}'
        )
        t0 = time.monotonic()
        got = http.post(
            "/v2/models/plans/infer",
            content=tiny,
            headers={"Inference-Header-Content-Length": str(len(tiny))},
        )
        assert got.status_code == 400 and time.monotonic() - t0 < 1  # refused before allocating
        empty = [dict(c, shape=[0], data=[]) for c in columns]
        plan = {"name": "plan", "shape": [0], "datatype": "BYTES", "data": []}
        got = http.post("/v2/models/plans/infer", json={"inputs": [*empty, plan]})
        assert got.status_code == 200 and got.json()["outputs"][0]["shape"] == [0]
        cell = http.post(
            "/invocations?model=plans", json={"dataframe_records": [{"age": 1, "plan": ["a"]}]}
        )
        assert cell.status_code == 400 and "one value" in cell.json()["error"]
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    inputs = []
    for c in COLUMNS:
        t = triton.InferInput(c, [1], "INT64" if c == "age" else "FP64")
        t.set_data_from_numpy(np.array([frame[c].iloc[0]]))
        inputs.append(t)
    got = client.infer("rf", inputs, request_compression_algorithm="gzip")
    assert got.as_numpy("predict").shape == (1,)
    client.close()


def test_a_swap_waits_for_a_request_still_reading_its_body(models: dict[str, object]) -> None:
    import asyncio

    import orjson

    from modelyard.serving.repository.swap import close_when_idle
    from modelyard.serving.runtime.loader import load_served

    root = models["root"]
    assert isinstance(root, Path)
    app = ServingApp(ServeConfig([ModelSource(str(root / "rf"))]))
    body = orjson.dumps(
        {
            "inputs": [
                {
                    "name": c,
                    "shape": [1],
                    "datatype": "FP64" if c != "age" else "INT64",
                    "data": [1],
                }
                for c in COLUMNS
            ]
        }
    )

    async def main() -> list[dict[str, object]]:
        sent: list[dict[str, object]] = []
        parts = [
            {"type": "http.request", "body": body[:10], "more_body": True},
            {"type": "http.request", "body": body[10:], "more_body": False},
        ]

        async def receive() -> dict[str, object]:
            part = parts.pop(0)
            if not parts:
                await asyncio.sleep(0.5)  # a slow client: the last chunk comes late
            return part

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v2/models/rf/infer",
            "headers": [],
            "query_string": b"",
        }
        request = asyncio.create_task(app(scope, receive, send))
        await asyncio.sleep(0.1)  # it holds the old version and reads its body
        new = await asyncio.to_thread(load_served, ModelSource(str(root / "rf")), None)
        old = app.fleet.add(new)
        assert old is not None
        closing = asyncio.create_task(close_when_idle(old))
        await request
        await closing
        return sent

    sent = asyncio.run(main())
    assert sent[0]["status"] == 200, sent


def test_an_endpoint_splits_traffic_sticks_by_header_and_mirrors_to_shadows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frame: pd.DataFrame
) -> None:
    from modelyard.serving.config import EndpointSpec, Route

    monkeypatch.setenv("MODELYARD_CACHE_DIR", str(tmp_path / "cache"))
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    y = (frame.score > 0.5).astype(int)
    for target in (y, 1 - y, y):  # v2 answers the opposite of v1; v3 agrees with v1
        model = RandomForestClassifier(n_estimators=10, random_state=0).fit(frame, target)
        with yard.start_run():
            yard.models.log_model(
                model, "model", input_example=frame.head(20), registered_model_name="churn"
            )
    spec = EndpointSpec(
        "churn-api",
        [Route(ModelSource("models:/churn/1"), 70), Route(ModelSource("models:/churn/2"), 30)],
        [ModelSource("models:/churn/2")],
        "x-user-id",
    )
    running = Running(ServingApp(ServeConfig(endpoint=spec, tracking_uri=uri)))
    body = oip_row(frame[COLUMNS])
    try:
        with httpx.Client(base_url=running.url) as http:
            seen = [
                http.post("/v2/models/churn-api/infer", json=body).json()["model_version"]
                for _ in range(200)
            ]
            share = seen.count("2") / len(seen)
            assert 0.15 < share < 0.45, share  # 30% of the traffic, give or take chance
            for user in ("ann", "bob", "cid"):
                sticky = {
                    http.post(
                        "/v2/models/churn-api/infer", json=body, headers={"x-user-id": user}
                    ).json()["model_version"]
                    for _ in range(10)
                }
                assert len(sticky) == 1  # one user, one route
            pinned = http.post("/v2/models/churn-api/versions/2/infer", json=body).json()
            assert pinned["model_version"] == "2" and pinned["model_name"] == "churn-api"
            assert http.post("/v2/models/churn-api/versions/9/infer", json=body).status_code == 404
            meta = http.get("/v2/models/churn-api").json()
            assert meta["name"] == "churn-api" and meta["versions"] == ["1", "2"]
            deadline = time.monotonic() + 10
            while True:  # shadows run after the answers: wait for them to be counted
                text = http.get("/metrics").text
                if 'modelyard_shadow_predictions_total{endpoint="churn-api"' in text:
                    break
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert 'outcome="differ",version="2"' in text or 'outcome="agree",version="2"' in text
    finally:
        running.stop()
    with pytest.raises(yard.InvalidArgument, match="not all zero"):
        EndpointSpec("x", [Route(ModelSource("m"), 0)])
    assert main_cli(["serve", "--route", "m=1"]) == 2  # --endpoint missing


def main_cli(argv: list[str]) -> int:
    from modelyard.cli.main import main

    return main(argv)
