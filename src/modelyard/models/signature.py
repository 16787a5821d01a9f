"""Model signatures: what a model takes and returns, inferred from an example and enforced.

Column signatures (a DataFrame, or a list of dicts) name each column with a type and whether
it may be missing; tensor signatures (a numpy array) give a dtype and a shape, ``-1`` for the
batch dimension. ``enforce`` turns what a caller sends into exactly what the model was trained
on, or raises ``InvalidArgument`` naming the column and what was expected. Safe widening
(int into a float column, int32 into int64) is allowed; anything lossy is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelyard.errors import InvalidArgument

COLUMN_TYPES = ("integer", "float", "boolean", "string", "datetime")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    nullable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "nullable": self.nullable}


@dataclass(frozen=True)
class TensorSpec:
    dtype: str
    shape: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": list(self.shape)}


@dataclass(frozen=True)
class Signature:
    kind: str  # columns | tensor
    inputs: list[ColumnSpec] | TensorSpec
    outputs: TensorSpec | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        if isinstance(self.inputs, TensorSpec):
            inputs: Any = self.inputs.to_dict()
        else:
            inputs = [c.to_dict() for c in self.inputs]
        return {
            "kind": self.kind,
            "inputs": inputs,
            "outputs": self.outputs.to_dict() if self.outputs is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        try:
            kind = data["kind"]
            raw = data["inputs"]
            if kind == "columns":
                inputs: list[ColumnSpec] | TensorSpec = [
                    ColumnSpec(str(c["name"]), str(c["type"]), bool(c.get("nullable", False)))
                    for c in raw
                ]
            elif kind == "tensor":
                inputs = TensorSpec(str(raw["dtype"]), tuple(int(d) for d in raw["shape"]))
            else:
                raise ValueError(f"unknown signature kind {kind!r}")
            out = data.get("outputs")
            outputs = (
                TensorSpec(str(out["dtype"]), tuple(int(d) for d in out["shape"])) if out else None
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgument(
                f"model signature is malformed: {exc}", field="signature"
            ) from exc
        return cls(kind, inputs, outputs)

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.inputs] if isinstance(self.inputs, list) else []


def _column_type(dtype: Any) -> str:
    from pandas.api import types

    if types.is_bool_dtype(dtype):
        return "boolean"
    if types.is_integer_dtype(dtype):
        return "integer"
    if types.is_float_dtype(dtype):
        return "float"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


def _frame(data: Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):
        return pd.DataFrame([data])
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return pd.DataFrame(data)
    return None


def infer_signature(example: Any, output: Any = None) -> Signature:
    """The signature of an input example (DataFrame, list of dicts, or numpy array)."""
    frame = _frame(example)
    outputs = None
    if output is not None:
        arr = np.asarray(output)
        outputs = TensorSpec(str(arr.dtype), (-1, *arr.shape[1:]))
    if frame is not None:
        if frame.shape[1] == 0:
            raise InvalidArgument("the input example has no columns", field="input_example")
        cols = [
            ColumnSpec(str(name), _column_type(frame[name].dtype), bool(frame[name].isna().any()))
            for name in frame.columns
        ]
        return Signature("columns", cols, outputs)
    arr = np.asarray(example)
    if arr.dtype == object or arr.ndim == 0:
        raise InvalidArgument(
            "input_example must be a DataFrame, a list of dicts or a numeric numpy array",
            field="input_example",
        )
    return Signature("tensor", TensorSpec(str(arr.dtype), (-1, *arr.shape[1:])), outputs)


def _cast_column(values: Any, spec: ColumnSpec) -> Any:
    import pandas as pd

    got = _column_type(values.dtype)
    if not spec.nullable and values.isna().any():
        raise InvalidArgument(
            f"column {spec.name!r} has missing values; the signature does not allow them",
            field=spec.name,
        )
    if got == spec.type:
        return values
    if spec.type == "float" and got in ("integer", "boolean"):
        return values.astype("float64")
    if spec.type == "integer" and got == "float":
        present = values.dropna()
        if (present == np.floor(present)).all() and not values.isna().any():
            return values.astype("int64")
    if spec.type == "datetime" and got == "string":
        try:
            return pd.to_datetime(values)
        except (ValueError, TypeError):
            pass
    raise InvalidArgument(
        f"column {spec.name!r} has type {got}; the model expects {spec.type}", field=spec.name
    )


_KIND = {"b": "boolean", "i": "integer", "u": "integer", "f": "float"}


def columns_as_is(signature: Signature, frame: Any) -> Any:
    """The model's columns of ``frame`` when they need no cast and hold no forbidden missing
    value, else None (and ``enforce`` takes the column-by-column path, which casts or names
    the problem). The common case, checked with a few numpy operations: a single-row predict
    must not pay pandas' per-column cost."""
    import pandas as pd

    names = signature.columns
    if not isinstance(frame, pd.DataFrame) or not names:
        return None
    if list(frame.columns) == names:
        sub = frame
    elif frame.columns.is_unique and set(names) <= set(frame.columns):
        sub = frame[names]
    else:
        return None
    strict = []
    for i, (dtype, spec) in enumerate(zip(sub.dtypes, signature.inputs, strict=True)):  # type: ignore[arg-type]
        if not isinstance(dtype, np.dtype) or _KIND.get(dtype.kind) != spec.type:
            return None
        if dtype.kind == "f" and not spec.nullable:
            strict.append(i)
    if strict:
        values = sub.to_numpy() if len(strict) == len(names) else sub.iloc[:, strict].to_numpy()
        if np.isnan(values.astype(np.float64, copy=False)).any():
            return None
    return sub


