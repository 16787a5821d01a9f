"""The Open Inference Protocol's gRPC messages as the REST codec's ``InferRequest`` and back.

A ``ModelInferRequest`` becomes the same ``Tensor`` list a REST body does, through the same
checks (``codec``: datatypes, shapes, byte counts, values that would change in the cast), so
that what the model then checks (``runtime``) applies to both alike and the messages are
the same. Data comes either in ``raw_input_contents`` (one entry per input, in order; what
tritonclient sends) or in each input's typed ``contents`` (the field of its datatype only,
as many values as its shape; FP16 has none and travels raw), never both. Parameters follow
REST's rules: ``binary_data_output``/``binary_data`` must be booleans (gRPC answers raw
anyway), ``classification`` is refused, shared memory is refused (this server has none).
Outputs always go back in ``raw_output_contents``; a classifier's ``classes`` travel as a
JSON list in the ``predict_proba`` output's ``classes`` string parameter.

Messages are the classes ``tritonclient[grpc]`` ships (``service_pb2``), imported here, so
this module is imported only when the gRPC server starts.
"""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np
import orjson
from tritonclient.grpc import service_pb2 as pb

from modelyard.serving.inference import Answer
from modelyard.serving.protocol.codec import (
    DATATYPES,
    InferRequest,
    ProtocolError,
    Tensor,
    cast_values,
    checked_shape,
    client_request_id,
    datatype_of,
    tensor_bytes,
    tensor_from_bytes,
)

# the typed contents field each datatype's values go in, and its element type
CONTENTS: dict[str, tuple[str, Any]] = {
    "BOOL": ("bool_contents", np.bool_),
    "INT8": ("int_contents", np.int32),
    "INT16": ("int_contents", np.int32),
    "INT32": ("int_contents", np.int32),
    "INT64": ("int64_contents", np.int64),
    "UINT8": ("uint_contents", np.uint32),
    "UINT16": ("uint_contents", np.uint32),
    "UINT32": ("uint_contents", np.uint32),
    "UINT64": ("uint64_contents", np.uint64),
    "FP32": ("fp32_contents", np.float32),
    "FP64": ("fp64_contents", np.float64),
    "BYTES": ("bytes_contents", None),
}
SHARED_MEMORY = ("shared_memory_region", "shared_memory_byte_size", "shared_memory_offset")


def parameter_value(param: Any) -> Any:
    """An ``InferParameter`` or ``ModelRepositoryParameter`` as the Python value it holds."""
    which = param.WhichOneof("parameter_choice")
    return None if which is None else getattr(param, which)


def parameters(found: Any) -> dict[str, Any]:
    return {key: parameter_value(value) for key, value in found.items()}


def _flag(params: dict[str, Any], key: str, owner: str) -> bool | None:
    value = params.get(key)
    if value is not None and not isinstance(value, bool):
        name = f"{owner}.parameters.{key}" if owner else f"parameters.{key}"
        raise ProtocolError(f"{name} must be true or false", field=name)
    return value


def _contents(item: Any, datatype: str, shape: tuple[int, ...], name: str) -> np.ndarray[Any, Any]:
    where = f"input {name!r}"
    field, kind = CONTENTS.get(datatype, ("", None))
    given = [f.name for f, _ in item.contents.ListFields()] if item.HasField("contents") else []
    other = [f for f in given if f != field]
    if other:
        home = field or "raw_input_contents (it has no typed contents)"
        raise ProtocolError(
            f"{where} is {datatype}: its values go in {home}, not {other[0]}", field=name
        )
    count = prod(shape)
    if not field and count:
        raise ProtocolError(
            f"{where} is {datatype}, which has no typed contents: send it in raw_input_contents",
            field=name,
        )
    values = getattr(item.contents, field) if field else ()
    if len(values) != count:
        raise ProtocolError(
            f"{where} contents hold {len(values)} values; its shape {list(shape)} needs {count}",
            field=name,
        )
    if kind is None:  # BYTES: as the binary path gives them, bytes objects
        flat = np.empty(count, dtype=object)
        flat[:] = list(values)
    else:
        flat = cast_values(np.asarray(values, dtype=kind), datatype, name)
    return flat.reshape(shape)


def decode_infer(msg: Any) -> InferRequest:
    """A ``ModelInferRequest`` as the request REST would have decoded; every fault is a
    ``ProtocolError`` naming the input (or ``inputs``, ``outputs[i]``, a parameter)."""
    if not msg.inputs:
        raise ProtocolError("inputs must be a non-empty list", field="inputs")
    raw = msg.raw_input_contents
    if raw and len(raw) != len(msg.inputs):
        raise ProtocolError(
            f"raw_input_contents holds {len(raw)} tensors for {len(msg.inputs)} inputs; send "
            "one for each input, in order (or use contents for all)",
            field="raw_input_contents",
        )
    inputs: list[Tensor] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(msg.inputs):
        name = item.name
        if not name:
            raise ProtocolError(f"inputs[{i}] must have a name", field=f"inputs[{i}]")
        where = f"input {name!r}"
        if name in seen:
            raise ProtocolError(
                f"{where} is given twice (inputs[{seen[name]}] and inputs[{i}])", field=name
            )
        seen[name] = i
        if item.datatype not in DATATYPES:
            raise ProtocolError(
                f"{where} datatype must be one of {', '.join(DATATYPES)}", field=name
            )
        shape = checked_shape(list(item.shape), where, name)
        for key in item.parameters:
            if key in SHARED_MEMORY:
                raise ProtocolError(
                    f"{where} names shared memory ({key}); this server has none: send the "
                    "values in raw_input_contents or contents",
                    field=name,
                )
        if raw:
            if item.HasField("contents"):
                raise ProtocolError(
                    f"{where} has both contents and raw_input_contents; send one", field=name
                )
            data = tensor_from_bytes(raw[i], item.datatype, shape, name)
        else:
            data = _contents(item, item.datatype, shape, name)
        inputs.append(Tensor(name, item.datatype, shape, data))
    outputs: dict[str, bool | None] = {}
    for i, out in enumerate(msg.outputs):
        owner = f"outputs[{i}]"
        if not out.name:
            raise ProtocolError(f"{owner} must have a name", field=owner)
        if out.name in outputs:
            raise ProtocolError(f"output {out.name!r} is requested twice", field=owner)
        params = parameters(out.parameters)
        if "classification" in params:
            raise ProtocolError(
                f"{owner}.parameters.classification is not supported",
                field=f"{owner}.parameters.classification",
            )
        outputs[out.name] = _flag(params, "binary_data", owner)
    request_params = parameters(msg.parameters)
    _flag(request_params, "binary_data_output", "")
    return InferRequest(client_request_id(msg.id, "id"), inputs, outputs, False, request_params)


def encode_infer(model: str, version: str | None, answer: Answer) -> Any:
    """The ``ModelInferResponse``: every output raw, in the order asked."""
    response = pb.ModelInferResponse(
        model_name=model, model_version=version or "", id=answer.request_id
    )
    for name, arr in answer.outputs:
        datatype = datatype_of(arr)
        out = response.outputs.add(name=name, datatype=datatype, shape=list(arr.shape))
        if name == "predict_proba":
            out.parameters["classes"].string_param = orjson.dumps(answer.classes).decode()
        response.raw_output_contents.append(tensor_bytes(arr, datatype))
    return response


def raw_size(msg: Any) -> int:
    """About how many bytes a request holds (a large one is decoded on a thread)."""
    return sum(len(r) for r in msg.raw_input_contents) or msg.ByteSize()
