"""A served model's configuration in Triton's form (``GET /v2/models/{name}/config``, gRPC
``ModelConfig``), derived from its metadata so that the two never disagree.

Inputs and outputs are the metadata's, as Triton writes them: ``max_batch_size`` is the
server's row limit (``--max-rows``) and ``dims`` leave out the rows, so a column (metadata
shape ``[-1]``) has ``dims []`` (one value per row; the server takes ``[rows, 1]`` too), and
a classifier's ``predict_proba`` ``dims [classes]``. A tensor whose first dimension is fixed
(no rows) makes the model ``max_batch_size 0`` with full shapes, as in Triton. A model
served through the adaptive batcher shows ``dynamic_batching``. The JSON uses the protobuf
field names, so the gRPC answer is the same document parsed into ``inference.ModelConfig``.
"""

from __future__ import annotations

from typing import Any

from modelyard.serving.config import ServeConfig
from modelyard.serving.runtime.served import ServedModel


def _data_type(datatype: str) -> str:
    return "TYPE_STRING" if datatype == "BYTES" else f"TYPE_{datatype}"


def _tensor(meta: dict[str, Any], batched: bool) -> dict[str, Any]:
    shape = [int(d) for d in meta["shape"]]
    return {
        "name": meta["name"],
        "data_type": _data_type(meta["datatype"]),
        "dims": shape[1:] if batched else shape,
    }


def model_config(name: str, served: ServedModel, config: ServeConfig) -> dict[str, Any]:
    """Triton's ``ModelConfig`` for ``served``, answering under the endpoint ``name``."""
    meta = served.metadata()
    shapes = [t["shape"] for t in meta["inputs"] + meta["outputs"]]
    batched = bool(shapes) and all(s and s[0] == -1 for s in shapes)
    version = served.version
    policy: dict[str, Any] = (
        {"specific": {"versions": [int(version)]}}
        if version is not None and version.isdigit()
        else {"latest": {"num_versions": 1}}
    )
    parameters = {
        "runtime": {"string_value": served.loaded.runtime},
        "flavor": {"string_value": served.loaded.flavor},
    }
    if served.classes:  # predict_proba's columns, in order, as the infer answer names them
        import orjson

        classes = orjson.dumps([str(c) for c in served.classes]).decode()
        parameters["classes"] = {"string_value": classes}
    found: dict[str, Any] = {
        "name": name,
        "platform": meta["platform"],
        "backend": "modelyard",
        "version_policy": policy,
        "max_batch_size": config.max_rows if batched else 0,
        "input": [_tensor(t, batched) for t in meta["inputs"]],
        "output": [_tensor(t, batched) for t in meta["outputs"]],
        "instance_group": [{"name": name, "count": 1, "kind": "KIND_CPU"}],
        "parameters": parameters,
    }
    if served.fast:
        found["dynamic_batching"] = {
            "max_queue_delay_microseconds": int(config.max_wait_ms * 1000),
        }
        parameters["max_batch"] = {"string_value": str(config.max_batch)}
    return found
