"""The Open Inference Protocol (v2) over REST: inference requests and responses as JSON, plus
the binary tensor extension that ``tritonclient.http`` uses by default.

A request body is a JSON object, optionally followed by raw tensor bytes; the header
``Inference-Header-Content-Length`` says where the JSON ends. An input with the parameter
``binary_data_size`` takes that many bytes of the binary part, in input order: fixed-size
types little-endian and row-major, ``BYTES`` as a 4-byte little-endian length before each
element. Outputs are returned as binary when the request asks (``binary_data`` on a requested
output, or ``binary_data_output`` on the request). Every malformed request is a
``ProtocolError`` naming the field: a 400, never a stack trace. As Triton does, nothing is
ignored: a name given twice, ``data`` beside ``binary_data_size``, parameters that are not an
object or a flag that is not a boolean are refused, not guessed at. What the model takes
(names, datatypes, rows) is checked by the served model (``runtime``) and the app.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from math import prod
from typing import Any

import numpy as np
import orjson

from modelyard.errors import InvalidArgument

HEADER_LENGTH = "inference-header-content-length"
MAX_ELEMENTS = 1 << 28  # a shape that asks for more is refused before anything is allocated
MAX_DIMS = 32

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


def _shape(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value
    ):
        raise ProtocolError(f"{where} shape must be a list of non-negative integers", field=where)
    if len(value) > MAX_DIMS:
        raise ProtocolError(f"{where} shape has more than {MAX_DIMS} dimensions", field=where)
    if any(d > MAX_ELEMENTS for d in value) or prod(value) > MAX_ELEMENTS:
        raise ProtocolError(
            f"{where} shape asks for more than {MAX_ELEMENTS} elements", field=where
        )
    return tuple(value)


def _decode_bytes(raw: bytes, count: int, where: str) -> np.ndarray[Any, Any]:
    if count * 4 > len(raw):  # every element has a 4-byte length: checked before allocating
        raise ProtocolError(
            f"{where}: {len(raw)} bytes cannot hold {count} BYTES elements", field=where
        )
    out = np.empty(count, dtype=object)
    offset = 0
    for i in range(count):
        if offset + 4 > len(raw):
            raise ProtocolError(f"{where}: BYTES element {i} has no length prefix", field=where)
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise ProtocolError(f"{where}: BYTES element {i} runs past its data", field=where)
        out[i] = raw[offset : offset + length]
        offset += length
    if offset != len(raw):
        raise ProtocolError(
            f"{where}: {len(raw) - offset} bytes left after {count} elements", field=where
        )
    return out


def _json_data(data: Any, dtype: Any, count: int, where: str) -> np.ndarray[Any, Any]:
    if not isinstance(data, list):
        raise ProtocolError(f"{where} data must be a list", field=where)
    try:
        if dtype.kind == "O":
            flat = np.asarray(data, dtype=object).ravel()
            if not all(isinstance(v, str) for v in flat):
                raise ValueError("BYTES data must be strings")
            flat = np.array([v.encode() for v in flat], dtype=object)
        else:
            raw = np.asarray(data).ravel()
            flat = _cast_numbers(raw, dtype) if raw.size else raw.astype(dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ProtocolError(f"{where} data does not fit its datatype: {exc}", field=where) from exc
    if flat.size != count:
        raise ProtocolError(
            f"{where} data holds {flat.size} values; its shape needs {count}", field=where
        )
    return flat


def _cast_numbers(raw: np.ndarray[Any, Any], dtype: Any) -> np.ndarray[Any, Any]:
    """JSON numbers as ``dtype``, refusing what would change a value: a fraction or an
    out-of-range number for an integer type, anything but true/false (or 0/1) for BOOL, a
    finite number that overflows a float type."""
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"values of type {raw.dtype} are not numbers")
    if dtype.kind == "b":
        if raw.dtype.kind != "b" and not np.isin(raw, (0, 1)).all():
            raise ValueError("BOOL data must be true/false (or 0/1)")
        return raw.astype(dtype)
    if dtype.kind in "iu":
        if raw.dtype.kind == "f":
            raise ValueError(f"{dtype} data must be integers, not fractions")
        info = np.iinfo(dtype)
        if raw.dtype.kind != "b" and (raw.min() < info.min or raw.max() > info.max):
            raise ValueError(f"a value is outside {dtype}'s range {info.min}..{info.max}")
        return raw.astype(dtype)
    with np.errstate(over="ignore"):
        out = raw.astype(dtype)
    if np.isinf(out).any() and not np.isinf(raw.astype(np.float64)).any():
        raise ValueError(f"a value is too large for {dtype}")
    return out


def _params(item: dict[str, Any], where: str) -> dict[str, Any]:
    found = item.get("parameters")
    if found is None:
        return {}
    if not isinstance(found, dict):
        key = f"{where}.parameters" if where else "parameters"
        raise ProtocolError(f"{key} must be an object", field=key)
    return found


def _flag(params: dict[str, Any], key: str, where: str) -> bool | None:
    value = params.get(key)
    if value is not None and not isinstance(value, bool):
        name = f"{where}.parameters.{key}" if where else f"parameters.{key}"
        raise ProtocolError(f"{name} must be true or false", field=name)
    return value


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
    try:
        doc = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"the request is not valid JSON: {exc}", field="body") from exc
    if not isinstance(doc, dict):
        raise ProtocolError("the request must be a JSON object", field="body")
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise ProtocolError("inputs must be a non-empty list", field="inputs")
    inputs, offset = [], 0
    seen: dict[str, int] = {}
    for i, item in enumerate(raw_inputs):
        where = f"inputs[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ProtocolError(f"{where} must be an object with a name", field=where)
        name = item["name"]
        if name in seen:
            raise ProtocolError(
                f"input {name!r} is given twice (inputs[{seen[name]}] and {where})", field=name
            )
        seen[name] = i
        where = f"input {name!r}"  # what every message below names
        datatype = item.get("datatype")
        dtype = DATATYPES.get(datatype) if isinstance(datatype, str) else None
        if dtype is None:
            raise ProtocolError(
                f"{where} datatype must be one of {', '.join(DATATYPES)}", field=where
            )
        shape = _shape(item.get("shape"), where)
        count = prod(shape)
        size = _params(item, where).get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise ProtocolError(f"{where} binary_data_size must be an integer", field=where)
            if "data" in item:
                raise ProtocolError(
                    f"input {name!r} has both data and binary_data_size; send one", field=name
                )
            if offset + size > len(binary):
                raise ProtocolError(
                    f"{where}: binary_data_size {size} runs past the body", field=where
                )
            chunk = binary[offset : offset + size]
            offset += size
            if dtype.kind == "O":
                flat = _decode_bytes(chunk, count, where)
            else:
                if size != count * dtype.itemsize:
                    raise ProtocolError(
                        f"{where}: {size} bytes for {count} {datatype} values "
                        f"(expected {count * dtype.itemsize})",
                        field=where,
                    )
                flat = np.frombuffer(chunk, dtype=dtype)
        else:
            flat = _json_data(item.get("data"), dtype, count, where)
        inputs.append(Tensor(name, str(datatype), shape, flat.reshape(shape)))
    if offset != len(binary):
        raise ProtocolError(
            f"{len(binary) - offset} bytes of binary data belong to no input", field="body"
        )
    outputs: dict[str, bool | None] = {}
    wanted = doc.get("outputs") or []
    if not isinstance(wanted, list):
        raise ProtocolError("outputs must be a list", field="outputs")
    for i, item in enumerate(wanted):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ProtocolError(f"outputs[{i}] must be an object with a name", field="outputs")
        if item["name"] in outputs:
            raise ProtocolError(
                f"output {item['name']!r} is requested twice", field=f"outputs[{i}]"
            )
        params = _params(item, f"outputs[{i}]")
        if "classification" in params:
            raise ProtocolError(
                f"outputs[{i}].parameters.classification is not supported",
                field=f"outputs[{i}].parameters.classification",
            )
        outputs[item["name"]] = _flag(params, "binary_data", f"outputs[{i}]")  # None: default
    request_params = _params(doc, "")
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ProtocolError("id must be a string", field="id")
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


def _binary(arr: np.ndarray[Any, Any], datatype: str) -> bytes:
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
) -> tuple[bytes, int | None]:
    """The response body and, when some output is binary, the JSON header's length."""
    items, tail = [], []
    for name, arr in outputs:
        datatype = datatype_of(arr)
        item: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(arr.shape)}
        if name in binary:
            raw = _binary(arr, datatype)
            item["parameters"] = {"binary_data_size": len(raw)}
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
