"""A loaded model: its spec, and predict through the ONNX copy or the framework.

``runtime="auto"`` (the default) predicts with the ONNX copy when the model has one (checked
against the framework on the input example when it was saved) and ONNX Runtime is installed;
the framework's own file is then deserialised only if ``predict_native`` is called. That is
what makes loading and one-row prediction fast, and it means a model with an ONNX copy is
served without ever unpickling or rebuilding framework objects. ``runtime="native"`` always
uses the framework; ``runtime="onnx"`` insists on the copy.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from modelyard.errors import InvalidArgument
from modelyard.models.directory import ModelFiles, ModelSpec
from modelyard.models.flavors.base import Predict, get_flavor
from modelyard.models.signature import Signature, enforce

Runtime = Literal["auto", "onnx", "native"]
RUNTIMES = ("auto", "onnx", "native")


def choose_runtime(spec: ModelSpec, runtime: str) -> Literal["onnx", "native"]:
    if runtime not in RUNTIMES:
        raise InvalidArgument(
            f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}", field="runtime"
        )
    has_copy = spec.onnx.get("status") == "ok"
    if runtime == "onnx" and not has_copy:
        raise InvalidArgument(
            f"this model has no ONNX copy: {spec.onnx.get('reason', 'not exported')}",
            field="onnx",
        )
    if runtime == "native" or not has_copy:
        return "native"
    if importlib.util.find_spec("onnxruntime") is None:
        if runtime == "onnx":
            raise InvalidArgument("runtime='onnx' needs onnxruntime installed", field="runtime")
        return "native"
    return "onnx"


@dataclass
class LoadedModel:
    spec: ModelSpec
    path: Path
    runtime: Literal["onnx", "native"] = "native"
    trusted: bool = False
    onnx_threads: int = 0  # ONNX Runtime's intra-op threads; 0: its own choice (all cores)
    _native: Predict | None = field(default=None, repr=False)
    _session: Any = field(default=None, repr=False)

    @property
    def flavor(self) -> str:
        return self.spec.flavor

    @property
    def signature(self) -> Signature | None:
        return self.spec.signature

    @property
    def files(self) -> ModelFiles:
        """The model's hashed files, the only ones any of its names may point at."""
        return ModelFiles(self.path, frozenset(self.spec.files))

    @property
    def metadata(self) -> dict[str, Any]:
        return self.spec.metadata

    @property
    def onnx(self) -> dict[str, Any]:
        """The ONNX copy's record: status, max_abs_diff on the input example, or the reason."""
        return self.spec.onnx

    def input_example(self) -> Any:
        """The input example saved with the model (a DataFrame or an array), or None."""
        name = self.spec.input_example
        if not name:
            return None
        import io
        import json

        import numpy as np
        import pandas as pd

        text = self.files.path(name, field="input_example").read_text(encoding="utf-8")
        doc = json.loads(text)
        if isinstance(doc, dict) and "dtype" in doc and "data" in doc:
            return np.asarray(doc["data"], dtype=doc["dtype"])
        return pd.read_json(io.StringIO(text), orient="split")

    def predict(self, data: Any) -> Any:
        """Predict on a DataFrame, a numpy array or a list of dicts, checked first."""
        if self.runtime == "onnx":
            return self.predict_onnx(data)
        return self.predict_native(data)

    def predict_native(self, data: Any) -> Any:
        """Predict with the framework (deserialising its file on first use)."""
        return self.native()(enforce(self.spec.signature, data))

    def native(self) -> Predict:
        """The framework's predict function, loaded (and trust-checked) on first use."""
        if self._native is None:
            flavor = get_flavor(self.spec.flavor)
            self._native = flavor.load(self.files, self.spec.flavor_options, trusted=self.trusted)
        return self._native

    @property
    def classes(self) -> list[Any] | None:
        """A classifier's classes, in the order of its probability columns; None when the
        model answers no class probabilities."""
        found = self.spec.flavor_options.get("classes")
        return list(found) if isinstance(found, list) and found else None

    def predict_proba(self, data: Any) -> Any:
        """Class probabilities: a DataFrame with one column per class, named by the class
        (as text), rows as ``predict``'s. InvalidArgument for a model without them."""
        import numpy as np
        import pandas as pd

        classes = self.classes
        if classes is None:
            raise InvalidArgument(
                f"this {self.flavor} model answers no class probabilities (not a classifier "
                "with predict_proba)",
                field="outputs",
            )
        outputs = self.spec.onnx.get("outputs") or []
        if self.runtime == "onnx" and len(outputs) > 1:
            probs = self.proba_matrix(self.onnx_matrix(data))
        else:
            native = self.native()
            proba = getattr(native, "proba", None)
            if proba is None:
                raise InvalidArgument(
                    f"this {self.flavor} model answers no class probabilities", field="outputs"
                )
            probs = np.asarray(proba(enforce(self.spec.signature, data)), dtype=np.float64)
        return pd.DataFrame(probs, columns=[str(c) for c in classes])

    def proba_matrix(self, matrix: Any) -> Any:
        """The ONNX copy's probabilities for a checked float32 matrix: [rows, classes]."""
        import numpy as np

        record = self.spec.onnx
        out = self.session().run([record["outputs"][1]], {str(record["input"]): matrix})[0]
        return np.asarray(out, dtype=np.float64).reshape(len(matrix), -1)

    def onnx_matrix(self, data: Any) -> Any:
        """``data`` as the float32 matrix the ONNX copy takes."""
        from modelyard.models.onnx_export import numeric_matrix

        if self.spec.signature is None:
            raise InvalidArgument("the ONNX copy needs the model's signature", field="signature")
        matrix = numeric_matrix(self.spec.signature, data)
        if matrix is None:
            raise InvalidArgument("the ONNX copy takes numeric inputs only", field="data")
        return matrix

    def predict_onnx(self, data: Any) -> Any:
        """Predict with the ONNX copy (what serving runs): labels for a classifier, values
        for a regressor, shaped as the framework shapes them."""
        from modelyard.models.onnx_export import restore_label

        record = self.spec.onnx
        if record.get("status") != "ok":
            raise InvalidArgument(
                f"this model has no ONNX copy: {record.get('reason', 'not exported')}",
                field="onnx",
            )
        matrix = self.onnx_matrix(data)
        session = self.session()
        first = record.get("outputs", [None])[0]
        out = session.run([first] if first else None, {str(record["input"]): matrix})[0]
        return restore_label(out, record)

    def session(self) -> Any:
        """The ONNX Runtime session over the copy, made on first use."""
        if self._session is None:
            import onnxruntime as ort

            from modelyard.models.onnx_export import quiet_session

            path = self.files.path(self.spec.onnx.get("file"), field="onnx.file")
            try:
                self._session = ort.InferenceSession(
                    str(path), quiet_session(self.onnx_threads), providers=["CPUExecutionProvider"]
                )
            except Exception as exc:  # noqa: BLE001 - ONNX Runtime's errors share no base class
                raise InvalidArgument(
                    f"the ONNX copy {path.name} does not load: {exc}"[:1000], field="onnx.file"
                ) from None
        return self._session
