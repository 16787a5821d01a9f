"""What each source can say of a column before its values are read: its kind (numeric,
categorical, time, or embedding for vectors) and whether its numbers are whole by type. A
frame says it by its pandas dtype, a Parquet file or Arrow table by its Arrow type, a data
profile by its logical type; ``plan`` decides from these alone, whatever the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Described:
    kind: str  # "numeric", "categorical", "time" or "embedding"
    integer: bool = False  # whole numbers by type (a few distinct ones are category codes)


NUMERIC, CATEGORICAL, TIME = Described("numeric"), Described("categorical"), Described("time")


def of_series(series: Any, *, vectors: bool = True) -> Described:
    """A pandas column's kind; ``vectors``: whether to look for vectors in an object column
    (it reads the first values)."""
    import pandas as pd
    from pandas.api import types

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        # judged by its values' type, as Parquet stores it and a profile records it: pandas
        # categories of numbers are numbers (read back from Parquet they are plain integers)
        return of_series(pd.Series(dtype.categories), vectors=False)
    if types.is_bool_dtype(dtype):
        return CATEGORICAL
    if types.is_datetime64_any_dtype(dtype) or types.is_timedelta64_dtype(dtype):
        return TIME
    if types.is_numeric_dtype(dtype):
        return Described("numeric", dtype.kind in "iu")
    if types.is_object_dtype(dtype):
        if vectors:
            from modelyard.monitoring.shift.domain import is_embedding

            if is_embedding(series):
                return Described("embedding")
        # dates and datetimes held as Python objects (how pandas reads a Parquet date column)
        if types.infer_dtype(series.iloc[:_SAMPLE], skipna=True) in _TEMPORAL_OBJECTS:
            return TIME
    return CATEGORICAL


_SAMPLE = 1000  # the first values of an object column tell dates from text
_TEMPORAL_OBJECTS = ("date", "datetime", "datetime64")


def of_arrow(arrow_type: Any) -> Described:
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):  # categories: judged by their values' type
        return of_arrow(arrow_type.value_type)
    if pa.types.is_boolean(arrow_type):
        return CATEGORICAL
    if pa.types.is_integer(arrow_type):
        return Described("numeric", True)
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return NUMERIC
    if pa.types.is_temporal(arrow_type):
        return TIME
    return CATEGORICAL


def of_profile(column: Any) -> Described:
    """A profiled column's kind, from its logical type (``data.types``)."""
    if column.type in ("integer", "float"):
        return Described("numeric", column.type == "integer")
    return TIME if column.type in ("timestamp", "date") else CATEGORICAL
