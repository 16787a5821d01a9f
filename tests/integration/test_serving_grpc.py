"""The protocol over gRPC (``modelyard serve --grpc-port``), driven by tritonclient.grpc
unchanged, and by grpc's own stub with tritonclient's messages for what tritonclient never
sends (typed ``contents``, broken requests) and to read the trailing metadata. Answers are
compared with the model called directly and with REST; bad requests are INVALID_ARGUMENT
naming the input, with REST's own message; statistics, the prediction log and the batcher
are shared with REST. Each call is made twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.grpc as tgrpc
import tritonclient.http as thttp
from google.protobuf import json_format
from tests.fixtures.oip import churn_inputs, http_client, registry, start
from tests.fixtures.protocol import AGE, HEADER, INCOME, MAX_ROWS, MODELS, healthy, save_models
from tests.fixtures.serving import Running
from tests.fixtures.stores import free_port
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc
from tritonclient.utils import InferenceServerException

import modelyard as yard
from modelyard.serving.config import ModelSource
from modelyard.serving.predlog.shipping import read_segment


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("grpc")
    save_models(root)
    return root


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("grpc-log")


@pytest.fixture(scope="module")
def server(root: Path, logs: Path) -> Iterator[Running]:
    running = start(
        root,
        grpc_port=0,  # a free one
        max_wait_ms=5,  # concurrent requests meet in the batcher
        prediction_log=str(logs / "log"),
        tracking_uri=f"sqlite:///{logs}/yard.db",
        ship_s=86400,
        log_roll_s=86400,
    )
    yield running
    running.stop()


def _grpc(server: Running) -> tgrpc.InferenceServerClient:
    return tgrpc.InferenceServerClient(f"127.0.0.1:{server.app.grpc.port}")


def _stub(server: Running) -> Any:
    channel = grpc.insecure_channel(f"127.0.0.1:{server.app.grpc.port}")
    return service_pb2_grpc.GRPCInferenceServiceStub(channel)


def _direct(root: Path, model: str, data: Any) -> list[Any]:
    answer: list[Any] = np.asarray(yard.models.load(root / model).predict(data)).tolist()
    return answer


def _triton_inputs(module: Any, tensors: dict[str, np.ndarray[Any, Any]]) -> list[Any]:
    kinds = {"i": "INT64", "f": "FP64", "O": "BYTES"}
    found = []
    for name, arr in tensors.items():
        datatype = "FP32" if arr.dtype == np.float32 else kinds[arr.dtype.kind]
        tensor = module.InferInput(name, list(arr.shape), datatype)
        tensor.set_data_from_numpy(arr)
        found.append(tensor)
    return found


AGES = np.array([30, 45, 61], dtype=np.int64)
INCOMES = np.array([55.5, 41.25, 70.0])
PLANS = np.array([b"pro", b"basic", b"pro"], dtype=object)
TEXTS = np.array([b"good movie", b"bad film", b"great acting"], dtype=object)
ROWS = np.stack([AGES, INCOMES], axis=1)
FRAME = pd.DataFrame({"age": AGES, "income": INCOMES})
# model -> (the request's tensors, what the model is called with directly)
CASES: dict[str, tuple[dict[str, np.ndarray[Any, Any]], Any]] = {
    "num": ({"age": AGES, "income": INCOMES}, FRAME),
    "num [rows, 2]": ({"x": ROWS.astype(np.float32)}, FRAME),
    "text": (
        {"age": AGES, "income": INCOMES, "plan": PLANS},
        FRAME.assign(plan=["pro", "basic", "pro"]),
    ),
    "words": ({"text": TEXTS}, np.array(["good movie", "bad film", "great acting"])),
    "matrix": ({"input": ROWS}, ROWS),
}


def test_health_and_metadata(server: Running) -> None:
    client, rest = _grpc(server), http_client(server)
    for _ in range(2):
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("num")
        assert not client.is_model_ready("nope") and not client.is_model_ready("num", "3")
        meta = client.get_server_metadata()
        assert meta.name == "modelyard"
        assert list(meta.extensions) == rest.get_server_metadata()["extensions"]
        for name in MODELS:
            got, want = client.get_model_metadata(name), rest.get_model_metadata(name)
            assert got.name == name and got.platform == want["platform"]
            for ours, theirs in ((got.inputs, want["inputs"]), (got.outputs, want["outputs"])):
                assert [
                    {"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in ours
                ] == theirs
    error = _refused(client.get_model_metadata, "nope")
    assert error.status() == "StatusCode.NOT_FOUND"
    assert error.message() == "model 'nope' is not served here"


def _refused(call: Callable[..., Any], *args: Any, **kwargs: Any) -> InferenceServerException:
    with pytest.raises(InferenceServerException) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize("case", list(CASES))
def test_answers_are_the_models_and_rests(server: Running, root: Path, case: str) -> None:
    model = case.split()[0]
    tensors, direct = CASES[case]
    want = _direct(root, model, direct)
    client, rest = _grpc(server), http_client(server)
    for _ in range(2):
        got = client.infer(model, _triton_inputs(tgrpc, tensors), request_id="g-answer")
        assert got.as_numpy("predict").tolist() == want
        assert got.get_response().id == "g-answer" and got.get_response().model_name == model
        over_rest = rest.infer(model, _triton_inputs(thttp, tensors))
        assert over_rest.as_numpy("predict").tolist() == want


def test_probabilities_and_their_classes(server: Running) -> None:
    client, rest = _grpc(server), http_client(server)
    tensors = {"age": AGES, "income": INCOMES}
    for _ in range(2):
        asked = [tgrpc.InferRequestedOutput("predict_proba"), tgrpc.InferRequestedOutput("predict")]
        got = client.infer("num", _triton_inputs(tgrpc, tensors), outputs=asked)
        outputs = [o.name for o in got.get_response().outputs]
        assert outputs == ["predict_proba", "predict"]  # in the order asked
        classes = got.get_output("predict_proba").parameters["classes"].string_param
        assert classes == '["0","1"]'
        want = rest.infer(
            "num",
            _triton_inputs(thttp, tensors),
            outputs=[thttp.InferRequestedOutput("predict_proba")],
        )
        np.testing.assert_array_equal(got.as_numpy("predict_proba"), want.as_numpy("predict_proba"))


def _request(model: str = "num", **fields: Any) -> Any:
    return pb.ModelInferRequest(model_name=model, **fields)


def _input(name: str, datatype: str, shape: list[int], **fields: Any) -> Any:
    return pb.ModelInferRequest.InferInputTensor(
        name=name, datatype=datatype, shape=shape, **fields
    )


def test_typed_contents_answer_as_raw_ones(server: Running, root: Path) -> None:
    stub = _stub(server)
    contents = pb.InferTensorContents
    cases = [
        (
            "num",
            [
                _input("age", "INT64", [3], contents=contents(int64_contents=AGES.tolist())),
                _input("income", "FP64", [3], contents=contents(fp64_contents=INCOMES.tolist())),
            ],
            FRAME,
        ),
        (
            "num",
            [
                _input("age", "INT32", [3, 1], contents=contents(int_contents=AGES.tolist())),
                _input("income", "FP32", [3], contents=contents(fp32_contents=INCOMES.tolist())),
            ],
            FRAME,
        ),
        (
            "text",
            [
                _input("age", "UINT8", [3], contents=contents(uint_contents=AGES.tolist())),
                _input("income", "FP64", [3], contents=contents(fp64_contents=INCOMES.tolist())),
                _input("plan", "BYTES", [3], contents=contents(bytes_contents=list(PLANS))),
            ],
            FRAME.assign(plan=["pro", "basic", "pro"]),
        ),
        (
            "words",
            [_input("text", "BYTES", [3], contents=contents(bytes_contents=list(TEXTS)))],
            CASES["words"][1],
        ),
    ]
    for model, inputs, direct in cases:
        for _ in range(2):
            answer = stub.ModelInfer(_request(model, inputs=inputs))
            out = answer.outputs[0]
            assert out.name == "predict" and list(out.shape) == [3]
            values = np.frombuffer(answer.raw_output_contents[0], dtype=np.int64).tolist()
            assert values == _direct(root, model, direct)


@dataclass
class Bad:
    """A bad request over gRPC, the same request over REST when it has a form there (JSON,
    or binary: (JSON header, binary part)), the field both name and a piece of the message."""

    what: str
    grpc: Any
    field: str
    says: str
    rest: dict[str, Any] | tuple[dict[str, Any], bytes] | None = None
    model: str = "num"


def _raw(*items: tuple[Any, bytes], **fields: Any) -> Any:
    return _request(
        inputs=[i for i, _ in items], raw_input_contents=[r for _, r in items], **fields
    )


def _int64(*values: int) -> bytes:
    return np.array(values, dtype="<i8").tobytes()


def _fp64(*values: float) -> bytes:
    return np.array(values, dtype="<f8").tobytes()


RAW_AGE = (_input("age", "INT64", [1]), _int64(30))
RAW_INCOME = (_input("income", "FP64", [1]), _fp64(55.5))


def _bin(name: str, datatype: str, raw: bytes, shape: int = 1) -> dict[str, Any]:
    return {
        "name": name,
        "datatype": datatype,
        "shape": [shape],
        "parameters": {"binary_data_size": len(raw)},
    }


BAD = [
    Bad(
        "an input the model does not have",
        _raw(RAW_AGE, RAW_INCOME, (_input("agee", "INT64", [1]), _int64(1))),
        "agee",
        "model 'num' has no input 'agee'",
        {"inputs": [AGE, INCOME, {**AGE, "name": "agee"}]},
    ),
    Bad(
        "a missing input",
        _raw(RAW_AGE),
        "income",
        "missing input(s) ['income']",
        {"inputs": [AGE]},
    ),
    Bad(
        "an input given twice",
        _raw(RAW_AGE, RAW_INCOME, RAW_AGE),
        "age",
        "input 'age' is given twice (inputs[0] and inputs[2])",
        {"inputs": [AGE, INCOME, AGE]},
    ),
    Bad(
        "text for a number column",
        _raw((_input("age", "BYTES", [1]), b"\x02\x00\x00\x00ab"), RAW_INCOME),
        "age",
        "input 'age' has datatype BYTES",
        {"inputs": [{**AGE, "datatype": "BYTES", "data": ["ab"]}, INCOME]},
    ),
    Bad(
        "fractions for an integer column",
        _raw((_input("age", "FP64", [1]), _fp64(30.5)), RAW_INCOME),
        "age",
        "input 'age' holds fractions; the model expects integers",
        {"inputs": [{**AGE, "datatype": "FP64", "data": [30.5]}, INCOME]},
    ),
    Bad(
        "more rows than --max-rows",
        _raw(
            (_input("age", "INT64", [MAX_ROWS + 1]), _int64(*[30] * (MAX_ROWS + 1))),
            (_input("income", "FP64", [MAX_ROWS + 1]), _fp64(*[1.0] * (MAX_ROWS + 1))),
        ),
        "age",
        f"input 'age' holds {MAX_ROWS + 1} rows; this server takes at most {MAX_ROWS}",
        {
            "inputs": [
                {**AGE, "shape": [MAX_ROWS + 1], "data": [30] * (MAX_ROWS + 1)},
                {**INCOME, "shape": [MAX_ROWS + 1], "data": [1.0] * (MAX_ROWS + 1)},
            ]
        },
    ),
    Bad(
        "raw bytes that do not fit the shape",
        _raw((_input("age", "INT64", [2]), _int64(30)), RAW_INCOME),
        "age",
        "input 'age': 8 bytes for 2 INT64 values (expected 16)",
        (
            {"inputs": [_bin("age", "INT64", _int64(30), 2), _bin("income", "FP64", _fp64(5))]},
            _int64(30) + _fp64(5),
        ),
    ),
    Bad(
        "a missing value the signature forbids",
        _raw(RAW_AGE, (_input("income", "FP64", [1]), _fp64(float("nan")))),
        "income",
        "column 'income' has missing values; the signature does not allow them",
        (
            {"inputs": [_bin("age", "INT64", _int64(30)), _bin("income", "FP64", _fp64(0))]},
            _int64(30) + _fp64(float("nan")),
        ),
    ),
    Bad(
        "a datatype the protocol does not have",
        _raw((_input("age", "INT128", [1]), _int64(30)), RAW_INCOME),
        "age",
        "input 'age' datatype must be one of BOOL",
        {"inputs": [{**AGE, "datatype": "INT128"}, INCOME]},
    ),
    Bad(
        "a negative dimension",
        _raw((_input("age", "INT64", [-1]), _int64(30)), RAW_INCOME),
        "age",
        "input 'age' shape must be a list of non-negative integers; got [-1]",
        {"inputs": [{**AGE, "shape": [-1]}, INCOME]},
    ),
    Bad(
        "an output the model does not have",
        _raw(
            RAW_AGE,
            RAW_INCOME,
            outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name="proba")],
        ),
        "outputs[0].name",
        "unknown output(s) ['proba']; model 'num' has 'predict', 'predict_proba'",
        {"inputs": [AGE, INCOME], "outputs": [{"name": "proba"}]},
    ),
    Bad(
        "classification asked for",
        _request(
            inputs=[RAW_AGE[0], RAW_INCOME[0]],
            raw_input_contents=[RAW_AGE[1], RAW_INCOME[1]],
            outputs=[
                pb.ModelInferRequest.InferRequestedOutputTensor(
                    name="predict", parameters={"classification": pb.InferParameter(int64_param=2)}
                )
            ],
        ),
        "outputs[0].parameters.classification",
        "outputs[0].parameters.classification is not supported",
        {
            "inputs": [AGE, INCOME],
            "outputs": [{"name": "predict", "parameters": {"classification": 2}}],
        },
    ),
    Bad(
        "a number for a text tensor",
        _raw((_input("text", "INT64", [1]), _int64(1))),
        "text",
        "takes text (BYTES)",
        {"inputs": [{"name": "text", "shape": [1], "datatype": "INT64", "data": [1]}]},
        model="words",
    ),
    Bad(
        "text that is not UTF-8",
        _raw((_input("text", "BYTES", [1]), b"\x02\x00\x00\x00\xff\xfe")),
        "text",
        "input 'text' is not UTF-8 text",
        (
            {"inputs": [_bin("text", "BYTES", b"\x02\x00\x00\x00\xff\xfe")]},
            b"\x02\x00\x00\x00\xff\xfe",
        ),
        model="words",
    ),
    # what only gRPC can get wrong
    Bad(
        "values in another datatype's contents",
        _request(
            inputs=[
                _input("age", "INT64", [1], contents=pb.InferTensorContents(fp64_contents=[3.0])),
                _input("income", "FP64", [1], contents=pb.InferTensorContents(fp64_contents=[1])),
            ]
        ),
        "age",
        "input 'age' is INT64: its values go in int64_contents, not fp64_contents",
    ),
    Bad(
        "contents of another count than the shape",
        _request(
            inputs=[
                _input("age", "INT64", [2], contents=pb.InferTensorContents(int64_contents=[3])),
                _input("income", "FP64", [2], contents=pb.InferTensorContents(fp64_contents=[1])),
            ]
        ),
        "age",
        "input 'age' contents hold 1 values; its shape [2] needs 2",
    ),
    Bad(
        "a value outside its datatype",
        _request(
            inputs=[
                _input("age", "INT8", [1], contents=pb.InferTensorContents(int_contents=[300])),
                _input("income", "FP64", [1], contents=pb.InferTensorContents(fp64_contents=[1])),
            ]
        ),
        "age",
        "input 'age' data does not fit its datatype INT8",
    ),
    Bad(
        "FP16 in contents (it has none)",
        _request(inputs=[_input("age", "FP16", [1]), RAW_INCOME[0]]),
        "age",
        "input 'age' is FP16, which has no typed contents",
    ),
    Bad(
        "fewer raw contents than inputs",
        _request(inputs=[RAW_AGE[0], RAW_INCOME[0]], raw_input_contents=[RAW_AGE[1]]),
        "raw_input_contents",
        "raw_input_contents holds 1 tensors for 2 inputs",
    ),
    Bad(
        "shared memory",
        _request(
            inputs=[
                _input(
                    "age",
                    "INT64",
                    [1],
                    parameters={"shared_memory_region": pb.InferParameter(string_param="r")},
                ),
                RAW_INCOME[0],
            ],
            raw_input_contents=[RAW_AGE[1], RAW_INCOME[1]],
        ),
        "age",
        "input 'age' names shared memory (shared_memory_region); this server has none",
    ),
    Bad("no inputs", _request(), "inputs", "inputs must be a non-empty list", {"inputs": []}),
    # an id the prediction log would keep and no label could name (found by the cold review)
    *(
        Bad(
            f"an id of {what}",
            _raw(RAW_AGE, RAW_INCOME, id=value),
            "id",
            "id must be 1 to 128 printable ASCII characters",
            {"id": value, "inputs": [AGE, INCOME]},
        )
        for what, value in (
            ("200 characters", "x" * 200),
            ("100,000 characters", "x" * 100_000),
            ("non-ASCII characters", "ünï"),
            ("a control character", "a\tb"),
        )
    ),
]


def _rest_error(http: httpx.Client, bad: Bad) -> dict[str, Any]:
    path = f"/v2/models/{bad.model}/infer"
    if isinstance(bad.rest, tuple):
        head, tail = bad.rest
        import orjson

        raw = orjson.dumps(head)
        got = http.post(path, content=raw + tail, headers={HEADER: str(len(raw))})
    else:
        got = http.post(path, json=bad.rest)
    assert got.status_code == 400, got.text
    found: dict[str, Any] = got.json()
    return found


@pytest.mark.parametrize("bad", BAD, ids=[b.what for b in BAD])
def test_bad_requests_are_invalid_argument_naming_the_input(server: Running, bad: Bad) -> None:
    stub = _stub(server)
    request = bad.grpc
    request.model_name = bad.model
    for _ in range(2):
        with pytest.raises(grpc.RpcError) as caught:
            stub.ModelInfer(request)
        error = caught.value
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
        assert bad.says in error.details()
        trailing = dict(error.trailing_metadata() or ())
        assert trailing.get("field") == bad.field and trailing.get("x-request-id")
    with httpx.Client(base_url=server.url) as http:
        if bad.rest is not None:  # REST refuses the same request, in the same words
            rest = _rest_error(http, bad)
            assert rest == {"error": error.details(), "field": bad.field}
        healthy(http)


@pytest.mark.parametrize(
    ("given", "refused"),
    [("x" * 129, True), ("x" * 5000, True), ("x" * 128, False), ("a b~", False)],
    ids=["129 characters", "5000 characters", "128 characters", "spaces and signs"],
)
def test_an_x_request_id_the_log_cannot_keep_is_refused(
    server: Running, given: str, refused: bool
) -> None:
    """The ``x-request-id`` metadata is the request's id when it has no ``id``: the same rule,
    refused naming it (never cut and logged), or kept as sent."""
    stub = _stub(server)
    request = _raw(RAW_AGE, RAW_INCOME)
    if not refused:
        answer = stub.ModelInfer(request, metadata=[("x-request-id", given)])
        assert answer.id == given
        return
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelInfer(request, metadata=[("x-request-id", given)])
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert "x-request-id must be 1 to 128 printable ASCII characters" in error.details()
    trailing = dict(error.trailing_metadata() or ())
    assert trailing["field"] == "x-request-id" and trailing["x-request-id"] != given


def test_tritonclient_sees_the_status_and_the_message(server: Running) -> None:
    client = _grpc(server)
    inputs = _triton_inputs(tgrpc, {"age": np.array([30.5]), "income": np.array([1.0])})
    for _ in range(2):
        error = _refused(client.infer, "num", inputs)
        assert error.status() == "StatusCode.INVALID_ARGUMENT"
        assert error.message() == "input 'age' holds fractions; the model expects integers"
        for model, version, says in (
            ("nope", "", "model 'nope' is not served here"),
            ("num", "4", "model 'num' version 4 is not served"),
        ):
            error = _refused(client.infer, model, inputs, model_version=version)
            assert error.status() == "StatusCode.NOT_FOUND" and says in error.message()


def _numbers(found: Any) -> dict[str, Any]:
    """A statistics message or JSON as plain numbers (protobuf's JSON writes uint64 as
    text)."""
    if isinstance(found, dict):
        return {k: _numbers(v) for k, v in found.items()}
    if isinstance(found, list):
        return [_numbers(v) for v in found]  # type: ignore[return-value]
    if isinstance(found, str) and found.isdigit():
        return int(found)  # type: ignore[return-value]
    return found  # type: ignore[no-any-return]


def _grpc_stats(client: tgrpc.InferenceServerClient, name: str) -> dict[str, Any]:
    message = client.get_inference_statistics(name)
    found = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    stats: dict[str, Any] = _numbers(found)["model_stats"][0]
    return stats


def test_statistics_count_grpc_and_rest_alike(server: Running) -> None:
    client, rest = _grpc(server), http_client(server)
    before = _grpc_stats(client, "num")
    assert _grpc_stats(client, "num") == before  # reading counts nothing
    tensors = {"age": AGES, "income": INCOMES}
    for _ in range(2):
        client.infer("num", _triton_inputs(tgrpc, tensors))
    rest.infer("num", _triton_inputs(thttp, tensors))
    bad = _triton_inputs(tgrpc, {"age": np.array([1.5]), "income": np.array([1.0])})
    _refused(client.infer, "num", bad)
    after = _grpc_stats(client, "num")
    done, was = after["inference_stats"], before["inference_stats"]
    assert done["success"]["count"] - was["success"]["count"] == 3
    assert done["fail"]["count"] - was["fail"]["count"] == 1
    assert after["inference_count"] - before["inference_count"] == 9
    over_rest = rest.get_inference_statistics("num")["model_stats"][0]
    over_rest.pop("response_stats", None)
    after.pop("response_stats", None)
    assert after == over_rest  # one set of counters, read over either protocol
    everything = client.get_inference_statistics()
    assert [s.name for s in everything.model_stats] == list(MODELS)


def test_configuration_and_index_match_rest(server: Running) -> None:
    client, rest = _grpc(server), http_client(server)
    for _ in range(2):
        for name in MODELS:
            config = json_format.MessageToDict(
                client.get_model_config(name).config, preserving_proto_field_name=True
            )
            want = rest.get_model_config(name)
            for key in ("name", "platform", "backend", "max_batch_size", "parameters"):
                assert config.get(key) == want[key], (name, key)
            for key in ("input", "output"):
                assert [
                    (t["name"], t["data_type"], [int(d) for d in t.get("dims", [])])
                    for t in config[key]
                ] == [(t["name"], t["data_type"], t["dims"]) for t in want[key]]
        index = client.get_model_repository_index()
        assert [
            {"name": m.name, "version": m.version, "state": m.state, "reason": m.reason}
            for m in index.models
        ] == rest.get_model_repository_index()
    with pytest.raises(grpc.RpcError) as caught:
        _stub(server).RepositoryIndex(pb.RepositoryIndexRequest(repository_name="other"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "this server has one repository" in caught.value.details()


def test_model_control_is_refused_without_the_flag(server: Running) -> None:
    client = _grpc(server)
    for _ in range(2):
        for call in (client.load_model, client.unload_model):
            error = _refused(call, "num")
            assert error.status() == "StatusCode.PERMISSION_DENIED"
            assert "start it with --model-control explicit" in error.message()
    assert client.is_model_ready("num")


def _logged(folder: Path, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The prediction log's records for ``ids``, once all are written (a few seconds)."""
    deadline = time.monotonic() + 20
    while True:
        found = {}
        for segment in folder.glob("*.log"):
            for record in read_segment(segment)[0]:
                if record["id"] in ids:
                    found[record["id"]] = record
        if set(found) == ids or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_grpc_requests_are_batched_and_logged_like_rest(server: Running, logs: Path) -> None:
    """Eight gRPC and eight REST clients at once: their rows share model calls, and every
    one of them is in the prediction log, alike."""
    batcher = server.app.fleet.models["num"].batcher
    assert batcher is not None
    calls, rows = batcher.stats.calls, batcher.stats.rows
    barrier = threading.Barrier(16)
    answers: dict[str, list[Any]] = {}

    def one(i: int) -> None:
        module = tgrpc if i % 2 else thttp
        client = _grpc(server) if i % 2 else http_client(server)
        inputs = _triton_inputs(module, {"age": AGES[:1], "income": INCOMES[:1]})
        request_id = f"{'g' if i % 2 else 'r'}-{i}"
        barrier.wait()
        answers[request_id] = (
            client.infer("num", inputs, request_id=request_id).as_numpy("predict").tolist()
        )

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(answers) == 16 and len({str(a) for a in answers.values()}) == 1
    assert batcher.stats.rows - rows == 16
    assert batcher.stats.calls - calls < 16  # some calls held several requests' rows
    records = _logged(logs / "log", set(answers))
    assert set(records) == set(answers)
    kinds = {(r["e"], r["m"], str(r["out"])) for r in records.values()}
    assert len(kinds) == 1  # the same endpoint, model and answer, whichever protocol


