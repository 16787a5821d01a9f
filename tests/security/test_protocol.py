"""Protocol strictness of the inference server: every request that does not fit the protocol
or the model is refused with 400 and ``field`` naming the input, key or column (JSON tensors,
binary tensors, MLflow's /invocations payloads, CSV and feedback alike), without a trace,
and the server answers a good request right after. What it answers to good requests, in
every datatype and payload, is in ``test_protocol_answers.py``."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import pytest
from tests.fixtures.protocol import (
    AGE,
    HEADER,
    INCOME,
    MAX_ROWS,
    PLAN,
    RECORD,
    as_json,
    bytes_elements,
    healthy,
    meta,
    save_models,
    start,
)
from tests.fixtures.serving import Running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("strict")
    save_models(root)
    running = start(root)
    yield running
    running.stop()


# the same request as raw text, for what a dict cannot hold (a repeated key, NaN)
A = b'{"name":"age","shape":[1],"datatype":"INT64","data":[30]}'
I = b'{"name":"income","shape":[1],"datatype":"FP64","data":[55.5]}'  # noqa: E741


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


def _v2(*inputs: dict[str, Any], **top: Any) -> bytes:
    return as_json({"inputs": list(inputs), **top})


class Refused(NamedTuple):
    id: str
    path: str  # model name for /v2, else a path
    body: bytes
    field: str | None  # what the answer's "field" must be
    message: str  # a part of the message
    status: int = 400
    headers: tuple[tuple[str, str | bytes], ...] = ()


def _num(id: str, body: bytes, field: str | None, message: str) -> Refused:
    return Refused(id, "num", body, field, message)


def _age(id: str, field_message: str, **changes: Any) -> Refused:
    return _num(id, _v2(_with(AGE, **changes), INCOME), "age", field_message)


def _income(id: str, field_message: str, **changes: Any) -> Refused:
    return _num(id, _v2(AGE, _with(INCOME, **changes)), "income", field_message)


V2_REFUSED = [
    # what the model takes
    _num("duplicate input", _v2(AGE, AGE, INCOME), "age", "'age' is given twice"),
    _num("unknown input", _v2(AGE, INCOME, _with(AGE, name="x")), "x", "no input 'x'"),
    Refused(
        "unknown beside all", "text", _v2(AGE, INCOME, PLAN, _with(PLAN, name="p2")), "p2", "p2"
    ),
    _num("missing input", _v2(AGE, _with(PLAN, name="plan")), "plan", "no input 'plan'"),
    Refused("missing required", "text", _v2(AGE, INCOME), "plan", "missing input(s) ['plan']"),
    _age("bytes for number", "'age' has datatype BYTES", datatype="BYTES", data=["30"]),
    Refused(
        "number for text",
        "text",
        _v2(AGE, INCOME, _with(PLAN, datatype="INT64", data=[1])),
        "plan",
        "'plan' has datatype INT64",
    ),
    Refused(
        "bytes holding a number",
        "text",
        _v2(AGE, INCOME, _with(PLAN, data=[5])),
        "plan",
        "BYTES data must be strings",
    ),
    _age("fraction for integer", "'age' holds fractions", datatype="FP64", data=[30.5]),
    _num(
        "over max rows",
        _v2(
            _with(AGE, shape=[MAX_ROWS + 1], data=[30] * (MAX_ROWS + 1)),
            _with(INCOME, shape=[MAX_ROWS + 1], data=[1.0] * (MAX_ROWS + 1)),
        ),
        "age",
        "at most 100",
    ),
    # 1. keys the protocol does not have, at every level
    _num("unknown top-level key", _v2(AGE, INCOME, foo=1), "foo", "unknown key 'foo'"),
    _num("inputs misspelt", as_json({"input": [AGE, INCOME]}), "input", "takes id, parameters"),
    _num(
        "unknown key in an input",
        _v2(_with(AGE, junk=1), INCOME),
        "age.junk",
        "unknown key 'junk' in input 'age'; it takes name, shape, datatype, data, parameters",
    ),
    _num(
        "contents (gRPC only)",
        _v2(_with(AGE, contents={"int64_contents": [30]}), INCOME),
        "age.contents",
        "unknown key 'contents'",
    ),
    _num(
        "unknown key in an output",
        _v2(AGE, INCOME, outputs=[{"name": "predict", "binary": True}]),
        "outputs[0].binary",
        "unknown key 'binary'",
    ),
    # 2. a key given twice: the first would be dropped without a word
    _num(
        "inputs twice",
        b'{"inputs":[' + A + b'],"inputs":[' + A + b"," + I + b"]}",
        "inputs",
        "twice",
    ),
    _num(
        "data twice in an input",
        b'{"inputs":[{"name":"age","shape":[1],"datatype":"INT64","data":[30],"data":[31]},'
        + I
        + b"]}",
        "age.data",
        "key 'data' is given twice in 'age'",
    ),
    _num(
        "name twice in an input",
        b'{"inputs":[{"name":"age","name":"x","shape":[1],"datatype":"INT64","data":[30]},'
        + I
        + b"]}",
        "age.name",
        "twice",
    ),
    _num(
        "id twice, colons in strings",
        b'{"id":"a:b","id":"c:d","inputs":[' + A + b"," + I + b"]}",
        "id",
        "twice",
    ),
    _num(
        "a flag twice in parameters",
        b'{"inputs":[' + A + b"," + I + b'],"parameters":{"binary_data_output":true,'
        b'"binary_data_output":false}}',
        "binary_data_output",
        "twice",
    ),
    # 3. true/false where numbers go
    _income("true for FP64", "true/false is only for datatype BOOL", data=[True]),
    _age("false for INT64", "true/false is only for datatype BOOL", data=[False]),
    _num(
        "true beside numbers",
        _v2(_with(AGE, shape=[2], data=[30, 31]), _with(INCOME, shape=[2], data=[55.5, True])),
        "income",
        "true/false is only for datatype BOOL",
    ),
    _age("true for FP32", "BOOL", datatype="FP32", data=[True]),
    _age("BOOL data not 0/1", "true/false (or 0/1)", datatype="BOOL", data=[0.2]),
    # 4. data that does not match its shape, flat or nested
    _age("count vs shape", "'age' data holds 1 values; its shape [2] needs 2", shape=[2]),
    _income("count vs 2-d shape", "holds 1 values; its shape [1, 3] needs 3", shape=[1, 3]),
    _age(
        "more data than shape", "holds 3 values; its shape [2] needs 2", shape=[2], data=[1, 2, 3]
    ),
    _age("nested deeper than shape", "nested as [1, 1]; its shape is [1]", data=[[30]]),
    _age(
        "nested across shape",
        "nested as [1, 2]; its shape is [2, 1]",
        shape=[2, 1],
        data=[[30, 31]],
    ),
    _age("ragged", "ragged", shape=[3], data=[[30, 31], [32]]),
    _age("ragged at depth 2", "ragged", shape=[2, 2], data=[[30, 31], 32]),
    Refused(
        "ragged text",
        "text",
        _v2(AGE, INCOME, _with(PLAN, shape=[2], data=[["pro"], "basic"])),
        "plan",
        "ragged",
    ),
    # shapes and data that are not what they should be
    _num("empty inputs", _v2(), "inputs", "non-empty list"),
    _num("inputs not a list", as_json({"inputs": {"age": [30]}}), "inputs", "non-empty list"),
    _num("input without a name", _v2(_with(AGE, name=None), INCOME), "inputs[0]", "with a name"),
    _num("input with an empty name", _v2(_with(AGE, name=""), INCOME), "inputs[0]", "with a name"),
    _age("negative shape", "non-negative integers", shape=[-1]),
    _age("shape not a list", "non-negative integers", shape="1"),
    _age("shape of true", "non-negative integers", shape=[True]),
    _age("absurd shape", "more than", shape=[1 << 20, 1 << 20]),
    _age("too many dimensions", "dimensions", shape=[1] * 40),
    _age("data not a list", "data must be a list", data=30),
    _age("no data", "got null", data=None),
    _age("null in data", "not a number", data=[None]),
    _income("text in FP64 data", "not a number", data=["55.5"]),
    _age("object in data", "not a number", data=[{"v": 30}]),
    _age("unknown datatype", "'age' datatype must be one of", datatype="INT128"),
    _age("datatype not text", "datatype must be one of", datatype=7),
    _age("INT8 out of range", "outside int8's range", datatype="INT8", data=[300]),
    _age("UINT8 negative", "outside uint8's range 0..255", datatype="UINT8", data=[-1]),
    _age("UINT16 out of range", "outside uint16's range", datatype="UINT16", data=[70000]),
    _num(
        "INT64 beyond 64 bits",
        b'{"inputs":[{"name":"age","shape":[1],"datatype":"INT64","data":[99999999999999999999]},'
        + I
        + b"]}",
        "age",
        "beyond 64 bits",
    ),
    _age("INT32 with exponent", "exponent", datatype="INT32", data=[3e1]),
    _income("FP16 overflow", "too large", datatype="FP16", data=[70000.0]),
    _income("FP32 overflow", "too large", datatype="FP32", data=[1e39]),
    # 6. bodies that are not JSON, or not a request
    _num("truncated JSON", b'{"inputs":[' + A, "body", "not valid JSON at line 1, column"),
    _num(
        "NaN",
        b'{"inputs":[' + A + b',{"name":"income","shape":[1],"datatype":"FP64","data":[NaN]}]}',
        "body",
        "NaN and Infinity are not JSON",
    ),
    _num(
        "Infinity",
        b'{"inputs":['
        + A
        + b',{"name":"income","shape":[1],"datatype":"FP64","data":[-Infinity]}]}',
        "body",
        "not valid JSON",
    ),
    _num("garbage after JSON", b'{"inputs":[' + A + b"," + I + b"]} x", "body", "not valid JSON"),
    _num("empty body", b"", "body", "not valid JSON"),
    _num("body not an object", b"[1, 2]", "body", "a JSON object"),
    _num("body on two lines", b'{"inputs":\n[' + A + b",\n}", "body", "line 3, column 1"),
    # outputs and parameters
    _num(
        "unknown output",
        _v2(AGE, INCOME, outputs=[{"name": "proba"}]),
        "outputs[0].name",
        "unknown output(s) ['proba']",
    ),
    _num(
        "unknown second output",
        _v2(AGE, INCOME, outputs=[{"name": "predict"}, {"name": "proba"}]),
        "outputs[1].name",
        "unknown output(s) ['proba']",
    ),
    _num(
        "output twice",
        _v2(AGE, INCOME, outputs=[{"name": "predict"}] * 2),
        "outputs[1]",
        "requested twice",
    ),
    _num(
        "classification",
        _v2(AGE, INCOME, outputs=[{"name": "predict", "parameters": {"classification": 2}}]),
        "outputs[0].parameters.classification",
        "not supported",
    ),
    _num("outputs not a list", _v2(AGE, INCOME, outputs={"name": "predict"}), "outputs", "a list"),
    _num(
        "output params not object",
        _v2(AGE, INCOME, outputs=[{"name": "predict", "parameters": []}]),
        "outputs[0].parameters",
        "must be an object",
    ),
    _num(
        "binary_data not bool",
        _v2(AGE, INCOME, outputs=[{"name": "predict", "parameters": {"binary_data": "yes"}}]),
        "outputs[0].parameters.binary_data",
        "must be true or false",
    ),
    _num("request params not object", _v2(AGE, INCOME, parameters="fast"), "parameters", "object"),
    _num(
        "binary_data_output not bool",
        _v2(AGE, INCOME, parameters={"binary_data_output": 1}),
        "parameters.binary_data_output",
        "true or false",
    ),
    _num(
        "input params not object",
        _v2(_with(AGE, parameters=[1]), INCOME),
        "age.parameters",
        "the parameters of input 'age' must be an object",
    ),
    _num("id not text", _v2(AGE, INCOME, id=7), "id", "id must be a string"),
    # 7. text tensors take BYTES, number tensors do not
    Refused(
        "number for a text tensor",
        "words",
        _v2({"name": "text", "shape": [1], "datatype": "INT64", "data": [1]}),
        "text",
        "takes text (BYTES)",
    ),
    Refused(
        "BYTES for a number tensor",
        "matrix",
        _v2({"name": "x", "shape": [1, 2], "datatype": "BYTES", "data": ["30", "55.5"]}),
        "x",
        "has datatype BYTES; model 'matrix' takes FP64",
    ),
]


def _binary_body(
    tensors: list[tuple[dict[str, Any], bytes]], extra: bytes = b""
) -> tuple[bytes, int]:
    head = as_json(
        {"inputs": [{**t, "parameters": {"binary_data_size": len(raw)}} for t, raw in tensors]}
    )
    return head + b"".join(raw for _, raw in tensors) + extra, len(head)


def _binary(
    model: str,
    id: str,
    tensors: list[tuple[dict[str, Any], bytes]],
    field: str,
    message: str,
    extra: bytes = b"",
) -> Refused:
    body, head = _binary_body(tensors, extra)
    return Refused(id, model, body, field, message, headers=((HEADER, str(head)),))


I64 = struct.pack("<q", 30)
F64 = struct.pack("<d", 55.5)
AGE_BIN = (meta("age", "INT64", [1]), I64)
INCOME_BIN = (meta("income", "FP64", [1]), F64)
BINARY_REFUSED = [
    _binary(
        "num",
        "binary BOOL byte 2",
        [(meta("age", "BOOL", [1]), b"\x02"), INCOME_BIN],
        "age",
        "BOOL bytes must be 0 or 1",
    ),
    _binary(
        "num", "binary duplicate", [AGE_BIN, AGE_BIN, INCOME_BIN], "age", "'age' is given twice"
    ),
    _binary(
        "num",
        "binary unknown",
        [AGE_BIN, INCOME_BIN, (meta("zz", "FP64", [1]), F64)],
        "zz",
        "no input 'zz'",
    ),
    _binary(
        "num",
        "binary short data",
        [(meta("age", "INT64", [2]), I64), INCOME_BIN],
        "age",
        "'age': 8 bytes for 2 INT64",
    ),
    _binary(
        "num",
        "binary bytes for number",
        [(meta("age", "BYTES", [1]), bytes_elements(b"30")), INCOME_BIN],
        "age",
        "'age' has datatype BYTES",
    ),
    _binary(
        "num",
        "binary trailing bytes",
        [AGE_BIN, INCOME_BIN],
        "body",
        "belong to no input",
        extra=b"\x00" * 8,
    ),
    _binary(
        "words",
        "binary text not UTF-8",
        [(meta("text", "BYTES", [1]), bytes_elements(b"\xff\xfe"))],
        "text",
        "not UTF-8",
    ),
    _binary(
        "words",
        "binary BYTES length past the end",
        [(meta("text", "BYTES", [1]), struct.pack("<I", 99) + b"ab")],
        "text",
        "runs past its data",
    ),
    Refused(
        "binary beside data",
        "num",
        as_json({"inputs": [{**AGE, "parameters": {"binary_data_size": 8}}, INCOME]}) + I64,
        "age",
        "has both data and binary_data_size",
        headers=(
            (
                HEADER,
                str(
                    len(
                        as_json(
                            {"inputs": [{**AGE, "parameters": {"binary_data_size": 8}}, INCOME]}
                        )
                    )
                ),
            ),
        ),
    ),
]


def _inv(
    id: str,
    body: bytes | dict[str, Any],
    field: str | None,
    message: str,
    *,
    model: str = "num",
    csv: bool = False,
    status: int = 400,
    kind: str = "application/json",
) -> Refused:
    raw = body if isinstance(body, bytes) else as_json(body)
    kind = "text/csv" if csv else kind
    return Refused(
        f"/invocations {id}",
        f"/invocations?model={model}",
        raw,
        field,
        message,
        status,
        (("Content-Type", kind),),
    )


INVOCATIONS_REFUSED = [
    _inv("unknown column", {"dataframe_records": [{**RECORD, "zz": 1}]}, "zz", "no column 'zz'"),
    _inv(
        "column twice",
        {"dataframe_split": {"columns": ["age", "age", "income"], "data": [[1, 2, 3.0]]}},
        "age",
        "'age' is given twice",
    ),
    _inv(
        "columns not names",
        {"dataframe_split": {"columns": [1, 2], "data": [[1, 2.0]]}},
        "dataframe_split",
        "columns must be a list of names",
    ),
    _inv("unknown key", {"inputs": [[1, 2.0]], "extra": 1}, "extra", "unknown key 'extra'"),
    _inv("params", {"inputs": [[1, 2.0]], "params": {"k": 1}}, "params.k", "predict_method"),
    _inv("two payloads", {"inputs": [[1, 2.0]], "instances": [[1, 2.0]]}, "body", "exactly one of"),
    _inv("no payload", {}, "body", "exactly one of"),
    _inv("body not an object", b"[[1, 2.0]]", "body", "must be an object"),
    _inv("over max rows", {"inputs": [[1, 2.0]] * (MAX_ROWS + 1)}, "body", "at most 100"),
    _inv(
        "unknown key in dataframe_split",
        {"dataframe_split": {"columns": ["age", "income"], "data": [[1, 2.0]], "junk": 1}},
        "dataframe_split.junk",
        "takes columns, data, index",
    ),
    _inv(
        "index of another length",
        {"dataframe_split": {"columns": ["age", "income"], "data": [[1, 2.0]], "index": [0, 1]}},
        "dataframe_split.index",
        "one entry per row",
    ),
    # 2. keys given twice
    _inv("payload twice", b'{"inputs": [[1, 2.0]], "inputs": [[3, 4.0]]}', "inputs", "twice"),
    _inv(
        "column twice in a record",
        b'{"dataframe_records": [{"age": 1, "age": 5, "income": 2.0}]}',
        "age",
        "twice",
    ),
    _inv(
        "columns twice in a split",
        b'{"dataframe_split": {"columns": ["age", "income"], "columns": ["income", "age"], '
        b'"data": [[1, 2.0]]}}',
        "columns",
        "twice",
    ),
    # 3. true/false where numbers or text go
    _inv(
        "true in a float column",
        {"dataframe_records": [{"age": 30, "income": True}]},
        "income",
        "holds true/false",
    ),
    _inv(
        "true beside numbers",
        {"dataframe_records": [RECORD, {"age": 31, "income": False}]},
        "income",
        "holds true/false",
    ),
    _inv("true in an integer column", {"inputs": [[True, 2.0]]}, "age", "holds true/false"),
    _inv(
        "true in a split",
        {"dataframe_split": {"columns": ["age", "income"], "data": [[1, True]]}},
        "income",
        "holds true/false",
    ),
    _inv(
        "true in a text column",
        {"dataframe_records": [{**RECORD, "plan": True}]},
        "plan",
        "true/false",
        model="text",
    ),
    _inv(
        "number in a text column",
        {"dataframe_records": [{**RECORD, "plan": "pro"}, {**RECORD, "plan": 5}]},
        "plan",
        "a number; the model's column is text",
        model="text",
    ),
    _inv(
        "text in a float column",
        {"dataframe_records": [{"age": 30, "income": "55.5"}]},
        "income",
        "has type string",
    ),
    _inv(
        "list in a cell", {"dataframe_records": [{"age": [30], "income": 55.5}]}, "age", "one value"
    ),
    # 4. rows that do not match the columns
    _inv(
        "ragged rows",
        {"inputs": [[1, 2.0], [3]]},
        "inputs[1]",
        "has 1 values; the rows have 2 columns",
    ),
    _inv("row too long", {"instances": [[1, 2.0, 3]]}, "instances[0]", "has 3 values"),
    _inv(
        "ragged split",
        {"dataframe_split": {"columns": ["age", "income"], "data": [[1, 2.0], [3]]}},
        "dataframe_split.data[1]",
        "has 1 values",
    ),
    _inv(
        "row objects beside rows",
        {"inputs": [[1, 2.0], {"age": 1, "income": 2.0}]},
        "inputs[1]",
        "must be a list",
    ),
    _inv(
        "columns of different lengths",
        {"inputs": {"age": [1, 2], "income": [2.0]}},
        "inputs",
        "does not make a table",
    ),
    # 6. not JSON
    _inv("truncated JSON", b'{"inputs": [[1, 2.0]', "body", "not valid JSON at line 1, column 21"),
    _inv("NaN", b'{"inputs": [[1, NaN]]}', "body", "NaN and Infinity are not JSON"),
    _inv("not JSON at all", b"age=1&income=2", "body", "not valid JSON"),
    _inv(
        "XML",
        b"<x/>",
        "Content-Type",
        "send application/json or text/csv",
        status=415,
        kind="application/xml",
    ),
    # 5. CSV
    _inv("CSV unknown column", b"age,income,zz\n1,2.0,3\n", "zz", "no column 'zz'", csv=True),
    _inv(
        "CSV column twice",
        b"age,age,income\n1,1,2.0\n",
        "age",
        "column 'age' is given twice",
        csv=True,
    ),
    _inv(
        "CSV column twice, quoted", b'"age",age,income\n1,1,2.0\n', "age", "given twice", csv=True
    ),
    _inv(
        "CSV column without a name",
        b",age,income\n1,1,2.0\n",
        "body",
        "column 1 has no name",
        csv=True,
    ),
    _inv(
        "CSV first row too long",
        b"age,income\n1,2.0,3\n",
        "body",
        "first CSV row has 3 values",
        csv=True,
    ),
    _inv(
        "CSV later row too long",
        b"age,income\n1,2.0\n1,2.0,3\n",
        "body",
        "cannot be read",
        csv=True,
    ),
    _inv(
        "CSV true in a float column",
        b"age,income\n1,True\n",
        "income",
        "holds true/false",
        csv=True,
    ),
    _inv(
        "CSV text in a float column", b"age,income\n1,abc\n", "income", "has type string", csv=True
    ),
    _inv("CSV empty", b"", "body", "cannot be read", csv=True),
    _inv("CSV not UTF-8", b"age,income\n1,\xff\n", "body", "cannot be read", csv=True),
    # tensors
    _inv(
        "numbers for a text tensor",
        {"inputs": ["good", 5]},
        "inputs",
        "must hold text",
        model="words",
    ),
    _inv(
        "true for a float tensor",
        {"inputs": [[30, True]]},
        "inputs",
        "holds true/false",
        model="matrix",
    ),
    _inv(
        "ragged tensor",
        {"inputs": [[30, 1.0], [2]]},
        "inputs",
        "not a rectangular array",
        model="matrix",
    ),
]

FEEDBACK_REFUSED = [
    Refused(
        "feedback label twice",
        "/v2/feedback",
        b'{"request_id": "r-1", "label": 1, "label": 0}',
        "label",
        "twice",
    ),
    Refused(
        "feedback not JSON",
        "/v2/feedback",
        b'{"request_id": "r-1", "label": ',
        "body",
        "not valid JSON at line 1",
    ),
]

# integers the v2 path refuses are refused on /invocations too (found by the cold review)
INTEGER_REFUSED = [
    _inv(
        f"integer column {label}",
        b'{"dataframe_records": [{"age": %s, "income": 1.0}]}' % value,
        "age",
        message,
    )
    for label, value, message in (
        ("1e20", b"1e20", "beyond a 64-bit integer"),
        ("2**64", b"18446744073709551616", "beyond a 64-bit integer"),
        ("1.5", b"1.5", "expects integers"),
    )
]

# input the signature lets through but the model itself refuses: its own words, a 400
MODEL_REFUSED = [
    Refused(
        "a category the encoder never saw",
        "text",
        _v2(AGE, INCOME, _with(PLAN, data=["zzz"])),
        "inputs",
        "the model refused the input",
    ),
    _inv(
        "a category the encoder never saw",
        {"dataframe_records": [{"age": 3, "income": 1.0, "plan": "zzz"}]},
        "inputs",
        "the model refused the input",
        model="text",
    ),
    _inv(
        "infinity in a CSV row",
        b"age,income,plan\n30,inf,pro\n",
        "inputs",
        "the model refused the input",
        model="text",
        csv=True,
    ),
]

# a request id is what the prediction log keeps and labels name later: one a label cannot
# name (1 to 128 printable ASCII characters) is refused at the edge, never cut or logged
# (found by the cold review: one such id made the model's whole log unreadable)
ODD_IDS = {
    "200 characters": "x" * 200,
    "100,000 characters": "x" * 100_000,
    "non-ASCII": "ünï",
    "a control character": "a\tb",
}
ODD_HEADERS = {
    "latin-1": "café".encode("latin-1"),
    "UTF-8": "ünï".encode(),
    "129 characters": b"x" * 129,
}
REQUEST_ID_REFUSED = [
    *(
        _num(f"body id {what}", _v2(AGE, INCOME, id=value), "id", "id must be 1 to 128 printable")
        for what, value in ODD_IDS.items()
    ),
    *(
        Refused(
            f"{where} x-request-id {what}",
            path,
            body,
            "x-request-id",
            "x-request-id must be 1 to 128 printable ASCII",
            headers=(("x-request-id", value), *kind),
        )
        for what, value in ODD_HEADERS.items()
        for where, path, body, kind in (
            ("v2", "num", _v2(AGE, INCOME), ()),
            (
                "/invocations",
                "/invocations?model=num",
                as_json({"dataframe_records": [RECORD]}),
                (("Content-Type", "application/json"),),
            ),
            ("feedback", "/v2/feedback", b'{"request_id": "r-1", "label": 1}', ()),
        )
    ),
]

# a body is read as what it says it is: JSON (or JSON and tensor bytes), never XML read as
# JSON; the binary extension's header length is a byte count (found by the cold review)
MEDIA_REFUSED = [
    *(
        Refused(
            f"{where} as {kind}",
            path,
            body,
            "Content-Type",
            f"content type {kind.split(';')[0]!r}: send application/json",
            415,
            (("Content-Type", kind),),
        )
        for kind in (
            "application/xml",
            "text/xml; charset=utf-8",
            "text/plain",
            "application/x-www-form-urlencoded",
        )
        for where, path, body in (
            ("v2", "num", _v2(AGE, INCOME)),
            ("feedback", "/v2/feedback", b'{"request_id": "r-1", "label": 1}'),
            ("repository index", "/v2/repository/index", b"{}"),
        )
    ),
    *(
        Refused(
            f"header length {value!r}",
            "num",
            _v2(AGE, INCOME),
            "Inference-Header-Content-Length",
            f"Inference-Header-Content-Length must be a non-negative integer (the length of "
            f"the JSON part in bytes), not {value!r}",
            headers=((HEADER, value),),
        )
        for value in ("-5", "1.5", "abc", "+5", "")
    ),
]

REFUSED = (
    REQUEST_ID_REFUSED
    + MEDIA_REFUSED
    + V2_REFUSED
    + BINARY_REFUSED
    + INVOCATIONS_REFUSED
    + FEEDBACK_REFUSED
    + MODEL_REFUSED
    + INTEGER_REFUSED
)


def _post(
    http: httpx.Client, case_path: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    path = case_path if case_path.startswith("/") else f"/v2/models/{case_path}/infer"
    return http.post(path, content=body, headers=headers)


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_requests_that_do_not_fit_are_refused_naming_the_field(
    server: Running, case: Refused
) -> None:
    with httpx.Client(base_url=server.url) as http:
        got = _post(http, case.path, case.body, dict(case.headers))
        assert got.status_code == case.status, got.text
        error = got.json()
        assert "Traceback" not in got.text
        assert case.message in error["error"], error
        assert error.get("field") == case.field, error
        healthy(http)


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in REFUSED]
    assert len(ids) == len(set(ids))


def test_wrong_methods_name_the_allowed_one(server: Running) -> None:
    with httpx.Client(base_url=server.url) as http:
        got = http.get("/v2/models/num/infer")
        assert got.status_code == 405 and got.headers["allow"] == "POST"
        got = http.post("/v2/models/num")
        assert got.status_code == 405 and got.headers["allow"] == "GET"


@pytest.mark.parametrize(
    ("given", "kept"),
    [("x" * 128, True), ("a b~!{}", True), ("r-1", True), ("", False)],
    ids=["128 characters", "spaces and signs", "plain", "empty: a new one"],
)
def test_a_request_id_a_label_can_name_is_kept_as_sent(
    server: Running, given: str, kept: bool
) -> None:
    with httpx.Client(base_url=server.url) as http:
        for path, body, headers in (
            ("/v2/models/num/infer", as_json({"id": given, "inputs": [AGE, INCOME]}), {}),
            ("/v2/models/num/infer", _v2(AGE, INCOME), {"x-request-id": given}),
            ("/invocations?model=num", as_json({"dataframe_records": [RECORD]}),
             {"x-request-id": given, "content-type": "application/json"}),
        ):  # fmt: skip
            got = http.post(path, content=body, headers=headers)
            assert got.status_code == 200, got.text
            answered = got.headers["x-request-id"]
            if path.startswith("/v2"):
                assert got.json()["id"] == (given if kept else answered)
            assert (answered == given) == kept or "x-request-id" not in headers
            assert len(answered) > 0


@pytest.mark.parametrize(
    "kind",
    [None, "application/json", "application/json; charset=utf-8", "application/octet-stream"],
)
def test_an_inference_body_that_says_it_is_json_or_tensor_bytes_is_taken(
    server: Running, kind: str | None
) -> None:
    """tritonclient sends no Content-Type; JSON and the binary extension's octet-stream are
    what a body may say it is."""
    headers = {} if kind is None else {"Content-Type": kind}
    with httpx.Client(base_url=server.url) as http:
        got = http.post("/v2/models/num/infer", content=_v2(AGE, INCOME), headers=headers)
        assert got.status_code == 200, got.text
        body, head = _binary_body([AGE_BIN, INCOME_BIN])
        got = http.post(
            "/v2/models/num/infer", content=body, headers={**headers, HEADER: str(head)}
        )
        assert got.status_code == 200 and got.json()["outputs"][0]["data"] == [1], got.text
