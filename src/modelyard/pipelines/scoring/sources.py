"""What ``batch_predict`` reads: the Parquet files of a dataset version, a ``dataset:`` reference
or a path, checked before anything is scored (each file opens as Parquet, holds the columns
the model and the caller need, with types the model takes, and the data has rows). Only file
metadata is read here, never the data."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument

PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
# the Arrow type kinds each signature column type accepts (the batch check does the rest:
# whole floats into integers, missing values where the signature forbids them)
_ACCEPTS = {
    "float": ("integer", "float", "boolean"),
    "integer": ("integer", "float"),
    "boolean": ("boolean",),
    "string": ("string",),
    "datetime": ("datetime", "string"),
}


@dataclass(frozen=True)
class Source:
    files: list[Path]
    label: str  # how the output names its input: dataset:name@3 or the path
    name: str  # the default output is "<name>-scored"
    version: Any = None  # the DatasetVersion read, when there is one (for lineage)
    num_rows: int = 0
    schema: Any = None  # the first file's Arrow schema


def resolve_source(dataset: Any, tracking_uri: str | None) -> Source:
    """The files ``dataset`` names (a DatasetVersion, ``dataset:name@3|latest`` or a path)."""
    from modelyard.data.entities import DatasetVersion

    if isinstance(dataset, str) and dataset.startswith("dataset:"):
        dataset = dataset_ref(dataset, tracking_uri)
    if isinstance(dataset, DatasetVersion):
        if dataset.format == "csv":
            raise InvalidArgument(
                f"{dataset.uri} is CSV; batch_predict reads Parquet (log the data as Parquet)",
                field="dataset",
            )
        files = parquet_files(dataset.path, dataset.uri)
        return _checked(Source(files, dataset.uri, dataset.name, dataset))
    if isinstance(dataset, str | os.PathLike):
        path = Path(dataset)
        if not path.exists():
            raise InvalidArgument(f"no file or folder at {str(path)!r}", field="dataset")
        files = parquet_files(path, str(path))
        name = path.stem if path.is_file() else path.resolve().name
        return _checked(Source(files, str(path.resolve()), name or "dataset"))
    raise InvalidArgument(
        "dataset must be a dataset version, 'dataset:<name>@<version|latest>' or a path to "
        f"Parquet files, not {type(dataset).__name__}",
        field="dataset",
    )


def dataset_ref(text: str, tracking_uri: str | None) -> Any:
    """The version ``dataset:name@3`` (``@latest`` or no ``@``: the newest) names."""
    from modelyard.data.client import DataClient

    rest = text.removeprefix("dataset:")
    name, _, number = rest.rpartition("@") if "@" in rest else (rest, "", "latest")
    if not name or not (number == "latest" or (number.isascii() and number.isdigit())):
        raise InvalidArgument(
            f"dataset {text!r} must look like dataset:<name>@<version> or dataset:<name>@latest",
            field="dataset",
        )
    version = None if number == "latest" else int(number)
    return DataClient(tracking_uri).get(name, version)


def parquet_files(path: Path, label: str) -> list[Path]:
    """A file as it is; a folder's Parquet files (hidden ones and ``_``-names left out)."""
    if path.is_file():
        return [path]
    found = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in PARQUET_SUFFIXES
        and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    )
    if not found:
        raise InvalidArgument(f"{label} holds no Parquet files", field="dataset")
    return found


def _checked(source: Source) -> Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 0
    schema = None
    for path in source.files:
        try:
            meta = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidArgument(
                f"{path.name} in {source.label} is not a Parquet file ({exc})"[:500],
                field="dataset",
            ) from None
        rows += meta.metadata.num_rows
        schema = schema if schema is not None else meta.schema_arrow
    if rows == 0:
        raise InvalidArgument(
            f"{source.label} has no rows; there is nothing to score", field="dataset"
        )
    return Source(source.files, source.label, source.name, source.version, rows, schema)


def arrow_kind(kind: Any) -> str:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "float"
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return "datetime"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "string"
    return str(kind)


def check_columns(source: Source, features: list[tuple[str, str]], keep: list[str]) -> None:
    """Every file holds each feature (``(name, type)``) with a type the model takes, and each
    column to keep; the error names the column and the file."""
    import pyarrow.parquet as pq

    for path in source.files:
        schema = pq.ParquetFile(path).schema_arrow
        where = source.label if len(source.files) == 1 else f"{source.label} ({path.name})"
        for name, want in features:
            if name not in schema.names:
                raise InvalidArgument(
                    f"{where} has no column {name!r}, which the model's signature needs",
                    field=name,
                )
            got = arrow_kind(schema.field(name).type)
            if got not in _ACCEPTS.get(want, (want,)):
                raise InvalidArgument(
                    f"column {name!r} of {where} has type {got}; the model expects {want}",
                    field=name,
                )
        for name in keep:
            if name not in schema.names:
                raise InvalidArgument(
                    f"{where} has no column {name!r} (named in columns=)", field="columns"
                )
