"""A model being served: how protocol tensors and MLflow payloads become the model's input.

Two paths. The fast one: the model has an ONNX copy and every input is numeric, so the
request becomes one float32 matrix in signature order (checked with numpy: names, lengths,
missing values) and goes to ONNX Runtime, through the batcher, with no pandas on the way.
Everything else (string columns, a model without an ONNX copy, a tensor signature) becomes a
DataFrame or an array for ``LoadedModel.predict``, which checks it against the signature.
Either way a request that does not fit is an ``InvalidArgument`` naming the input: an input
the model does not have, a missing one, or a datatype its column does not take (``TAKES``:
numbers for number columns, whole numbers checked for integer ones, BYTES for text). A tensor
signature takes BYTES when it holds text (numpy ``<U``, as text of any length) and a datatype
that converts without loss when it holds numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelyard.errors import InvalidArgument
from modelyard.models.loaded import LoadedModel
from modelyard.models.signature import ColumnSpec, TensorSpec
from modelyard.serving.protocol.codec import Tensor
from modelyard.serving.runtime.batching import Batcher
from modelyard.serving.runtime.stats import ModelStats

NUMERIC = ("integer", "float", "boolean")
# protocol datatypes a column of each signature type takes on the fast path
_FAST_KINDS = {"float": "biuf", "integer": "biu", "boolean": "b"}
_OIP_TYPES = {"integer": "INT64", "float": "FP64", "boolean": "BOOL"}
_INTS = frozenset({"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"})
_NUMBERS = _INTS | {"FP16", "FP32", "FP64", "BOOL"}
# the protocol datatypes a column of each signature type takes
TAKES: dict[str, frozenset[str]] = {
    "float": _NUMBERS,
    "integer": _NUMBERS,  # a float or BOOL tensor only with whole numbers (checked)
    "boolean": _INTS | {"BOOL"},
    "string": frozenset({"BYTES"}),
    "datetime": frozenset({"BYTES"}),
}


@contextmanager
def refused_by_the_model() -> Iterator[None]:
    """Input the signature let through but the model itself refuses (a category its encoder
    never saw, an infinity, text where it wants numbers): a 400 with the model's own words,
    not a 500. Frameworks say so with ValueError or TypeError."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        text = " ".join(str(exc).split())[:500] or type(exc).__name__
        raise InvalidArgument(f"the model refused the input: {text}", field="inputs") from None


@dataclass
class Prepared:
    """A request ready to run: ``matrix`` for the fast path, else ``data`` for predict."""

    rows: int
    matrix: np.ndarray[Any, Any] | None = None
    data: Any = None
    method: str = "predict"  # what /invocations asked for: predict or predict_proba


def _text(values: np.ndarray[Any, Any], name: str) -> np.ndarray[Any, Any]:
    """BYTES elements as text, for the model's string columns."""
    if values.dtype != object:
        return values
    try:
        return np.array(
            [v.decode("utf-8") if isinstance(v, bytes) else v for v in values], dtype=object
        )
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"input {name!r} is not UTF-8 text: {exc}", field=name) from exc


