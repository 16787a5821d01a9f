"""Step outputs as stored documents: JSON values inline, DataFrames (Parquet), arrays (.npy,
never pickled), bytes, files and models as content-addressed blobs, in any nesting of lists,
tuples, dicts and sets. ``encode`` and ``decode`` are inverse: a value read back from the
store (a cache hit, a retried run, a Ray worker) has the type it was returned with. Anything
else is refused with the path of the part that cannot be stored, so nothing is half-written.

The document's digest (sha256 of its canonical JSON, which names every blob by its sha256)
is the value's content hash: the cache key of a step that consumes it.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import io
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from modelyard.errors import InvalidArgument
from modelyard.pipelines.entities import OutputRef

INLINE_BYTES = 4096  # bytes values up to this size stay in the document
_TIMES = (dt.datetime, dt.date, dt.time)
_MODEL_FRAMEWORKS = frozenset({"sklearn", "xgboost", "lightgbm", "torch"})


class Model:
    """Annotate a step's return with ``-> yard.Model`` to store what it returns as a
    modelyard model (saved with its flavor, logged to the step's run, loadable anywhere).
    Estimators of scikit-learn, XGBoost, LightGBM and PyTorch are stored as models anyway."""


class UnserialisableOutput(InvalidArgument):
    """A value a step returned (or was given) that no serialiser stores."""


# (value, path in the output) -> {"$model": uri, "digest": ...}; the runner logs the model
ModelSaver = Callable[[Any, str], dict[str, Any]]


@dataclass(frozen=True)
class Stored:
    """A value already stored (a step's output): its document goes in as it is, and its
    blobs are named, not written again."""

    ref: OutputRef


@dataclass
class Encoded:
    doc: Any
    blobs: dict[str, bytes] = field(default_factory=dict)  # sha256 -> bytes
    stored: set[str] = field(default_factory=set)  # blobs already in the store (``Stored``)

    def ref(self) -> OutputRef:
        text = canonical(self.doc)
        size = len(text) + sum(len(b) for b in self.blobs.values())
        return OutputRef(self.doc, tuple(sorted(set(self.blobs) | self.stored)), sha256(text), size)


def canonical(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode(
    value: Any,
    *,
    where: str,
    save_model: ModelSaver | None = None,
    as_model: bool = False,
    lenient: bool = False,
) -> Encoded:
    """The document of ``value`` and the blobs it needs; ``where`` names it in errors.
    ``lenient``: a part that cannot be stored is recorded by its type (``$unstored``) instead
    of refused (a run's parameters: the run goes on; only a retry needs them back)."""
    out = Encoded(None)
    if as_model:
        out.doc = _model(value, where, save_model)
    else:
        encoder = _Encoder(out.blobs, where, save_model, lenient)
        out.doc = encoder.doc(value, "")
        out.stored = encoder.stored
    return out


def _model(value: Any, where: str, save_model: ModelSaver | None) -> dict[str, Any]:
    if save_model is None:
        raise UnserialisableOutput(
            f"{where} is a model, and models are stored only by steps", field="output"
        )
    return save_model(value, where)


class _Encoder:
    def __init__(
        self, blobs: dict[str, bytes], where: str, save_model: ModelSaver | None, lenient: bool
    ) -> None:
        self.lenient = lenient
        self.blobs = blobs
        self.stored: set[str] = set()
        self.where = where
        self.save_model = save_model

    def blob(self, data: bytes) -> str:
        digest = sha256(data)
        self.blobs[digest] = data
        return digest

    def doc(self, value: Any, path: str) -> Any:
        kind = type(value)  # exact: numpy's float64 is a float, and must come back as one
        if value is None or kind is bool or kind is str:
            return value
        if kind is Stored:
            self.stored.update(value.ref.blobs)
            return value.ref.doc
        if kind is int:
            return value if abs(value) < 2**63 else {"$int": str(value)}
        if kind is float:
            return value if math.isfinite(value) else {"$float": repr(value)}
        if kind in _TIMES:
            return {"$time": kind.__name__, "iso": value.isoformat()}
        if kind is dt.timedelta:
            return {"$timedelta": [value.days, value.seconds, value.microseconds]}
        if kind is decimal.Decimal:
            return {"$decimal": str(value)}
        if kind is uuid.UUID:
            return {"$uuid": str(value)}
        if isinstance(value, list):
            return [self.doc(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"$tuple": [self.doc(v, f"{path}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            return self.mapping(value, path)
        if isinstance(value, (set, frozenset)):
            items = [self.doc(v, f"{path}{{}}") for v in value]
            return {"$set": sorted(items, key=canonical), "frozen": isinstance(value, frozenset)}
        if isinstance(value, (bytes, bytearray)):
            data = bytes(value)
            if len(data) <= INLINE_BYTES:
                return {"$bytes": base64.b64encode(data).decode()}
            return {"$blob": self.blob(data)}
        if isinstance(value, Path):
            return self.file(value, path)
        top = kind.__module__.split(".")[0]
        if top == "pandas":
            return self.pandas(value, path)
        if top == "numpy":
            return self.numpy(value, path)
        if top == "modelyard" and kind.__name__ == "DatasetVersion":
            return {"$dataset": value.name, "version": value.version, "digest": value.digest}
        if top == "modelyard" and kind.__name__ == "LoadedModel":
            raise UnserialisableOutput(
                f"{self.where}{path} is a model read back from a step's output: return the "
                "step's handle (not its .result()), and the run's result names that model",
                field="output",
            )
        if top in _MODEL_FRAMEWORKS or _is_python_model(value):
            return _model(value, self.where + path, self.save_model)
        if self.lenient:
            return {"$unstored": f"{type(value).__module__}.{type(value).__qualname__}"}
        raise self.refuse(value, path)

    def refuse(self, value: Any, path: str) -> UnserialisableOutput:
        return UnserialisableOutput(
            f"{self.where}{path} is a {type(value).__module__}.{type(value).__qualname__}, "
            "which cannot be stored; return DataFrames, numpy arrays, JSON values, bytes, "
            "files (pathlib.Path), dataset versions, models (annotate the step -> yard.Model) "
            "or lists, tuples and dicts of them",
            field="output",
        )

    def mapping(self, value: dict[Any, Any], path: str) -> Any:
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: self.doc(v, f"{path}[{k!r}]") for k, v in value.items()}
        return {
            "$dict": [
                [self.doc(k, f"{path}<key>"), self.doc(v, f"{path}[{k!r}]")]
                for k, v in value.items()
            ]
        }

    def file(self, value: Path, path: str) -> Any:
        if not value.is_file():
            what = "a folder" if value.is_dir() else "missing"
            raise UnserialisableOutput(
                f"{self.where}{path} names {str(value)!r}, which is {what}; a step returns files "
                "one by one (pathlib.Path of a file)",
                field="output",
            )
        return {"$file": self.blob(value.read_bytes()), "name": value.name}

    def pandas(self, value: Any, path: str) -> Any:
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            return {"$frame": self.blob(_parquet(value, path, self.where))}
        if isinstance(value, pd.Series):
            frame = value.to_frame(name="__series__")
            return {
                "$series": self.blob(_parquet(frame, path, self.where)),
                "name": self.doc(value.name, path + ".name"),
            }
        raise self.refuse(value, path)

    def numpy(self, value: Any, path: str) -> Any:
        import numpy as np

        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise UnserialisableOutput(
                    f"{self.where}{path} is a numpy array of Python objects, which would need "
                    "pickle; convert it to a typed array or a list",
                    field="output",
                )
            buf = io.BytesIO()
            np.save(buf, value, allow_pickle=False)
            return {"$array": self.blob(buf.getvalue())}
        if isinstance(value, np.generic):
            return {"$scalar": value.dtype.str, "value": self.doc(value.item(), path)}
        raise self.refuse(value, path)


def _is_python_model(value: Any) -> bool:
    mod = type(value).__module__
    if not any(getattr(base, "__name__", "") == "PythonModel" for base in type(value).__mro__):
        return False
    return mod != "builtins"


def _parquet(frame: Any, path: str, where: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    try:
        table = pa.Table.from_pandas(frame)  # the index and dtypes kept, as to_parquet does
        # floating-point columns: measured values seldom repeat or compress, and trying a
        # dictionary and zstd on them costs 12x the write (a 10 MB float frame: 75 ms, or
        # 6 ms with neither dictionary nor zstd); every other column is dictionary + zstd
        floats = {f.name for f in table.schema if pa.types.is_floating(f.type)}
        pq.write_table(
            table, buf,
            compression={n: "lz4" if n in floats else "zstd" for n in table.schema.names},
            use_dictionary=[n for n in table.schema.names if n not in floats],
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - pyarrow's errors name the column; say where
        raise UnserialisableOutput(
            f"{where}{path} is a DataFrame Parquet cannot hold ({exc}); give its object "
            "columns one type (text, numbers) each",
            field="output",
        ) from None
    return buf.getvalue()
