"""Stored documents back into values (the inverse of ``values.encode``): blobs are read
through a reader that checks their sha256, files land in a folder named by their hash, models
load through ``modelyard.models`` (verified, never unpickled) and dataset versions are read
from the data store."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument


@dataclass(frozen=True)
class Readers:
    blob: Callable[[str], bytes]  # sha256 -> the bytes, checked against the hash
    model: Callable[[dict[str, Any]], Any]  # {"$model": uri, ...} -> a loaded model
    dataset: Callable[[str, int], Any]  # name, version -> a DatasetVersion
    files_dir: Path  # where files are written back


def decode(doc: Any, readers: Readers) -> Any:
    if isinstance(doc, list):
        return [decode(v, readers) for v in doc]
    if not isinstance(doc, dict):
        return doc
    if not any(k.startswith("$") for k in doc):
        return {k: decode(v, readers) for k, v in doc.items()}
    if "$tuple" in doc:
        return tuple(decode(v, readers) for v in doc["$tuple"])
    if "$dict" in doc:
        return {decode(k, readers): decode(v, readers) for k, v in doc["$dict"]}
    if "$set" in doc:
        items = [decode(v, readers) for v in doc["$set"]]
        return frozenset(items) if doc.get("frozen") else set(items)
    if "$int" in doc:
        return int(doc["$int"])
    if "$float" in doc:
        return float(doc["$float"])
    if "$time" in doc:
        parse: dict[str, Any] = {
            "datetime": dt.datetime.fromisoformat,
            "date": dt.date.fromisoformat,
            "time": dt.time.fromisoformat,
        }
        return parse[doc["$time"]](doc["iso"])
    if "$timedelta" in doc:
        days, seconds, micros = doc["$timedelta"]
        return dt.timedelta(days=days, seconds=seconds, microseconds=micros)
    if "$decimal" in doc:
        return decimal.Decimal(doc["$decimal"])
    if "$uuid" in doc:
        return uuid.UUID(doc["$uuid"])
    if "$bytes" in doc:
        return base64.b64decode(doc["$bytes"])
    if "$blob" in doc:
        return readers.blob(doc["$blob"])
    if "$frame" in doc:
        return _frame(readers.blob(doc["$frame"]))
    if "$series" in doc:
        series = _frame(readers.blob(doc["$series"]))["__series__"]
        series.name = decode(doc.get("name"), readers)
        return series
    if "$array" in doc:
        import numpy as np

        return np.load(io.BytesIO(readers.blob(doc["$array"])), allow_pickle=False)
    if "$scalar" in doc:
        import numpy as np

        return np.dtype(doc["$scalar"]).type(decode(doc["value"], readers))
    if "$file" in doc:
        return _file(doc, readers)
    if "$model" in doc:
        return readers.model(doc)
    if "$unstored" in doc:
        raise InvalidArgument(
            f"this value was a {doc['$unstored']}, which was not stored; it cannot be read back "
            "(pass such parameters again: run the pipeline instead of retrying the run)",
            field="params",
        )
    if "$dataset" in doc:
        return readers.dataset(doc["$dataset"], int(doc["version"]))
    raise InvalidArgument(f"unknown stored value kind {sorted(doc)[:3]}", field="output")


def _frame(data: bytes) -> Any:
    import pandas as pd

    return pd.read_parquet(io.BytesIO(data), engine="pyarrow")


def _file(doc: dict[str, Any], readers: Readers) -> Path:
    name = Path(str(doc.get("name") or "file")).name or "file"
    folder = readers.files_dir / str(doc["$file"])
    target = folder / name
    if not target.is_file():
        data = readers.blob(doc["$file"])
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.part"
        tmp.write_bytes(data)
        tmp.replace(target)
    return target