class ServedModel:
    def __init__(
        self,
        name: str,
        version: str | None,
        uri: str,
        loaded: LoadedModel,
        model: str | None = None,
    ) -> None:
        self.name = name  # the key it is served under
        self.model = model or name  # the registered model's name, for the prediction log
        self.version = version
        self.uri = uri
        self.loaded = loaded
        self.batcher: Batcher | None = None  # set by the app for fast models
        self.active = 0  # requests holding this version (a swap waits for them)
        self.stats = ModelStats()  # this version's own: a swap or a load starts from zero
        sig = loaded.signature
        self.columns: list[ColumnSpec] = (
            list(sig.inputs) if sig is not None and isinstance(sig.inputs, list) else []
        )
        self.column_names = [c.name for c in self.columns]  # what the prediction log writes
        self.tensor: TensorSpec | None = (
            sig.inputs if sig is not None and isinstance(sig.inputs, TensorSpec) else None
        )
        self.fast = (
            loaded.runtime == "onnx"
            and bool(self.columns)
            and all(c.type in NUMERIC for c in self.columns)
        )
        self._names = frozenset(self.column_names)
        self._strict = np.array([not c.nullable for c in self.columns], dtype=bool)
        self.output_datatype = self._output_datatype()
        self.classes: list[Any] | None = loaded.classes  # a classifier's, in column order
        self.outputs = ("predict", "predict_proba") if self.classes else ("predict",)

    def _output_datatype(self) -> str:
        """What ``predict`` answers, from the ONNX record or the output signature."""
        from modelyard.serving.protocol.codec import datatype_of

        label = self.loaded.onnx.get("label_dtype") if self.loaded.runtime == "onnx" else None
        sig = self.loaded.signature
        dtype = label or (sig.outputs.dtype if sig is not None and sig.outputs else None)
        if not dtype:
            return "FP64"
        try:
            return datatype_of(np.zeros(0, dtype=str(dtype)))
        except (TypeError, ValueError):
            return "BYTES"

    # --- metadata ----------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        if self.columns:
            inputs = [
                {"name": c.name, "datatype": _OIP_TYPES.get(c.type, "BYTES"), "shape": [-1]}
                for c in self.columns
            ]
        elif self.tensor is not None:
            dtype = np.zeros(0, dtype=self.tensor.dtype)
            from modelyard.serving.protocol.codec import datatype_of

            inputs = [
                {"name": "input", "datatype": datatype_of(dtype), "shape": list(self.tensor.shape)}
            ]
        else:
            inputs = []
        return {
            "name": self.name,
            "versions": [self.version] if self.version else [],
            "platform": f"modelyard-{self.loaded.runtime}-{self.loaded.flavor}",
            "inputs": inputs,
            "outputs": [
                {"name": "predict", "datatype": self.output_datatype, "shape": [-1]},
                *(
                    [
                        {
                            "name": "predict_proba",
                            "datatype": "FP64",
                            "shape": [-1, len(self.classes)],
                        }
                    ]
                    if self.classes
                    else []
                ),
            ],
        }

    # --- protocol tensors --------------------------------------------------------------
    def from_tensors(self, tensors: list[Tensor]) -> Prepared:
        if self.tensor is not None or not self.columns:
            if len(tensors) != 1:
                raise InvalidArgument(
                    f"model {self.name!r} takes one input tensor, not {len(tensors)}",
                    field="inputs",
                )
            data = tensors[0].data if self.tensor is None else self._tensor_input(tensors[0])
            return Prepared(int(data.shape[0]) if data.ndim else 1, data=data)
        by_name = {t.name: t for t in tensors}
        names = [c.name for c in self.columns]
        if len(tensors) == 1 and tensors[0].name not in names:  # one [rows, cols] tensor
            return self._from_matrix(tensors[0])
        unknown = [t.name for t in tensors if t.name not in self._names]
        if unknown:
            raise InvalidArgument(
                f"model {self.name!r} has no input {unknown[0]!r}; its inputs are "
                f"{', '.join(names)}",
                field=unknown[0],
            )
        missing = [n for n in names if n not in by_name]
        if missing:
            raise InvalidArgument(
                f"missing input(s) {missing}; model {self.name!r} takes one input per column "
                f"({', '.join(names)}) or one [rows, {len(names)}] tensor",
                field=missing[0],
            )
        cols = []
        rows = None
        for spec in self.columns:
            t = by_name[spec.name]
            self._check_datatype(spec, t)
            values = t.data.reshape(-1) if t.data.ndim == 2 and t.data.shape[1] == 1 else t.data
            if values.ndim != 1:
                raise InvalidArgument(
                    f"input {spec.name!r} has shape {list(t.shape)}; a column is [rows] or "
                    "[rows, 1]",
                    field=spec.name,
                )
            if rows is None:
                rows = len(values)
            elif len(values) != rows:
                raise InvalidArgument(
                    f"input {spec.name!r} has {len(values)} rows, the others {rows}",
                    field=spec.name,
                )
            cols.append(values)
        assert rows is not None
        if self.fast and all(
            c.dtype.kind in _FAST_KINDS[s.type] for c, s in zip(cols, self.columns, strict=True)
        ):
            matrix = np.empty((rows, len(cols)), dtype=np.float32)
            for j, c in enumerate(cols):
                matrix[:, j] = c
            return Prepared(rows, matrix=self._checked(matrix))
        import pandas as pd

        frame = pd.DataFrame(
            {s.name: _text(c, s.name) for s, c in zip(self.columns, cols, strict=True)}
        )
        return Prepared(rows, data=frame)

    def _tensor_input(self, tensor: Tensor) -> np.ndarray[Any, Any]:
        """The one input of a tensor signature, in its dtype's kind: BYTES as text (or bytes)
        for a string tensor, a numeric datatype that converts without loss for a number
        one."""
        from modelyard.serving.protocol.codec import datatype_of

        assert self.tensor is not None
        want = np.dtype(self.tensor.dtype)
        takes = "BYTES" if want.kind in "US" else datatype_of(np.zeros(0, dtype=want))
        if want.kind in "US":
            if tensor.datatype != "BYTES":
                raise InvalidArgument(
                    f"input {tensor.name!r} has datatype {tensor.datatype}; model "
                    f"{self.name!r} takes text ({takes})",
                    field=tensor.name,
                )
            flat = tensor.data.ravel()
            values = _text(flat, tensor.name) if want.kind == "U" else flat
            return np.array(values.tolist(), dtype=want.kind).reshape(tensor.data.shape)
        if tensor.datatype == "BYTES" or not np.can_cast(tensor.data.dtype, want, "safe"):
            raise InvalidArgument(
                f"input {tensor.name!r} has datatype {tensor.datatype}; model {self.name!r} "
                f"takes {takes} (or a datatype that converts to it without loss)",
                field=tensor.name,
            )
        return tensor.data

    @staticmethod
    def _check_datatype(spec: ColumnSpec, tensor: Tensor) -> None:
        takes = TAKES.get(spec.type)
        if takes is None or tensor.datatype in takes:
            if spec.type == "integer" and tensor.data.dtype.kind == "f":
                values = tensor.data[~np.isnan(tensor.data)]
                if not np.array_equal(values, np.round(values)):
                    raise InvalidArgument(
                        f"input {spec.name!r} holds fractions; the model expects integers",
                        field=spec.name,
                    )
            return
        raise InvalidArgument(
            f"input {spec.name!r} has datatype {tensor.datatype}; the model's column is "
            f"{spec.type} and takes {', '.join(sorted(takes))}",
            field=spec.name,
        )

    def _from_matrix(self, tensor: Tensor) -> Prepared:
        data, names = tensor.data, [c.name for c in self.columns]
        if data.ndim != 2 or data.shape[1] != len(names):
            raise InvalidArgument(
                f"input {tensor.name!r} has shape {list(tensor.shape)}; model {self.name!r} "
                f"takes one input per column ({', '.join(names)}) or one [rows, {len(names)}] "
                "tensor",
                field=tensor.name,
            )
        if data.dtype.kind not in "biuf":
            raise InvalidArgument(
                f"input {tensor.name!r} must be numeric to stand for the columns",
                field=tensor.name,
            )
        if data.dtype.kind == "f":  # a float matrix may not stand for integer columns with
            for j, spec in enumerate(self.columns):  # fractions, nor boolean ones with 0.5
                col = data[:, j]
                if spec.type == "integer" and not np.array_equal(col, np.round(col)):
                    raise InvalidArgument(
                        f"column {spec.name!r} holds fractions; the model expects integers",
                        field=spec.name,
                    )
                if spec.type == "boolean" and not np.isin(col, (0.0, 1.0)).all():
                    raise InvalidArgument(
                        f"column {spec.name!r} must be 0 or 1 (boolean)", field=spec.name
                    )
        if self.fast:
            return Prepared(len(data), matrix=self._checked(data.astype(np.float32, copy=False)))
        import pandas as pd

        return Prepared(len(data), data=pd.DataFrame(data, columns=names))

    def _checked(self, matrix: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        if self._strict.any():
            bad = np.isnan(matrix).any(axis=0) & self._strict
            if bad.any():
                name = self.columns[int(np.argmax(bad))].name
                raise InvalidArgument(
                    f"column {name!r} has missing values; the signature does not allow them",
                    field=name,
                )
        return matrix

    # --- running -----------------------------------------------------------------------
    def run_matrix(self, matrix: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The fast path: an already checked float32 matrix through the ONNX copy."""
        from modelyard.models.onnx_export import restore_label

        record = self.loaded.onnx
        session = self.loaded.session()
        out = session.run([record["outputs"][0]], {str(record["input"]): matrix})[0]
        return restore_label(out, record)

    def run_data(self, data: Any) -> np.ndarray[Any, Any]:
        with refused_by_the_model():
            return np.asarray(self.loaded.predict(data))

    def run_proba(self, prepared: Prepared) -> np.ndarray[Any, Any]:
        """Class probabilities, [rows, classes] in the order of ``classes``."""
        if prepared.rows == 0:
            return np.zeros((0, len(self.classes or ())), dtype=np.float64)
        outputs = self.loaded.onnx.get("outputs") or []
        if prepared.matrix is not None and len(outputs) > 1:
            return np.asarray(self.loaded.proba_matrix(prepared.matrix))
        data = prepared.data
        if prepared.matrix is not None:  # a matrix for a model without an ONNX copy
            import pandas as pd

            data = pd.DataFrame(prepared.matrix, columns=self.column_names)
        with refused_by_the_model():
            return np.asarray(self.loaded.predict_proba(data).to_numpy(dtype=np.float64))

    def run(self, prepared: Prepared) -> np.ndarray[Any, Any]:
        if prepared.matrix is not None:
            return self.run_matrix(prepared.matrix)
        return self.run_data(prepared.data)

    def warm_up(self) -> None:
        """One prediction before the model is called ready: first calls are slow."""
        example = self._example()
        if example is not None:
            self.run(example)

    def _example(self) -> Prepared | None:
        if self.fast:
            return Prepared(1, matrix=np.zeros((1, len(self.columns)), dtype=np.float32))
        example = self.loaded.input_example()
        return None if example is None else Prepared(len(example), data=example)
