"""An ONNX copy of a model, made at save time and checked against the original.

Serving runs the ONNX copy (ONNX Runtime answers one row in microseconds where a framework
takes milliseconds), so it must compute what the model computes: the copy is run on the input
example and the largest absolute difference from the model's own output is recorded. A model
that cannot be converted (an unsupported estimator, non-numeric columns, no converter
installed) is saved anyway, with the reason recorded: conversion is never fatal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelyard.models.signature import Signature, enforce

ONNX_FILE = "model.onnx"
TOLERANCE = 1e-4


def _numeric_matrix(signature: Signature, example: Any) -> np.ndarray[Any, Any] | None:
    data = enforce(signature, example)
    if signature.kind == "columns":
        if any(c.type not in ("integer", "float", "boolean") for c in signature.inputs):  # type: ignore[union-attr]
            return None
        return np.asarray(data[signature.columns], dtype=np.float32)
    arr = np.asarray(data)
    return arr.astype(np.float32) if arr.dtype.kind in "iufb" else None


def _outputs(model: Any, matrix: np.ndarray[Any, Any], frame: Any) -> list[np.ndarray[Any, Any]]:
    """What the original computes on the example, in the order the ONNX graph returns it."""
    outs = [np.asarray(model.predict(frame))]
    if hasattr(model, "predict_proba"):
        outs.append(np.asarray(model.predict_proba(frame)))
    return outs


def export_sklearn(
    model: Any, signature: Signature | None, example: Any, root: Path
) -> dict[str, Any]:
    """Write ``model.onnx`` beside a scikit-learn model; return what model.yaml records."""
    if signature is None or example is None:
        return {"status": "skipped", "reason": "no input example to convert and check with"}
    matrix = _numeric_matrix(signature, example)
    if matrix is None:
        return {"status": "skipped", "reason": "inputs are not all numeric"}
    try:
        import onnxruntime as ort
        from skl2onnx import to_onnx
    except ImportError as exc:
        return {"status": "skipped", "reason": f"converter not installed: {exc.name}"}
    try:
        graph = to_onnx(model, matrix[:1], options={"zipmap": False}, target_opset=None)
        raw = graph.SerializeToString()
        session = ort.InferenceSession(raw, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: matrix})
    except Exception as exc:  # noqa: BLE001 - any converter failure is recorded, not raised
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:500]}
    want = _outputs(model, matrix, enforce(signature, example))
    diff = 0.0
    for mine, theirs in zip(got, want, strict=False):
        a = np.asarray(mine, dtype=np.float64).reshape(len(matrix), -1)
        b = np.asarray(theirs, dtype=np.float64).reshape(len(matrix), -1)
        if a.shape != b.shape:
            return {"status": "failed", "reason": f"output shape {a.shape} differs from {b.shape}"}
        diff = max(diff, float(np.max(np.abs(a - b))) if a.size else 0.0)
    if diff > TOLERANCE:
        return {
            "status": "failed",
            "reason": f"ONNX output differs from the model's by {diff:.3g} (tolerance {TOLERANCE})",
            "max_abs_diff": diff,
        }
    (root / ONNX_FILE).write_bytes(raw)
    return {
        "status": "ok",
        "file": ONNX_FILE,
        "input": session.get_inputs()[0].name,
        "outputs": [o.name for o in session.get_outputs()],
        "max_abs_diff": diff,
        "checked_rows": len(matrix),
    }
