"""Column profiles: counts, moments, quantiles, histograms, distinct counts and top values.

A profile is built batch by batch from Arrow record batches (vectorized numpy/Arrow work per
batch, one pass, memory bounded by the batch size) and profiles merge: the profile of two
batches equals the merge of theirs. Counts, missing, min/max, mean and std merge exactly
(Chan's parallel moments); quantiles and histograms come from ``ValueSketch`` (~1% relative
error), distinct counts from ``HyperLogLog`` (~1.6%) unless every value fits in the exact
value counts, which are kept up to ``TOP_EXACT`` distinct values per column.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from modelyard.data.sketches import HyperLogLog, ValueSketch, bucket_keys, mix64
from modelyard.data.types import NUMERIC, logical_type
from modelyard.errors import InvalidArgument

TOP_EXACT = 1_000  # exact value counts are kept while a column has at most this many values
TOP_SHOWN = 20
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20


@dataclass
class ColumnProfile:
    name: str
    type: str
    count: int = 0  # rows seen, missing included
    missing: int = 0  # nulls, and NaN in float columns
    infinite: int = 0
    min: float | None = None
    max: float | None = None
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean (finite values)
    n_finite: int = 0
    min_length: int | None = None
    max_length: int | None = None
    values: dict[str, int] | None = field(default_factory=dict)  # exact counts, or None
    unit: str | None = None  # timestamps and dates: min/max are counts of this unit since 1970
    zoned: bool | None = None  # timestamps: whether they carry a time zone (None: not known)
    sketch: ValueSketch | None = None
    hll: HyperLogLog = field(default_factory=HyperLogLog)

    # --- derived -------------------------------------------------------------------------
    @property
    def present(self) -> int:
        return self.count - self.missing

    @property
    def missing_rate(self) -> float:
        return self.missing / self.count if self.count else 0.0

    @property
    def std(self) -> float | None:
        return math.sqrt(self.m2 / self.n_finite) if self.n_finite else None

    @property
    def distinct(self) -> int:
        if self.values is not None:
            return len(self.values)
        return self.hll.estimate()

    @property
    def distinct_exact(self) -> bool:
        return self.values is not None

    def quantiles(self) -> dict[str, float]:
        if self.sketch is None or self.min is None or self.max is None:
            return {}
        got = self.sketch.quantiles(list(QUANTILES), self.min, self.max)
        return {f"p{round(q * 100)}": v for q, v in zip(QUANTILES, got, strict=True)}

    def histogram(self, bins: int = HISTOGRAM_BINS) -> tuple[list[float], list[int]]:
        if self.sketch is None or self.min is None or self.max is None:
            return [], []
        return self.sketch.histogram(bins, self.min, self.max)

    def top(self, n: int = TOP_SHOWN) -> list[tuple[str, int]]:
        if not self.values:
            return []
        return sorted(self.values.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    # --- merge -------------------------------------------------------------------------
    def merge(self, other: ColumnProfile) -> ColumnProfile:
        if other.type != self.type:
            raise InvalidArgument(
                f"column {self.name!r}: cannot merge a {self.type} profile with a {other.type} one",
                field=self.name,
            )
        out = ColumnProfile(self.name, self.type)
        out.count = self.count + other.count
        out.missing = self.missing + other.missing
        out.infinite = self.infinite + other.infinite
        out.min = _pick(min, self.min, other.min)
        out.max = _pick(max, self.max, other.max)
        out.unit = self.unit or other.unit
        out.zoned = self.zoned if self.zoned is not None else other.zoned
        out.min_length = _pick(min, self.min_length, other.min_length)
        out.max_length = _pick(max, self.max_length, other.max_length)
        out.n_finite, out.mean, out.m2 = _chan(
            (self.n_finite, self.mean, self.m2), (other.n_finite, other.mean, other.m2)
        )
        out.values = _merge_values(self.values, other.values)
        if self.sketch is not None or other.sketch is not None:
            out.sketch = (self.sketch or ValueSketch()).merge(other.sketch or ValueSketch())
        out.hll = self.hll.merge(other.hll)
        return out

    # --- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        edges, counts = self.histogram()
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "count": self.count,
            "missing": self.missing,
            "missing_rate": self.missing_rate,
            "distinct": self.distinct,
            "distinct_exact": self.distinct_exact,
            "min": self.min,
            "max": self.max,
            "mean": self.mean if self.n_finite else None,
            "std": self.std,
            "infinite": self.infinite,
            "quantiles": self.quantiles(),
            "histogram": {"edges": edges, "counts": counts},
            "min_length": self.min_length,
            "max_length": self.max_length,
            "unit": self.unit,
            "zoned": self.zoned,
            "min_text": _as_time(self.min, self.unit),
            "max_text": _as_time(self.max, self.unit),
            "top": [[k, v] for k, v in self.top()],
            "state": {
                "m2": self.m2,
                "n_finite": self.n_finite,
                "values": self.values,
                "sketch": self.sketch.to_dict() if self.sketch is not None else None,
                "hll": self.hll.to_dict(),
            },
        }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        state = data["state"]
        col = cls(data["name"], data["type"])
        col.count, col.missing, col.infinite = data["count"], data["missing"], data["infinite"]
        col.min, col.max = data["min"], data["max"]
        col.mean = data["mean"] or 0.0
        col.min_length, col.max_length = data["min_length"], data["max_length"]
        col.unit = data.get("unit")
        col.zoned = data.get("zoned")  # profiles stored before it was kept: None
        col.m2, col.n_finite = state["m2"], state["n_finite"]
        col.values = state["values"]
        col.sketch = ValueSketch.from_dict(state["sketch"]) if state["sketch"] else None
        col.hll = HyperLogLog.from_dict(state["hll"])
        return col


def _as_time(value: float | None, unit: str | None) -> str | None:
    """An epoch count in ``unit`` as ISO 8601 text (what a person reads for a date column)."""
    if value is None or unit is None:
        return None
    stamp = np.array([int(value)], dtype="int64").view(f"datetime64[{unit}]")[0]
    whole = stamp.astype("datetime64[s]")
    return str(whole if unit not in ("D", "s") and whole == stamp else stamp)


def _pick(fn: Any, a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return fn(a, b)


def _chan(a: tuple[int, float, float], b: tuple[int, float, float]) -> tuple[int, float, float]:
    """Combine (n, mean, M2) of two parts exactly (Chan et al.)."""
    na, ma, m2a = a
    nb, mb, m2b = b
    n = na + nb
    if n == 0:
        return 0, 0.0, 0.0
    delta = mb - ma
    mean = ma + delta * nb / n
    return n, mean, m2a + m2b + delta * delta * na * nb / n


def _merge_values(a: dict[str, int] | None, b: dict[str, int] | None) -> dict[str, int] | None:
    if a is None or b is None:
        return None
    out = dict(a)
    for key, count in b.items():
        out[key] = out.get(key, 0) + count
    return out if len(out) <= TOP_EXACT else None


@dataclass
class Profile:
    num_rows: int
    columns: dict[str, ColumnProfile]

    def merge(self, other: Profile) -> Profile:
        if list(self.columns) != list(other.columns):
            raise InvalidArgument(
                f"profiles have different columns: {list(self.columns)} vs {list(other.columns)}",
                field="columns",
            )
        return Profile(
            self.num_rows + other.num_rows,
            {name: col.merge(other.columns[name]) for name, col in self.columns.items()},
        )

    def __getitem__(self, column: str) -> ColumnProfile:
        return self.columns[column]

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_rows": self.num_rows,
            "columns": [c.to_dict() for c in self.columns.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        cols = [ColumnProfile.from_dict(c) for c in data["columns"]]
        return cls(int(data["num_rows"]), {c.name: c for c in cols})

    def summary(self) -> list[dict[str, Any]]:
        """One row per column for tables: the numbers a person reads first."""
        rows = []
        for col in self.columns.values():
            d = col.to_dict()
            rows.append({k: d[k] for k in ("name", "type", "missing", "distinct", "min", "max")})
        return rows


# --- building ----------------------------------------------------------------------------
CHUNK = 1 << 16  # values per inner step: temporaries stay in the CPU cache


def _sketch_and_hash(col: ColumnProfile, values: np.ndarray[Any, Any], bits: Any) -> None:
    """Bucket keys for the value sketch and hashes for HyperLogLog, one cached chunk at a time."""
    assert col.sketch is not None
    keys = np.empty(values.size, dtype=np.int64)
    for start in range(0, values.size, CHUNK):
        part = values[start : start + CHUNK]
        keys[start : start + part.size] = bucket_keys(part)
        col.hll.update_hashes(mix64(bits(part, start)))
    col.sketch.add_keys(keys)


def _update_numeric(col: ColumnProfile, arr: pa.Array) -> None:
    arr = _plain_numbers(arr)
    nulls = arr.null_count
    if nulls:
        arr = pc.drop_null(arr)
    raw: np.ndarray[Any, Any] | None = None
    if pa.types.is_floating(arr.type):
        values = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if not (np.isfinite(lo) and np.isfinite(hi)):  # NaN or +-inf somewhere: set them aside
            nan = np.isnan(values)
            finite = np.isfinite(values)
            col.missing += int(np.count_nonzero(nan))
            col.infinite += int(values.size - np.count_nonzero(nan) - np.count_nonzero(finite))
            values = values[finite]
            lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    else:
        raw = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.int64)
        values = raw.astype(np.float64)
        lo, hi = (float(raw.min()), float(raw.max())) if raw.size else (0.0, 0.0)
    col.missing += nulls
    if not values.size:
        return
    col.min = lo if col.min is None else min(col.min, lo)
    col.max = hi if col.max is None else max(col.max, hi)
    mean = float(values.mean())
    dev = values - mean
    col.n_finite, col.mean, col.m2 = _chan(
        (col.n_finite, col.mean, col.m2), (values.size, mean, float(np.dot(dev, dev)))
    )
    del dev
    if raw is None:
        _sketch_and_hash(col, values, lambda part, _start: (part + 0.0).view(np.uint64))
    else:
        ints_raw = raw
        _sketch_and_hash(
            col, values, lambda part, start: ints_raw[start : start + part.size].view(np.uint64)
        )
    if col.values is not None:
        _count_small_numeric(col, values)


def _plain_numbers(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array of int64 or float64/float32 values: dictionary-encoded columns
    decoded, unsigned and half-precision values widened (uint64 to float64, exact to 2**53)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    kind = arr.type
    if pa.types.is_uint64(kind) or pa.types.is_float16(kind) or pa.types.is_decimal(kind):
        arr = arr.cast(pa.float64(), safe=False)  # beyond 2**53: nearest double
    elif pa.types.is_integer(kind) and not pa.types.is_int64(kind):
        arr = arr.cast(pa.int64())
    return arr


def _update_bounds(col: ColumnProfile, arr: pa.Array) -> None:
    """The lean numeric pass validation needs: missing, infinities, exact min and max."""
    arr = _plain_numbers(arr)
    nulls = arr.null_count
    col.missing += nulls
    col.values = None
    if len(arr) == nulls:
        return
    if pa.types.is_floating(arr.type):
        nan = int(pc.sum(pc.is_nan(arr)).as_py() or 0)
        col.missing += nan
        if nan == len(arr) - nulls:
            return
        lo, hi = pc.min_max(arr).values()
        low, high = lo.as_py(), hi.as_py()
        if math.isinf(low) or math.isinf(high):
            col.infinite += int(pc.sum(pc.is_inf(arr)).as_py() or 0)
            finite = pc.filter(arr, pc.is_finite(arr))
            if len(finite) == 0:
                return
            lo, hi = pc.min_max(finite).values()
            low, high = lo.as_py(), hi.as_py()
    else:
        lo, hi = pc.min_max(arr).values()
        low, high = float(lo.as_py()), float(hi.as_py())
    col.min = low if col.min is None else min(col.min, low)
    col.max = high if col.max is None else max(col.max, high)


def _count_small_numeric(col: ColumnProfile, values: np.ndarray[Any, Any]) -> None:
    """Exact value counts while a numeric column has few distinct values (codes, flags)."""
    assert col.values is not None
    if col.type == "integer" and col.max is not None and col.min is not None:
        lo, hi = values.min(), values.max()
        if hi - lo > 4 * TOP_EXACT * 1_000:  # sparse codes: count them like floats
            _count_by_sorting(col, values)
            return
        dense = np.bincount((values - lo).astype(np.intp))
        (present,) = np.nonzero(dense)
        if present.size > TOP_EXACT:
            col.values = None
            return
        uniq, counts = present + lo, dense[present]
        _add_counts(col, uniq, counts)
        return
    _count_by_sorting(col, values)


def _count_by_sorting(col: ColumnProfile, values: np.ndarray[Any, Any]) -> None:
    uniq, counts = np.unique(values[: TOP_EXACT * 20], return_counts=True)
    if uniq.size > TOP_EXACT:
        col.values = None
        return
    uniq, counts = np.unique(values, return_counts=True)
    if uniq.size > TOP_EXACT:
        col.values = None
        return
    _add_counts(col, uniq, counts)


def _add_counts(
    col: ColumnProfile, uniq: np.ndarray[Any, Any], counts: np.ndarray[Any, Any]
) -> None:
    assert col.values is not None
    keys = [_number_key(v, col.type) for v in uniq.tolist()]
    merged = dict(col.values)
    for key, count in zip(keys, counts.tolist(), strict=True):
        merged[key] = merged.get(key, 0) + count
    col.values = merged if len(merged) <= TOP_EXACT else None


def _number_key(value: float, kind: str) -> str:
    return str(int(value)) if kind == "integer" else repr(float(value))


def _update_strings(col: ColumnProfile, arr: pa.Array) -> None:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    col.missing += arr.null_count
    if pa.types.is_null(arr.type) or len(arr) == arr.null_count:
        return
    if not pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_encode()
    dictionary = arr.dictionary
    indices = arr.indices
    if indices.null_count:
        indices = pc.drop_null(indices)
    counts = np.bincount(
        np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.intp),
        minlength=len(dictionary),
    )
    used = np.nonzero(counts)[0]
    words = dictionary.take(pa.array(used))
    lengths = (
        pc.utf8_length(words) if not pa.types.is_binary(words.type) else pc.binary_length(words)
    )
    lo, hi = pc.min_max(lengths).values()
    col.min_length = _pick(min, col.min_length, lo.as_py())
    col.max_length = _pick(max, col.max_length, hi.as_py())
    texts = words.to_pylist()
    col.hll.update_hashes(mix64(np.asarray(pd.util.hash_array(np.asarray(texts, dtype=object)))))
    if col.values is not None:
        merged = dict(col.values)
        for text, count in zip(texts, counts[used].tolist(), strict=True):
            merged[text] = merged.get(text, 0) + count
        col.values = merged if len(merged) <= TOP_EXACT else None


def _update_boolean(col: ColumnProfile, arr: pa.Array) -> None:
    col.missing += arr.null_count
    trues = int(pc.sum(arr.cast(pa.int64())).as_py() or 0)
    falses = len(arr) - arr.null_count - trues
    assert col.values is not None
    for key, count in (("true", trues), ("false", falses)):
        if count:
            col.values[key] = col.values.get(key, 0) + count


def _update_temporal(col: ColumnProfile, arr: pa.Array) -> None:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    unit = pa.int64() if pa.types.is_timestamp(arr.type) or pa.types.is_date64(arr.type) else None
    ints = arr.cast(unit or pa.int32()).cast(pa.int64())
    col.missing += arr.null_count
    ints = pc.drop_null(ints) if arr.null_count else ints
    raw = np.asarray(ints.to_numpy(zero_copy_only=False))
    if raw.size:
        col.min = _pick(min, col.min, float(raw.min()))
        col.max = _pick(max, col.max, float(raw.max()))
        _sketch_and_hash(
            col,
            raw.astype(np.float64),
            lambda part, start: raw[start : start + part.size].view(np.uint64),
        )
        col.values = None


_UPDATERS = {
    "integer": _update_numeric,
    "float": _update_numeric,
    "string": _update_strings,
    "boolean": _update_boolean,
    "timestamp": _update_temporal,
    "date": _update_temporal,
}


def _value_type(kind: pa.DataType) -> pa.DataType:
    return kind.value_type if pa.types.is_dictionary(kind) else kind


def empty_profile(schema: pa.Schema) -> Profile:
    cols = {}
    for fld in schema:
        kind = logical_type(fld.type, fld.name)
        col = ColumnProfile(fld.name, kind)
        if kind in NUMERIC or kind in ("timestamp", "date"):
            col.sketch = ValueSketch()
        if kind == "timestamp":
            col.unit = str(_value_type(fld.type).unit)
            col.zoned = _value_type(fld.type).tz is not None
        elif kind == "date":
            col.unit = "D" if pa.types.is_date32(_value_type(fld.type)) else "ms"
        cols[fld.name] = col
    return Profile(0, cols)


_LEAN = {**_UPDATERS, "integer": _update_bounds, "float": _update_bounds}


def _update(
    profile: Profile, batch: pa.RecordBatch, pool: ThreadPoolExecutor | None, lean: bool
) -> None:
    rows = batch.num_rows
    profile.num_rows += rows
    updaters = _LEAN if lean else _UPDATERS
    columns = list(profile.columns.values())

    def one(index: int) -> None:
        col = columns[index]
        col.count += rows
        updaters[col.type](col, batch.column(index))

    if pool is None:
        for i in range(batch.num_columns):
            one(i)
    else:
        list(pool.map(one, range(batch.num_columns)))


def profile_batches(
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    *,
    threads: int = 2,
    lean: bool = False,
) -> Profile:
    """Profile a stream of record batches with ``schema``; memory stays at one batch.

    ``lean`` computes only what validation reads exactly (counts, missing, min/max, string
    lengths and value counts) and skips moments, sketches and distinct counts."""
    profile = empty_profile(schema)
    pool = ThreadPoolExecutor(threads, thread_name_prefix="profile") if threads > 1 else None
    try:
        for batch in batches:
            _update(profile, batch, pool, lean)
    finally:
        if pool is not None:
            pool.shutdown()
    return profile
