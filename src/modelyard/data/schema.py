"""Dataset schemas: per column its logical type, nullability, range and categories.

Inferred from a profile (one pass over the data), stored with every dataset version, and
compared by ``diff``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from modelyard.data.profiling import Profile, profile_batches
from modelyard.data.types import NUMERIC

MAX_CATEGORIES = 50


@dataclass(frozen=True)
class ColumnSchema:
    name: str
    type: str
    nullable: bool
    min: float | None = None
    max: float | None = None
    categories: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Schema:
    columns: list[ColumnSchema]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSchema:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        return cls([ColumnSchema(**c) for c in data["columns"]])

    @classmethod
    def from_profile(cls, profile: Profile) -> Schema:
        cols = []
        for col in profile.columns.values():
            lo = hi = None
            if col.type in NUMERIC and col.min is not None:
                lo, hi = col.min, col.max
                if col.type == "integer":
                    lo, hi = int(lo), int(hi)  # type: ignore[arg-type]
            categories = None
            if (
                col.type == "string"
                and col.values is not None
                and len(col.values) <= MAX_CATEGORIES
            ):
                categories = sorted(col.values)
            cols.append(ColumnSchema(col.name, col.type, col.missing > 0, lo, hi, categories))
        return cls(cols)


def infer_schema(data: Any) -> Schema:
    """The schema of a DataFrame, Arrow table or Parquet/CSV path."""
    from modelyard.data.frames import tabular_source

    source = tabular_source(data)
    return Schema.from_profile(profile_batches(source.schema, source.batches()))
