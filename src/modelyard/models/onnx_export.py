"""An ONNX copy of a model, made at save time and checked against the original.

Serving runs the ONNX copy (ONNX Runtime answers one row in microseconds where a framework
takes milliseconds), so it must compute what the model computes: the copy is run on the input
example and compared with the model's own output: labels must be equal, numbers within
``TOLERANCE`` (the largest absolute difference is recorded). A model that cannot be converted
(an unsupported estimator, non-numeric columns, no converter installed) is saved anyway, with
the reason recorded: conversion is never fatal.

Each flavor brings only a converter, a function from the example matrix to the serialised
graph; finding the example, running the check and writing the file are shared here.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.models.signature import Signature, enforce

ONNX_FILE = "model.onnx"
TOLERANCE = 1e-4

Matrix = np.ndarray[Any, Any]
Convert = Callable[[Any, Matrix], bytes]  # (model, float32 example matrix) -> ONNX bytes
Native = Callable[[Any, Any], list[Matrix]]  # (model, checked example) -> outputs to match


def numeric_matrix(signature: Signature, data: Any) -> Matrix | None:
    """The float32 matrix ONNX graphs take, or None when an input is not numeric."""
    checked = enforce(signature, data)
    if signature.kind == "columns":
        if any(c.type not in ("integer", "float", "boolean") for c in signature.inputs):  # type: ignore[union-attr]
            return None
        matrix: Matrix = checked.to_numpy(dtype=np.float32)  # the model's columns, in order
        return matrix
    arr = np.asarray(checked)
    return arr.astype(np.float32) if arr.dtype.kind in "iufb" else None


def native_outputs(model: Any, data: Any) -> list[Matrix]:
    """What the original computes, in the order converted graphs return it: labels (or
    values), then class probabilities for classifiers."""
    outs = [np.asarray(model.predict(data))]
    if hasattr(model, "predict_proba"):
        outs.append(np.asarray(model.predict_proba(data)))
    return outs


def _compare(got: list[Matrix], want: list[Matrix], rows: int) -> tuple[float, str | None]:
    diff = 0.0
    for mine, theirs in zip(got, want, strict=False):
        a, b = np.asarray(mine), np.asarray(theirs)
        if a.dtype.kind not in "iufb" or b.dtype.kind not in "iufb":  # string class labels
            if a.size != b.size or not np.array_equal(a.ravel().astype(str), b.ravel().astype(str)):
                return diff, "ONNX labels differ from the model's"
            continue
        a64 = a.astype(np.float64).reshape(rows, -1)
        b64 = b.astype(np.float64).reshape(rows, -1)
        if a64.shape != b64.shape:
            return diff, f"output shape {a64.shape} differs from {b64.shape}"
        diff = max(diff, float(np.max(np.abs(a64 - b64))) if a64.size else 0.0)
    if diff > TOLERANCE:
        return diff, f"ONNX output differs from the model's by {diff:.3g} (tolerance {TOLERANCE})"
    return diff, None


def export_checked(
    model: Any,
    signature: Signature | None,
    example: Any,
    root: Path,
    convert: Convert,
    needs: tuple[str, ...],
    native: Native = native_outputs,
) -> dict[str, Any]:
    """Convert ``model`` with ``convert``, check the copy on ``example`` and write
    ``model.onnx`` under ``root``; return what model.yaml records either way."""
    if signature is None or example is None:
        return {"status": "skipped", "reason": "no input example to convert and check with"}
    matrix = numeric_matrix(signature, example)
    if matrix is None:
        return {"status": "skipped", "reason": "inputs are not all numeric"}
    try:
        for module in ("onnxruntime", *needs):
            importlib.import_module(module)
    except ImportError as exc:
        return {"status": "skipped", "reason": f"converter not installed: {exc.name}"}
    import onnxruntime as ort

    try:
        raw = convert(model, matrix)
        session = ort.InferenceSession(raw, quiet_session(), providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: matrix})
        want = native(model, enforce(signature, example))
    except Exception as exc:  # noqa: BLE001 - any converter failure is recorded, not raised
        text = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(exc).__name__}: {exc}")  # no colours
        return {"status": "failed", "reason": text[:500]}
    diff, problem = _compare(got, want, len(matrix))
    if problem is not None:
        return {"status": "failed", "reason": problem, "max_abs_diff": diff}
    (root / ONNX_FILE).write_bytes(raw)
    return {
        "status": "ok",
        "file": ONNX_FILE,
        "input": session.get_inputs()[0].name,
        "outputs": [o.name for o in session.get_outputs()],
        "label_ndim": int(want[0].ndim),  # the shape and type predict() returns, restored
        "label_dtype": str(want[0].dtype),  # when the copy answers
        "max_abs_diff": diff,
        "checked_rows": len(matrix),
    }


def export_covered(
    model: Any,
    signature: Signature | None,
    example: Any,
    root: Path,
    convert: Convert,
    covered: tuple[str, ...],
) -> dict[str, Any]:
    """``export_checked`` with onnxmltools for the model classes its converter covers."""
    if type(model).__name__ not in covered:
        return {"status": "skipped", "reason": f"ONNX export covers {' and '.join(covered)}"}
    return export_checked(model, signature, example, root, convert, ("onnxmltools",))


def float_input(matrix: Matrix) -> list[tuple[str, Any]]:
    """onnxmltools' description of the graph's input: float rows of the example's width."""
    from onnxmltools.convert.common.data_types import FloatTensorType

    return [("input", FloatTensorType([None, int(matrix.shape[1])]))]


def quiet_session(threads: int = 0) -> Any:
    """ONNX Runtime session options that log errors only (converters declare label shapes
    that ORT warns about on every run); ``threads`` 0 lets ORT choose."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    return options


def restore_label(out: Matrix, record: dict[str, Any]) -> Matrix:
    """Shape and type the copy's first output as the framework's predict returns it."""
    if int(record.get("label_ndim", 1)) == 1 and out.ndim == 2 and out.shape[1] == 1:
        out = out.reshape(-1)
    want = np.dtype(str(record.get("label_dtype", out.dtype)))
    if want.kind in "US":
        return out.astype(str)
    if want.kind in "iufb" and out.dtype != want:
        return out.astype(want)
    return out


def convert_sklearn(model: Any, matrix: Matrix) -> bytes:
    from skl2onnx import to_onnx
    from sklearn.base import is_classifier

    options = {"zipmap": False} if is_classifier(model) else None
    graph = to_onnx(model, matrix[:1], options=options, target_opset=None)
    return graph.SerializeToString()  # type: ignore[no-any-return]
