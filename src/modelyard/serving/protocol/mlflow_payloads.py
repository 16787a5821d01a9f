"""The payloads MLflow's scoring server takes at ``/invocations``, so its clients work unchanged.

JSON with one of ``dataframe_split`` (``{"columns": [...], "data": [[...]]}``, and the
``index`` pandas writes), ``dataframe_records`` (a list of row objects), ``instances`` or
``inputs`` (a list of rows, a list of row objects, or an object of columns); or CSV with a
header row. The answer is ``{"predictions": [...]}`` as MLflow gives it.

Nothing is dropped, shifted or converted silently: a column the model does not have, a
column named twice (in JSON or in a CSV header), a key beside the payload other than an
empty ``params``, a key given twice, a row longer or shorter than the columns, true/false in
a column that is not boolean, a number in a text column, are each a 400 naming it.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import orjson

from modelyard.errors import InvalidArgument, UnsupportedMediaType
from modelyard.models.signature import ColumnSpec
from modelyard.serving.protocol import jsonbody
from modelyard.serving.runtime.served import Prepared, ServedModel

KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
METHODS = ("predict", "predict_proba")
SPLIT_KEYS = ("columns", "data", "index")  # pandas' split orient; the index is not used


def _checked_columns(frame: Any, model: ServedModel) -> Any:
    """The frame, once every column is one the model has, named once, and every cell a
    value its column takes."""
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
    for spec in model.columns:
        if spec.name in seen:
            _check_cells(frame[spec.name], spec)
    return frame


def _check_cells(values: Any, spec: ColumnSpec) -> None:
    """One value per cell, true/false only in a boolean column, text only in a text one:
    pandas would turn true into 1.0 for a float column and pass 5 on to a text one."""
    if values.dtype == bool and spec.type != "boolean":
        raise InvalidArgument(
            f"column {spec.name!r} holds true/false; the model's column is {spec.type}",
            field=spec.name,
        )
    if spec.type == "integer":
        _check_integers(values, spec.name)
    if values.dtype != object:
        return

    def wrong(v: Any) -> str | None:
        if isinstance(v, list | dict):
            return "lists or objects; a cell must be one value"
        if isinstance(v, bool) and spec.type != "boolean":
            return f"true/false; the model's column is {spec.type}"
        missing = v is None or (isinstance(v, float) and v != v)  # checked by nullable
        if spec.type == "string" and not isinstance(v, str) and not missing:
            return f"{_kind(v)}; the model's column is text"
        return None

    found = next((w for w in map(wrong, values) if w is not None), None)
    if found is not None:
        raise InvalidArgument(f"column {spec.name!r} holds {found}", field=spec.name)


_INT64 = (-(2**63), 2**63 - 1)


def _check_integers(values: Any, name: str) -> None:
    """An integer column's cells are whole numbers that fit in 64 bits (``1e20`` and ``2**64``
    would otherwise be cast to something else without a word, as the v2 path refuses)."""
    for v in values:
        if v is None or isinstance(v, bool) or (isinstance(v, float) and v != v):
            continue  # missing values: the signature's nullable decides; bools checked above
        if isinstance(v, int | np.integer):
            if not _INT64[0] <= int(v) <= _INT64[1]:
                raise InvalidArgument(
                    f"column {name!r} holds {v}, beyond a 64-bit integer", field=name
                )
        elif isinstance(v, float | np.floating):
            if v != v or v in (float("inf"), float("-inf")) or not float(v).is_integer():
                raise InvalidArgument(
                    f"column {name!r} holds {v}; the model expects integers", field=name
                )
            if not -(2.0**63) <= float(v) < 2.0**63:
                raise InvalidArgument(
                    f"column {name!r} holds {v:g}, beyond a 64-bit integer", field=name
                )


def _kind(value: Any) -> str:
    return "a number" if isinstance(value, int | float) else f"a {type(value).__name__}"


def _rows(rows: list[Any], width: int, key: str) -> None:
    """Every row a list of ``width`` values (a bare value when the model has one column):
    pandas would pad a short row with missing values and refuse a long one vaguely."""
    for i, row in enumerate(rows):
        if isinstance(row, list):
            if len(row) != width:
                raise InvalidArgument(
                    f"{key}[{i}] has {len(row)} values; the rows have {width} columns",
                    field=f"{key}[{i}]",
                )
        elif width != 1 or isinstance(row, dict):
            raise InvalidArgument(
                f"{key}[{i}] must be a list of {width} values (or every row an object)",
                field=f"{key}[{i}]",
            )


def _frame_from(value: Any, model: ServedModel, key: str) -> Any:
    import pandas as pd

    names = [c.name for c in model.columns]
    try:
        if key == "dataframe_split":
            return _split(value, names)
        if isinstance(value, dict):  # an object of columns
            return pd.DataFrame(value)
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            return pd.DataFrame(value)
        if isinstance(value, list) and names:  # rows in signature order
            _rows(value, len(names), key)
            return pd.DataFrame(value, columns=names)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"{key} does not make a table: {exc}", field=key) from exc
    raise InvalidArgument(
        f"{key} must be a list of row objects, an object of columns or a list of rows",
        field=key,
    )


def _split(value: Any, names: list[str]) -> Any:
    import pandas as pd

    key = "dataframe_split"
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise InvalidArgument(f"{key} must be an object with data (and columns)", field=key)
    unknown = [k for k in value if k not in SPLIT_KEYS]
    if unknown:
        raise InvalidArgument(
            f"unknown key {unknown[0]!r} in {key}; it takes {', '.join(SPLIT_KEYS)}",
            field=f"{key}.{unknown[0]}",
        )
    columns, rows = value.get("columns"), value["data"]
    if columns is not None and not (
        isinstance(columns, list) and all(isinstance(c, str) for c in columns)
    ):
        raise InvalidArgument(f"{key}.columns must be a list of names", field=key)
    index = value.get("index")
    if index is not None and not (isinstance(index, list) and len(index) == len(rows)):
        raise InvalidArgument(
            f"{key}.index must be a list with one entry per row of data", field=f"{key}.index"
        )
    columns = columns or names
    _rows(rows, len(columns), f"{key}.data")
    return pd.DataFrame(rows, columns=columns or None)


def _csv(body: bytes) -> Any:
    """A CSV body as a frame, checked against its own header (which pandas rewrites: a
    repeated ``a`` becomes ``a.1``, an empty name ``Unnamed: 0``, and a first row one value
    longer than the header silently becomes the index, shifting every value)."""
    import pandas as pd

    try:
        text = io.TextIOWrapper(io.BytesIO(body), encoding="utf-8-sig", newline="")
        rows = (row for row in csv.reader(text) if row)  # pandas skips blank lines too
        header = next(rows, [])
        first = next(rows, None)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"the CSV header cannot be read: {exc}", field="body") from exc
    seen: set[str] = set()
    for i, name in enumerate(header):
        if not name:
            raise InvalidArgument(f"CSV header column {i + 1} has no name", field="body")
        if name in seen:
            raise InvalidArgument(f"column {name!r} is given twice", field=name)
        seen.add(name)
    if first is not None and len(first) > len(header):
        raise InvalidArgument(
            f"the first CSV row has {len(first)} values; the header has {len(header)}",
            field="body",
        )
    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"the CSV body cannot be read: {exc}", field="body") from exc
    if [str(c) for c in frame.columns] != header:  # a header the csv module reads otherwise
        raise InvalidArgument("the CSV header cannot be read as one row of names", field="body")
    return frame


def decode_invocation(body: bytes, content_type: str, model: ServedModel) -> Prepared:
    """An MLflow-style request as something ``model.run`` takes."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/csv":
        frame = _csv(body)
        if model.columns:
            _checked_columns(frame, model)
        return Prepared(len(frame), data=frame)
    if kind not in ("application/json", ""):
        raise UnsupportedMediaType(
            f"content type {kind!r}: send application/json or text/csv", field="Content-Type"
        )
    doc = jsonbody.load(body)
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
    extra = sorted(k for k in doc if k not in (key, "params"))
    if extra:
        raise InvalidArgument(f"unknown key {extra[0]!r} beside {key}", field=extra[0])
    method = _method(doc.get("params"))
    value = doc[key]
    if model.columns:
        frame = _checked_columns(_frame_from(value, model, key), model)
        return Prepared(len(frame), data=frame, method=method)
    arr = _array(value, key, model, b"true" in body or b"false" in body)
    return Prepared(int(arr.shape[0]) if arr.ndim else 1, data=arr, method=method)


