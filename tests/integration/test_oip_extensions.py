"""Triton's HTTP extensions on the inference server, through tritonclient.http unchanged:
the model configuration, inference statistics, the repository index, and model control
(load/unload: refused unless the server runs with --model-control explicit). Every call is
made twice: reading changes nothing, and loading or unloading twice is the same as once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from tests.fixtures.oip import churn_inputs, http_client, registry, start
from tests.fixtures.protocol import AGE, INCOME, MAX_ROWS, MODELS, healthy, save_models
from tests.fixtures.serving import Running
from tritonclient.utils import InferenceServerException

import modelyard as yard
from modelyard.serving.config import ModelSource


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("extensions")
    save_models(root)
    return root


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[Running]:
    running = start(root)  # model control: none, the default
    yield running
    running.stop()


def _refused(call: Any, *args: Any, **kwargs: Any) -> InferenceServerException:
    with pytest.raises(InferenceServerException) as caught:
        call(*args, **kwargs)
    return caught.value


def test_server_metadata_names_the_extensions(server: Running) -> None:
    client = http_client(server)
    for _ in range(2):
        extensions = client.get_server_metadata()["extensions"]
        assert {"model_configuration", "statistics", "model_repository"} <= set(extensions)


def _dims(config: dict[str, Any], key: str) -> dict[str, tuple[str, list[int]]]:
    return {t["name"]: (t["data_type"], t["dims"]) for t in config[key]}


def test_the_configuration_describes_each_model(server: Running, root: Path) -> None:
    client = http_client(server)
    for _ in range(2):
        configs = {name: client.get_model_config(name) for name in MODELS}
        for name, config in configs.items():
            meta = client.get_model_metadata(name)
            assert config["name"] == name and config["platform"] == meta["platform"]
            assert config["max_batch_size"] == MAX_ROWS  # --max-rows, Triton's batch limit
            assert [t["name"] for t in config["input"]] == [t["name"] for t in meta["inputs"]]
        num, text = configs["num"], configs["text"]
        assert _dims(num, "input") == {"age": ("TYPE_INT64", []), "income": ("TYPE_FP64", [])}
        assert _dims(num, "output") == {
            "predict": ("TYPE_INT64", []),
            "predict_proba": ("TYPE_FP64", [2]),
        }
        assert num["parameters"]["classes"]["string_value"] == '["0","1"]'
        assert num["parameters"]["runtime"]["string_value"] == "onnx"
        assert "dynamic_batching" in num  # the ONNX path runs through the adaptive batcher
        assert _dims(text, "input")["plan"] == ("TYPE_STRING", [])
        assert "dynamic_batching" not in text  # a DataFrame for the model's own predict
        assert _dims(configs["words"], "input") == {"input": ("TYPE_STRING", [])}
        assert _dims(configs["matrix"], "input") == {"input": ("TYPE_FP64", [2])}
    # a request built from the configuration alone (shape = [rows] + dims) is answered
    inputs = []
    numpy_types = {"TYPE_INT64": np.int64, "TYPE_FP64": np.float64}
    for name, (kind, dims) in _dims(configs["num"], "input").items():
        tensor = triton.InferInput(name, [3, *dims], kind.removeprefix("TYPE_"))
        tensor.set_data_from_numpy(np.array([30, 45, 60], dtype=numpy_types[kind]))
        inputs.append(tensor)
    got = client.infer("num", inputs).as_numpy("predict")
    frame = pd.DataFrame({"age": [30, 45, 60], "income": [30.0, 45.0, 60.0]})
    np.testing.assert_array_equal(got, np.asarray(yard.models.load(root / "num").predict(frame)))


def _stats(client: triton.InferenceServerClient, name: str) -> dict[str, Any]:
    found = client.get_inference_statistics(name)["model_stats"]
    assert len(found) == 1 and found[0]["name"] == name
    again = client.get_inference_statistics(name)["model_stats"][0]
    assert again == found[0]  # reading counts nothing
    stats: dict[str, Any] = found[0]
    return stats


def _inputs(model: str, binary: bool) -> list[triton.InferInput]:
    """Three rows for ``num`` (or ``text``, with its plan column), binary or JSON."""
    values: dict[str, np.ndarray[Any, Any]] = {
        "age": np.array([20, 35, 50], dtype=np.int64),
        "income": np.array([30.0, 50.0, 70.0]),
    }
    if model == "text":
        values["plan"] = np.array([b"pro", b"basic", b"pro"], dtype=object)
    found = []
    for name, arr in values.items():
        tensor = triton.InferInput(
            name, [3], {"i": "INT64", "f": "FP64", "O": "BYTES"}[arr.dtype.kind]
        )
        tensor.set_data_from_numpy(arr, binary_data=binary)
        found.append(tensor)
    return found


@pytest.mark.parametrize("model", ["num", "text"])
def test_statistics_count_exactly_the_requests_made(server: Running, model: str) -> None:
    """num runs through the batcher (ONNX), text on a thread (the model's own predict)."""
    client = http_client(server)
    before = _stats(client, model)
    for binary in (True, False):  # binary tensors (tritonclient's default) and JSON
        client.infer(model, _inputs(model, binary))
    with httpx.Client(base_url=server.url) as http:
        record = {"age": 30, "income": 55.5, **({"plan": "pro"} if model == "text" else {})}
        assert http.post(f"/invocations?model={model}", json={"dataframe_records": [record]})
        bad = {"inputs": [AGE, INCOME, {**AGE, "name": "agee"}]}
        for _ in range(2):
            assert http.post(f"/v2/models/{model}/infer", json=bad).status_code == 400
    after = _stats(client, model)
    done, was = after["inference_stats"], before["inference_stats"]
    assert done["success"]["count"] - was["success"]["count"] == 3  # 2 protocol + 1 MLflow
    assert done["fail"]["count"] - was["fail"]["count"] == 2
    assert after["inference_count"] - before["inference_count"] == 7  # rows: 3 + 3 + 1
    assert after["execution_count"] - before["execution_count"] == 3  # one call each, alone
    for part in ("queue", "compute_input", "compute_infer", "compute_output"):
        assert done[part]["count"] == done["success"]["count"], part
        assert done[part]["ns"] > was[part]["ns"], part
    assert done["success"]["ns"] > was["success"]["ns"] and done["fail"]["ns"] > was["fail"]["ns"]
    assert after["last_inference"] >= before["last_inference"] and after["last_inference"] > 0
    sizes = {b["batch_size"]: b["compute_infer"]["count"] for b in after["batch_stats"]}
    assert sizes.get(3, 0) >= 2 and sizes.get(1, 0) >= 1
    assert sum(sizes.values()) == after["execution_count"]


def test_every_model_has_statistics_and_an_unknown_one_is_404(server: Running) -> None:
    client = http_client(server)
    for _ in range(2):
        found = client.get_inference_statistics()["model_stats"]
        assert [s["name"] for s in found] == list(MODELS)
        assert all(s["version"] == "" for s in found)  # folders have no version
        for name, version, message in (
            ("nope", "", "model 'nope' is not served here"),
            ("num", "7", "model 'num' version 7 is not served"),
        ):
            error = _refused(client.get_inference_statistics, name, version)
            assert error.status() == "404" and message in error.message()
            error = _refused(client.get_model_config, name, version)
            assert error.status() == "404" and message in error.message()


def test_the_index_lists_every_model_ready(server: Running) -> None:
    client = http_client(server)
    want = [{"name": n, "version": "", "state": "READY", "reason": ""} for n in MODELS]
    for _ in range(2):
        assert client.get_model_repository_index() == want
    with httpx.Client(base_url=server.url) as http:
        assert http.post("/v2/repository/index", json={"ready": True}).json() == want
        for body, field in (({"ready": "yes"}, "ready"), ({"readyy": True}, "readyy")):
            got = http.post("/v2/repository/index", json=body)
            assert got.status_code == 400 and got.json()["field"] == field
        assert http.get("/v2/repository/index").status_code == 405


def test_model_control_is_refused_without_the_flag(server: Running) -> None:
    client = http_client(server)
    for _ in range(2):
        for call in (client.load_model, client.unload_model):
            error = _refused(call, "num")
            assert error.status() == "403"
            assert "start it with --model-control explicit" in error.message()
    with httpx.Client(base_url=server.url) as http:
        healthy(http)  # nothing was unloaded


def _error(got: httpx.Response) -> tuple[int, str, str | None]:
    body = got.json()
    return got.status_code, body["error"], body.get("field")


def test_unload_and_load_again_from_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path
) -> None:
    """churn is served by alias, without watching: unloaded it answers 404 and is
    UNAVAILABLE; loaded after the alias moved, it serves the version the alias names now."""
    monkeypatch.setenv("MODELYARD_ARTIFACTS_URI", (tmp_path / "artifacts").as_uri())
    tracking_uri = f"sqlite:///{tmp_path}/yard.db"
    c = registry(tracking_uri)
    running = start(
        root,
        first=[ModelSource("models:/churn@champion")],
        tracking_uri=tracking_uri,
        model_control="explicit",
    )
    client = http_client(running)
    try:
        first = client.infer("churn", churn_inputs(triton)).get_response()
        assert first["model_version"] == "1"
        for _ in range(2):  # unloading twice is unloading once
            client.unload_model("churn")
            error = _refused(client.infer, "churn", churn_inputs(triton))
            assert error.status() == "404"
            assert "model 'churn' is not loaded (unloaded on request)" in error.message()
            assert not client.is_model_ready("churn")
            assert client.is_server_ready()  # the others serve on
            index = client.get_model_repository_index()
            assert index[0] == {
                "name": "churn",
                "version": "",
                "state": "UNAVAILABLE",
                "reason": "unloaded on request",
            }
            assert [e["state"] for e in index[1:]] == ["READY"] * len(MODELS)
            assert [s["name"] for s in client.get_inference_statistics()["model_stats"]] == list(
                MODELS
            )
        with httpx.Client(base_url=running.url) as http:
            # /invocations without ?model= answers for the first model: never another one
            got = http.post("/invocations", json={"dataframe_records": [{"a": 0.9, "b": 0.5}]})
            assert got.status_code == 404 and "not loaded" in got.json()["error"]
            assert http.get("/v2/models/churn").status_code == 404
            healthy(http)
        c.set_alias("churn", "champion", 2)
        for _ in range(2):  # a load of a served model loads it again
            client.load_model("churn")
            answer = client.infer("churn", churn_inputs(triton))
            assert answer.get_response()["model_version"] == "2"
            assert client.is_model_ready("churn")
            index = client.get_model_repository_index()
            assert index[0] == {"name": "churn", "version": "2", "state": "READY", "reason": ""}
            stats = client.get_inference_statistics("churn")["model_stats"]
            assert [(s["version"], s["inference_stats"]["success"]["count"]) for s in stats] == [
                ("2", 1)  # a version loaded anew counts from zero
            ]
        with httpx.Client(base_url=running.url) as http:
            for body, field in (
                ({"parameters": {"config": "{}"}}, "parameters.config"),
                ({"parameters": {"file:1/model.onnx": "AAAA"}}, "parameters.file:1/model.onnx"),
                ({"parameters": []}, "parameters"),
                ({"params": {}}, "params"),
            ):
                got = http.post("/v2/repository/models/churn/load", json=body)
                assert got.status_code == 400 and got.json()["field"] == field, got.text
            got = http.post(
                "/v2/repository/models/churn/unload",
                json={"parameters": {"unload_dependents": "yes"}},
            )
            assert _error(got)[0::2] == (400, "parameters.unload_dependents")
            got = http.post("/v2/repository/models/fraud/load", content=b"")
            status, message, _ = _error(got)
            assert status == 404 and "not in this server's repository" in message
            assert "churn, matrix, num, text, words" in message
            assert http.get("/v2/repository/models/churn/load").status_code == 405
            healthy(http)
        assert client.get_model_metadata("churn")["versions"] == ["2"]
    finally:
        running.stop()
