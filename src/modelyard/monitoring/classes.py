"""Class labels compared by value, whatever dtype each side arrived in.

Labels arrive as floats whenever some rows are unlabelled (pandas turns an int column with
missing values into float64), as strings over JSON or CSV, as bools, as categoricals; the
model's predictions arrive as whatever it returns. Two values are one class when they are the
same value: ``1``, ``1.0``, ``np.int8(1)``, ``True``, ``Decimal("1")`` and the strings
``"1"`` and ``"True"`` are one class; ``"cat"`` is another; a category is its value. Each
value is mapped to one canonical string key (numbers by value, integral ones without a
fraction), and the metrics compare those keys.
"""

from __future__ import annotations

import math
from decimal import Decimal
from numbers import Number
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]


def _number_key(value: float) -> str:
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(float(value))


def class_key(value: Any) -> str:
    """The canonical key of one class label (missing values are filtered out before)."""
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, Number | Decimal) and not isinstance(value, complex):
        return _number_key(float(value))  # type: ignore[arg-type]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)
    stripped = text.strip()
    if stripped.lower() in ("true", "false"):  # a bool class as text (CSV, a column name)
        return "1" if stripped.lower() == "true" else "0"
    try:
        number = float(stripped)
    except ValueError:
        return text
    return _number_key(number) if stripped and math.isfinite(number) else text


def class_keys(values: Any) -> Array:
    """``class_key`` of each value, as an array of str (a Series, array or list); numeric
    arrays take a vectorised path with the same answers (no Python call per value)."""
    arr = np.asarray(values) if not isinstance(values, list) else np.asarray(values, dtype=object)
    if arr.dtype.kind == "b":
        return arr.astype(np.int8).astype(str)
    if arr.dtype.kind in "iu":
        return arr.astype(str)
    if (
        arr.dtype.kind == "f"
        and np.isfinite(arr).all()
        and (np.abs(arr) < 2.0**53).all()
        and (arr == np.round(arr)).all()
    ):
        return arr.astype(np.int64).astype(str)
    return np.array([class_key(v) for v in list(values)], dtype=object).astype(str)