def _method(params: Any) -> str:
    """``params``: nothing, or ``{"predict_method": "predict" | "predict_proba"}``."""
    if params is None or params == {}:
        return "predict"
    if not isinstance(params, dict):
        raise InvalidArgument("params must be an object", field="params")
    unknown = sorted(k for k in params if k != "predict_method")
    if unknown:
        raise InvalidArgument(
            f"unknown param {unknown[0]!r}; the served models take predict_method",
            field=f"params.{unknown[0]}",
        )
    method = params.get("predict_method")
    if method not in METHODS:
        raise InvalidArgument(
            f"params.predict_method must be one of {', '.join(METHODS)}, not {method!r}",
            field="params.predict_method",
        )
    return str(method)


def _array(value: Any, key: str, model: ServedModel, bools: bool) -> np.ndarray[Any, Any]:
    """The payload for a model without columns: rectangular, and for a tensor signature
    holding its kind of value (numpy would read true as 1.0 beside numbers, and 5 as "5"
    beside text)."""
    try:
        arr = np.asarray(value)
    except ValueError as exc:
        raise InvalidArgument(f"{key} is not a rectangular array: {exc}", field=key) from exc
    if model.tensor is None:
        return arr
    want = np.dtype(model.tensor.dtype)
    if want.kind in "US":
        if arr.dtype.kind != want.kind or not all(
            isinstance(v, str if want.kind == "U" else bytes)
            for v in np.asarray(value, dtype=object).flat
        ):
            raise InvalidArgument(f"{key} must hold text; the model takes text", field=key)
    elif want.kind != "b" and (
        arr.dtype == bool
        or (bools and any(v is True or v is False for v in np.asarray(value, dtype=object).flat))
    ):
        raise InvalidArgument(f"{key} holds true/false; the model takes a {want} tensor", field=key)
    return arr


def encode_probabilities(classes: list[Any], proba: np.ndarray[Any, Any]) -> bytes:
    """``{"predictions": [{class: probability, ...}, ...]}``, one object per row."""
    names = [str(c) for c in classes]
    return orjson.dumps(
        {"predictions": [dict(zip(names, row, strict=True)) for row in proba.tolist()]}
    )


def encode_predictions(result: np.ndarray[Any, Any]) -> bytes:
    values = result.tolist() if result.dtype.kind not in "OUS" else [str(v) for v in result]
    return orjson.dumps({"predictions": values})
