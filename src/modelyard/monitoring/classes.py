"""Class labels compared by value, whatever dtype each side arrived in.

Labels arrive as floats whenever some rows are unlabelled (pandas turns an int column with
missing values into float64), as strings over JSON or CSV, as bools, as categoricals; the
model's predictions arrive as whatever it returns. Each value is mapped to one canonical
string key, and the metrics compare those keys:

- numbers (int, float, bool, Decimal, numpy scalars) are one class when they are equal:
  ``1``, ``1.0``, ``np.int8(1)``, ``True`` and ``Decimal("1")`` have the key ``"1"``
  (integral numbers without a fraction, others as ``repr(float)``);
- text is its own key, compared as text: ``"01"`` and ``"1"`` are two classes, as are
  ``"1.0"`` and ``"1"``; a number and a text are one class when the text is how the key
  writes the number (``1`` and ``"1"``), never by parsing the text, so two distinct codes
  never merge;
- a category is its value.

``class_order`` orders keys by value, wherever a "larger" class is chosen: numbers (and text
that reads as a number) numerically, then other text; ties by the text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
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
        return value.decode("utf-8", "replace")
    return str(value)


def class_keys(values: Any) -> Array:
    """``class_key`` of each value, as an array of str (a Series, array or list); numeric
    arrays take a vectorised path with the same answers (no Python call per value)."""
    arr = np.asarray(values) if not isinstance(values, list) else np.asarray(values, dtype=object)
    if arr.dtype.kind == "b":
        return arr.astype(np.int8).astype(str)
    if arr.dtype.kind in "iuU":
        return arr.astype(str)
    if (
        arr.dtype.kind == "f"
        and np.isfinite(arr).all()
        and (np.abs(arr) < 2.0**53).all()
        and (arr == np.round(arr)).all()
    ):
        return arr.astype(np.int64).astype(str)
    return np.array([class_key(v) for v in list(values)], dtype=object).astype(str)


def class_order(key: Any) -> tuple[int, float, str]:
    """A sort key that orders classes by value: numbers numerically (10 after 5, "10" after
    "5"), then text; a key or a raw label."""
    text = class_key(key)
    try:
        number = float(text)
    except ValueError:
        return (1, 0.0, text)
    return (0, number, text) if not math.isnan(number) else (1, 0.0, text)


def larger_class(keys: Iterable[Any]) -> Any:
    """The larger of the classes by value (``class_order``): the default positive class."""
    return max(keys, key=class_order)


def named_class(name: str, seen: Iterable[str]) -> str:
    """The class key of a name written with ``str(class)`` (a ``probability.<class>`` column
    of the prediction log): the name itself when it is a class seen, else the number or bool
    it writes when that is one (``"1.0"`` or ``"True"`` for the class ``1``)."""
    known = set(seen)
    if name in known:
        return name
    if name in ("True", "False"):
        return "1" if name == "True" else "0"
    try:
        number = float(name)
    except ValueError:
        return name
    key = _number_key(number) if math.isfinite(number) else name
    return key if key in known else name
