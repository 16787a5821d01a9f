"""The Open Inference Protocol (v2) over REST: inference requests and responses as JSON, plus
the binary tensor extension that ``tritonclient.http`` uses by default.

A request body is a JSON object, optionally followed by raw tensor bytes; the header
``Inference-Header-Content-Length`` says where the JSON ends. An input with the parameter
``binary_data_size`` takes that many bytes of the binary part, in input order: fixed-size
types little-endian and row-major, ``BYTES`` as a 4-byte little-endian length before each
element. Outputs are returned as binary when the request asks (``binary_data`` on a requested
output, or ``binary_data_output`` on the request). Every malformed request is a
``ProtocolError`` whose field names the input (or the key, or ``body``): a 400, never a stack
trace. As Triton does, nothing is ignored: a key the protocol does not have (at the top, in
an input, in an output), a key or a name given twice, ``data`` beside ``binary_data_size``,
parameters that are not an object or a flag that is not a boolean are refused, not guessed
at. JSON ``data`` is flat or nested exactly as ``shape``, and its values keep their meaning:
true/false only for BOOL, strings only for BYTES, no number changed by the cast. What the
model takes (names, datatypes, rows) is checked by the served model (``runtime``) and the
app.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod
from typing import Any

import numpy as np
import orjson

from modelyard.errors import InvalidArgument
from modelyard.monitoring.entities import is_request_id
from modelyard.serving.protocol import jsonbody

HEADER_LENGTH = "inference-header-content-length"
MAX_ELEMENTS = 1 << 28  # a shape that asks for more is refused before anything is allocated
MAX_DIMS = 32
# the keys the protocol has, at each level: anything else is refused, never ignored
REQUEST_KEYS = ("id", "parameters", "inputs", "outputs")
INPUT_KEYS = ("name", "shape", "datatype", "data", "parameters")
OUTPUT_KEYS = ("name", "parameters")

DATATYPES: dict[str, Any] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
    "BYTES": np.dtype(object),
}
_BY_KIND = {(v.kind, v.itemsize): k for k, v in DATATYPES.items() if k != "BYTES"}


class ProtocolError(InvalidArgument):
    """A request that does not follow the protocol (HTTP 400)."""


def client_request_id(value: Any, field: str) -> str | None:
    """The request id a client gave (the body's ``id``, the ``x-request-id`` header or gRPC
    metadata), or None when it gave none (or an empty one): the server makes one. An id is
    what the prediction log keeps and labels name later, so it must be one a label can name
    (1 to 128 printable ASCII characters); any other is refused, naming ``field``, never cut
    or changed."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"{field} must be a string", field=field)
    if not is_request_id(value):
        why = (
            f"it has {len(value)} characters"
            if len(value) > 128
            else "it holds a character that is not printable ASCII"
        )
        raise ProtocolError(
            f"{field} must be 1 to 128 printable ASCII characters ({why})", field=field
        )
    return value


def datatype_of(arr: np.ndarray[Any, Any]) -> str:
    """The protocol's name for a numpy dtype; strings and objects travel as BYTES."""
    if arr.dtype.kind in "OUS":
        return "BYTES"
    found = _BY_KIND.get((arr.dtype.kind, arr.dtype.itemsize))
    if found is None:
        raise ProtocolError(f"cannot send a tensor of dtype {arr.dtype}", field="outputs")
    return found


@dataclass
class Tensor:
    name: str
    datatype: str
    shape: tuple[int, ...]
    data: np.ndarray[Any, Any]


@dataclass
class InferRequest:
    """A decoded request; ``binary(name)`` says whether an output goes back as binary."""

    id: str | None
    inputs: list[Tensor]
    # requested name -> as binary (None: as the request's binary_data_output says)
    outputs: dict[str, bool | None] = field(default_factory=dict)
    binary_default: bool = False  # binary_data_output: outputs not named are binary too
    parameters: dict[str, Any] = field(default_factory=dict)

    def binary(self, name: str) -> bool:
        flag = self.outputs.get(name)
        return self.binary_default if flag is None else flag


def checked_shape(value: Any, where: str, name: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value
    ):
        raise ProtocolError(
            f"{where} shape must be a list of non-negative integers; got {value!r:.40}",
            field=name,
        )
    if len(value) > MAX_DIMS:
        raise ProtocolError(f"{where} shape has more than {MAX_DIMS} dimensions", field=name)
    if any(d > MAX_ELEMENTS for d in value) or prod(value) > MAX_ELEMENTS:
        raise ProtocolError(f"{where} shape asks for more than {MAX_ELEMENTS} elements", field=name)
    return tuple(value)