def test_unload_and_load_again_over_grpc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path
) -> None:
    monkeypatch.setenv("MODELYARD_ARTIFACTS_URI", (tmp_path / "artifacts").as_uri())
    tracking_uri = f"sqlite:///{tmp_path}/yard.db"
    c = registry(tracking_uri)
    running = start(
        root,
        first=[ModelSource("models:/churn@champion")],
        tracking_uri=tracking_uri,
        model_control="explicit",
        grpc_port=0,
    )
    client = _grpc(running)
    try:
        assert client.infer("churn", churn_inputs(tgrpc)).get_response().model_version == "1"
        for _ in range(2):
            client.unload_model("churn")
            error = _refused(client.infer, "churn", churn_inputs(tgrpc))
            assert error.status() == "StatusCode.NOT_FOUND"
            assert "model 'churn' is not loaded (unloaded on request)" in error.message()
            assert not client.is_model_ready("churn") and client.is_server_ready()
            first = client.get_model_repository_index().models[0]
            assert (first.name, first.state, first.reason) == (
                "churn",
                "UNAVAILABLE",
                "unloaded on request",
            )
        c.set_alias("churn", "champion", 2)
        for _ in range(2):
            client.load_model("churn")
            answer = client.infer("churn", churn_inputs(tgrpc)).get_response()
            assert answer.model_version == "2"
            assert client.is_model_ready("churn", "2") and not client.is_model_ready("churn", "1")
        error = _refused(client.load_model, "churn", config="{}")
        assert error.status() == "StatusCode.INVALID_ARGUMENT"
        assert "a load request takes no configuration" in error.message()
        error = _refused(client.load_model, "churn", config="{}", files={"file:1/m": b"x"})
        assert error.status() == "StatusCode.INVALID_ARGUMENT"
        error = _refused(client.load_model, "fraud")
        assert error.status() == "StatusCode.NOT_FOUND"
        assert "not in this server's repository" in error.message()
        with httpx.Client(base_url=running.url) as http:
            healthy(http)
    finally:
        running.stop()


