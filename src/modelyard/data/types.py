"""The logical column types of modelyard datasets, mapped from Arrow types.

Profiles, schemas and expectations speak these names, not Arrow's, so a suite written for a
pandas frame also holds for the Parquet file it was saved as.
"""

from __future__ import annotations

import pyarrow as pa

from modelyard.errors import InvalidArgument

LOGICAL_TYPES = ("integer", "float", "boolean", "string", "timestamp", "date")
NUMERIC = ("integer", "float")


def logical_type(arrow_type: pa.DataType, column: str) -> str:
    """The logical type of an Arrow type; unsupported types are an error naming the column."""
    if pa.types.is_dictionary(arrow_type):
        return logical_type(arrow_type.value_type, column)
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "float"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_string_view(arrow_type) if hasattr(pa.types, "is_string_view") else False:
        return "string"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_null(arrow_type):
        return "string"  # a column with no values at all: profiled as all-missing text
    raise InvalidArgument(
        f"column {column!r} has unsupported type {arrow_type}; supported: integer, float, "
        "decimal, boolean, string, categorical, timestamp and date columns",
        field=column,
    )
