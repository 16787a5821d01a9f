"""The payloads MLflow's scoring server takes at ``/invocations``, so its clients work unchanged.

JSON with one of ``dataframe_split`` (``{"columns": [...], "data": [[...]]}``),
``dataframe_records`` (a list of row objects), ``instances`` or ``inputs`` (a list of rows,
a list of row objects, or an object of columns); or CSV with a header row. The answer is
``{"predictions": [...]}`` as MLflow gives it.

Nothing is dropped silently: a column the model does not have, a column named twice, a key
beside the payload other than an empty ``params``, are each a 400 naming it.
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


def _checked_columns(frame: Any, model: ServedModel) -> Any:
    """The frame, once every column is one the model has, named once."""
    names = set(model.column_names)
    seen: set[str] = set()
    for col in frame.columns:
        label = str(col)
        if label in seen:
            raise InvalidArgument(f"column {label!r} is given twice", field=label)
        seen.add(label)
        if label not in names:
            raise InvalidArgument(
                f"model {model.name!r} has no column {label!r}; its columns are "
                f"{', '.join(model.column_names)}",
                field=label,
            )
    return frame


def _frame_from(value: Any, model: ServedModel, key: str) -> Any:
    import pandas as pd

    names = [c.name for c in model.columns]
    try:
        if key == "dataframe_split":
            if not isinstance(value, dict) or not isinstance(value.get("data"), list):
                raise InvalidArgument(
                    "dataframe_split must be an object with data (and columns)", field=key
                )
            columns = value.get("columns")
            if columns is not None and not (
                isinstance(columns, list) and all(isinstance(c, str) for c in columns)
            ):
                raise InvalidArgument("dataframe_split.columns must be a list of names", field=key)
            return pd.DataFrame(value["data"], columns=columns or names or None)
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
        if model.columns:  # (pandas renames a repeated header 'a' to 'a.1': refused too)
            _checked_columns(frame, model)
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
    extra = sorted(k for k in doc if k != key and not (k == "params" and doc[k] in (None, {})))
    if extra:
        raise InvalidArgument(
            f"unknown key {extra[0]!r} beside {key}"
            + ("; the served models take no params" if extra[0] == "params" else ""),
            field=extra[0],
        )
    value = doc[key]
    if model.columns:
        frame = _checked_columns(_frame_from(value, model, key), model)
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