# --- the command line --------------------------------------------------------------------
def _serve(args: list[str], port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "modelyard", "serve", *args, "--port", str(port)]
    cmd += ["--no-prediction-log", "--watch-seconds", "0", "--log-level", "warning"]
    return subprocess.Popen(cmd, stderr=subprocess.PIPE)


def test_modelyard_serve_grpc_port(root: Path) -> None:
    port, grpc_port = free_port(), free_port()
    proc = _serve([f"num={root / 'num'}", "--grpc-port", str(grpc_port)], port)
    try:
        client = tgrpc.InferenceServerClient(f"127.0.0.1:{grpc_port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.is_server_ready():
                    break
            except InferenceServerException:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "did not start"
            time.sleep(0.2)
        got = client.infer("num", _triton_inputs(tgrpc, {"age": AGES, "income": INCOMES}))
        assert got.as_numpy("predict").tolist() == _direct(root, "num", FRAME)
        assert httpx.get(f"http://127.0.0.1:{port}/v2/health/ready").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    # uvicorn re-raises the signal once both servers have drained: the exit says "terminated"
    assert proc.returncode in (0, -signal.SIGTERM) and b"Traceback" not in err, err.decode()


def test_a_taken_grpc_port_stops_the_start(root: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        grpc_port = taken.getsockname()[1]
        proc = _serve([f"num={root / 'num'}", "--grpc-port", str(grpc_port)], free_port())
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err.decode()
    assert f"cannot serve gRPC on 127.0.0.1:{grpc_port}: the port is taken" in err.decode()


def test_without_the_extra_a_grpc_port_is_one_clear_line(root: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['grpc'] = None  # as if grpcio were not installed\n"
        "from modelyard.cli.main import main\n"
        f"sys.exit(main(['serve', 'num={root / 'num'}', '--grpc-port', '1']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "--grpc-port needs the grpc extra: pip install 'modelyard[grpc]'" in lines[0]