def enforce(signature: Signature | None, data: Any) -> Any:
    """What ``data`` becomes before the model sees it; InvalidArgument when it does not fit."""
    if signature is None:
        return data
    if signature.kind == "columns":
        quick = columns_as_is(signature, data)
        if quick is not None:
            return quick
        frame = _frame(data)
        if frame is None:
            arr = np.asarray(data)
            names = signature.columns
            if arr.ndim == 2 and arr.shape[1] == len(names) and arr.dtype != object:
                import pandas as pd

                frame = pd.DataFrame(arr, columns=names)
            else:
                raise InvalidArgument(
                    f"expected a DataFrame or records with columns {names}", field="data"
                )
        assert isinstance(signature.inputs, list)
        missing = [c.name for c in signature.inputs if c.name not in frame.columns]
        if missing:
            raise InvalidArgument(
                f"missing column(s) {missing}; the model expects {signature.columns}",
                field=missing[0],
            )
        out = frame[signature.columns].copy()
        for spec in signature.inputs:
            out[spec.name] = _cast_column(out[spec.name], spec)
        return out
    tensor = signature.inputs
    assert isinstance(tensor, TensorSpec)
    return _enforce_tensor(tensor, data)


def _enforce_tensor(spec: TensorSpec, data: Any) -> Any:
    arr = np.asarray(data)
    want = np.dtype(spec.dtype)
    if want.kind in "US" and arr.dtype.kind == want.kind:
        pass  # text of any length: the width saved is the example's longest, not a limit
    elif arr.dtype != want:
        if not np.can_cast(arr.dtype, want, casting="safe"):
            raise InvalidArgument(
                f"input has dtype {arr.dtype}; the model expects {want}", field="data"
            )
        arr = arr.astype(want)
    if len(spec.shape) == arr.ndim + 1 and arr.shape == spec.shape[1:]:
        arr = arr[np.newaxis, ...]  # one example without its batch dimension
    if arr.ndim != len(spec.shape) or any(
        w != -1 and w != g for w, g in zip(spec.shape, arr.shape, strict=True)
    ):
        raise InvalidArgument(
            f"input has shape {tuple(arr.shape)}; the model expects {tuple(spec.shape)} "
            "(-1: any size)",
            field="data",
        )
    if want.kind == "f" and np.isnan(arr).any():
        raise InvalidArgument("input holds NaN; the signature does not allow it", field="data")
    return arr