def _decode_bytes(raw: bytes, count: int, where: str, name: str) -> np.ndarray[Any, Any]:
    if count * 4 > len(raw):  # every element has a 4-byte length: checked before allocating
        raise ProtocolError(
            f"{where}: {len(raw)} bytes cannot hold {count} BYTES elements", field=name
        )
    out = np.empty(count, dtype=object)
    offset = 0
    for i in range(count):
        if offset + 4 > len(raw):
            raise ProtocolError(f"{where}: BYTES element {i} has no length prefix", field=name)
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise ProtocolError(f"{where}: BYTES element {i} runs past its data", field=name)
        out[i] = raw[offset : offset + length]
        offset += length
    if offset != len(raw):
        raise ProtocolError(
            f"{where}: {len(raw) - offset} bytes left after {count} elements", field=name
        )
    return out


def _json_data(
    data: Any, datatype: str, shape: tuple[int, ...], name: str, bools: Callable[[], bool]
) -> np.ndarray[Any, Any]:
    """JSON ``data`` as a flat array of ``datatype``: flat, or nested exactly as ``shape``;
    true/false only for BOOL, strings only for BYTES, every value unchanged by the cast."""
    where, dtype, count = f"input {name!r}", DATATYPES[datatype], prod(shape)
    if not isinstance(data, list):
        raise ProtocolError(
            f"{where} data must be a list (flat, or nested as its shape); got {_json_type(data)}",
            field=name,
        )
    text = dtype.kind == "O"
    try:
        arr = np.asarray(data, dtype=object if text else None)
    except ValueError:  # numpy: an inhomogeneous shape
        arr = None
    if arr is None or (text and any(isinstance(v, list) for v in arr.flat)):
        raise ProtocolError(
            f"{where} data is ragged: nested lists of different lengths", field=name
        )
    if arr.size != count:
        raise ProtocolError(
            f"{where} data holds {arr.size} values; its shape {list(shape)} needs {count}",
            field=name,
        )
    if arr.ndim != 1 and arr.shape != shape:
        raise ProtocolError(
            f"{where} data is nested as {list(arr.shape)}; its shape is {list(shape)}: send "
            f"the {count} values flat, or nested as the shape",
            field=name,
        )
    flat = arr.ravel()
    try:
        if text:
            if not all(isinstance(v, str) for v in flat):
                raise ValueError("BYTES data must be strings")
            return np.array([v.encode() for v in flat], dtype=object)
        if dtype.kind != "b" and (flat.dtype.kind == "b" or _mixed_bools(flat, data, bools)):
            raise ValueError("true/false is only for datatype BOOL")
        return _cast_numbers(flat, dtype, data) if flat.size else flat.astype(dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ProtocolError(
            f"{where} data does not fit its datatype {datatype}: {exc}", field=name
        ) from exc


def _mixed_bools(flat: np.ndarray[Any, Any], data: Any, bools: Callable[[], bool]) -> bool:
    """Whether numbers beside true/false were read as 1 and 0 (numpy reads [2.5, true] as
    [2.5, 1.0]): only a 0 or a 1 can have been a boolean, and only when the body says
    true or false somewhere, so most data costs two reductions and a comparison."""
    if flat.dtype.kind not in "iuf" or not flat.size:
        return False
    if flat.max() < 0 or flat.min() > 1:
        return False
    maybe = np.flatnonzero((flat == 0) | (flat == 1))
    if not maybe.size or not bools():  # the body is searched last: 60 KB take 30 us
        return False
    values = np.asarray(data, dtype=object).ravel()
    return any(values[i] is True or values[i] is False for i in maybe.tolist())


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    return "a string" if isinstance(value, str) else "a number"


def _cast_numbers(raw: np.ndarray[Any, Any], dtype: Any, data: Any) -> np.ndarray[Any, Any]:
    """JSON numbers as ``dtype``, refusing what would change a value: a fraction or an
    out-of-range number for an integer type, anything but true/false (or 0/1) for BOOL, a
    finite number that overflows a float type."""
    if raw.dtype.kind not in "biuf":
        raise ValueError(
            "a value is not a number (text, null or an object where numbers go)"
            if raw.dtype.kind in "OUS"
            else f"values of type {raw.dtype} are not numbers"
        )
    if dtype.kind == "b":
        if raw.dtype.kind != "b" and not np.isin(raw, (0, 1)).all():
            raise ValueError("BOOL data must be true/false (or 0/1)")
        return raw.astype(dtype)
    if dtype.kind in "iu":
        if raw.dtype.kind == "f":
            raw = _whole(data, dtype)
        info = np.iinfo(dtype)
        if raw.min() < info.min or raw.max() > info.max:
            raise ValueError(f"a value is outside {dtype}'s range {info.min}..{info.max}")
        return raw.astype(dtype)
    with np.errstate(over="ignore"):
        out = raw.astype(dtype)
    if np.isinf(out).any() and not np.isinf(raw.astype(np.float64)).any():
        raise ValueError(f"a value is too large for {dtype}")
    return out


def _whole(data: Any, dtype: Any) -> np.ndarray[Any, Any]:
    """Integers that numpy read as floats (one beyond int64 beside a negative one, say),
    exactly, as Python integers; a JSON number with a fraction or exponent is refused."""
    values = np.asarray(data, dtype=object).ravel()
    if not all(type(v) is int for v in values):
        raise ValueError(
            f"{dtype} data must be integers, not fractions (or numbers written with an "
            "exponent or beyond 64 bits)"
        )
    return values  # compared with the range as Python integers, then cast


def _params(item: dict[str, Any], owner: str, what: str = "") -> dict[str, Any]:
    found = item.get("parameters")
    if found is None:
        return {}
    if not isinstance(found, dict):
        key = f"{owner}.parameters" if owner else "parameters"
        label = f"the parameters of {what}" if what else key
        raise ProtocolError(f"{label} must be an object", field=key)
    return found


def _flag(params: dict[str, Any], key: str, owner: str) -> bool | None:
    value = params.get(key)
    if value is not None and not isinstance(value, bool):
        name = f"{owner}.parameters.{key}" if owner else f"parameters.{key}"
        raise ProtocolError(f"{name} must be true or false", field=name)
    return value


def _known(item: dict[str, Any], allowed: tuple[str, ...], owner: str, what: str) -> None:
    """Refuse a key the protocol does not have at this level (a typo would be ignored)."""
    for key in item:
        if key not in allowed:
            raise ProtocolError(
                f"unknown key {key!r} in {what}; it takes {', '.join(allowed)}",
                field=f"{owner}.{key}" if owner else key,
            )


def _input(
    item: Any, i: int, binary: bytes, offset: int, bools: Callable[[], bool]
) -> tuple[Tensor, int]:
    """One input and the binary offset after it."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        raise ProtocolError(f"inputs[{i}] must be an object with a name", field=f"inputs[{i}]")
    name = item["name"]
    where = f"input {name!r}"  # what every message below names; the field is the name
    _known(item, INPUT_KEYS, name, where)
    datatype = item.get("datatype")
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        raise ProtocolError(f"{where} datatype must be one of {', '.join(DATATYPES)}", field=name)
    shape = checked_shape(item.get("shape"), where, name)
    size = _params(item, name, where).get("binary_data_size")
    if size is None:
        return Tensor(
            name,
            datatype,
            shape,
            _json_data(item.get("data"), datatype, shape, name, bools).reshape(shape),
        ), offset
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ProtocolError(f"{where} binary_data_size must be an integer", field=name)
    if "data" in item:
        raise ProtocolError(f"{where} has both data and binary_data_size; send one", field=name)
    if offset + size > len(binary):
        raise ProtocolError(f"{where}: binary_data_size {size} runs past the body", field=name)
    data = tensor_from_bytes(binary[offset : offset + size], datatype, shape, name)
    return Tensor(name, datatype, shape, data), offset + size


def tensor_from_bytes(
    raw: bytes, datatype: str, shape: tuple[int, ...], name: str
) -> np.ndarray[Any, Any]:
    """An input's values from its raw bytes (the binary extension's part, or gRPC's
    ``raw_input_contents``): little-endian and row-major, BYTES with a 4-byte length before
    each element; sizes that do not add up are refused naming the input."""
    where, dtype, count = f"input {name!r}", DATATYPES[datatype], prod(shape)
    if dtype.kind == "O":
        flat = _decode_bytes(raw, count, where, name)
    else:
        if len(raw) != count * dtype.itemsize:
            raise ProtocolError(
                f"{where}: {len(raw)} bytes for {count} {datatype} values "
                f"(expected {count * dtype.itemsize})",
                field=name,
            )
        if datatype == "BOOL" and raw and max(raw) > 1:  # numpy reads any nonzero byte as true
            raise ProtocolError(f"{where}: BOOL bytes must be 0 or 1, got {max(raw)}", field=name)
        flat = np.frombuffer(raw, dtype=dtype)
    return flat.reshape(shape)


def cast_values(raw: np.ndarray[Any, Any], datatype: str, name: str) -> np.ndarray[Any, Any]:
    """Numbers (already an array) as ``datatype``, refused naming the input when a value
    would change: the JSON path's rule, for gRPC's typed ``contents``."""
    try:
        dtype = DATATYPES[datatype]
        return _cast_numbers(raw, dtype, raw) if raw.size else raw.astype(dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ProtocolError(
            f"input {name!r} data does not fit its datatype {datatype}: {exc}", field=name
        ) from exc


def _outputs(wanted: Any) -> dict[str, bool | None]:
    """Requested output name -> as binary (None: as the request's binary_data_output)."""
    if wanted is None:
        return {}
    if not isinstance(wanted, list):
        raise ProtocolError("outputs must be a list", field="outputs")
    outputs: dict[str, bool | None] = {}
    for i, item in enumerate(wanted):
        owner = f"outputs[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ProtocolError(f"{owner} must be an object with a name", field=owner)
        _known(item, OUTPUT_KEYS, owner, owner)
        if item["name"] in outputs:
            raise ProtocolError(f"output {item['name']!r} is requested twice", field=owner)
        params = _params(item, owner)
        if "classification" in params:
            raise ProtocolError(
                f"{owner}.parameters.classification is not supported",
                field=f"{owner}.parameters.classification",
            )
        outputs[item["name"]] = _flag(params, "binary_data", owner)
    return outputs


def decode_request(body: bytes, header_length: int | None) -> InferRequest:
    """Parse an inference request (JSON, or JSON plus binary tensors)."""
    if header_length is not None and not 0 < header_length <= len(body):
        raise ProtocolError(
            f"Inference-Header-Content-Length {header_length} does not fit a body of "
            f"{len(body)} bytes",
            field="Inference-Header-Content-Length",
        )
    head, binary = (
        (body, b"") if header_length is None else (body[:header_length], body[header_length:])
    )
    doc = jsonbody.load(head, named=INPUT_KEYS)
    if not isinstance(doc, dict):
        raise ProtocolError("the request must be a JSON object", field="body")
    _known(doc, REQUEST_KEYS, "", "the request")
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise ProtocolError("inputs must be a non-empty list", field="inputs")
    bools = functools.cache(lambda: b"true" in head or b"false" in head)  # asked at most once
    inputs, offset = [], 0
    seen: dict[str, int] = {}
    for i, item in enumerate(raw_inputs):
        tensor, offset = _input(item, i, binary, offset, bools)
        if tensor.name in seen:
            raise ProtocolError(
                f"input {tensor.name!r} is given twice (inputs[{seen[tensor.name]}] and "
                f"inputs[{i}])",
                field=tensor.name,
            )
        seen[tensor.name] = i
        inputs.append(tensor)
    if offset != len(binary):
        raise ProtocolError(
            f"{len(binary) - offset} bytes of binary data belong to no input", field="body"
        )
    outputs = _outputs(doc.get("outputs"))
    request_params = _params(doc, "")
    request_id = client_request_id(doc.get("id"), "id")
    return InferRequest(
        request_id,
        inputs,
        outputs,
        bool(_flag(request_params, "binary_data_output", "")),
        request_params,
    )


def _json_values(arr: np.ndarray[Any, Any]) -> list[Any]:
    flat = arr.ravel()
    if flat.dtype.kind in "OUS":
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in flat]
    values: list[Any] = flat.tolist()
    return values


