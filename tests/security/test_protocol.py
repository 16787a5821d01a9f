"""Protocol strictness of the inference server: every request that does not fit the model is
refused with 400 and a message naming the input or field (JSON tensors, binary tensors and
MLflow's /invocations payloads alike), and the server answers a good request right after."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from tests.fixtures.serving import Running

import modelyard as yard
from modelyard.serving.app import ServingApp
from modelyard.serving.config import ModelSource, ServeConfig

HEADER = "Inference-Header-Content-Length"
MAX_ROWS = 100


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"age": rng.integers(18, 80, 200), "income": rng.normal(50, 10, 200)})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("strict")
    frame = _frame()
    y = (frame.income > 50).astype(int)
    yard.models.save_model(LogisticRegression().fit(frame, y), root / "num", input_example=frame)
    text = frame.assign(plan=np.where(frame.age > 40, "pro", "basic"))
    encode = make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough")
    pipe = make_pipeline(encode, LogisticRegression(max_iter=500)).fit(text, y)
    yard.models.save_model(pipe, root / "text", input_example=text.head(5))
    config = ServeConfig(
        [ModelSource(str(root / "num")), ModelSource(str(root / "text"))], max_rows=MAX_ROWS
    )
    running = Running(ServingApp(config))
    yield running
    running.stop()


AGE = {"name": "age", "shape": [1], "datatype": "INT64", "data": [30]}
INCOME = {"name": "income", "shape": [1], "datatype": "FP64", "data": [55.5]}
PLAN = {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


JSON_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("duplicate input", "num", {"inputs": [AGE, AGE, INCOME]}, "'age' is given twice"),
    ("unknown input", "num", {"inputs": [AGE, INCOME, _with(AGE, name="x")]}, "no input 'x'"),
    ("unknown beside all", "text", {"inputs": [AGE, INCOME, PLAN, _with(PLAN, name="p2")]}, "p2"),
    ("missing input", "num", {"inputs": [AGE, _with(PLAN, name="plan")]}, "plan"),
    ("missing required", "text", {"inputs": [AGE, INCOME]}, "missing input(s) ['plan']"),
    ("count vs shape", "num", {"inputs": [_with(AGE, shape=[2]), INCOME]}, "'age' data holds 1"),
    ("count vs 2-d shape", "num", {"inputs": [AGE, _with(INCOME, shape=[1, 3])]}, "'income'"),
    (
        "bytes for number",
        "num",
        {"inputs": [_with(AGE, datatype="BYTES", data=["30"]), INCOME]},
        "'age' has datatype BYTES",
    ),
    (
        "number for text",
        "text",
        {"inputs": [AGE, INCOME, _with(PLAN, datatype="INT64", data=[1])]},
        "'plan' has datatype INT64",
    ),
    (
        "fraction for integer",
        "num",
        {"inputs": [_with(AGE, datatype="FP64", data=[30.5]), INCOME]},
        "'age' holds fractions",
    ),
    (
        "unknown datatype",
        "num",
        {"inputs": [_with(AGE, datatype="INT128"), INCOME]},
        "'age' datatype",
    ),
    (
        "over max rows",
        "num",
        {
            "inputs": [
                _with(AGE, shape=[MAX_ROWS + 1], data=[30] * (MAX_ROWS + 1)),
                _with(INCOME, shape=[MAX_ROWS + 1], data=[1.0] * (MAX_ROWS + 1)),
            ]
        },
        "at most 100",
    ),
    ("unknown output", "num", {"inputs": [AGE, INCOME], "outputs": [{"name": "proba"}]}, "proba"),
    (
        "output twice",
        "num",
        {"inputs": [AGE, INCOME], "outputs": [{"name": "predict"}] * 2},
        "'predict' is requested twice",
    ),
    (
        "classification",
        "num",
        {
            "inputs": [AGE, INCOME],
            "outputs": [{"name": "predict", "parameters": {"classification": 2}}],
        },
        "classification",
    ),
    (
        "output params not object",
        "num",
        {"inputs": [AGE, INCOME], "outputs": [{"name": "predict", "parameters": []}]},
        "outputs[0].parameters",
    ),
    (
        "binary_data not bool",
        "num",
        {
            "inputs": [AGE, INCOME],
            "outputs": [{"name": "predict", "parameters": {"binary_data": "yes"}}],
        },
        "binary_data must be true or false",
    ),
    (
        "request params not object",
        "num",
        {"inputs": [AGE, INCOME], "parameters": "fast"},
        "parameters must be an object",
    ),
    (
        "binary_data_output not bool",
        "num",
        {"inputs": [AGE, INCOME], "parameters": {"binary_data_output": 1}},
        "binary_data_output",
    ),
    (
        "input params not object",
        "num",
        {"inputs": [_with(AGE, parameters=[1]), INCOME]},
        "'age'.parameters",
    ),
    ("id not text", "num", {"inputs": [AGE, INCOME], "id": 7}, "id must be a string"),
]


def _binary_body(
    tensors: list[tuple[dict[str, Any], bytes]], extra: bytes = b""
) -> tuple[bytes, int]:
    head = orjson.dumps(
        {"inputs": [{**t, "parameters": {"binary_data_size": len(raw)}} for t, raw in tensors]}
    )
    return head + b"".join(raw for _, raw in tensors) + extra, len(head)


def _meta(name: str, datatype: str, shape: list[int]) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape}


I64 = struct.pack("<q", 30)
F64 = struct.pack("<d", 55.5)
BINARY_CASES: list[tuple[str, list[tuple[dict[str, Any], bytes]], bytes, str]] = [
    (
        "duplicate",
        [(_meta("age", "INT64", [1]), I64)] * 2 + [(_meta("income", "FP64", [1]), F64)],
        b"",
        "'age' is given twice",
    ),
    (
        "unknown",
        [
            (_meta("age", "INT64", [1]), I64),
            (_meta("income", "FP64", [1]), F64),
            (_meta("zz", "FP64", [1]), F64),
        ],
        b"",
        "no input 'zz'",
    ),
    (
        "short data",
        [(_meta("age", "INT64", [2]), I64), (_meta("income", "FP64", [1]), F64)],
        b"",
        "'age': 8 bytes for 2 INT64",
    ),
    (
        "bytes for number",
        [
            (_meta("age", "BYTES", [1]), struct.pack("<I", 2) + b"30"),
            (_meta("income", "FP64", [1]), F64),
        ],
        b"",
        "'age' has datatype BYTES",
    ),
    (
        "trailing bytes",
        [(_meta("age", "INT64", [1]), I64), (_meta("income", "FP64", [1]), F64)],
        b"\x00" * 8,
        "belong to no input",
    ),
]

INVOCATION_CASES: list[tuple[str, bytes, str, str]] = [
    (
        "unknown column",
        orjson.dumps({"dataframe_records": [{"age": 1, "income": 2.0, "zz": 1}]}),
        "application/json",
        "no column 'zz'",
    ),
    (
        "column twice",
        orjson.dumps(
            {"dataframe_split": {"columns": ["age", "age", "income"], "data": [[1, 2, 3.0]]}}
        ),
        "application/json",
        "'age' is given twice",
    ),
    (
        "columns not names",
        orjson.dumps({"dataframe_split": {"columns": [1, 2], "data": [[1, 2.0]]}}),
        "application/json",
        "columns must be a list of names",
    ),
    (
        "unknown key",
        orjson.dumps({"inputs": [[1, 2.0]], "extra": 1}),
        "application/json",
        "unknown key 'extra'",
    ),
    (
        "params",
        orjson.dumps({"inputs": [[1, 2.0]], "params": {"k": 1}}),
        "application/json",
        "take no params",
    ),
    (
        "two payloads",
        orjson.dumps({"inputs": [[1, 2.0]], "instances": [[1, 2.0]]}),
        "application/json",
        "exactly one of",
    ),
    ("csv unknown column", b"age,income,zz\n1,2.0,3\n", "text/csv", "no column 'zz'"),
    ("csv column twice", b"age,age,income\n1,1,2.0\n", "text/csv", "no column 'age.1'"),
    (
        "over max rows",
        orjson.dumps({"inputs": [[1, 2.0]] * (MAX_ROWS + 1)}),
        "application/json",
        "at most 100",
    ),
]


def _healthy(http: httpx.Client) -> None:
    """The server still answers a good request, right."""
    assert http.get("/v2/health/ready").status_code == 200
    good = http.post("/v2/models/num/infer", json={"inputs": [AGE, INCOME]})
    assert good.status_code == 200, good.text
    assert good.json()["outputs"][0]["data"] == [1]
    good = http.post(
        "/invocations?model=num", json={"dataframe_records": [{"age": 30, "income": 55.5}]}
    )
    assert good.status_code == 200 and good.json() == {"predictions": [1]}, good.text


def _refused(got: httpx.Response, message: str) -> None:
    assert got.status_code == 400, got.text
    assert message in got.json()["error"], got.json()
    assert "Traceback" not in got.text


@pytest.mark.parametrize(
    ("model", "body", "message"), [c[1:] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES]
)
def test_json_requests_that_do_not_fit_are_refused(
    server: Running, model: str, body: dict[str, Any], message: str
) -> None:
    with httpx.Client(base_url=server.url) as http:
        _refused(http.post(f"/v2/models/{model}/infer", json=body), message)
        _healthy(http)


@pytest.mark.parametrize(
    ("tensors", "extra", "message"),
    [c[1:] for c in BINARY_CASES],
    ids=[c[0] for c in BINARY_CASES],
)
def test_binary_requests_that_do_not_fit_are_refused(
    server: Running, tensors: list[tuple[dict[str, Any], bytes]], extra: bytes, message: str
) -> None:
    body, head = _binary_body(tensors, extra)
    with httpx.Client(base_url=server.url) as http:
        got = http.post(
            "/v2/models/num/infer",
            content=body,
            headers={HEADER: str(head), "Content-Type": "application/octet-stream"},
        )
        _refused(got, message)
        _healthy(http)


def test_binary_data_beside_json_data_is_refused(server: Running) -> None:
    head = orjson.dumps({"inputs": [{**AGE, "parameters": {"binary_data_size": 8}}, INCOME]})
    with httpx.Client(base_url=server.url) as http:
        got = http.post(
            "/v2/models/num/infer", content=head + I64, headers={HEADER: str(len(head))}
        )
        _refused(got, "'age' has both data and binary_data_size")


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [c[1:] for c in INVOCATION_CASES],
    ids=[c[0] for c in INVOCATION_CASES],
)
def test_invocations_that_do_not_fit_are_refused(
    server: Running, body: bytes, content_type: str, message: str
) -> None:
    with httpx.Client(base_url=server.url) as http:
        got = http.post(
            "/invocations?model=num", content=body, headers={"Content-Type": content_type}
        )
        _refused(got, message)
        _healthy(http)


def test_wrong_methods_name_the_allowed_one(server: Running) -> None:
    with httpx.Client(base_url=server.url) as http:
        got = http.get("/v2/models/num/infer")
        assert got.status_code == 405 and got.headers["allow"] == "POST"
        got = http.post("/v2/models/num")
        assert got.status_code == 405 and got.headers["allow"] == "GET"
