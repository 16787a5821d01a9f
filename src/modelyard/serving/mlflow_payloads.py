"""The payloads MLflow's scoring server takes at ``/invocations``, so its clients work unchanged.

JSON with one of ``dataframe_split`` (``{"columns": [...], "data": [[...]]}``),
``dataframe_records`` (a list of row objects), ``instances`` or ``inputs`` (a list of rows,
a list of row objects, or an object of columns); or CSV with a header row. The answer is
``{"predictions": [...]}`` as MLflow gives it.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import orjson

from modelyard.errors import InvalidArgument, UnsupportedMediaType
from modelyard.serving.codec import ProtocolError
from modelyard.serving.runtime import Prepared, ServedModel

KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def _frame_from(value: Any, model: ServedModel, key: str) -> Any:
    import pandas as pd

    names = [c.name for c in model.columns]
    try:
        if key == "dataframe_split":
            if not isinstance(value, dict) or not isinstance(value.get("data"), list):
                raise InvalidArgument(
                    "dataframe_split must be an object with data (and columns)", field=key
                )
            return pd.DataFrame(value["data"], columns=value.get("columns") or names or None)
        if isinstance(value, dict):  # an object of columns
            return pd.DataFrame(value)
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            return pd.DataFrame(value)
        if isinstance(value, list) and names:  # rows in signature order
            return pd.DataFrame(value, columns=names)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"{key} does not make a table: {exc}", field=key) from exc
    raise InvalidArgument(
        f"{key} must be a list of row objects, an object of columns or a list of rows",
        field=key,
    )


def decode_invocation(body: bytes, content_type: str, model: ServedModel) -> Prepared:
    """An MLflow-style request as something ``model.run`` takes."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/csv":
        import pandas as pd

        try:
            frame = pd.read_csv(io.BytesIO(body))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"the CSV body cannot be read: {exc}", field="body") from exc
        return Prepared(len(frame), data=frame)
    if kind not in ("application/json", ""):
        raise UnsupportedMediaType(
            f"content type {kind!r}: send application/json or text/csv", field="Content-Type"
        )
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"the request is not valid JSON: {exc}", field="body") from exc
    if not isinstance(doc, dict):
        raise InvalidArgument(f"the body must be an object with one of {KEYS}", field="body")
    found = [k for k in KEYS if k in doc]
    if len(found) != 1:
        raise InvalidArgument(
            f"the body must hold exactly one of {', '.join(KEYS)}; it holds "
            f"{', '.join(found) or 'none'}",
            field="body",
        )
    key = found[0]
    value = doc[key]
    if model.columns:
        frame = _frame_from(value, model, key)
        for col in frame.columns:
            values = frame[col]
            if values.dtype == object and values.map(lambda v: isinstance(v, (list, dict))).any():
                raise InvalidArgument(
                    f"column {col!r} holds lists or objects; a cell must be one value",
                    field=str(col),
                )
        return Prepared(len(frame), data=frame)
    try:
        arr = np.asarray(value)
    except ValueError as exc:
        raise InvalidArgument(f"{key} is not a rectangular array: {exc}", field=key) from exc
    return Prepared(int(arr.shape[0]) if arr.ndim else 1, data=arr)


def encode_predictions(result: np.ndarray[Any, Any]) -> bytes:
    values = result.tolist() if result.dtype.kind not in "OUS" else [str(v) for v in result]
    return orjson.dumps({"predictions": values})
