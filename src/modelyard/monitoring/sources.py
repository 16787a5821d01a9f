"""Where a table for drift comes from: a DataFrame or Arrow table as it is, a CSV or Parquet
path, a ``DatasetVersion``, or ``"dataset:NAME[@VERSION]"`` for a logged dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument


def is_parquet(source: Any) -> bool:
    return isinstance(source, str | Path) and str(source).lower().endswith(".parquet")


def resolve_table(source: Any, field: str, tracking_uri: str | None = None) -> Any:
    """``source`` as a table (a path read whole, a dataset version loaded from the store at
    ``tracking_uri``, else the current one)."""
    if isinstance(source, str) and source.startswith("dataset:"):
        from modelyard.data.client import DataClient

        name, _, version = source.removeprefix("dataset:").partition("@")
        if not name or (version and not version.isdigit()):
            raise InvalidArgument(
                f"{field} {source!r}: expected dataset:NAME or dataset:NAME@VERSION", field=field
            )
        return DataClient(tracking_uri).get(name, int(version) if version else None)
    if isinstance(source, str | Path):
        from modelyard.data.frames import tabular_source

        try:
            return tabular_source(source).read()
        except InvalidArgument as exc:
            raise InvalidArgument(exc.message, field=field) from None
    return source
