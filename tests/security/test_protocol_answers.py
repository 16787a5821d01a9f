"""What the inference server answers to good requests: every datatype it takes (JSON flat,
JSON nested as the shape, binary), text as BYTES for a string column and for a string tensor,
one [rows, columns] tensor, every /invocations payload and CSV, each compared with what the
model answers when called directly in-process. The strictness added for bad requests must
not cost a good one its answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from tests.fixtures.protocol import HEADER, as_json, bytes_elements, meta, save_models, start
from tests.fixtures.serving import Running

import modelyard as yard


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("answers")
    save_models(root)
    return root


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[Running]:
    running = start(root)
    yield running
    running.stop()


AGES, INCOMES = [30, 45], [55.5, 41.25]  # exact in FP16 too; one row of each class
NUMBERS = ["INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"]
NUMBERS += ["FP16", "FP32", "FP64"]
DTYPES = {
    "BOOL": np.bool_,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}


def _direct(root: Path, model: str, data: Any) -> list[Any]:
    """What the model answers when called directly, in-process."""
    answer: list[Any] = np.asarray(yard.models.load(root / model).predict(data)).tolist()
    return answer


def _tensor(name: str, datatype: str, values: list[Any], form: str) -> tuple[dict[str, Any], bytes]:
    """An input as JSON (flat or nested as [rows, 1]) or as binary, and its binary part."""
    if form == "binary":
        if datatype == "BYTES":
            raw = bytes_elements(*(v.encode() for v in values))
        else:
            little = np.dtype(DTYPES[datatype]).newbyteorder("<")
            raw = np.asarray(values, dtype=little).tobytes()
        return {
            **meta(name, datatype, [len(values)]),
            "parameters": {"binary_data_size": len(raw)},
        }, raw
    if form == "nested":
        return {**meta(name, datatype, [len(values), 1]), "data": [[v] for v in values]}, b""
    return {**meta(name, datatype, [len(values)]), "data": values}, b""


def _infer(
    http: httpx.Client, model: str, tensors: list[tuple[dict[str, Any], bytes]], **top: Any
) -> list[Any]:
    head = as_json({"inputs": [t for t, _ in tensors], **top})
    tail = b"".join(raw for _, raw in tensors)
    headers = {HEADER: str(len(head))} if tail else {}
    got = http.post(f"/v2/models/{model}/infer", content=head + tail, headers=headers)
    assert got.status_code == 200, got.text
    out = got.json()["outputs"][0]
    data: list[Any] = out["data"]
    assert out["shape"] == [len(data)]
    return data


FORMS = ["json", "nested", "binary"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("datatype", [*NUMBERS, "BOOL"])
def test_every_datatype_for_an_integer_column(
    server: Running, root: Path, datatype: str, form: str
) -> None:
    ages = [True, False] if datatype == "BOOL" else AGES
    with httpx.Client(base_url=server.url) as http:
        got = _infer(
            http,
            "num",
            [_tensor("age", datatype, ages, form), _tensor("income", "FP64", INCOMES, form)],
        )
    frame = pd.DataFrame({"age": np.asarray(ages, dtype=np.int64), "income": INCOMES})
    assert got == _direct(root, "num", frame) and len(set(got)) == 2


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("datatype", [*NUMBERS, "BOOL"])
def test_every_datatype_for_a_float_column(
    server: Running, root: Path, datatype: str, form: str
) -> None:
    incomes: list[Any] = INCOMES if datatype.startswith("FP") else [55, 41]
    if datatype == "BOOL":
        incomes = [True, False]
    ages = [30, 30]
    with httpx.Client(base_url=server.url) as http:
        got = _infer(
            http,
            "num",
            [_tensor("age", "INT64", ages, form), _tensor("income", datatype, incomes, form)],
        )
    frame = pd.DataFrame({"age": ages, "income": np.asarray(incomes, dtype=np.float64)})
    assert got == _direct(root, "num", frame)


@pytest.mark.parametrize("form", FORMS)
def test_text_columns_and_text_tensors_take_bytes(server: Running, root: Path, form: str) -> None:
    plans = ["pro", "basic"]
    texts = ["a good movie, far longer than any example was", "bad"]  # wider than <U12
    with httpx.Client(base_url=server.url) as http:
        got = _infer(
            http,
            "text",
            [
                _tensor("age", "INT64", AGES, form),
                _tensor("income", "FP64", INCOMES, form),
                _tensor("plan", "BYTES", plans, form),
            ],
        )
        frame = pd.DataFrame({"age": AGES, "income": INCOMES, "plan": plans})
        assert got == _direct(root, "text", frame)
        flat = "json" if form == "nested" else form  # the tensor is [-1]: no [rows, 1] form
        got = _infer(http, "words", [_tensor("text", "BYTES", texts, flat)])
        assert got == _direct(root, "words", np.array(texts)) == [1, 0]


@pytest.mark.parametrize("datatype", ["FP64", "FP32", "INT64", "UINT8"])
def test_one_matrix_tensor(server: Running, root: Path, datatype: str) -> None:
    rows = [[30, 55.5], [45, 41.25]] if datatype.startswith("FP") else [[30, 55], [45, 41]]
    tensor = {**meta("x", datatype, [2, 2]), "data": rows}
    with httpx.Client(base_url=server.url) as http:
        for model, direct in (
            ("matrix", np.array(rows, dtype=np.float64)),
            ("num", pd.DataFrame(rows, columns=["age", "income"])),
        ):
            got = _infer(http, model, [(tensor, b"")])
            assert got == _direct(root, model, direct), model


def test_colons_and_true_in_strings_are_only_text(server: Running, root: Path) -> None:
    """The slow checks run (a ':' in a string, 'true' in a string) and find nothing."""
    texts = ["key: value", "true, [false"]
    with httpx.Client(base_url=server.url) as http:
        got = _infer(http, "words", [_tensor("text", "BYTES", texts, "json")], id="req:1")
        assert got == _direct(root, "words", np.array(texts))
        params = {"binary_data": False}
        got = _infer(
            http,
            "num",
            [
                _tensor("age", "INT64", [1, 0], "json"),
                _tensor("income", "FP64", [1.0, 0.0], "json"),
            ],
            id="a:b",
            outputs=[{"name": "predict", "parameters": params}],
        )
        assert got == _direct(root, "num", pd.DataFrame({"age": [1, 0], "income": [1.0, 0.0]}))


FRAME = pd.DataFrame({"age": AGES, "income": INCOMES})
ROWS = [[a, i] for a, i in zip(AGES, INCOMES, strict=True)]
INVOCATIONS_GOOD = [
    ("dataframe_split", {"dataframe_split": {"columns": ["age", "income"], "data": ROWS}}),
    (
        "dataframe_split with index",
        {"dataframe_split": {"columns": ["age", "income"], "index": [7, 8], "data": ROWS}},
    ),
    ("dataframe_split in signature order", {"dataframe_split": {"data": ROWS}}),
    ("dataframe_records", {"dataframe_records": FRAME.to_dict(orient="records")}),
    ("instances", {"instances": ROWS}),
    ("inputs as rows", {"inputs": ROWS}),
    ("inputs as columns", {"inputs": {"age": AGES, "income": INCOMES}}),
    ("empty params", {"inputs": ROWS, "params": {}}),
]


@pytest.mark.parametrize(
    ("payload"), [p for _, p in INVOCATIONS_GOOD], ids=[i for i, _ in INVOCATIONS_GOOD]
)
def test_every_invocations_payload(server: Running, root: Path, payload: dict[str, Any]) -> None:
    with httpx.Client(base_url=server.url) as http:
        got = http.post("/invocations?model=num", json=payload)
    assert got.status_code == 200, got.text
    assert got.json()["predictions"] == _direct(root, "num", FRAME)


def test_csv_and_text_payloads(server: Running, root: Path) -> None:
    text = FRAME.assign(plan=["pro", "basic"])
    with httpx.Client(base_url=server.url) as http:
        csv = http.post(
            "/invocations?model=num",
            content=FRAME.to_csv(index=False).encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert csv.status_code == 200 and csv.json()["predictions"] == _direct(
            root, "num", FRAME
        ), csv.text
        got = http.post(
            "/invocations?model=text", json={"dataframe_records": text.to_dict(orient="records")}
        )
        assert got.status_code == 200 and got.json()["predictions"] == _direct(
            root, "text", text
        ), got.text
        got = http.post(
            "/invocations?model=text",
            content=text.to_csv(index=False).encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert got.status_code == 200 and got.json()["predictions"] == _direct(
            root, "text", text
        ), got.text
        texts = ["good movie, much longer than the examples", "awful plot"]
        got = http.post("/invocations?model=words", json={"inputs": texts})
        assert got.status_code == 200 and got.json()["predictions"] == _direct(
            root, "words", np.array(texts)
        )
        got = http.post("/invocations?model=matrix", json={"inputs": ROWS})
        assert got.json()["predictions"] == _direct(root, "matrix", np.array(ROWS))