def tensor_bytes(arr: np.ndarray[Any, Any], datatype: str) -> bytes:
    """An output's raw bytes (the binary extension, gRPC's ``raw_output_contents``)."""
    if datatype == "BYTES":
        parts = []
        for v in arr.ravel():
            raw = v if isinstance(v, bytes) else str(v).encode()
            parts.append(struct.pack("<I", len(raw)) + raw)
        return b"".join(parts)
    return np.ascontiguousarray(arr, dtype=DATATYPES[datatype]).tobytes()


def encode_response(
    model: str,
    version: str | None,
    request_id: str | None,
    outputs: list[tuple[str, np.ndarray[Any, Any]]],
    binary: set[str],
    parameters: dict[str, dict[str, Any]] | None = None,
) -> tuple[bytes, int | None]:
    """The response body and, when some output is binary, the JSON header's length;
    ``parameters`` adds an output's own (a classifier's ``classes``)."""
    items, tail = [], []
    for name, arr in outputs:
        datatype = datatype_of(arr)
        item: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(arr.shape)}
        if parameters and name in parameters:
            item["parameters"] = dict(parameters[name])
        if name in binary:
            raw = tensor_bytes(arr, datatype)
            item.setdefault("parameters", {})["binary_data_size"] = len(raw)
            tail.append(raw)
        else:
            item["data"] = _json_values(arr)
        items.append(item)
    doc: dict[str, Any] = {"model_name": model, "outputs": items}
    if version is not None:
        doc["model_version"] = version
    if request_id is not None:
        doc["id"] = request_id
    head = orjson.dumps(doc)
    if not tail:
        return head, None
    return head + b"".join(tail), len(head)
